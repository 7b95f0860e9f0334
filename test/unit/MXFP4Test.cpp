//===- MXFP4Test.cpp - MXFP4 weights: quantization and GEMMs --------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"
#include "test/unit/BlockWeightsTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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

} // namespace
