//===- KernelProfileTest.cpp - LAZYC_CUDA_PROFILE's per-kind kernel totals -===//

#include "runtime/cuda/KernelProfile.h"

#include <gtest/gtest.h>

using lazyc::rt::kernelKind;
using lazyc::rt::KernelTotals;

TEST(KernelProfile, KindStripsTheUniqueSuffix) {
  // lazyc-gpu-name-kernels: <function>_<kind>_<N>.
  EXPECT_EQ(kernelKind("forward_rms_norm_12"), "forward_rms_norm");
  EXPECT_EQ(kernelKind("forward_rope_0"), "forward_rope");
  EXPECT_EQ(kernelKind("decode_select_130"), "decode_select");
  // Not of that form: unchanged.
  EXPECT_EQ(kernelKind("forward_kernel"), "forward_kernel");
  EXPECT_EQ(kernelKind("kernel7"), "kernel7");
  EXPECT_EQ(kernelKind("_7"), "_7");
  EXPECT_EQ(kernelKind("7"), "7");
  EXPECT_EQ(kernelKind(""), "");
}

TEST(KernelProfile, TotalsPerKindMostTimeFirst) {
  KernelTotals totals;
  EXPECT_TRUE(totals.empty());
  totals.add(kernelKind("forward_rope_1"), 1.5);
  totals.add(kernelKind("forward_rms_norm_2"), 2.0);
  totals.add(kernelKind("forward_rope_3"), 1.0);
  totals.add(kernelKind("forward_swiglu_4"), 0.25);
  auto sorted = totals.sorted();
  ASSERT_EQ(sorted.size(), 3u);
  EXPECT_EQ(sorted[0].kind, "forward_rope");
  EXPECT_DOUBLE_EQ(sorted[0].ms, 2.5);
  EXPECT_EQ(sorted[0].launches, 2);
  EXPECT_EQ(sorted[1].kind, "forward_rms_norm");
  EXPECT_EQ(sorted[1].launches, 1);
  EXPECT_EQ(sorted[2].kind, "forward_swiglu");
}
