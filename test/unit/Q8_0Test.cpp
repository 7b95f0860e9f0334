//===- Q8_0Test.cpp - Q8_0 weights: quantization and GEMMs ----------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;

template <typename T> uint64_t addr(std::vector<T> &v) {
  return reinterpret_cast<uint64_t>(v.data());
}

// quant-types.gguf holds the same values as F32 and as the gguf package's
// Q8_0 (test/fixtures/make_fixtures.py): our quantizer gives its bytes.
TEST(Q8_0Test, QuantizingMatchesTheGgufPackage) {
  std::string error;
  auto file = GGUFFile::open(kFixtures + "/quant-types.gguf", error);
  ASSERT_TRUE(file) << error;
  const GGUFTensorInfo *f32 = file->findTensor("t.F32"), *q8 = file->findTensor("t.Q8_0");
  ASSERT_TRUE(f32 && q8);
  ASSERT_EQ(f32->numElements, q8->numElements);
  const size_t n = static_cast<size_t>(f32->numElements);
  std::vector<uint8_t> got(n / kQ8_0Values * kQ8_0Bytes);
  quantizeQ8_0(reinterpret_cast<const float *>(f32->data), got.data(), n);
  EXPECT_EQ(std::memcmp(got.data(), q8->data, got.size()), 0);
  // ... and quantizing the dequantized blocks gives them back unchanged.
  std::vector<float> widened(n);
  ASSERT_TRUE(dequantize(GGMLType::Q8_0, q8->data, widened.data(), n));
  std::vector<uint8_t> again(got.size());
  quantizeQ8_0(widened.data(), again.data(), n);
  EXPECT_EQ(std::memcmp(again.data(), q8->data, again.size()), 0);
}

// A block of zeros has scale 0 and zero values; inf / nan values (a broken
// file) become 0 instead of an undefined conversion.
TEST(Q8_0Test, ZerosAndNonFiniteValues) {
  std::vector<float> values(kQ8_0Values, 0.0f);
  std::vector<uint8_t> block(kQ8_0Bytes, 0xAB);
  quantizeQ8_0(values.data(), block.data(), values.size());
  for (uint8_t byte : block)
    EXPECT_EQ(byte, 0);
  values[3] = std::numeric_limits<float>::quiet_NaN();
  values[4] = 1.0f;
  quantizeQ8_0(values.data(), block.data(), values.size());
  std::vector<float> back(kQ8_0Values);
  ASSERT_TRUE(dequantize(GGMLType::Q8_0, block.data(), back.data(), back.size()));
  EXPECT_EQ(back[3], 0.0f);
}

/// A random [out x in] Q8_0 matrix, its widened values and random inputs.
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
  p.w.resize(static_cast<size_t>(out * q8_0RowBytes(in)));
  quantizeQ8_0(values.data(), p.w.data(), values.size());
  p.wide.resize(values.size());
  dequantize(GGMLType::Q8_0, p.w.data(), p.wide.data(), values.size());
  p.x.resize(static_cast<size_t>(rows * in));
  for (float &v : p.x)
    v = normal(gen) * 20.0f;
  return p;
}

// lazyc_rt_linear on Q8_0 weights (type code 3) against a double-precision
// product with the widened weights: the decode rows (the blocks read
// directly, 1..8 rows), a pruned step's few dozen (9..64: weight rows
// widened in L1, tiles of 8 input rows and a partial one, an odd last output
// row), the prefill rows (widened panels of 256 weight rows, a partial last
// panel), and the accumulating form of lazyc_rt_linear_ex.
TEST(Q8_0Test, GemmsMatchTheWidenedWeights) {
  const int64_t in = 96; // 3 blocks per row
  for (auto [rows, out] : {std::pair<int64_t, int64_t>{1, 300}, {2, 300}, {3, 300}, {5, 300},
                           {8, 300}, {9, 300}, {17, 301}, {40, 300}, {64, 37}, {65, 300},
                           {130, 301}}) {
    Problem p = makeProblem(rows, in, out, static_cast<uint32_t>(rows));
    std::vector<float> y(static_cast<size_t>(rows * out)), acc(y.size());
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = 0.5f * static_cast<float>(i % 5);
    std::vector<float> start = acc;
    lazyc_rt_linear(addr(p.x), rows, in, addr(p.w), 3, out, addr(y));
    lazyc_rt_linear_ex(addr(p.x), 0, rows, in, addr(p.w), 3, out, addr(acc), 0, 1);
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

// The decode kernel called directly with more rows than one pass handles
// runs groups of 8: the same values as the row-by-row products.
TEST(Q8_0Test, GemvOfManyRowsIsRowByRow) {
  const int64_t rows = 11, in = 64, out = 37;
  Problem p = makeProblem(rows, in, out, 7);
  std::vector<float> all(static_cast<size_t>(rows * out)), one(static_cast<size_t>(out));
  gemvQ8_0(p.x.data(), rows, in, p.w.data(), out, all.data(), false);
  for (int64_t r = 0; r < rows; ++r) {
    gemvQ8_0(p.x.data() + r * in, 1, in, p.w.data(), out, one.data(), false);
    for (int64_t n = 0; n < out; ++n)
      EXPECT_FLOAT_EQ(all[r * out + n], one[n]) << r << ", " << n;
  }
}

} // namespace
