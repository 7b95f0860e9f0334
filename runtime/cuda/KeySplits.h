//===- KeySplits.h - how many key ranges a small attention step splits into ===//
//
// A decode step (one query row, or a few) gives lazyc's flash kernel one
// block per head: 32 blocks for a 7B model, 9 for SmolLM2, on a GPU of 132
// SMs, each block streaming its head's whole K/V history from memory. With
// the keys split into ranges (flash-decoding), every range is a block of its
// own and a small combine kernel merges the ranges' partial softmax rows.
// Plain C++ (no CUDA), so it is unit-tested on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_KEYSPLITS_H
#define LAZYC_RUNTIME_CUDA_KEYSPLITS_H

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace lazyc::rt {

/// Keys per tile of the flash kernel; a split covers whole tiles.
constexpr int64_t kKeyTile = 64;
/// Fewest tiles a split gets (auto): below, the combine costs more than the
/// parallelism gains.
constexpr int64_t kMinTilesPerSplit = 4;
/// Most splits (auto or forced).
constexpr int64_t kMaxKeySplits = 64;

/// Splits for a step of `blocks` (query-row blocks x heads) over `keys` keys
/// on `sms` SMs. `setting` is LAZYC_CUDA_KEY_SPLITS: unset, empty or "auto":
/// enough splits for about two blocks per SM, each of at least
/// kMinTilesPerSplit tiles (1 when the step already fills the GPU); "0" or
/// "1": no splitting; N > 1: N splits (at most one per tile and
/// kMaxKeySplits). Returns 0 for a setting that is none of these.
inline int64_t keySplits(int64_t blocks, int64_t keys, int64_t sms, const char *setting) {
  const int64_t tiles = std::max<int64_t>(1, (keys + kKeyTile - 1) / kKeyTile);
  const std::string value = setting ? setting : "";
  if (!value.empty() && value != "auto") {
    if (value.find_first_not_of("0123456789") != std::string::npos || value.size() > 6)
      return 0;
    const int64_t forced = std::atoll(value.c_str());
    return std::clamp<int64_t>(std::min(forced, tiles), 1, kMaxKeySplits);
  }
  if (blocks <= 0 || sms <= 0 || blocks >= sms)
    return 1;
  const int64_t wanted = (2 * sms + blocks - 1) / blocks;
  return std::clamp<int64_t>(std::min(wanted, tiles / kMinTilesPerSplit), 1, kMaxKeySplits);
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_KEYSPLITS_H
