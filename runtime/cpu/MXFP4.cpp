//===- MXFP4.cpp - GEMMs on MXFP4 weights ---------------------------------===//
//
// Compiled for LAZYC_KERNEL_ARCH (x86-64-v3: AVX2, FMA) like the other
// kernels; a portable loop otherwise. The block kernels are BlockGemv.h's
// over MXFP4's blocks: a block's 32 codes become int8 values through a
// 16-entry table (a byte shuffle), its scale a power of two.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/BlockGemv.h"

#include "runtime/model/Quant.h"

#include <omp.h>
#include <vector>

using namespace lazyc::rt;

namespace {

struct MXFP4Blocks {
  static constexpr int64_t kBytes = kMXFP4Bytes;
  static float scale(const uint8_t *block) { return e8m0Half(block[0]); }
  /// Values 0..15 in the low nibbles of bytes 1..16, 16..31 in the high ones.
  static int8_t value(const uint8_t *block, int j) {
    return kE2M1Doubled[j < 16 ? block[1 + j] & 0xF : block[1 + j - 16] >> 4];
  }
#ifdef LAZYC_BLOCK_AVX2
  static void codes(const uint8_t *block, __m128i &first, __m128i &last) {
    const __m128i table = _mm_load_si128(reinterpret_cast<const __m128i *>(kE2M1Doubled));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 1));
    first = _mm_shuffle_epi8(table, _mm_and_si128(q, mask));
    last = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), mask));
  }
#endif
};
static_assert(kMXFP4Values == blocks::kValues && kMXFP4GemvRows == blocks::kGemvRows);

} // namespace

void lazyc::rt::gemvMXFP4(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                          int64_t out, float *y, bool accumulate) {
  blocks::gemv<MXFP4Blocks>(x, rows, in, w, out, y, accumulate);
}

#ifdef LAZYC_BLOCK_AVX2
namespace {
#define LAZYC_MXBF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// The order gemvMXFP4BF16 reads x in: per pair of blocks A, B (64 values),
/// A0-7 B0-7 A8-15 B8-15 A16-23 B16-23 A24-31 B24-31; a last odd block as it is.
void permuteToBF16(const float *x, int64_t in, uint16_t *xb) {
  int64_t p = 0;
  for (; p + 64 <= in; p += 64)
    for (int g = 0; g < 4; ++g)
      for (int i = 0; i < 8; ++i) {
        xb[p + g * 16 + i] = floatToBF16(x[p + g * 8 + i]);
        xb[p + g * 16 + 8 + i] = floatToBF16(x[p + 32 + g * 8 + i]);
      }
  for (; p < in; ++p)
    xb[p] = floatToBF16(x[p]);
}

/// Output rows [begin, end) of R input rows xb (permuteToBF16's, row stride
/// `in`).
template <int R>
LAZYC_MXBF16_TARGET void passBF16(const uint16_t *xb, int64_t in, const uint8_t *w, int64_t begin,
                                  int64_t end, int64_t out, float *y, bool accumulate) {
  // Low and high bytes of kE2M1Doubled's bf16 values, in both 128-bit lanes.
  alignas(16) uint8_t lowBytes[16], highBytes[16];
  for (int c = 0; c < 16; ++c) {
    const uint16_t v = floatToBF16(static_cast<float>(kE2M1Doubled[c]));
    lowBytes[c] = static_cast<uint8_t>(v & 0xFF);
    highBytes[c] = static_cast<uint8_t>(v >> 8);
  }
  const __m256i tableLow =
      _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(lowBytes)));
  const __m256i tableHigh =
      _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(highBytes)));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const int64_t count = in / kMXFP4Values, pairs = count / 2, rowBytes = mxfp4RowBytes(in);
  for (int64_t n = begin; n < end; ++n) {
    const uint8_t *row = w + n * rowBytes;
    __m512 acc[R][2];
    for (int r = 0; r < R; ++r)
      acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t i = 0; i < pairs; ++i) {
      const uint8_t *a = row + 2 * i * kMXFP4Bytes, *b = a + kMXFP4Bytes;
      const __m256i q = _mm256_inserti128_si256(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + 1))),
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(b + 1)), 1);
      const __m256i lo = _mm256_and_si256(q, mask);                       // values 0..15
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask); // 16..31
      const __m256i lowLo = _mm256_shuffle_epi8(tableLow, lo);
      const __m256i highLo = _mm256_shuffle_epi8(tableHigh, lo);
      const __m256i lowHi = _mm256_shuffle_epi8(tableLow, hi);
      const __m256i highHi = _mm256_shuffle_epi8(tableHigh, hi);
      const __m512i w1 = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_unpacklo_epi8(lowLo, highLo)),
          _mm256_unpackhi_epi8(lowLo, highLo), 1);
      const __m512i w2 = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_unpacklo_epi8(lowHi, highHi)),
          _mm256_unpackhi_epi8(lowHi, highHi), 1);
      // Lanes 0-3 and 8-11 of the products are A's, 4-7 and 12-15 B's.
      const __m512 scale = _mm512_mask_blend_ps(0xF0F0, _mm512_set1_ps(e8m0Half(a[0])),
                                                _mm512_set1_ps(e8m0Half(b[0])));
      for (int r = 0; r < R; ++r) {
        const uint16_t *xr = xb + r * in + i * 64;
        __m512 p = _mm512_dpbf16_ps(
            _mm512_setzero_ps(), reinterpret_cast<__m512bh>(w1),
            reinterpret_cast<__m512bh>(_mm512_loadu_si512(xr)));
        p = _mm512_dpbf16_ps(p, reinterpret_cast<__m512bh>(w2),
                             reinterpret_cast<__m512bh>(_mm512_loadu_si512(xr + 32)));
        acc[r][i & 1] = _mm512_fmadd_ps(p, scale, acc[r][i & 1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      float dot = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
      if (count % 2) { // the last block, in order
        const uint8_t *block = row + (count - 1) * kMXFP4Bytes;
        const uint16_t *xr = xb + r * in + (count - 1) * kMXFP4Values;
        float t = 0.0f;
        for (int j = 0; j < kMXFP4Values; ++j)
          t += static_cast<float>(MXFP4Blocks::value(block, j)) * bf16ToFloat(xr[j]);
        dot += t * e8m0Half(block[0]);
      }
      float &dst = y[r * out + n];
      dst = accumulate ? dst + dot : dot;
    }
  }
}

