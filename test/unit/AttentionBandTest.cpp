// The CUDA attention kernels' sliding-window and soft-capping arithmetic
// (runtime/cuda/AttentionBand.h), run on the host: which keys a block of
// query rows reads (its first key by the window, flash-decoding's split
// ranges) and which of them each row masks must give every row exactly the
// keys the CPU kernels attend to.
#include "runtime/cuda/AttentionBand.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace lazyc::rt;

namespace {

/// Ascending distinct positions: each of 0..limit-1 kept with probability p.
std::vector<int32_t> randomPositions(std::mt19937 &rng, int limit, double p) {
  std::bernoulli_distribution keep(p);
  std::vector<int32_t> out;
  for (int i = 0; i < limit; ++i)
    if (keep(rng))
      out.push_back(i);
  return out;
}

} // namespace

TEST(AttentionBand, FirstKeyAboveMatchesALinearScan) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int32_t> keys = randomPositions(rng, 300, trial % 2 ? 0.3 : 0.9);
    const int n = static_cast<int>(keys.size());
    for (int64_t lowest = -5; lowest < 310; lowest += 7) {
      int want = 0;
      while (want < n && keys[want] <= lowest)
        ++want;
      EXPECT_EQ(firstKeyAbove(keys.data(), n, lowest), want) << lowest;
    }
  }
  // Without a list slot i is position i.
  EXPECT_EQ(firstKeyAbove(nullptr, 100, -30), 0);
  EXPECT_EQ(firstKeyAbove(nullptr, 100, 0), 1);
  EXPECT_EQ(firstKeyAbove(nullptr, 100, 41), 42);
  EXPECT_EQ(firstKeyAbove(nullptr, 100, 99), 100);
  EXPECT_EQ(firstKeyAbove(nullptr, 100, int64_t{1} << 40), 100);
  EXPECT_EQ(firstKeyAbove(nullptr, 0, 5), 0);
}

TEST(AttentionBand, NoBandChangesNothing) {
  const AttentionBand none = makeAttentionBand(0, 0.125, 0.0);
  EXPECT_EQ(none.window, 0);
  EXPECT_EQ(none.capLog2, 0.0f);
  EXPECT_EQ(windowFloor(1000, none), INT_MIN);
  const int32_t keys[] = {0, 5, 9};
  EXPECT_EQ(firstBandKey(keys, 3, 9, none), 0);
  EXPECT_EQ(firstBandKey(nullptr, 50, 49, none), 0);
  const float scaleLog2 = static_cast<float>(0.125 * 1.4426950408889634);
  EXPECT_EQ(bandLogit2(3.0f, scaleLog2, none), 3.0f * scaleLog2);
}

TEST(AttentionBand, SoftCappedLogitsAreGemma2s) {
  const double scale = 0.25, cap = 2.0;
  const AttentionBand band = makeAttentionBand(0, scale, cap);
  const float scaleLog2 = static_cast<float>(scale * 1.4426950408889634);
  for (float dot : {-40.0f, -3.0f, 0.0f, 0.5f, 7.0f, 100.0f}) {
    // log2 units: cap * tanh(scale * dot / cap) / ln 2.
    const double want = cap * std::tanh(scale * dot / cap) / std::log(2.0);
    EXPECT_NEAR(bandLogit2(dot, scaleLog2, band), want, 1e-5 * (1 + std::fabs(want))) << dot;
    EXPECT_LE(std::fabs(bandLogit2(dot, scaleLog2, band)), cap / std::log(2.0) + 1e-5);
  }
}

