//===- MXFP4Test.cpp - MXFP4 weights: quantization and GEMMs --------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"
#include "test/unit/BlockWeightsTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;

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

const lazyc::test::BlockFormat kMXFP4{quantizeMXFP4, GGMLType::MXFP4, kMXFP4Bytes, 4,
                                      gemvMXFP4};

// lazyc_rt_linear on MXFP4 weights (type code 4) against a double-precision
// product with the dequantized weights: the rows that read the blocks
// directly (1..31: passes of 8 and a partial one) and the ones that widen
// panels of 256 weight rows (32 on, a partial last panel), and the
// accumulating form of lazyc_rt_linear_ex.
TEST(MXFP4Test, GemmsMatchTheDequantizedWeights) {
  lazyc::test::checkBlockGemms(kMXFP4, {{1, 300}, {2, 300}, {3, 300}, {5, 300}, {8, 300},
                                        {9, 300}, {17, 301}, {31, 37}, {32, 300}, {65, 301}});
}

// The direct kernel called with more rows than one pass handles runs groups
// of 8: the same values as the row-by-row products.
TEST(MXFP4Test, GemvOfManyRowsIsRowByRow) { lazyc::test::checkGemvOfManyRows(kMXFP4); }

// A bf16 model's few-row kernel (gemvMXFP4BF16) against a double-precision
// product of the exact weights with x rounded to bf16 (the kernel's inputs):
// pairs of blocks and a last odd one (in = 2912: 91 blocks), groups of 4 rows
// and a remainder, a subnormal scale (e = 1) and a huge one, accumulating or not.
TEST(MXFP4Test, BF16GemvMatchesTheRoundedInputs) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t in : {64, 2912})
    for (int64_t rows : {1, 3, 6}) {
      const int64_t out = 37;
      std::vector<uint8_t> w(static_cast<size_t>(out * in / kMXFP4Values * kMXFP4Bytes));
      for (size_t i = 0; i < w.size(); ++i)
        w[i] = static_cast<uint8_t>(rng());
      for (size_t b = 0; b < w.size(); b += kMXFP4Bytes) // exponents around 2^-8
        w[b] = static_cast<uint8_t>(b / kMXFP4Bytes % 97 == 3 ? 1 : 112 + rng() % 16);
      if (in == 64)
        w[kMXFP4Bytes] = 240; // the second block of the first row: 2^112
      std::vector<float> x(static_cast<size_t>(rows * in)), values(static_cast<size_t>(out * in));
      for (float &v : x)
        v = dist(rng);
      ASSERT_TRUE(dequantize(GGMLType::MXFP4, w.data(), values.data(), values.size()));
      for (bool accumulate : {false, true}) {
        std::vector<float> y(static_cast<size_t>(rows * out), 0.5f);
        if (!gemvMXFP4BF16(x.data(), rows, in, w.data(), out, y.data(), accumulate))
          GTEST_SKIP() << "no AVX512-BF16 on this CPU";
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t n = 0; n < out; ++n) {
            double want = accumulate ? 0.5 : 0.0, magnitude = 0.0;
            for (int64_t k = 0; k < in; ++k) {
              const double p = static_cast<double>(values[n * in + k]) *
                               bf16ToFloat(floatToBF16(x[r * in + k]));
              want += p;
              magnitude += std::fabs(p);
            }
            EXPECT_NEAR(y[r * out + n], want, 1e-5 * magnitude + 1e-30)
                << "in " << in << " rows " << rows << " row " << r << " output " << n;
          }
      }
    }
}

} // namespace
