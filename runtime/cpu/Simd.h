//===- Simd.h - small vector helpers of the CPU kernels ---------*- C++ -*-===//
//
// For the kernels compiled for LAZYC_KERNEL_ARCH (x86-64-v3 by default).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_SIMD_H
#define LAZYC_RUNTIME_CPU_SIMD_H

#ifdef __AVX2__
#include <immintrin.h>

namespace lazyc::rt {

/// The sum of the 8 lanes.
inline float horizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// The largest of the 8 lanes.
inline float horizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

} // namespace lazyc::rt
#endif

#endif // LAZYC_RUNTIME_CPU_SIMD_H
