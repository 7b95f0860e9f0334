//===- MXFP4Test.cpp - MXFP4 weights: quantization and GEMMs --------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;

template <typename T> uint64_t addr(std::vector<T> &v) {
  return reinterpret_cast<uint64_t>(v.data());
}

// quant-types.gguf holds x as F32 and as the gguf package's MXFP4
// (t.MXFP4_of_F32, test/fixtures/make_fixtures.py): our quantizer (random
// weights, other files' tensors compiled as MXFP4) gives its bytes.
TEST(MXFP4Test, QuantizingMatchesTheGgufPackage) {
  std::string error;
  auto file = GGUFFile::open(kFixtures + "/quant-types.gguf", error);
  ASSERT_TRUE(file) << error;
  const GGUFTensorInfo *f32 = file->findTensor("t.F32"), *mx = file->findTensor("t.MXFP4_of_F32");
  ASSERT_TRUE(f32 && mx);
  ASSERT_EQ(f32->numElements, mx->numElements);
  const size_t n = static_cast<size_t>(f32->numElements);
  std::vector<uint8_t> got(n / kMXFP4Values * kMXFP4Bytes);
  quantizeMXFP4(reinterpret_cast<const float *>(f32->data), got.data(), n);
  EXPECT_EQ(std::memcmp(got.data(), mx->data, got.size()), 0);
  // A block of zeros: exponent 0, codes 0.
  std::vector<float> zeros(kMXFP4Values, 0.0f), back(kMXFP4Values, 1.0f);
  std::vector<uint8_t> block(kMXFP4Bytes, 0xAB);
  quantizeMXFP4(zeros.data(), block.data(), zeros.size());
  ASSERT_TRUE(dequantize(GGMLType::MXFP4, block.data(), back.data(), back.size()));
  for (float v : back)
    EXPECT_EQ(v, 0.0f);
}

/// A random [out x in] MXFP4 matrix, its widened values and random inputs.
struct Problem {
  std::vector<uint8_t> w;
  std::vector<float> wide, x;
};
Problem makeProblem(int64_t rows, int64_t in, int64_t out, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> values(static_cast<size_t>(out * in));
  for (float &v : values)
    v = normal(gen);
  Problem p;
  p.w.resize(static_cast<size_t>(out * mxfp4RowBytes(in)));
  quantizeMXFP4(values.data(), p.w.data(), values.size());
  p.wide.resize(values.size());
  dequantize(GGMLType::MXFP4, p.w.data(), p.wide.data(), values.size());
  p.x.resize(static_cast<size_t>(rows * in));
  for (float &v : p.x)
    v = normal(gen) * 20.0f;
  return p;
}

// lazyc_rt_linear on MXFP4 weights (type code 4) against a double-precision
// product with the dequantized weights: the rows that read the blocks
// directly (1..31: passes of 8 and a partial one) and the ones that widen
// panels of 256 weight rows (32 on, a partial last panel), and the
// accumulating form of lazyc_rt_linear_ex.
TEST(MXFP4Test, GemmsMatchTheDequantizedWeights) {
  const int64_t in = 96; // 3 blocks per row
  for (auto [rows, out] : {std::pair<int64_t, int64_t>{1, 300}, {2, 300}, {3, 300}, {5, 300},
                           {8, 300}, {9, 300}, {17, 301}, {31, 37}, {32, 300}, {65, 301}}) {
    Problem p = makeProblem(rows, in, out, static_cast<uint32_t>(rows));
    std::vector<float> y(static_cast<size_t>(rows * out)), acc(y.size());
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = 0.5f * static_cast<float>(i % 5);
    std::vector<float> start = acc;
    lazyc_rt_linear(addr(p.x), rows, in, addr(p.w), 4, out, addr(y));
    lazyc_rt_linear_ex(addr(p.x), 0, rows, in, addr(p.w), 4, out, addr(acc), 0, 1);
    double worst = 0, worstAcc = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < out; ++n) {
        double want = 0, scale = 0;
        for (int64_t k = 0; k < in; ++k) {
          double term = static_cast<double>(p.x[r * in + k]) * p.wide[n * in + k];
          want += term;
          scale += std::fabs(term);
        }
        const size_t i = static_cast<size_t>(r * out + n);
        worst = std::max(worst, std::fabs(y[i] - want) / scale);
        worstAcc = std::max(worstAcc, std::fabs(acc[i] - start[i] - want) / (scale + 1));
      }
    // f32 sums of 96 terms: a few ulps of the sum of magnitudes.
    EXPECT_LT(worst, 1e-6) << rows << " x " << out;
    EXPECT_LT(worstAcc, 1e-6) << rows << " x " << out << " (accumulating)";
  }
}

// The direct kernel called with more rows than one pass handles runs groups
// of 8: the same values as the row-by-row products.
TEST(MXFP4Test, GemvOfManyRowsIsRowByRow) {
  const int64_t rows = 11, in = 64, out = 37;
  Problem p = makeProblem(rows, in, out, 7);
  std::vector<float> all(static_cast<size_t>(rows * out)), one(static_cast<size_t>(out));
  gemvMXFP4(p.x.data(), rows, in, p.w.data(), out, all.data(), false);
  for (int64_t r = 0; r < rows; ++r) {
    gemvMXFP4(p.x.data() + r * in, 1, in, p.w.data(), out, one.data(), false);
    for (int64_t n = 0; n < out; ++n)
      EXPECT_FLOAT_EQ(all[r * out + n], one[n]) << r << ", " << n;
  }
}

} // namespace