// Every block of query rows (ascending positions, with gaps when the keys
// are a pruned layer's list), every window, every split count: the keys a
// row keeps after the kernel's range and masks are exactly those in
// (pos - window, pos], and the splits' ranges are disjoint whole tiles.
TEST(AttentionBand, BlocksReadEveryKeyTheirRowsSeeAndMaskTheRest) {
  std::mt19937 rng(7);
  constexpr int kTile = 64;
  int checkedRows = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const bool keyed = trial % 3 != 0;
    std::vector<int32_t> pos = randomPositions(rng, 600, keyed ? 0.6 : 1.0);
    std::vector<int32_t> keyList;
    if (keyed) {
      for (size_t i = 0; i < pos.size(); i += 1 + trial % 4)
        keyList.push_back(pos[i]);
      keyList.push_back(pos.back());
      std::sort(keyList.begin(), keyList.end());
      keyList.erase(std::unique(keyList.begin(), keyList.end()), keyList.end());
    }
    const int32_t *keys = keyed ? keyList.data() : nullptr;
    const int numKeys = keyed ? static_cast<int>(keyList.size()) : pos.back() + 1;
    auto keyPos = [&](int j) { return keys ? keys[j] : j; };
    const int rows = static_cast<int>(pos.size());
    for (int window : {1, 5, 48, 64, 100, 300, 5000})
      for (int blockRows : {1, 16, 128}) {
        const AttentionBand band = makeAttentionBand(window, 0.125, 0.0);
        for (int row0 = 0; row0 < rows; row0 += blockRows * 5) {
          const int last = std::min(row0 + blockRows, rows) - 1;
          const int visible = firstKeyAbove(keys, numKeys, pos[last]); // keys <= last's pos
          const int lowest = std::min(firstBandKey(keys, numKeys, pos[row0], band), visible);
          for (unsigned splits : {1u, 3u, 7u}) {
            std::vector<int> readBy(static_cast<size_t>(numKeys), 0);
            for (unsigned z = 0; z < splits; ++z) {
              const KeyRange r =
                  splitKeyRange(lowest, visible, splits, static_cast<int>(z), kTile);
              ASSERT_LE(r.first, r.end);
              ASSERT_LE(r.end, visible);
              if (r.first < r.end) {
                EXPECT_EQ((r.first - lowest) % kTile, 0) << "a split starts at a whole tile";
              }
              for (int j = r.first; j < r.end; ++j)
                ++readBy[static_cast<size_t>(j)];
            }
            for (int j = 0; j < numKeys; ++j)
              ASSERT_LE(readBy[static_cast<size_t>(j)], 1) << "key " << j << " read twice";
            for (int row = row0; row <= last; ++row) {
              const int floor = windowFloor(pos[row], band);
              for (int j = 0; j < numKeys; ++j) {
                const int kp = keyPos(j);
                const bool kernel = readBy[static_cast<size_t>(j)] && kp <= pos[row] && kp > floor;
                const bool cpu = kp <= pos[row] && kp > pos[row] - window;
                ASSERT_EQ(kernel, cpu) << "row at " << pos[row] << ", key at " << kp
                                       << ", window " << window << ", " << splits << " splits";
              }
              ++checkedRows;
            }
          }
        }
      }
  }
  EXPECT_GT(checkedRows, 10000);
}

// rowAttention (one warp per query row): the row's keys from the first its
// window sees to the last at or before it, split into equal ranges that
// cover them once; its lanes' dimension pairs cover a head once.
TEST(AttentionBand, RowKernelReadsEachOfItsRowsKeysOnce) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<int32_t> keys = randomPositions(rng, 400, trial % 2 ? 0.4 : 1.0);
    const int n = static_cast<int>(keys.size());
    for (int window : {0, 1, 7, 64, 1000})
      for (int pos : {0, 1, 50, 199, 399}) {
        const AttentionBand band = makeAttentionBand(window, 0.1, 0.0);
        const int first = firstBandKey(keys.data(), n, pos, band);
        const int end = std::max(first, firstKeyAbove(keys.data(), n, pos));
        for (unsigned splits : {1u, 2u, 3u, 7u, 64u}) {
          std::vector<int> reads(static_cast<size_t>(n), 0);
          for (unsigned z = 0; z < splits; ++z) {
            const KeyRange r = splitRowKeys(first, end, splits, static_cast<int>(z));
            ASSERT_LE(r.first, r.end);
            for (int j = r.first; j < r.end; ++j)
              ++reads[static_cast<size_t>(j)];
          }
          for (int j = 0; j < n; ++j) {
            const bool sees = keys[j] <= pos && (window == 0 || keys[j] > pos - window);
            ASSERT_EQ(reads[static_cast<size_t>(j)], sees ? 1 : 0)
                << "key at " << keys[j] << ", row at " << pos << ", window " << window << ", "
                << splits << " splits";
          }
        }
      }
  }
  // Lane l of a warp holds dims 2l, 2l + 1, 2l + 64, ... (PAIRS = ceil(D / 64)).
  for (int dim : {16, 64, 80, 96, 128, 200, 256}) {
    std::vector<int> held(static_cast<size_t>(dim), 0);
    const int pairs = (dim + 63) / 64;
    for (int lane = 0; lane < 32; ++lane)
      for (int i = 0; i < pairs; ++i)
        for (int d = 2 * lane + 64 * i; d < 2 * lane + 64 * i + 2; ++d)
          if (2 * lane + 64 * i < dim)
            ++held[static_cast<size_t>(d)];
    for (int d = 0; d < dim; ++d)
      ASSERT_EQ(held[static_cast<size_t>(d)], 1) << "head size " << dim << ", dim " << d;
  }
}
