//===- KVRows.h - one layer's rows of the CPU KV cache ----------*- C++ -*-===//
//
// The CPU runtime's KV cache holds f32, or with lazy-compile --kv-cache f16
// (LazycKVCache::kv_type 2) or bf16 (kv_type 1): half the memory and half the
// bytes a decode step reads; a bf16 cache also lets prefill attention run its
// two GEMMs in bf16. Kernels read rows through KVRows, widened to f32 (F16C
// where the kernels are compiled for it), or as they are.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_KVROWS_H
#define LAZYC_RUNTIME_CPU_KVROWS_H

#include "runtime/cpu/Kernels.h"
#include "runtime/model/Quant.h"

#include <cstdint>
#include <cstring>

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace lazyc::rt {

/// f32 -> f16, round to nearest even.
inline void roundToHalf(const float *src, uint16_t *dst, int64_t n) {
  int64_t i = 0;
#ifdef __F16C__
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
  for (; i < n; ++i)
    dst[i] = floatToHalf(src[i]);
}

/// f16 -> f32 (exact).
inline void widenHalf(const uint16_t *src, float *dst, int64_t n) {
  int64_t i = 0;
#ifdef __F16C__
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(src + i))));
#endif
  for (; i < n; ++i)
    dst[i] = halfToFloat(src[i]);
}

/// bf16 -> f32 (exact).
inline void widenBF16(const uint16_t *src, float *dst, int64_t n) {
  int64_t i = 0;
#ifdef __AVX2__
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(
                                  _mm256_cvtepu16_epi32(_mm_loadu_si128(
                                      reinterpret_cast<const __m128i *>(src + i))),
                                  16)));
#endif
  for (; i < n; ++i)
    dst[i] = bf16ToFloat(src[i]);
}

/// The element types of LazycKVCache::kv_type (the activation type codes).
enum class KVType : int64_t { F32 = 0, BF16 = 1, F16 = 2 };

/// An f16 value's bits: the element of an f16 cache's rows read in place
/// (a type of its own, so kernels widen it as f16, not as bf16).
struct HalfBits {
  uint16_t bits;
};

/// Layer `layer`'s keys (`values` false) or values of the cache: rows of
/// kv_dim elements, one per slot.
class KVRows {
public:
  KVRows(const LazycKVCache &cache, int64_t layer, bool values)
      : type_(static_cast<KVType>(cache.kv_type)), kvDim_(cache.kv_dim) {
    const size_t offset = static_cast<size_t>(layer * cache.context * cache.kv_dim) *
                          (isF32() ? sizeof(float) : sizeof(uint16_t));
    base_ = static_cast<uint8_t *>(values ? cache.v : cache.k) + offset;
  }
  bool isF32() const { return type_ == KVType::F32; }
  bool isBF16() const { return type_ == KVType::BF16; }
  bool isF16() const { return type_ == KVType::F16; }
  /// Row `slot` in place (f32 caches only).
  const float *f32Row(int64_t slot) const {
    return reinterpret_cast<const float *>(base_) + slot * kvDim_;
  }
  /// Row `slot` in place (bf16 caches only).
  const uint16_t *bf16Row(int64_t slot) const {
    return reinterpret_cast<const uint16_t *>(base_) + slot * kvDim_;
  }
  /// Row `slot` in place (f16 caches only).
  const HalfBits *f16Row(int64_t slot) const {
    return reinterpret_cast<const HalfBits *>(base_) + slot * kvDim_;
  }
  /// Writes row `slot` (rounded to f16 / bf16, to nearest even, in a 16-bit
  /// cache).
  void store(int64_t slot, const float *src) const {
    auto *row16 = reinterpret_cast<uint16_t *>(base_) + slot * kvDim_;
    switch (type_) {
    case KVType::F16:
      roundToHalf(src, row16, kvDim_);
      break;
    case KVType::BF16:
      for (int64_t i = 0; i < kvDim_; ++i)
        row16[i] = floatToBF16(src[i]);
      break;
    case KVType::F32:
      std::memcpy(reinterpret_cast<float *>(base_) + slot * kvDim_, src, kvDim_ * sizeof(float));
      break;
    }
  }
  /// Asks for row `slot`'s cache lines ahead of a load.
  void prefetch(int64_t slot) const {
    const size_t bytes = static_cast<size_t>(kvDim_) * (isF32() ? sizeof(float) : sizeof(uint16_t));
    const uint8_t *row = base_ + static_cast<size_t>(slot) * bytes;
    for (size_t at = 0; at < bytes; at += 64)
      __builtin_prefetch(row + at);
  }
  /// Copies `n` values from column `column` of row `slot` to dst, as f32.
  void load(int64_t slot, int64_t column, int64_t n, float *dst) const {
    const auto *row16 = reinterpret_cast<const uint16_t *>(base_) + slot * kvDim_ + column;
    switch (type_) {
    case KVType::F16:
      widenHalf(row16, dst, n);
      break;
    case KVType::BF16:
      widenBF16(row16, dst, n);
      break;
    case KVType::F32:
      std::memcpy(dst, f32Row(slot) + column, n * sizeof(float));
      break;
    }
  }

private:
  uint8_t *base_;
  KVType type_;
  int64_t kvDim_;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CPU_KVROWS_H
