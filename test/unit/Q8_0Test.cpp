//===- Q8_0Test.cpp - Q8_0 weights: quantization and GEMMs ----------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"
#include "test/unit/BlockWeightsTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;

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

const lazyc::test::BlockFormat kQ8_0{quantizeQ8_0, GGMLType::Q8_0, kQ8_0Bytes, 3, gemvQ8_0};

// lazyc_rt_linear on Q8_0 weights (type code 3) against a double-precision
// product with the widened weights: the decode rows (the blocks read
// directly, 1..8 rows), a pruned step's few dozen (9..64: passes of 8 input
// rows and a partial one, an odd last output row), the prefill rows
// (widened panels of 256 weight rows, a partial last panel), and the
// accumulating form of lazyc_rt_linear_ex.
TEST(Q8_0Test, GemmsMatchTheWidenedWeights) {
  lazyc::test::checkBlockGemms(kQ8_0, {{1, 300}, {2, 300}, {3, 300}, {5, 300}, {8, 300},
                                       {9, 300}, {17, 301}, {40, 300}, {64, 37}, {65, 300},
                                       {130, 301}});
}

// The decode kernel called directly with more rows than one pass handles
// runs groups of 8: the same values as the row-by-row products.
TEST(Q8_0Test, GemvOfManyRowsIsRowByRow) { lazyc::test::checkGemvOfManyRows(kQ8_0); }

} // namespace
