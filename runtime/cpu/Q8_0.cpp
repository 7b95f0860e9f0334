//===- Q8_0.cpp - GEMMs on GGML Q8_0 weights ------------------------------===//
//
// Compiled for LAZYC_KERNEL_ARCH (x86-64-v3: AVX2, FMA, F16C) like the other
// kernels; a portable loop otherwise. Each block's sum of q * x is formed in
// f32 and scaled by d once (GGML's order: d times the block's dot product).
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Q8_0.h"
#include "runtime/cpu/Simd.h"

#include "runtime/model/Quant.h"

#include <cstring>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LAZYC_Q8_0_AVX2 1
#endif

using namespace lazyc::rt;

namespace {

inline float scaleOf(const uint8_t *block) {
  uint16_t bits;
  std::memcpy(&bits, block, sizeof(bits));
#ifdef LAZYC_Q8_0_AVX2
  return _cvtsh_ss(bits);
#else
  return halfToFloat(bits);
#endif
}

/// Output row `n` for R input rows: dots[r] = sum_k x[r][k] * w[n][k].
template <int R>
inline void dotRow(const float *x, int64_t in, const uint8_t *row, float *dots) {
  const int64_t blocks = in / kQ8_0Values;
#ifdef LAZYC_Q8_0_AVX2
  __m256 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *block = row + b * kQ8_0Bytes;
    const __m256 d = _mm256_set1_ps(scaleOf(block));
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 2));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 18));
    const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    const __m256 q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    const __m256 q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kQ8_0Values;
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
    const uint8_t *block = row + b * kQ8_0Bytes;
    const float d = scaleOf(block);
    const auto *q = reinterpret_cast<const int8_t *>(block + 2);
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kQ8_0Values;
      float t = 0;
      for (int j = 0; j < kQ8_0Values; ++j)
        t += static_cast<float>(q[j]) * xr[j];
      dots[r] += t * d;
    }
  }
#endif
}

#ifdef LAZYC_Q8_0_AVX2
/// dotRow with 16-lane AVX-512 vectors (chosen at run time where the CPU
/// has them): half the conversions per block.
template <int R>
__attribute__((target("avx512f"))) void dotRow512(const float *x, int64_t in,
                                                  const uint8_t *row, float *dots) {
  const int64_t blocks = in / kQ8_0Values;
  __m512 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *block = row + b * kQ8_0Bytes;
    const __m512 d = _mm512_set1_ps(scaleOf(block));
    const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 2))));
    const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 18))));
    for (int r = 0; r < R; ++r) {
      const float *xr = x + r * in + b * kQ8_0Values;
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
  const int64_t rowBytes = q8_0RowBytes(in);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < out; ++n) {
    float dots[R];
#ifdef LAZYC_Q8_0_AVX2
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

void lazyc::rt::gemvQ8_0(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
                         float *y, bool accumulate) {
  static_assert(kQ8_0GemvRows == 8, "one instantiation per row count");
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
    // More rows: passes of 8 (from kQ8_0WidenRows callers widen for the sgemm).
    for (int64_t r = 0; r < rows; r += kQ8_0GemvRows) {
      int64_t n = rows - r < kQ8_0GemvRows ? rows - r : kQ8_0GemvRows;
      gemvQ8_0(x + r * in, n, in, w, out, y + r * out, accumulate);
    }
  }
}

void lazyc::rt::widenQ8_0Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                              float *out) {
  const int64_t rowBytes = q8_0RowBytes(in), blocks = in / kQ8_0Values;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t *row = w + (first + i) * rowBytes;
    float *dst = out + i * in;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *block = row + b * kQ8_0Bytes;
      const float d = scaleOf(block);
      const auto *q = reinterpret_cast<const int8_t *>(block + 2);
      for (int j = 0; j < kQ8_0Values; ++j)
        dst[b * kQ8_0Values + j] = static_cast<float>(q[j]) * d;
    }
  }
}
