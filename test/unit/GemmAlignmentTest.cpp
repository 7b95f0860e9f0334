// The alignment the CUDA runtime reports to cuBLASLt for each GEMM operand.
#include "runtime/cuda/GemmAlignment.h"

#include <gtest/gtest.h>

using lazyc::rt::gemmAlignment;

TEST(GemmAlignment, LargestPowerOfTwoUpTo256) {
  EXPECT_EQ(gemmAlignment(uintptr_t{0}), 256u);
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000000}), 256u);
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000100}), 256u);
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000080}), 128u); // a 64-byte-aligned arena offset
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000040}), 64u);
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000480}), 128u); // 1,152 bytes: a bf16 row of 576
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000002}), 2u);   // a bf16 element
  EXPECT_EQ(gemmAlignment(uintptr_t{0x7f0000000001}), 1u);
}

TEST(GemmAlignment, RowSlicesOfARowMajorMatrix) {
  // Row r of a [rows x 576] bf16 matrix at a 256-aligned base: 1,152 r bytes.
  alignas(256) static unsigned char base[1152 * 4];
  EXPECT_EQ(gemmAlignment(base), 256u);
  EXPECT_EQ(gemmAlignment(base + 1152), 128u);
  EXPECT_EQ(gemmAlignment(base + 2 * 1152), 256u);
  EXPECT_EQ(gemmAlignment(base + 3 * 1152), 128u);
}
