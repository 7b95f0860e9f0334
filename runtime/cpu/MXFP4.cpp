//===- MXFP4.cpp - GEMMs on MXFP4 weights ---------------------------------===//
//
// Compiled for LAZYC_KERNEL_ARCH (x86-64-v3: AVX2, FMA) like the other
// kernels; a portable loop otherwise. A block's 32 codes become int8 values
// through a 16-entry table (a byte shuffle), and each block's sum of
// value * x is formed in f32 and scaled by its power of two once.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Simd.h"

#include "runtime/model/Quant.h"

#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LAZYC_MXFP4_AVX2 1
#endif

using namespace lazyc::rt;

namespace {

/// E2M1's 16 values, doubled (ggml's kvalues_mxfp4; the scale is halved).
alignas(16) constexpr int8_t kValues[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/// Half of E8M0's 2^(e - 127): 2^(e - 128), subnormal for e < 2 (ggml's
/// ggml_e8m0_to_fp32_half).
inline float scaleOf(const uint8_t *block) {
  const uint8_t e = block[0];
  uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

#ifdef LAZYC_MXFP4_AVX2
/// A block's 32 values as int8: the low nibbles' (values 0..15), then the
/// high nibbles' (16..31).
inline void decode(const uint8_t *block, __m128i &low, __m128i &high) {
  const __m128i table = _mm_load_si128(reinterpret_cast<const __m128i *>(kValues));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 1));
  low = _mm_shuffle_epi8(table, _mm_and_si128(q, mask));
  high = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), mask));
}
#endif

/// Output row `n` for R input rows: dots[r] = sum_k x[r][k] * w[n][k].
template <int R>
inline void dotRow(const float *x, int64_t in, const uint8_t *row, float *dots) {
  const int64_t blocks = in / kMXFP4Values;
#ifdef LAZYC_MXFP4_AVX2
  __m256 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *block = row + b * kMXFP4Bytes;
    const __m256 d = _mm256_set1_ps(scaleOf(block));
    __m128i low, high;
    decode(block, low, high);
    const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(low));
    const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(low, 8)));
    const __m256 q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(high));
    const __m256 q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(high, 8)));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kMXFP4Values;
      __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xr));
      t = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xr + 8), t);
      t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xr + 16), t);
      t = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xr + 24), t);
      acc[r] = _mm256_fmadd_ps(t, d, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r)
    dots[r] = horizontalSum(acc[r]);
#else
  for (int r = 0; r < R; ++r)
    dots[r] = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *block = row + b * kMXFP4Bytes;
    const float d = scaleOf(block);
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kMXFP4Values;
      float t = 0;
      for (int j = 0; j < 16; ++j)
        t += static_cast<float>(kValues[block[1 + j] & 0xF]) * xr[j] +
             static_cast<float>(kValues[block[1 + j] >> 4]) * xr[j + 16];
      dots[r] += t * d;
    }
  }
#endif
}

#ifdef LAZYC_MXFP4_AVX2
/// dotRow with 16-lane AVX-512 vectors (chosen at run time where the CPU
/// has them).
template <int R>
__attribute__((target("avx512f"))) void dotRow512(const float *x, int64_t in,
                                                  const uint8_t *row, float *dots) {
  const int64_t blocks = in / kMXFP4Values;
  __m512 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *block = row + b * kMXFP4Bytes;
    const __m512 d = _mm512_set1_ps(scaleOf(block));
    __m128i low, high;
    decode(block, low, high);
    const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(low));
    const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(high));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kMXFP4Values;
      __m512 t = _mm512_mul_ps(q0, _mm512_loadu_ps(xr));
      t = _mm512_fmadd_ps(q1, _mm512_loadu_ps(xr + 16), t);
      acc[r] = _mm512_fmadd_ps(t, d, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r)
    dots[r] = _mm512_reduce_add_ps(acc[r]);
}

const bool kHaveAVX512 = __builtin_cpu_supports("avx512f");
#endif

template <int R>
void gemv(const float *x, int64_t in, const uint8_t *w, int64_t out, float *y, bool accumulate) {
  const int64_t rowBytes = mxfp4RowBytes(in);
#pragma omp parallel for schedule(static) if (out >= 64)
  for (int64_t n = 0; n < out; ++n) {
    float dots[R];
#ifdef LAZYC_MXFP4_AVX2
    if (kHaveAVX512)
      dotRow512<R>(x, in, w + n * rowBytes, dots);
    else
#endif
      dotRow<R>(x, in, w + n * rowBytes, dots);
    for (int r = 0; r < R; ++r)
      y[r * out + n] = accumulate ? y[r * out + n] + dots[r] : dots[r];
  }
}

} // namespace

void lazyc::rt::gemvMXFP4(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                          int64_t out, float *y, bool accumulate) {
  static_assert(kMXFP4GemvRows == 8, "one instantiation per row count");
  switch (rows) {
  case 1: return gemv<1>(x, in, w, out, y, accumulate);
  case 2: return gemv<2>(x, in, w, out, y, accumulate);
  case 3: return gemv<3>(x, in, w, out, y, accumulate);
  case 4: return gemv<4>(x, in, w, out, y, accumulate);
  case 5: return gemv<5>(x, in, w, out, y, accumulate);
  case 6: return gemv<6>(x, in, w, out, y, accumulate);
  case 7: return gemv<7>(x, in, w, out, y, accumulate);
  case 8: return gemv<8>(x, in, w, out, y, accumulate);
  default:
    for (int64_t r = 0; r < rows; r += kMXFP4GemvRows) {
      int64_t n = rows - r < kMXFP4GemvRows ? rows - r : kMXFP4GemvRows;
      gemvMXFP4(x + r * in, n, in, w, out, y + r * out, accumulate);
    }
  }
}

void lazyc::rt::widenMXFP4Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                               float *out) {
  const int64_t rowBytes = mxfp4RowBytes(in), blocks = in / kMXFP4Values;
#pragma omp parallel for schedule(static) if (count * in >= 65536)
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t *row = w + (first + i) * rowBytes;
    float *dst = out + i * in;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *block = row + b * kMXFP4Bytes;
      const float d = scaleOf(block);
      for (int j = 0; j < 16; ++j) {
        dst[b * kMXFP4Values + j] = static_cast<float>(kValues[block[1 + j] & 0xF]) * d;
        dst[b * kMXFP4Values + j + 16] = static_cast<float>(kValues[block[1 + j] >> 4]) * d;
      }
    }
  }
}

void lazyc::rt::widenMXFP4RowsBF16(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                                   uint16_t *out) {
  const int64_t rowBytes = mxfp4RowBytes(in), blocks = in / kMXFP4Values;
#pragma omp parallel for schedule(static) if (count * in >= 65536)
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t *row = w + (first + i) * rowBytes;
    uint16_t *dst = out + i * in;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *block = row + b * kMXFP4Bytes;
      const float d = scaleOf(block);
      for (int j = 0; j < 16; ++j) {
        dst[b * kMXFP4Values + j] =
            floatToBF16(static_cast<float>(kValues[block[1 + j] & 0xF]) * d);
        dst[b * kMXFP4Values + j + 16] =
            floatToBF16(static_cast<float>(kValues[block[1 + j] >> 4]) * d);
      }
    }
  }
}