template <int R>
void gemvBF16Rows(const float *x, int64_t in, const uint8_t *w, int64_t out, float *y,
                  bool accumulate) {
  thread_local std::vector<uint16_t> xb;
  xb.resize(static_cast<size_t>(R * in));
  for (int r = 0; r < R; ++r)
    permuteToBF16(x + r * in, in, xb.data() + r * in);
  const uint16_t *xr = xb.data();
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    passBF16<R>(xr, in, w, out * t / threads, out * (t + 1) / threads, out, y, accumulate);
  }
}

const bool kHaveMXFP4BF16 =
    __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
} // namespace
#endif

bool lazyc::rt::gemvMXFP4BF16(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                              int64_t out, float *y, bool accumulate) {
#ifdef LAZYC_BLOCK_AVX2
  if (!kHaveMXFP4BF16)
    return false;
  for (int64_t r = 0; r < rows; r += 4) {
    const float *xr = x + r * in;
    float *yr = y + r * out;
    switch (rows - r < 4 ? rows - r : 4) {
    case 1: gemvBF16Rows<1>(xr, in, w, out, yr, accumulate); break;
    case 2: gemvBF16Rows<2>(xr, in, w, out, yr, accumulate); break;
    case 3: gemvBF16Rows<3>(xr, in, w, out, yr, accumulate); break;
    default: gemvBF16Rows<4>(xr, in, w, out, yr, accumulate); break;
    }
  }
  return true;
#else
  (void)x, (void)rows, (void)in, (void)w, (void)out, (void)y, (void)accumulate;
  return false;
#endif
}

void lazyc::rt::widenMXFP4Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                               float *out) {
  blocks::widenRows<MXFP4Blocks>(w, in, first, count, out, [](float v) { return v; });
}

void lazyc::rt::widenMXFP4RowsBF16(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                                   uint16_t *out) {
  blocks::widenRows<MXFP4Blocks>(w, in, first, count, out, floatToBF16);
}
