//===- BlockGemv.h - GEMMs on block-quantized weights -----------*- C++ -*-===//
//
// The kernels of GGML's 32-value block formats read as they are (Q8_0.h,
// MXFP4.h), written once over a `Format`:
//   static constexpr int64_t kBytes;                 // bytes per block
//   static float scale(const uint8_t *block);        // the block's scale
//   static int8_t value(const uint8_t *block, int j) // value j's code, j < 32
//   static void codes(const uint8_t *block, __m128i &first, __m128i &last)
//       // (AVX2) values 0..15 and 16..31 as int8
// value j of a block = scale * code j. Each block's sum of code * x is formed
// in f32 and scaled once (GGML's order). Included by translation units
// compiled for LAZYC_KERNEL_ARCH (x86-64-v3); a portable loop otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_BLOCKGEMV_H
#define LAZYC_RUNTIME_CPU_BLOCKGEMV_H

#include "runtime/cpu/Simd.h"

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LAZYC_BLOCK_AVX2 1
#endif

namespace lazyc::rt::blocks {

constexpr int64_t kValues = 32;   // values per block
constexpr int64_t kGemvRows = 8;  // input rows per pass

/// Output row `row` for R input rows: dots[r] = sum_k x[r][k] * w[row][k].
template <class Format, int R>
inline void dotRow(const float *x, int64_t in, const uint8_t *row, float *dots) {
  const int64_t count = in / kValues;
#ifdef LAZYC_BLOCK_AVX2
  __m256 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < count; ++b) {
    const uint8_t *block = row + b * Format::kBytes;
    const __m256 d = _mm256_set1_ps(Format::scale(block));
    __m128i first, last;
    Format::codes(block, first, last);
    const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(first));
    const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(first, 8)));
    const __m256 q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(last));
    const __m256 q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(last, 8)));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kValues;
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
  for (int64_t b = 0; b < count; ++b) {
    const uint8_t *block = row + b * Format::kBytes;
    const float d = Format::scale(block);
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kValues;
      float t = 0;
      for (int j = 0; j < kValues; ++j)
        t += static_cast<float>(Format::value(block, j)) * xr[j];
      dots[r] += t * d;
    }
  }
#endif
}

#ifdef LAZYC_BLOCK_AVX2
/// dotRow with 16-lane AVX-512 vectors (chosen at run time where the CPU
/// has them): half the conversions per block.
template <class Format, int R>
__attribute__((target("avx512f"))) void dotRow512(const float *x, int64_t in,
                                                  const uint8_t *row, float *dots) {
  const int64_t count = in / kValues;
  __m512 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < count; ++b) {
    const uint8_t *block = row + b * Format::kBytes;
    const __m512 d = _mm512_set1_ps(Format::scale(block));
    __m128i first, last;
    Format::codes(block, first, last);
    const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(first));
    const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(last));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kValues;
      __m512 t = _mm512_mul_ps(q0, _mm512_loadu_ps(xr));
      t = _mm512_fmadd_ps(q1, _mm512_loadu_ps(xr + 16), t);
      acc[r] = _mm512_fmadd_ps(t, d, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r)
    dots[r] = _mm512_reduce_add_ps(acc[r]);
}

inline bool haveAVX512() {
  static const bool have = __builtin_cpu_supports("avx512f");
  return have;
}
#endif

/// One pass of R input rows over every weight row; the output rows split
/// between the OpenMP threads.
template <class Format, int R>
void pass(const float *x, int64_t in, const uint8_t *w, int64_t out, float *y, bool accumulate) {
  const int64_t rowBytes = in / kValues * Format::kBytes;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < out; ++n) {
    float dots[R];
#ifdef LAZYC_BLOCK_AVX2
    if (haveAVX512())
      dotRow512<Format, R>(x, in, w + n * rowBytes, dots);
    else
#endif
      dotRow<Format, R>(x, in, w + n * rowBytes, dots);
    for (int r = 0; r < R; ++r)
      y[r * out + n] = accumulate ? y[r * out + n] + dots[r] : dots[r];
  }
}

/// y[rows x out] (+)= x[rows x in] * w^T in passes of up to kGemvRows rows.
template <class Format>
void gemv(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out, float *y,
          bool accumulate) {
  switch (rows) {
  case 1: return pass<Format, 1>(x, in, w, out, y, accumulate);
  case 2: return pass<Format, 2>(x, in, w, out, y, accumulate);
  case 3: return pass<Format, 3>(x, in, w, out, y, accumulate);
  case 4: return pass<Format, 4>(x, in, w, out, y, accumulate);
  case 5: return pass<Format, 5>(x, in, w, out, y, accumulate);
  case 6: return pass<Format, 6>(x, in, w, out, y, accumulate);
  case 7: return pass<Format, 7>(x, in, w, out, y, accumulate);
  case 8: return pass<Format, 8>(x, in, w, out, y, accumulate);
  default:
    for (int64_t r = 0; r < rows; r += kGemvRows) {
      const int64_t n = rows - r < kGemvRows ? rows - r : kGemvRows;
      gemv<Format>(x + r * in, n, in, w, out, y + r * out, accumulate);
    }
  }
}

/// Rows [first, first + count) widened to T ([count x in]) by `convert`.
template <class Format, typename T, typename Convert>
void widenRows(const uint8_t *w, int64_t in, int64_t first, int64_t count, T *out,
               Convert convert) {
  const int64_t rowBytes = in / kValues * Format::kBytes, count32 = in / kValues;
#pragma omp parallel for schedule(static) if (count * in >= 65536)
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t *row = w + (first + i) * rowBytes;
    T *dst = out + i * in;
    for (int64_t b = 0; b < count32; ++b) {
      const uint8_t *block = row + b * Format::kBytes;
      const float d = Format::scale(block);
      for (int j = 0; j < kValues; ++j)
        dst[b * kValues + j] = convert(static_cast<float>(Format::value(block, j)) * d);
    }
  }
}

} // namespace lazyc::rt::blocks

#endif // LAZYC_RUNTIME_CPU_BLOCKGEMV_H
