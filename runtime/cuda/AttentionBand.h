//===- AttentionBand.h - sliding windows and soft-capped scores, host+device ===//
//
// What the CUDA attention kernels add to causal attention for Mistral's,
// Gemma 2/3's and Phi-3's layers, with the CPU kernels' meaning
// (runtime/cpu/Kernels.h, lazyc_rt_attention_ex): under a sliding window W a
// query row at position p sees the keys at positions in (p - W, p]; Gemma 2
// soft-caps the scaled score s to cap * tanh(s / cap) before the softmax.
// Plain functions usable in device code and on the host, so the key-range
// arithmetic the kernels rely on is unit-tested on machines without a GPU
// (AttentionBandTest).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_ATTENTIONBAND_H
#define LAZYC_RUNTIME_CUDA_ATTENTIONBAND_H

#include <climits>
#include <cstdint>
#include <math.h>

#if defined(__CUDACC__)
#define LAZYC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LAZYC_HOST_DEVICE inline
#endif

namespace lazyc::rt {

/// A layer's band: `window` > 0 the sliding window (0: none); with
/// `capLog2` > 0 the scores are soft-capped: the kernels' log2-unit logit of
/// a dot product d is capLog2 * tanh(d * capInv) (capLog2 = cap * log2(e),
/// capInv = scale / cap) instead of d * scale * log2(e).
struct AttentionBand {
  int window = 0;
  float capLog2 = 0.0f, capInv = 0.0f;
};

/// The band of a layer: `window` 0 none, `softcap` 0 none.
inline AttentionBand makeAttentionBand(int64_t window, double scale, double softcap) {
  AttentionBand band;
  band.window = static_cast<int>(window);
  if (softcap > 0.0) {
    band.capLog2 = static_cast<float>(softcap * 1.4426950408889634);
    band.capInv = static_cast<float>(scale / softcap);
  }
  return band;
}

/// The index of the first of `n` keys (ascending positions `keys`, or slot
/// i at position i when `keys` is null) whose position is > `lowest`; n when
/// none is.
LAZYC_HOST_DEVICE int firstKeyAbove(const int32_t *keys, int n, int64_t lowest) {
  if (!keys) {
    const int64_t first = lowest + 1;
    return first <= 0 ? 0 : first >= n ? n : static_cast<int>(first);
  }
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (keys[mid] <= lowest)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/// The highest key position a query row at `pos` does not see under the
/// band's window (keys at positions <= it are masked); INT_MIN without a
/// window. Rows past a step's end (pos -1) mask everything anyway.
LAZYC_HOST_DEVICE int windowFloor(int pos, const AttentionBand &band) {
  return band.window > 0 ? pos - band.window : INT_MIN;
}

/// The first key a block of query rows whose earliest position is
/// `firstPos` can see (0 without a window): rows are ascending, so every
/// key before it is outside every row's window.
LAZYC_HOST_DEVICE int firstBandKey(const int32_t *keys, int n, int firstPos,
                                   const AttentionBand &band) {
  return band.window > 0 ? firstKeyAbove(keys, n, static_cast<int64_t>(firstPos) - band.window)
                         : 0;
}

/// Keys [first, end) of split `z` of `splits` (flash-decoding) of a block
/// that reads keys [lowest, visible) (lowest <= visible): whole tiles of
/// `tile` keys each from `lowest`, the last split's range short or empty.
struct KeyRange {
  int first, end;
};
LAZYC_HOST_DEVICE int minInt(int a, int b) { return a < b ? a : b; }
LAZYC_HOST_DEVICE KeyRange splitKeyRange(int lowest, int visible, unsigned splits, int z,
                                          int tile) {
  const int tiles = (visible - lowest + tile - 1) / tile;
  // Unsigned, as gridDim.z: the cheaper division.
  const int splitTiles = static_cast<int>((static_cast<unsigned>(tiles) + splits - 1) / splits);
  KeyRange r;
  r.first = minInt(visible, lowest + z * splitTiles * tile);
  r.end = minInt(visible, r.first + splitTiles * tile);
  return r;
}

/// Keys [first, end) of split `z` of `splits` of one query row's keys
/// [lowest, visible) (rowAttention: equal shares, not whole tiles; the last
/// short or empty).
LAZYC_HOST_DEVICE KeyRange splitRowKeys(int lowest, int visible, unsigned splits, int z) {
  const int per = static_cast<int>((static_cast<unsigned>(visible - lowest) + splits - 1) / splits);
  KeyRange r;
  r.first = minInt(visible, lowest + z * per);
  r.end = minInt(visible, r.first + per);
  return r;
}

/// The logit, in log2 units, of dot product `dot`: scaled, or soft-capped.
LAZYC_HOST_DEVICE float bandLogit2(float dot, float scaleLog2, const AttentionBand &band) {
  return band.capLog2 > 0.0f ? band.capLog2 * tanhf(dot * band.capInv) : dot * scaleLog2;
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_ATTENTIONBAND_H
