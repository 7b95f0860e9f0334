// How a small attention step splits its keys (runtime/cuda/KeySplits.h):
// host logic of the CUDA runtime, run without a GPU.
#include "runtime/cuda/KeySplits.h"

#include <gtest/gtest.h>

using lazyc::rt::keySplits;

TEST(KeySplits, AboutTwoBlocksPerSMForADecodeStep) {
  // 7B (32 heads) on an H100 (132 SMs): ceil(264 / 32) = 9 ranges of 4k keys.
  EXPECT_EQ(keySplits(32, 4096, 132, nullptr), 9);
  EXPECT_EQ(keySplits(32, 16384, 132, "auto"), 9);
  // SmolLM2 (9 heads): 30 wanted, but 1k keys are 16 tiles: 4 of 4 tiles each.
  EXPECT_EQ(keySplits(9, 1024, 132, ""), 4);
  EXPECT_EQ(keySplits(9, 100000, 132, nullptr), 30);
}

TEST(KeySplits, NoneWhenTheStepFillsTheGPUOrHasFewKeys) {
  EXPECT_EQ(keySplits(132, 1 << 20, 132, nullptr), 1);
  EXPECT_EQ(keySplits(400, 1 << 20, 132, nullptr), 1);
  EXPECT_EQ(keySplits(32, 7 * 64, 132, nullptr), 1); // 7 tiles: under two ranges of 4
  EXPECT_EQ(keySplits(32, 8 * 64, 132, nullptr), 2);
  EXPECT_EQ(keySplits(32, 0, 132, nullptr), 1);
  EXPECT_EQ(keySplits(32, 4096, 0, nullptr), 1); // SM count unknown
  EXPECT_EQ(keySplits(1, 1 << 24, 132, nullptr), lazyc::rt::kMaxKeySplits);
}

TEST(KeySplits, TheEnvironmentForcesOrTurnsThemOff) {
  EXPECT_EQ(keySplits(32, 4096, 132, "0"), 1);
  EXPECT_EQ(keySplits(32, 4096, 132, "1"), 1);
  EXPECT_EQ(keySplits(32, 4096, 132, "3"), 3);
  EXPECT_EQ(keySplits(500, 4096, 132, "3"), 3); // forced even when the GPU is full
  EXPECT_EQ(keySplits(32, 100, 132, "5"), 2);   // at most one range per tile
  EXPECT_EQ(keySplits(32, 1 << 20, 132, "1000"), lazyc::rt::kMaxKeySplits);
  for (const char *bad : {"-1", "two", "3x", " 3", "99999999"})
    EXPECT_EQ(keySplits(32, 4096, 132, bad), 0) << bad;
}
