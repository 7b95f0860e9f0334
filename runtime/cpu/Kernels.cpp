//===- Kernels.cpp - CPU kernels called by compiled models -----------------===//
//
// GEMMs go to oneDNN's sgemm when the build found it (LAZYC_HAVE_DNNL), else
// to a portable blocked loop. Attention computes, per head and block of query
// rows, S = Q K^T with the same GEMM, a causal-masked softmax, and S V.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/KVRows.h"
#include "runtime/cpu/MoERouting.h"
#include "runtime/cpu/Profile.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/cpu/Simd.h"
#include "runtime/cuda/HostCopies.h"

#include "runtime/model/Quant.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <omp.h>

#ifdef LAZYC_HAVE_DNNL
#include <dnnl.h>
#include <dnnl.hpp>
#endif

namespace {

template <typename T> T *ptr(uint64_t address) { return reinterpret_cast<T *>(address); }

/// C[M x N] (ldc) = A[M x K] (lda) * B^T (+ C when `accumulate`), B stored
/// [N x K] (ldb).
void gemmABt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc, bool accumulate = false) {
  if (M == 0 || N == 0)
    return;
#ifdef LAZYC_HAVE_DNNL
  dnnl_sgemm('N', 'T', M, N, K, 1.0f, A, lda, B, ldb, accumulate ? 1.0f : 0.0f, C, ldc);
#else
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += A[i * lda + k] * B[j * ldb + k];
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc : acc;
    }
#endif
}

// One-row GEMVs for CPUs with AVX-512 (checked at run time; the kernels are
// built for x86-64-v3 and these functions for AVX-512 alone).
#if defined(__AVX2__) && defined(__FMA__)
#define LAZYC_GEMV_AVX512 1
/// v's upper 8 lanes added to its lower 8.
__attribute__((target("avx512f"))) inline __m256 halves(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v),
                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/// The lane sums of a, b, c, d as one 4-float vector (a's first).
__attribute__((target("avx512f"))) inline __m128 laneSums4(__m512 a, __m512 b, __m512 c,
                                                            __m512 d) {
  __m256 ab = _mm256_hadd_ps(halves(a), halves(b)); // a01 a23 b01 b23 | a45 a67 b45 b67
  __m256 cd = _mm256_hadd_ps(halves(c), halves(d));
  __m256 abcd = _mm256_hadd_ps(ab, cd); // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/// y[0..3] (+)= the lane sums of s0..s3: a GEMV tile's four outputs.
__attribute__((target("avx512f"))) inline void storeTile(float *y, __m512 s0, __m512 s1,
                                                        __m512 s2, __m512 s3, bool accumulate) {
  __m128 sums = laneSums4(s0, s1, s2, s3);
  if (accumulate)
    sums = _mm_add_ps(sums, _mm_loadu_ps(y));
  _mm_storeu_ps(y, sums);
}

/// *y (+)= the lane sum of s: one of the last N % 4 outputs.
__attribute__((target("avx512f"))) inline void storeOne(float *y, __m512 s, bool accumulate) {
  const float dot = _mm512_reduce_add_ps(s);
  *y = accumulate ? *y + dot : dot;
}

/// y[N] (+)= x[K] w^T for one row, K a multiple of 16: tiles of four weight
/// rows in 16-lane FMAs, both threads on their share of the outputs. A
/// decode step's linears stream their weights from memory once: this reads
/// them at ~50 GB/s on the 2-core VM, oneDNN's sgemm at ~39 (1536 x 576, cold
/// weights; bench/cpu/kernel_bench.cpp has the hot-cache side).
/// Outputs y[0..4) of gemvF32Avx512: weight rows w0 .. w0 + 3 * ldw, one
/// after another in four accumulators over consecutive 16-value chunks (a
/// row at a time streams one run of memory: a 200 MB matrix of 576 columns
/// at 21.7-24.1 GB/s against 18.6-20.0 with the four rows interleaved;
/// SmolLM2's f32 decode +7%, 2026-11-30). (The tile is a function of its
/// own, called from the OpenMP loop: clang outlines a parallel loop's body
/// without its function's target features.)
__attribute__((target("avx512f"))) void gemvF32Tile(int64_t K, const float *x, const float *w0,
                                                   int64_t ldw, float *y, bool accumulate) {
  __m512 sums[4];
  for (int o = 0; o < 4; ++o) {
    const float *w = w0 + o * ldw;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 64 <= K; k += 64) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(w + k), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(w + k + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 32), _mm512_loadu_ps(w + k + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 48), _mm512_loadu_ps(w + k + 48), a3);
    }
    for (; k < K; k += 16)
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(w + k), a0);
    sums[o] = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
  }
  storeTile(y, sums[0], sums[1], sums[2], sums[3], accumulate);
}

__attribute__((target("avx512f"))) void gemvF32Avx512(int64_t N, int64_t K, const float *x,
                                                     const float *w, int64_t ldw, float *y,
                                                     bool accumulate) {
  const int64_t tiles = N / 4;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t)
    gemvF32Tile(K, x, w + 4 * t * ldw, ldw, y + 4 * t, accumulate);
  for (int64_t n = 4 * tiles; n < N; ++n) { // the last N % 4 outputs
    __m512 s = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16)
      s = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(w + n * ldw + k), s);
    storeOne(y + n, s, accumulate);
  }
}

const bool kHaveAVX512F = __builtin_cpu_supports("avx512f");

/// 32 bf16 values as the operand of vdpbf16ps.
__attribute__((target("avx512f,avx512bf16"))) inline __m512bh loadBF16x32(const uint16_t *p) {
  return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}

/// `n` values of x as bf16 (to nearest even, as the bf16 matmul rounds
/// its input) by vcvtne2ps2bf16, 32 at a time; n a multiple of 32. (The
/// decode GEMVs' input: roundToBF16(src, dst, n) below takes any n and any
/// AVX-512 CPU.)
__attribute__((target("avx512f,avx512bf16"))) void roundToBF16x32(const float *x, int64_t n,
                                                                  uint16_t *out) {
  for (int64_t k = 0; k < n; k += 32)
    _mm512_storeu_si512(out + k, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(
                                     _mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k))));
}

/// Outputs y[0..4) of gemvBF16Avx512 (x in bf16): weight rows w0 .. w0 + 3K,
/// one after another, each in four accumulators over consecutive 32-value
/// chunks. A row at a time streams one run of memory, which the prefetchers
/// follow: 23-27 GB/s on the 2-core VM against 17.6-18 for the four rows
/// interleaved (a 200 MB matrix, 1024 columns; one thread: 15.3 vs 10.3; 576
/// columns: 25.0 vs 13.7); SmolLM2's bf16 decode +15-30%, granite-3.1-1b-
/// a400m's shape's +30% (2026-11-30).
__attribute__((target("avx512f,avx512bf16"))) void gemvBF16Tile(int64_t K, const uint16_t *xr,
                                                               const uint16_t *w0, float *y,
                                                               bool accumulate) {
  __m512 sums[4];
  for (int o = 0; o < 4; ++o) {
    const uint16_t *w = w0 + o * K;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 128 <= K; k += 128) {
      a0 = _mm512_dpbf16_ps(a0, loadBF16x32(xr + k), loadBF16x32(w + k));
      a1 = _mm512_dpbf16_ps(a1, loadBF16x32(xr + k + 32), loadBF16x32(w + k + 32));
      a2 = _mm512_dpbf16_ps(a2, loadBF16x32(xr + k + 64), loadBF16x32(w + k + 64));
      a3 = _mm512_dpbf16_ps(a3, loadBF16x32(xr + k + 96), loadBF16x32(w + k + 96));
    }
    for (; k < K; k += 32)
      a0 = _mm512_dpbf16_ps(a0, loadBF16x32(xr + k), loadBF16x32(w + k));
    sums[o] = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
  }
  storeTile(y, sums[0], sums[1], sums[2], sums[3], accumulate);
}

/// y[N] (+)= x[K] w^T for one row and bf16 weights (w [N x K], K a multiple
/// of 32), on CPUs with AVX512-BF16: x rounded to bf16 (to nearest even, as
/// the bf16 matmul does), pairs of products summed in f32 by vdpbf16ps, four
/// weight rows at a time like gemvF32Avx512. oneDNN's bf16 matmul of one row
/// read the weights at about f32's speed, so bf16 decoded no faster than f32.
__attribute__((target("avx512f,avx512bf16"))) void gemvBF16Avx512(int64_t N, int64_t K,
                                                                const float *x,
                                                                const uint16_t *w, float *y,
                                                                bool accumulate) {
  std::vector<uint16_t> xb(static_cast<size_t>(K));
  roundToBF16x32(x, K, xb.data());
  const uint16_t *xr = xb.data();
  const int64_t tiles = N / 4;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t)
    gemvBF16Tile(K, xr, w + 4 * t * K, y + 4 * t, accumulate);
  for (int64_t n = 4 * tiles; n < N; ++n) { // the last N % 4 outputs
    __m512 s = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 32)
      s = _mm512_dpbf16_ps(s, loadBF16x32(xr + k), loadBF16x32(w + n * K + k));
    storeOne(y + n, s, accumulate);
  }
}

/// Rows r .. r + R of y (row stride ldy) (+)= the rows of xb (bf16, row
/// stride K) times 4 weight rows w (or 1: `Outs`), their outputs n .. n +
/// Outs: each weight vector loaded once for the R rows, R x Outs
/// accumulators of vdpbf16ps.
template <int R, int Outs>
__attribute__((target("avx512f,avx512bf16"))) inline void
bf16RowsTile(const uint16_t *xb, int64_t K, const uint16_t *w, float *y, int64_t ldy,
             bool accumulate) {
  __m512 acc[R][Outs];
  for (int r = 0; r < R; ++r)
    for (int o = 0; o < Outs; ++o)
      acc[r][o] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 32) {
    __m512bh wv[Outs];
    for (int o = 0; o < Outs; ++o)
      wv[o] = loadBF16x32(w + o * K + k);
    for (int r = 0; r < R; ++r) {
      const __m512bh xv = loadBF16x32(xb + r * K + k);
      for (int o = 0; o < Outs; ++o)
        acc[r][o] = _mm512_dpbf16_ps(acc[r][o], xv, wv[o]);
    }
  }
  for (int r = 0; r < R; ++r) {
    if constexpr (Outs == 4)
      storeTile(y + r * ldy, acc[r][0], acc[r][1], acc[r][2], acc[r][3], accumulate);
    else
      storeOne(y + r * ldy, acc[r][0], accumulate);
  }
}

/// y[M x N] (+)= x[M x K] w^T for a few rows and bf16 weights (K a multiple
/// of 32), on CPUs with AVX512-BF16: x rounded to bf16 as gemvBF16Avx512
/// does, then per tile of 4 weight rows (in L1) the rows in groups of 4, so
/// each weight vector feeds 4 rows' products and the dot products, not the
/// loads, bound it. oneDNN's bf16 matmul took 3-6x the one-row GEMV's time
/// for 4 rows (576 x 1536 weights: 55.9 us vs 8.9) — a pruned model's
/// decode steps, which compute the tokens they revive.
template <int Outs>
__attribute__((target("avx512f,avx512bf16"))) inline void
bf16RowGroups(int64_t M, const uint16_t *xb, int64_t K, const uint16_t *w, float *y, int64_t N,
              bool accumulate) {
  int64_t r = 0;
  for (; r + 4 <= M; r += 4)
    bf16RowsTile<4, Outs>(xb + r * K, K, w, y + r * N, N, accumulate);
  switch (M - r) {
  case 3:
    bf16RowsTile<3, Outs>(xb + r * K, K, w, y + r * N, N, accumulate);
    break;
  case 2:
    bf16RowsTile<2, Outs>(xb + r * K, K, w, y + r * N, N, accumulate);
    break;
  case 1:
    bf16RowsTile<1, Outs>(xb + r * K, K, w, y + r * N, N, accumulate);
    break;
  default:
    break;
  }
}
__attribute__((target("avx512f,avx512bf16"))) void
gemmSmallBF16Avx512(int64_t M, int64_t N, int64_t K, const float *x, const uint16_t *w, float *y,
                    bool accumulate) {
  std::vector<uint16_t> xb(static_cast<size_t>(M * K));
  for (int64_t i = 0; i < M * K; i += 32)
    _mm512_storeu_si512(xb.data() + i,
                        reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(
                            _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i))));
  const int64_t tiles = N / 4;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t)
    bf16RowGroups<4>(M, xb.data(), K, w + 4 * t * K, y + 4 * t, N, accumulate);
  for (int64_t n = 4 * tiles; n < N; ++n) // the last N % 4 outputs
    bf16RowGroups<1>(M, xb.data(), K, w + n * K, y + n, N, accumulate);
}

const bool kHaveAVX512BF16 = __builtin_cpu_supports("avx512bf16");
/// Rows up to which bf16 weights take gemmSmallBF16Avx512 instead of
/// oneDNN's bf16 matmul (lazyc-kernel-bench LinearBF16, SmolLM2's shapes:
/// 2.5x as fast at 4 rows, 1.8x at 8, 1.25x at 16, even at 32).
constexpr int64_t kSmallBF16Rows = 31;
#endif

#ifdef LAZYC_HAVE_DNNL
/// The CPU engine of every oneDNN primitive the kernels run.
const dnnl::engine &cpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
/// Runs dst (+)= src * wei as a oneDNN matmul primitive (from oneDNN's
/// primitive cache), the accumulation as a sum post-op. False, and
/// `unavailable` set, where oneDNN cannot make such a primitive.
bool runMatmul(const dnnl::memory::desc &src, const void *x, const dnnl::memory::desc &wei,
               const void *w, const dnnl::memory::desc &dst, float *y, bool accumulate,
               bool &unavailable) {
  using namespace dnnl;
  const engine &eng = cpuEngine();
  static stream strm(eng);
  matmul product;
  try {
    primitive_attr attr;
    if (accumulate) {
      post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    product = matmul(matmul::primitive_desc(matmul::desc(src, wei, dst), attr, eng));
  } catch (const dnnl::error &) {
    unavailable = true;
    return false;
  }
  memory srcMem(src, eng, const_cast<void *>(x)), weiMem(wei, eng, const_cast<void *>(w)),
      dstMem(dst, eng, y);
  product.execute(strm, {{DNNL_ARG_SRC, srcMem}, {DNNL_ARG_WEIGHTS, weiMem},
                         {DNNL_ARG_DST, dstMem}});
  strm.wait();
  return true;
}

/// y[M x N] (ldy) (+)= x[M x K] w^T (w [N x K], ldw) as oneDNN's matmul
/// primitive (brgemm kernels). From 16 rows on it beats the sgemm API, which
/// packs the weights on every call: 1.2x at 16 rows, 1.6x at 35, 1.8x at 63,
/// 1.25x at 128 and on the down projection (1536 -> 576) of a 512-row
/// prefill batch (cold weights, 2 threads). A new shape costs ~0.25 ms to
/// create once; oneDNN's primitive cache (LRU, 1024 entries by default)
/// returns it afterwards in ~2 us, and bounds what a long run keeps, however
/// its step sizes vary (a pruned model's revivals and kept sets). False if
/// oneDNN has no such primitive here.
bool f32Matmul(int64_t M, int64_t N, int64_t K, const float *x, const float *w, int64_t ldw,
               float *y, int64_t ldy, bool accumulate) {
  using dt = dnnl::memory::data_type;
  static bool unavailable = false; // then the sgemm API serves every shape
  if (unavailable)
    return false;
  const dnnl::memory::desc src({M, K}, dt::f32, {K, 1}), wei({K, N}, dt::f32, {1, ldw}),
      dst({M, N}, dt::f32, {ldy, 1});
  return runMatmul(src, x, wei, w, dst, y, accumulate, unavailable);
}
/// dst[M x N] (f32, row stride ldd) = a[M x K] (bf16, row stride lda) * b,
/// b [K x N] bf16 with element strides (bk, bn): attention's S = Q K^T over
/// a bf16 KV cache (b = K^T in place: bk 1, bn kv_dim) and O = P V (bk kv_dim,
/// bn 1). Runs on the calling thread (attention calls it from its tasks,
/// inside a parallel region); each thread keeps its primitives by shape
/// (creating one costs ~13 us, a 256-row block's product 50-700 us). False
/// where oneDNN has only its reference code for it (a CPU without AVX-512):
/// then the caller widens to f32.
bool bf16Gemm(int64_t M, int64_t N, int64_t K, const uint16_t *a, int64_t lda, const uint16_t *b,
              int64_t bk, int64_t bn, float *dst, int64_t ldd) {
  using namespace dnnl;
  using dt = memory::data_type;
  const engine &eng = cpuEngine();
  static std::atomic<int> usable{-1}; // unknown, 0 no, 1 yes
  thread_local stream strm(eng);
  thread_local std::map<std::array<int64_t, 7>, matmul> primitives;
  if (usable.load(std::memory_order_relaxed) == 0)
    return false;
  const memory::desc src({M, K}, dt::bf16, {lda, 1}), wei({K, N}, dt::bf16, {bk, bn}),
      out({M, N}, dt::f32, {ldd, 1});
  const std::array<int64_t, 7> shape{M, N, K, lda, bk, bn, ldd};
  auto found = primitives.find(shape);
  if (found == primitives.end()) {
    try {
      matmul::primitive_desc pd(matmul::desc(src, wei, out), eng);
      if (usable.load(std::memory_order_relaxed) < 0)
        usable = std::string(pd.impl_info_str()).rfind("ref", 0) == 0 ? 0 : 1;
      if (usable.load(std::memory_order_relaxed) == 0)
        return false;
      if (primitives.size() >= 1024) // a long run of varying LazyLLM sets
        primitives.clear();
      found = primitives.emplace(shape, matmul(pd)).first;
    } catch (const dnnl::error &) {
      usable = 0;
      return false;
    }
  }
  memory srcMem(src, eng, const_cast<uint16_t *>(a)), weiMem(wei, eng, const_cast<uint16_t *>(b)),
      outMem(out, eng, dst);
  found->second.execute(strm, {{DNNL_ARG_SRC, srcMem}, {DNNL_ARG_WEIGHTS, weiMem},
                               {DNNL_ARG_DST, outMem}});
  return true;
}
#endif

/// The GEMM of a linear layer, y[M x N] (ldy) = x[M x K] w^T (w [N x K],
/// ldw): one row on the AVX-512 GEMV, 2-15 rows on oneDNN's sgemm (which
/// runs them unpacked), 16 rows and more on oneDNN's matmul primitive. Without the
/// primitive, the sgemm packs the weights from 16 rows on, which costs more
/// than it saves below ~64 rows (1536 -> 576: 363 us for 16 rows, 118 us for
/// 15; bench/cpu/kernel_bench.cpp), so 16-63 rows run as pieces of at most 15.
void linearGemm(int64_t M, int64_t N, int64_t K, const float *x, const float *w, int64_t ldw,
                float *y, int64_t ldy, bool accumulate) {
  constexpr int64_t kUnpackedRows = 15, kPackedFrom = 64;
#ifdef LAZYC_GEMV_AVX512
  if (M == 1 && K % 16 == 0 && kHaveAVX512F) {
    gemvF32Avx512(N, K, x, w, ldw, y, accumulate);
    return;
  }
#endif
#ifdef LAZYC_HAVE_DNNL
  if (M > kUnpackedRows && f32Matmul(M, N, K, x, w, ldw, y, ldy, accumulate))
    return;
#endif
  if (M <= kUnpackedRows || M >= kPackedFrom) {
    gemmABt(M, N, K, x, K, w, ldw, y, ldy, accumulate);
    return;
  }
  const int64_t pieces = (M + kUnpackedRows - 1) / kUnpackedRows;
  const int64_t per = (M + pieces - 1) / pieces; // balanced: 16 rows = 8 + 8
  for (int64_t r = 0; r < M; r += per)
    gemmABt(std::min(per, M - r), N, K, x + r * K, K, w, ldw, y + r * ldy, ldy, accumulate);
}

/// C[M x N] = A[M x K] * B[K x N] (both row-major with leading dimensions).
void gemmAB(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
            int64_t ldb, float *C, int64_t ldc) {
  if (M == 0 || N == 0)
    return;
#ifdef LAZYC_HAVE_DNNL
  dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
#else
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j)
      C[i * ldc + j] = 0;
    for (int64_t k = 0; k < K; ++k) {
      float a = A[i * lda + k];
      for (int64_t j = 0; j < N; ++j)
        C[i * ldc + j] += a * B[k * ldb + j];
    }
  }
#endif
}

/// e^x for x <= 0 (softmax after subtracting the row maximum), Cephes' expf
/// polynomial (relative error ~1e-7): plain arithmetic the compiler
/// vectorizes, unlike calls of expf.
inline float expNonPositive(float x) {
  x = std::max(x, -87.0f);
  float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

#ifdef __AVX2__
/// expNonPositive on 8 lanes (the same polynomial and reduction).
inline __m256 expNonPositive8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_floor_ps(
      _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

#endif

#ifdef LAZYC_GEMV_AVX512
/// 2^t for t <= 0 on 16 lanes: 2^round(t) by vscalefps (0 below the
/// subnormals, no clamp) times a degree-5 fit of 2^f on [-1/2, 1/2]
/// (relative error 2.4e-7, as expNonPositive's): 8 instructions per vector
/// instead of expNonPositive's 17, the change of base folded into the
/// caller's FMA (prefill attention 5-10% less time at 4k tokens).
__attribute__((target("avx512f"))) inline __m512 exp2NonPositive16(__m512 t) {
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(1.3276467798277736e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961325169e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713464617729e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022120237350464e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192092896f));
  return _mm512_scalef_ps(p, n);
}
/// 16 finite floats rounded to bf16, to nearest even (floatToBF16's bits).
__attribute__((target("avx512f"))) inline __m256i roundBF16x16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i up = _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(up, 16));
}
/// exp(s[j .. j + 16) * scale - max) by exp2NonPositive16 (vscale and vmax
/// in base 2), into bf16[j ..] rounded (if bf16) or back into s; returns the
/// exps.
template <bool kNativeBF16>
__attribute__((target("avx512f,avx512bf16"))) inline __m512
expStore16(float *s, uint16_t *bf16, int64_t j, __m512 vscale, __m512 vmax) {
  const __m512 e = exp2NonPositive16(_mm512_fmsub_ps(_mm512_loadu_ps(s + j), vscale, vmax));
  if (bf16 && kNativeBF16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(bf16 + j),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(e)));
  else if (bf16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(bf16 + j), roundBF16x16(e));
  else
    _mm512_storeu_ps(s + j, e);
  return e;
}

/// scaledExpRow on AVX-512: the maximum of the unscaled row (scale > 0),
/// then each exp from one FMA of the score (s * scale - max), stored (or
/// only its bf16 rounding, in `bf16`), summed: two passes over the row
/// instead of three stores (or four with a rounding pass: ~14% of a 4k
/// prefill over a bf16 cache). kNativeBF16 (a CPU with AVX512-BF16): the
/// rounding by vcvtneps2bf16, one instruction instead of roundBF16x16's six
/// (nearest even as well; it flushes subnormal results, exps below 2^-126,
/// to 0). Both instantiations are compiled for AVX512-BF16; only the
/// kNativeBF16 one uses it (the other's integer rounding has no bf16
/// instruction to become), and only where the CPU has it.
template <bool kNativeBF16>
__attribute__((target("avx512f,avx512bf16"))) float
scaledExpRowAvx512(float *s, int64_t n, float scale, float &max, uint16_t *bf16) {
  int64_t j = 0;
  // Four maxima in flight (one vmaxps chain waits its latency per vector).
  __m512 vm = _mm512_set1_ps(-std::numeric_limits<float>::infinity()), vm1 = vm, vm2 = vm,
         vm3 = vm;
  for (; j + 64 <= n; j += 64) {
    vm = _mm512_max_ps(vm, _mm512_loadu_ps(s + j));
    vm1 = _mm512_max_ps(vm1, _mm512_loadu_ps(s + j + 16));
    vm2 = _mm512_max_ps(vm2, _mm512_loadu_ps(s + j + 32));
    vm3 = _mm512_max_ps(vm3, _mm512_loadu_ps(s + j + 48));
  }
  for (; j + 16 <= n; j += 16)
    vm = _mm512_max_ps(vm, _mm512_loadu_ps(s + j));
  vm = _mm512_max_ps(_mm512_max_ps(vm, vm1), _mm512_max_ps(vm2, vm3));
  float m = _mm512_reduce_max_ps(vm);
  for (; j < n; ++j)
    m = std::max(m, s[j]);
  m *= scale;
  // exp(s * scale - m) = 2^(s * scale * log2(e) - m * log2(e)).
  constexpr float kLog2E = 1.44269504088896341f;
  const __m512 vscale = _mm512_set1_ps(scale * kLog2E), vmax = _mm512_set1_ps(m * kLog2E);
  // Two sums in flight, as for the maxima.
  __m512 vsum = _mm512_setzero_ps(), vsum1 = vsum;
  for (j = 0; j + 32 <= n; j += 32) {
    vsum = _mm512_add_ps(vsum, expStore16<kNativeBF16>(s, bf16, j, vscale, vmax));
    vsum1 = _mm512_add_ps(vsum1, expStore16<kNativeBF16>(s, bf16, j + 16, vscale, vmax));
  }
  for (; j + 16 <= n; j += 16)
    vsum = _mm512_add_ps(vsum, expStore16<kNativeBF16>(s, bf16, j, vscale, vmax));
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(vsum, vsum1));
  for (; j < n; ++j) {
    const float e = expNonPositive(s[j] * scale - m);
    if (bf16)
      bf16[j] = lazyc::rt::floatToBF16(e);
    else
      s[j] = e;
    sum += e;
  }
  max = m;
  return sum;
}
#endif

/// The unnormalized softmax of a row of attention scores, in place:
/// s[j] = exp(s[j] * scale - max), with the maximum of the scaled scores in
/// `max`; returns the sum. With `bf16`, the exps rounded to bf16 go there
/// (s then holds them unrounded, or, on AVX-512, as it was); the sum is the
/// unrounded exps'. (In vectors: GCC leaves these loops scalar, even under
/// `omp simd`, where they took ~40% of a 4k prefill.)
float scaledExpRow(float *s, int64_t n, float scale, float &max, uint16_t *bf16 = nullptr) {
#ifdef LAZYC_GEMV_AVX512
  if (kHaveAVX512F)
    return kHaveAVX512BF16 ? scaledExpRowAvx512<true>(s, n, scale, max, bf16)
                           : scaledExpRowAvx512<false>(s, n, scale, max, bf16);
#endif
  int64_t j = 0;
  float m = -std::numeric_limits<float>::infinity();
#ifdef __AVX2__
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vm = _mm256_set1_ps(m);
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale);
    _mm256_storeu_ps(s + j, x);
    vm = _mm256_max_ps(vm, x);
  }
  m = lazyc::rt::horizontalMax(vm);
#endif
  for (; j < n; ++j) {
    s[j] *= scale;
    m = std::max(m, s[j]);
  }
  j = 0;
  float sum = 0;
#ifdef __AVX2__
  const __m256 vmax = _mm256_set1_ps(m);
  __m256 vsum = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 e = expNonPositive8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmax));
    _mm256_storeu_ps(s + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  sum = lazyc::rt::horizontalSum(vsum);
#endif
  for (; j < n; ++j) {
    s[j] = expNonPositive(s[j] - m);
    sum += s[j];
  }
  for (j = 0; bf16 && j < n; ++j)
    bf16[j] = lazyc::rt::floatToBF16(s[j]);
  max = m;
  return sum;
}

/// Weights or activations of narrower types (code 1 bf16, 2 f16) widened to
/// f32 into `scratch`; f32 ones (code 0) as they are.
/// scaledExpRow after Gemma 2's attention soft-capping (`cap` > 0): each
/// score becomes cap * tanh(scale * s / cap), the softmax's logit. `max` is
/// then the capped maximum (scaledExpRow's with scale 1).
float cappedExpRow(float *s, int64_t n, float scale, float cap, float &max,
                   uint16_t *bf16 = nullptr) {
  if (cap <= 0.0f)
    return scaledExpRow(s, n, scale, max, bf16);
  for (int64_t j = 0; j < n; ++j)
    s[j] = cap * std::tanh(scale * s[j] / cap);
  return scaledExpRow(s, n, 1.0f, max, bf16);
}

const float *asFloat(uint64_t w, int64_t wtype, int64_t count, std::vector<float> &scratch) {
  if (wtype == 0)
    return ptr<float>(w);
  scratch.resize(count);
  lazyc::rt::dequantize(wtype == 1 ? lazyc::rt::GGMLType::BF16 : lazyc::rt::GGMLType::F16,
                        ptr<void>(w), scratch.data(), count);
  return scratch.data();
}

#ifdef LAZYC_HAVE_DNNL
/// y[M x N] (f32) (+)= x[M x K] (f32, converted to bf16) * w[N x K]^T (bf16):
/// oneDNN's matmul, which runs on AMX-bf16 / AVX512-bf16 where the CPU has
/// them; the accumulation (a residual add) is its sum post-op, in f32.
/// Primitives come from oneDNN's primitive cache like f32Matmul's. False
/// (with a warning, once) where oneDNN has no bf16 matmul.
bool bf16Matmul(int64_t M, int64_t N, int64_t K, const float *x, const uint16_t *w, float *y,
                bool accumulate) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  static bool unavailable = false;
  if (unavailable)
    return false;
  const dnnl::memory::desc src({M, K}, dt::bf16, tag::ab), wei({K, N}, dt::bf16, tag::ba),
      dst({M, N}, dt::f32, tag::ab);
  std::vector<uint16_t> xb(static_cast<size_t>(M * K));
  for (int64_t i = 0; i < M * K; ++i)
    xb[i] = lazyc::rt::floatToBF16(x[i]);
  if (runMatmul(src, xb.data(), wei, w, dst, y, accumulate, unavailable))
    return true;
  std::fprintf(stderr, "lazyc: warning: this CPU/oneDNN has no bf16 matmul; bf16 weights are "
                       "widened to f32 on every call (slow): compile with --dtype f32 here\n");
  return false;
}
#endif

} // namespace

namespace {
/// y[rows x out] (+)= x[rows x in] * w^T with panels of 256 weight rows
/// widened to f32 by `widen(first, count, panel)` for the sgemm.
template <typename Widen>
void linearWidened(const float *x, int64_t rows, int64_t in, int64_t out, float *y,
                   bool accumulate, Widen widen) {
  constexpr int64_t kPanel = 256;
  std::vector<float> panel(static_cast<size_t>(std::min(kPanel, out) * in));
  for (int64_t first = 0; first < out; first += kPanel) {
    const int64_t n = std::min(kPanel, out - first);
    widen(first, n, panel.data());
    linearGemm(rows, n, in, x, panel.data(), in, y + first, out, accumulate);
  }
}
} // namespace

void lazyc::rt::linearQ8_0Widened(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                                  int64_t out, float *y, bool accumulate) {
  linearWidened(x, rows, in, out, y, accumulate, [&](int64_t first, int64_t n, float *panel) {
    lazyc::rt::widenQ8_0Rows(w, in, first, n, panel);
  });
}

void lazyc::rt::linearMXFP4Widened(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                                   int64_t out, float *y, bool accumulate) {
  linearWidened(x, rows, in, out, y, accumulate, [&](int64_t first, int64_t n, float *panel) {
    lazyc::rt::widenMXFP4Rows(w, in, first, n, panel);
  });
}

namespace {

/// y (f32) = x (f32) w^T, added to y when `accumulate`. With bf16 weights
/// the input is rounded to bf16 too, as oneDNN's bf16 matmul does, so the
/// results do not depend on whether this CPU has one (AVX-512/AMX-bf16) or
/// takes the widened f32 path below (e.g. an AVX-only CPU).
void linearF32(const float *x, int64_t rows, int64_t in, uint64_t w, int64_t wtype, int64_t out,
               float *y, bool accumulate) {
  if (wtype == 3) {
    // Q8_0: up to a few dozen rows (decode, revivals) read the blocks; more
    // widen panels of the weight's rows to f32 for the sgemm.
    const auto *blocks = ptr<uint8_t>(w);
    if (rows < lazyc::rt::kQ8_0WidenRows)
      lazyc::rt::gemvQ8_0(x, rows, in, blocks, out, y, accumulate);
    else
      lazyc::rt::linearQ8_0Widened(x, rows, in, blocks, out, y, accumulate);
    return;
  }
  if (wtype == 4) { // MXFP4 (gpt-oss's experts), likewise
    const auto *blocks = ptr<uint8_t>(w);
    if (rows < lazyc::rt::kMXFP4WidenRows)
      lazyc::rt::gemvMXFP4(x, rows, in, blocks, out, y, accumulate);
    else
      lazyc::rt::linearMXFP4Widened(x, rows, in, blocks, out, y, accumulate);
    return;
  }
#ifdef LAZYC_GEMV_AVX512
  if (wtype == 1 && rows == 1 && in % 32 == 0 && kHaveAVX512BF16) {
    gemvBF16Avx512(out, in, x, ptr<uint16_t>(w), y, accumulate);
    return;
  }
  if (wtype == 1 && rows <= kSmallBF16Rows && in % 32 == 0 && kHaveAVX512BF16) {
    gemmSmallBF16Avx512(rows, out, in, x, ptr<uint16_t>(w), y, accumulate);
    return;
  }
#endif
#ifdef LAZYC_HAVE_DNNL
  if (wtype == 1 && bf16Matmul(rows, out, in, x, ptr<uint16_t>(w), y, accumulate))
    return;
#endif
  std::vector<float> scratch, rounded;
  const float *weights = asFloat(w, wtype, out * in, scratch);
  if (wtype == 1) {
    rounded.resize(static_cast<size_t>(rows * in));
    for (size_t i = 0; i < rounded.size(); ++i)
      rounded[i] = lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(x[i]));
    x = rounded.data();
  }
  linearGemm(rows, out, in, x, weights, in, y, out, accumulate);
}
/// Rounds `count` f32 values to bf16 at `address`.
void narrowTo(uint64_t address, const float *values, int64_t count) {
  uint16_t *bits = ptr<uint16_t>(address);
  for (int64_t i = 0; i < count; ++i)
    bits[i] = lazyc::rt::floatToBF16(values[i]);
}
} // namespace

extern "C" void lazyc_rt_linear(uint64_t x, int64_t rows, int64_t in, uint64_t w,
                                int64_t wtype, int64_t out, uint64_t y) {
  lazyc::rt::profile::Scope timed("linear", rows);
  linearF32(ptr<float>(x), rows, in, w, wtype, out, ptr<float>(y), false);
}

extern "C" void lazyc_rt_linear_ex(uint64_t x, int64_t xtype, int64_t rows, int64_t in,
                                   uint64_t w, int64_t wtype, int64_t out, uint64_t y,
                                   int64_t ytype, int64_t accumulate) {
  if (rows <= 0)
    return;
  lazyc::rt::profile::Scope timed("linear", rows);
  if ((xtype != 0 && xtype != 1) || (ytype != 0 && ytype != 1)) {
    std::fprintf(stderr, "lazyc: lazyc_rt_linear_ex: unsupported activation types %lld -> %lld%s\n",
                 static_cast<long long>(xtype), static_cast<long long>(ytype),
                 accumulate ? " (accumulating)" : "");
    std::exit(1);
  }
  std::vector<float> wide;
  const float *xf = asFloat(x, xtype, rows * in, wide); // activation codes = weight codes
  if (ytype == 0) {
    linearF32(xf, rows, in, w, wtype, out, ptr<float>(y), accumulate != 0);
    return;
  }
  std::vector<float> product(static_cast<size_t>(rows * out));
  linearF32(xf, rows, in, w, wtype, out, product.data(), false);
  if (accumulate) {
    // A bf16 residual stream: y = bf16(y + x w^T), the sum in f32.
    const uint16_t *old = ptr<uint16_t>(y);
    for (size_t i = 0; i < product.size(); ++i)
      product[i] += lazyc::rt::bf16ToFloat(old[i]);
  }
  narrowTo(y, product.data(), rows * out);
}

namespace {
/// An expert's GEMM: linearF32, but MXFP4 weights (type 4) in a bf16 model
/// (`bf16Gemm`: its router's weights are bf16) take the bf16 weights' GEMMs
/// for prefill rows: the matrix widened to bf16 (exactly) for oneDNN's bf16
/// matmul, which rounds x to bf16 as those GEMMs do (~1.8x the f32 sgemm
/// that widened f32 panels take, which f32 and Q8_0 models keep).
void expertLinear(const float *x, int64_t rows, int64_t in, uint64_t w, int64_t wtype,
                  int64_t out, float *y, bool bf16Gemm) {
  // A bf16 model's few rows: the blocks as bf16 (its GEMMs' precision).
  if (wtype == 4 && bf16Gemm && rows < lazyc::rt::kMXFP4WidenRows &&
      lazyc::rt::gemvMXFP4BF16(x, rows, in, ptr<uint8_t>(w), out, y, false))
    return;
#ifdef LAZYC_HAVE_DNNL
  if (wtype == 4 && bf16Gemm && rows >= lazyc::rt::kMXFP4WidenRows) {
    thread_local std::vector<uint16_t> wide;
    wide.resize(static_cast<size_t>(out * in));
    lazyc::rt::widenMXFP4RowsBF16(ptr<uint8_t>(w), in, 0, out, wide.data());
    if (bf16Matmul(rows, out, in, x, wide.data(), y, false))
      return;
  }
#endif
  linearF32(x, rows, in, w, wtype, out, y, false);
}

/// Bytes of one weight row of `columns` values of weight type `wtype`.
int64_t weightRowBytes(int64_t wtype, int64_t columns) {
  switch (wtype) {
  case 0:
    return 4 * columns;
  case 1:
  case 2:
    return 2 * columns;
  case 4:
    return lazyc::rt::mxfp4RowBytes(columns); // MXFP4 blocks
  default:
    return columns / 32 * 34; // Q8_0 blocks
  }
}
} // namespace

#ifdef LAZYC_GEMV_AVX512
namespace {
/// One row (a decode step) through its chosen experts' bf16 SwiGLU MLPs
/// (`chosen`: (expert, weight) in ascending expert order), added to `out`:
/// the gate and up GEMVs of all of them as one parallel loop of 4-output
/// tiles, then their down GEMVs as another, instead of three parallel GEMVs
/// per expert (24 thread barriers per layer for 8 experts, each on ~1 MB;
/// granite-3.1-1b-a400m's shape, 4 A/B alternations: 1,318 -> 1,231 us per
/// layer on average). The same tiles, products and sums as that path: the
/// same values.
__attribute__((target("avx512f,avx512bf16"))) void moeRowBF16(
    const float *x, int64_t hidden, int64_t ffn,
    const std::vector<std::pair<int64_t, float>> &chosen, const uint16_t *gate,
    const uint16_t *up, const uint16_t *down, float *out) {
  const auto k = static_cast<int64_t>(chosen.size());
  thread_local std::vector<uint16_t> xb, hb;
  thread_local std::vector<float> g, u, d;
  xb.resize(static_cast<size_t>(hidden));
  hb.resize(static_cast<size_t>(k * ffn));
  g.resize(static_cast<size_t>(k * ffn));
  u.resize(g.size());
  d.resize(static_cast<size_t>(k * hidden));
  roundToBF16x32(x, hidden, xb.data());
  const uint16_t *xr = xb.data();
  float *gp = g.data(), *upOut = u.data(), *dp = d.data();
  const int64_t ffnTiles = ffn / 4, hiddenTiles = hidden / 4;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < k * 2 * ffnTiles; ++i) {
    const int64_t c = i / (2 * ffnTiles), t = i % ffnTiles;
    const bool isUp = i % (2 * ffnTiles) >= ffnTiles;
    const int64_t e = chosen[static_cast<size_t>(c)].first;
    gemvBF16Tile(hidden, xr, (isUp ? up : gate) + (e * ffn + 4 * t) * hidden,
                 (isUp ? upOut : gp) + c * ffn + 4 * t, false);
  }
  for (int64_t i = 0; i < k * ffn; ++i)
    gp[i] = gp[i] / (1.0f + std::exp(-gp[i])) * upOut[i];
  roundToBF16x32(gp, k * ffn, hb.data());
  const uint16_t *hr = hb.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < k * hiddenTiles; ++i) {
    const int64_t c = i / hiddenTiles, t = i % hiddenTiles;
    const int64_t e = chosen[static_cast<size_t>(c)].first;
    gemvBF16Tile(ffn, hr + c * ffn, down + (e * hidden + 4 * t) * ffn, dp + c * hidden + 4 * t,
                 false);
  }
  for (int64_t c = 0; c < k; ++c) {
    const float weight = chosen[static_cast<size_t>(c)].second;
    for (int64_t j = 0; j < hidden; ++j)
      out[j] += weight * dp[c * hidden + j];
  }
}
} // namespace
#endif

extern "C" void lazyc_rt_moe(uint64_t x, int64_t rows, int64_t hidden, uint64_t router,
                             int64_t rtype, uint64_t selectionBias, uint64_t routerBias,
                             uint64_t gate, uint64_t up, uint64_t down, uint64_t gateBias,
                             uint64_t upBias, uint64_t downBias, int64_t wtype, int64_t experts,
                             int64_t topK, int64_t ffn, int64_t normTopK, double normMin,
                             int64_t activation, double limit, int64_t scoring,
                             double routedScale, uint64_t y) {
  if (activation != 0 && activation != 1) {
    std::fprintf(stderr, "lazyc: lazyc_rt_moe: unknown activation %lld\n",
                 static_cast<long long>(activation));
    std::exit(1);
  }
  if (scoring != 0 && scoring != 1) {
    std::fprintf(stderr, "lazyc: lazyc_rt_moe: unknown scoring %lld\n",
                 static_cast<long long>(scoring));
    std::exit(1);
  }
  if (rows <= 0)
    return;
  lazyc::rt::profile::Scope timed("moe", rows);
  const float *xf = ptr<float>(x);
  float *out = ptr<float>(y);
  std::fill(out, out + rows * hidden, 0.0f);
  // Routing (MoERouting.h): the router's logits as scores, the top_k.
  const float *bias = selectionBias ? ptr<float>(selectionBias) : nullptr;
  std::vector<float> logits(static_cast<size_t>(rows * experts));
  linearF32(xf, rows, hidden, router, rtype, experts, logits.data(), false);
  if (routerBias) {
    const float *rb = ptr<float>(routerBias);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t e = 0; e < experts; ++e)
        logits[static_cast<size_t>(r * experts + e)] += rb[e];
  }
  // Adds an expert's bias row (`count` values) to each of `n` rows.
  auto addBias = [](float *rowsOut, int64_t n, int64_t count, const float *bias, bool parallel) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < count; ++c)
        rowsOut[i * count + c] += bias[c];
  };
  const float *gb = gateBias ? ptr<float>(gateBias) : nullptr;
  const float *ub = upBias ? ptr<float>(upBias) : nullptr;
  const float *db = downBias ? ptr<float>(downBias) : nullptr;
  const float clampAt = static_cast<float>(limit);
  const bool bf16Model = rtype == 1;
  lazyc::rt::ExpertRows assigned; // (row, weight)
  lazyc::rt::routeExperts(
      logits.data(), rows, experts, bias,
      lazyc::rt::Routing::fromKernelArgs(topK, scoring, normTopK, normMin, routedScale), assigned);
#ifdef LAZYC_GEMV_AVX512
  // A decode step's row through bf16 SwiGLU experts without biases: all its
  // experts' GEMVs in two parallel loops (moeRowBF16).
  if (rows == 1 && wtype == 1 && activation == 0 && !gb && !db && hidden % 32 == 0 &&
      ffn % 32 == 0 && kHaveAVX512BF16) {
    std::vector<std::pair<int64_t, float>> chosen;
    for (int64_t e = 0; e < experts; ++e)
      for (const auto &[row, weight] : assigned[e])
        chosen.push_back({e, weight});
    moeRowBF16(xf, hidden, ffn, chosen, ptr<uint16_t>(gate), ptr<uint16_t>(up),
               ptr<uint16_t>(down), out);
    return;
  }
#endif
  // Each expert over its rows: gather, gate and up, SwiGLU, down, weighted sum.
  const int64_t inBytes = weightRowBytes(wtype, hidden), ffnBytes = weightRowBytes(wtype, ffn);
  std::vector<float> xs, g, u, d;
  for (int64_t e = 0; e < experts; ++e) {
    const auto &mine = assigned[e];
    const auto n = static_cast<int64_t>(mine.size());
    if (n == 0)
      continue;
    xs.resize(static_cast<size_t>(n * hidden));
    g.resize(static_cast<size_t>(n * ffn));
    u.resize(g.size());
    d.resize(xs.size());
    // The row loops on both threads when the expert has many rows (a
    // prefill's): the SwiGLU's exps were a quarter of the kernel's time.
    const bool parallel = n >= 64;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(xf + mine[i].first * hidden, hidden, xs.data() + i * hidden);
    expertLinear(xs.data(), n, hidden, gate + static_cast<uint64_t>(e * ffn * inBytes), wtype,
                 ffn, g.data(), bf16Model);
    expertLinear(xs.data(), n, hidden, up + static_cast<uint64_t>(e * ffn * inBytes), wtype, ffn,
                 u.data(), bf16Model);
    if (gb) {
      addBias(g.data(), n, ffn, gb + e * ffn, parallel);
      addBias(u.data(), n, ffn, ub + e * ffn, parallel);
    }
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i) {
      float *gi = g.data() + i * ffn;
      const float *ui = u.data() + i * ffn;
      if (activation == 0) {
        for (int64_t f = 0; f < ffn; ++f)
          gi[f] = gi[f] / (1.0f + std::exp(-gi[f])) * ui[f];
      } else {
        // gpt-oss: transformers' GptOssExperts (alpha 1.702).
        for (int64_t f = 0; f < ffn; ++f) {
          const float gc = std::min(gi[f], clampAt);
          const float uc = std::clamp(ui[f], -clampAt, clampAt);
          gi[f] = gc / (1.0f + std::exp(-1.702f * gc)) * (uc + 1.0f);
        }
      }
    }
    expertLinear(g.data(), n, ffn, down + static_cast<uint64_t>(e * hidden * ffnBytes), wtype,
                 hidden, d.data(), bf16Model);
    if (db)
      addBias(d.data(), n, hidden, db + e * hidden, parallel);
    // (An expert's rows are distinct: no two threads add to one row.)
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i = 0; i < n; ++i) {
      float *row = out + mine[i].first * hidden;
      const float *src = d.data() + i * hidden;
      const float weight = mine[i].second;
      for (int64_t c = 0; c < hidden; ++c)
        row[c] += weight * src[c];
    }
  }
}

namespace {
/// The attention kernels' per-thread scratch buffers, kept across calls:
/// attention runs once per layer and step, and fresh vectors of its sizes
/// (128 KB to a few MB) were mapped and faulted in again, call after call
/// (the first decode step over a bf16 cache took 32 ms instead of 11).
enum class Scratch { Scores, Probs, Inverses, Gathered, KeysK, KeysV, Parts, Query };
template <typename T> T *scratch(Scratch which, size_t n) {
  thread_local std::vector<T> buffers[static_cast<int>(Scratch::Query) + 1];
  std::vector<T> &buffer = buffers[static_cast<int>(which)];
  if (buffer.size() < n)
    buffer.resize(n);
  return buffer.data();
}

/// The keys of a step's key list that query row r attends to (causal by
/// original position): slots [0, pos[r]] when `keyPos` is null, else the
/// ascending slots keyPos[0 .. numKeys) up to pos[r] (a prefix of the list);
/// under a sliding window only those after pos[r] - window. Row r sees the
/// keys [first(r), operator()(r)) of the list (of the slots when dense).
struct VisibleKeys {
  const int32_t *pos, *keyPos;
  int64_t numKeys;
  int64_t window = 0; // sliding window (0: none)
  int64_t operator()(int64_t r) const {
    if (!keyPos)
      return pos[r] + 1;
    return std::upper_bound(keyPos, keyPos + numKeys, pos[r]) - keyPos;
  }
  int64_t first(int64_t r) const {
    if (window <= 0)
      return 0;
    const int64_t oldest = int64_t{pos[r]} - window + 1;
    if (!keyPos)
      return std::max<int64_t>(oldest, 0);
    return std::lower_bound(keyPos, keyPos + numKeys, oldest,
                            [](int32_t key, int64_t p) { return key < p; }) -
           keyPos;
  }
};

/// Query rows up to which lazyc_rt_attention takes attendFewRows (decode
/// steps; a pruned model's also revive a few rows).
constexpr int64_t kFewRows = 4;
/// Up to this many rows (a decode step's new token and the tokens it
/// revives), attendFewRows may still be the cheaper path; see takeFewRows.
constexpr int64_t kMaxFewRows = 256;

/// Rows ahead that decode attention asks for the K/V rows it will read.
constexpr int64_t kPrefetchRows = 16;
#ifdef LAZYC_GEMV_AVX512
/// 16 values from p as f32: f32 as they are, bf16 (uint16_t) and f16
/// (HalfBits) widened.
__attribute__((target("avx512f"))) inline __m512 load16(const float *p) {
  return _mm512_loadu_ps(p);
}
__attribute__((target("avx512f"))) inline __m512 load16(const uint16_t *p) {
  const __m512i wide =
      _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
__attribute__((target("avx512f"))) inline __m512 load16(const lazyc::rt::HalfBits *p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
}
/// Prefetches rows kPrefetchRows ahead: `bytes` from row j's start.
inline void prefetchAhead(const void *row, int64_t bytes) {
  for (int64_t at = 0; at < bytes; at += 64)
    _mm_prefetch(static_cast<const char *>(row) + at, _MM_HINT_T0);
}
/// Row j of a chunk: row j, or row index[j] (a LazyLLM key list) of a
/// cache read in place.
inline int64_t chunkRow(const int32_t *index, int64_t j) { return index ? index[j] : j; }
/// Prefetches row j + kPrefetchRows of a chunk of n rows (none past a key
/// list's end).
inline void prefetchRowAhead(const void *base, int64_t ld, int64_t elementBytes,
                             const int32_t *index, int64_t j, int64_t n, int64_t bytes) {
  if (!bytes || (index && j + kPrefetchRows >= n))
    return;
  prefetchAhead(static_cast<const char *>(base) +
                    chunkRow(index, j + kPrefetchRows) * ld * elementBytes,
                bytes);
}
/// The decode chunk's two products for a GQA group of `group` <= 8 heads
/// and headDim = 16 * kVecs, without GEMM calls (oneDNN's sgemm on
/// 3 x 256 x 64 spends most of its time outside the arithmetic):
/// S[h][j] = Q_h . K_j for n keys (rows ld apart, or the rows `index` lists),
/// each key's row loaded once for all heads; O[h] = sum_j P[h][j] V_j into
/// rows ldo apart, in 8 * kVecs accumulators. K and V f32, or bf16 / f16
/// read in place (widened in registers). `prefetchBytes`: how much of the
/// row kPrefetchRows ahead to ask for (K and V read from memory; 0: none),
/// in the scores also of `alsoPrefetch`'s rows (V's, read through a list).
template <int kVecs, typename T>
__attribute__((target("avx512f"))) void groupScoresAvx512(const float *q, int64_t group,
                                                          const T *k, int64_t ld,
                                                          const int32_t *index, int64_t n,
                                                          float *s, int64_t prefetchBytes,
                                                          const T *alsoPrefetch = nullptr) {
  __m512 qv[8][kVecs];
  for (int64_t h = 0; h < group; ++h)
    for (int v = 0; v < kVecs; ++v)
      qv[h][v] = _mm512_loadu_ps(q + h * 16 * kVecs + 16 * v);
  for (int64_t j = 0; j < n; ++j) {
    __m512 kv[kVecs];
    prefetchRowAhead(k, ld, sizeof(T), index, j, n, prefetchBytes);
    if (alsoPrefetch)
      prefetchRowAhead(alsoPrefetch, ld, sizeof(T), index, j, n, prefetchBytes);
    const T *row = k + chunkRow(index, j) * ld;
    for (int v = 0; v < kVecs; ++v)
      kv[v] = load16(row + 16 * v);
    for (int64_t h = 0; h < group; ++h) {
      __m512 acc = _mm512_mul_ps(qv[h][0], kv[0]);
      for (int v = 1; v < kVecs; ++v)
        acc = _mm512_fmadd_ps(qv[h][v], kv[v], acc);
      s[h * n + j] = _mm512_reduce_add_ps(acc);
    }
  }
}
template <int kVecs, typename T>
__attribute__((target("avx512f"))) void groupOutputsAvx512(const float *p, int64_t group,
                                                           int64_t n, const T *v, int64_t ld,
                                                           const int32_t *index, float *o,
                                                           int64_t ldo, int64_t prefetchBytes) {
  __m512 acc[8][kVecs];
  for (int64_t h = 0; h < group; ++h)
    for (int x = 0; x < kVecs; ++x)
      acc[h][x] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m512 vv[kVecs];
    prefetchRowAhead(v, ld, sizeof(T), index, j, n, prefetchBytes);
    const T *row = v + chunkRow(index, j) * ld;
    for (int x = 0; x < kVecs; ++x)
      vv[x] = load16(row + 16 * x);
    for (int64_t h = 0; h < group; ++h) {
      const __m512 w = _mm512_set1_ps(p[h * n + j]);
      for (int x = 0; x < kVecs; ++x)
        acc[h][x] = _mm512_fmadd_ps(w, vv[x], acc[h][x]);
    }
  }
  for (int64_t h = 0; h < group; ++h)
    for (int x = 0; x < kVecs; ++x)
      _mm512_storeu_ps(o + h * ldo + 16 * x, acc[h][x]);
}
#endif

/// Whether decode attention runs a GQA group of `group` heads of headDim on
/// groupScoresAvx512 / groupOutputsAvx512 (else on GEMMs).
bool groupKernelsApply(int64_t group, int64_t headDim) {
#ifdef LAZYC_GEMV_AVX512
  return kHaveAVX512F && group <= 8 && headDim == 64;
#else
  (void)group, (void)headDim;
  return false;
#endif
}

/// Whether lazyc_rt_attention takes attendFewRows for `rows` query rows:
/// always up to kFewRows; up to kMaxFewRows where the group kernels run
/// and the blocked path would do `ratio` times the work or more. The blocked
/// path multiplies each 256-row block against every key its last row sees
/// (and gathers a key list's rows first); attendFewRows reads each row's own
/// visible keys in place, at about 1/2 (f32 cache) or 1/3 (16-bit cache) of
/// the GEMMs' speed per key and row (bench/cpu/kernel_bench.cpp,
/// PrefillAttention). A decode step's revived tokens lie anywhere before its
/// new one, which sees every key: there the blocked rectangle is mostly
/// masked.
bool takeFewRows(int64_t rows, const VisibleKeys &visible, bool f32Cache, int64_t group,
                 int64_t headDim) {
  if (rows <= kFewRows)
    return true;
  if (rows > kMaxFewRows || !groupKernelsApply(group, headDim))
    return false;
  double own = 0;
  int64_t blockMax = 0, blockMin = std::numeric_limits<int64_t>::max();
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t v = visible(i), first = visible.first(i);
    own += static_cast<double>(v - first);
    blockMax = std::max(blockMax, v);
    blockMin = std::min(blockMin, first);
  }
  const double rectangle = static_cast<double>(rows) * static_cast<double>(blockMax - blockMin);
  return rectangle >= (f32Cache ? 2.0 : 3.0) * own;
}

/// Attention of a few query rows (a decode step and the tokens it revives)
/// in flash-decoding's order: each task computes a KV group's heads' scores
/// over a chunk of 256 keys (the heads as the rows of one small product),
/// their maximum and exp-sum and the weighted sum of the chunk's V rows;
/// then each head merges its chunks. Under the group kernels one task per
/// (row, chunk) takes the groups in turn, reading the cache in place (a
/// key list's rows through the list); else one task per (row, KV group,
/// chunk) on GEMMs, in place from an f32 cache. Otherwise (a key list's rows
/// for up to kFewRows rows, a 16-bit cache without the group kernels) the
/// chunk's rows are copied once per row and chunk for all groups, widened
/// to f32. The tasks keep every thread busy whatever the number of heads.
/// `visible`: the keys each row sees (`keyPos` null: slots [0, pos[row]];
/// else the ascending slots keyPos[0 .. numKeys) <= pos[row]; either within
/// a sliding window).
void attendFewRows(const float *q, int64_t rows, const lazyc::rt::KVRows &kc,
                   const lazyc::rt::KVRows &vc, const VisibleKeys &visible, int64_t heads,
                   int64_t kvHeads, int64_t headDim, float scale, float softcap,
                   const float *sinks, float *out) {
  constexpr int64_t kChunk = 256;
  const int32_t *keyPos = visible.keyPos;
  const int64_t numKeys = visible.numKeys;
  const int64_t group = heads / kvHeads, kvDim = kvHeads * headDim, qDim = heads * headDim;
  const int64_t chunks = std::max<int64_t>(1, (numKeys + kChunk - 1) / kChunk);
  const bool smallKernels = groupKernelsApply(group, headDim);
  // K and V read in place (else rows are copied first): f32, or under the
  // group kernels any cache (bf16 and f16 widened in registers), its slots,
  // or a key list's where more than kFewRows rows would each copy them. (A
  // decode step's one row over a key list runs 5-8% faster on rows copied in
  // slot order than read through the list.)
  const bool inPlace = kc.isF32() && !keyPos;
  const bool inPlaceRows = smallKernels && (!keyPos || rows > kFewRows);
  // Per (row, head, chunk): the chunk's maximum score, exp-sum and output.
  // (The calling thread's buffer, which the tasks of every thread fill.)
  const int64_t parts = rows * heads * chunks;
  float *maxima = scratch<float>(Scratch::Parts, static_cast<size_t>(parts * (headDim + 2)));
  float *sums = maxima + parts, *partial = sums + parts;
  // One (row, KV group, chunk) part: S = Q_group K^T (the group's query
  // heads are adjacent rows of headDim), the unnormalized softmax rows, and
  // P V into rows of headDim, one per head (their parts are `chunks` apart).
  // K and V: the chunk's n rows of group g, leading dimension ld.
  auto attendChunk = [&](int64_t r, int64_t g, int64_t c, int64_t n, const auto *kBlock,
                         const auto *vBlock, int64_t ld, float *scores, int64_t prefetchBytes,
                         const int32_t *index = nullptr) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(kBlock)>>;
    const int64_t first = (r * heads + g * group) * chunks + c;
    if (n <= 0) {
      for (int64_t hh = 0; hh < group; ++hh) {
        maxima[first + hh * chunks] = -std::numeric_limits<float>::infinity();
        sums[first + hh * chunks] = 0;
        std::fill_n(partial + (first + hh * chunks) * headDim, headDim, 0.0f);
      }
      return;
    }
    const float *qGroup = q + r * qDim + g * group * headDim;
#ifdef LAZYC_GEMV_AVX512
    if (smallKernels)
      groupScoresAvx512<4>(qGroup, group, kBlock, ld, index, n, scores, prefetchBytes,
                           index ? vBlock : nullptr);
#endif
    if constexpr (std::is_same_v<T, float>)
      if (!smallKernels)
        gemmABt(group, n, headDim, qGroup, headDim, kBlock, ld, scores, n);
    for (int64_t hh = 0; hh < group; ++hh) {
      float m;
      sums[first + hh * chunks] = cappedExpRow(scores + hh * n, n, scale, softcap, m);
      maxima[first + hh * chunks] = m;
    }
#ifdef LAZYC_GEMV_AVX512
    if (smallKernels)
      groupOutputsAvx512<4>(scores, group, n, vBlock, ld, index, partial + first * headDim,
                            chunks * headDim, prefetchBytes);
#endif
    if constexpr (std::is_same_v<T, float>)
      if (!smallKernels)
        gemmAB(group, headDim, n, scores, n, vBlock, ld, partial + first * headDim,
               chunks * headDim);
  };
  // The keys [start, end) of chunk c (of its kChunk) that row r sees; none
  // when end <= start (past the row's position, or before its window).
  auto chunkKeys = [&](int64_t r, int64_t c) {
    return std::pair<int64_t, int64_t>{std::max<int64_t>(visible.first(r) - c * kChunk, 0),
                                       std::min(visible(r), (c + 1) * kChunk) - c * kChunk};
  };
  if (inPlaceRows) {
    // The cache in place under the group kernels: one task per (row,
    // chunk), its KV groups in turn; the first asks for whole rows ahead, so
    // the others find their columns in L2. (A task per (row, KV group,
    // chunk) read 4 of an f32 row's 12 cache lines each: 27 GB/s at 4k keys,
    // where whole rows read 38; f16 rows copied and widened first, 23.) A
    // key list's rows are read through the list.
    auto byChunks = [&](auto row) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(row(kc, 0))>>;
#pragma omp parallel
      {
        float *scores = scratch<float>(Scratch::Scores, static_cast<size_t>(group * kChunk));
#pragma omp for schedule(static)
        for (int64_t t = 0; t < rows * chunks; ++t) {
          const int64_t r = t / chunks, c = t % chunks;
          const auto [start, end] = chunkKeys(r, c);
          const int64_t n = end - start;
          const int64_t base = keyPos ? 0 : c * kChunk + start;
          const int32_t *index = keyPos ? keyPos + c * kChunk + start : nullptr;
          for (int64_t g = 0; g < kvHeads; ++g)
            attendChunk(r, g, c, n, row(kc, base) + g * headDim, row(vc, base) + g * headDim,
                        kvDim, scores, g == 0 ? kvDim * int64_t{sizeof(T)} : 0, index);
        }
      }
    };
    if (kc.isF32())
      byChunks([](const lazyc::rt::KVRows &c, int64_t slot) { return c.f32Row(slot); });
    else if (kc.isBF16())
      byChunks([](const lazyc::rt::KVRows &c, int64_t slot) { return c.bf16Row(slot); });
    else
      byChunks([](const lazyc::rt::KVRows &c, int64_t slot) { return c.f16Row(slot); });
  } else if (inPlace) {
    // K and V in place, f32, for the GEMMs (no group kernels: nothing to
    // prefetch for): one task per (row, KV group, chunk).
#pragma omp parallel
    {
      float *scores = scratch<float>(Scratch::Scores, static_cast<size_t>(group * kChunk));
#pragma omp for schedule(static)
      for (int64_t t = 0; t < rows * kvHeads * chunks; ++t) {
        const int64_t r = t / (kvHeads * chunks), g = t / chunks % kvHeads, c = t % chunks;
        const auto [start, end] = chunkKeys(r, c);
        attendChunk(r, g, c, end - start, kc.f32Row(c * kChunk + start) + g * headDim,
                    vc.f32Row(c * kChunk + start) + g * headDim, kvDim, scores, 0);
      }
    }
  } else {
    // A key list's rows (gathered) or a 16-bit cache's (widened): one task
    // per (row, chunk) copies the chunk's whole K and V rows once, in slot
    // order, for all KV groups. (Per group, each task read 2 of every row's 6
    // cache lines: a bf16 cache decoded slower than an f32 one read in place.)
#pragma omp parallel
    {
      float *scores = scratch<float>(Scratch::Scores, static_cast<size_t>(group * kChunk));
      float *rowsKV = scratch<float>(Scratch::Gathered, static_cast<size_t>(2 * kChunk * kvDim));
#pragma omp for schedule(static)
      for (int64_t t = 0; t < rows * chunks; ++t) {
        const int64_t r = t / chunks, c = t % chunks;
        const auto [start, end] = chunkKeys(r, c);
        const int64_t n = end - start, at = c * kChunk + start;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t slot = keyPos ? keyPos[at + j] : at + j;
          if (j + kPrefetchRows < n) {
            const int64_t next = keyPos ? keyPos[at + j + kPrefetchRows] : slot + kPrefetchRows;
            kc.prefetch(next);
            vc.prefetch(next);
          }
          kc.load(slot, 0, kvDim, rowsKV + j * kvDim);
          vc.load(slot, 0, kvDim, rowsKV + (kChunk + j) * kvDim);
        }
        for (int64_t g = 0; g < kvHeads; ++g)
          attendChunk(r, g, c, n, rowsKV + g * headDim, rowsKV + kChunk * kvDim + g * headDim,
                      kvDim, scores, 0);
      }
    }
  }
  // Merge each head's chunks: softmax over all of them.
#pragma omp parallel for schedule(static) if (rows > kFewRows)
  for (int64_t rh = 0; rh < rows * heads; ++rh) {
    const int64_t r = rh / heads, h = rh % heads;
    const int64_t first = (r * heads + h) * chunks;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < chunks; ++c)
      m = std::max(m, maxima[first + c]);
    float *o = out + r * qDim + h * headDim;
    std::fill(o, o + headDim, 0.0f);
    float total = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      if (sums[first + c] == 0)
        continue;
      const float weight = expNonPositive(maxima[first + c] - m);
      total += weight * sums[first + c];
      const float *po = partial + (first + c) * headDim;
      for (int64_t d = 0; d < headDim; ++d)
        o[d] += weight * po[d];
    }
    if (sinks) // a sink: one more term of the denominator, no value
      total += std::exp(sinks[h] - m);
    const float inv = 1.0f / total;
    for (int64_t d = 0; d < headDim; ++d)
      o[d] *= inv;
  }
}

/// dst[i] = src[i] rounded to bf16 (to nearest even), i < n: finite values.
#ifdef LAZYC_GEMV_AVX512
__attribute__((target("avx512f"))) void roundToBF16Avx512(const float *src, uint16_t *dst,
                                                         int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i),
                        roundBF16x16(_mm512_loadu_ps(src + i)));
  for (; i < n; ++i)
    dst[i] = lazyc::rt::floatToBF16(src[i]);
}
#endif
void roundToBF16(const float *src, uint16_t *dst, int64_t n) {
#ifdef LAZYC_GEMV_AVX512
  if (kHaveAVX512F) {
    roundToBF16Avx512(src, dst, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i)
    dst[i] = lazyc::rt::floatToBF16(src[i]);
}

/// Query rows per score block of prefill attention.
constexpr int64_t kBlockRows = 256;

/// The keys [lo, hi) that some row of the block r0 .. r0 + n sees: the
/// block's scores are its rows times these keys.
std::pair<int64_t, int64_t> blockKeyRange(const VisibleKeys &visible, int64_t r0, int64_t n) {
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, visible.first(r0 + i));
    hi = std::max(hi, visible(r0 + i));
  }
  return {std::min(lo, hi), hi};
}

#ifdef LAZYC_HAVE_DNNL
/// Whether bf16Gemm runs here (probed once on a block's shape).
bool haveBF16Gemm() {
  static const bool usable = [] {
    std::vector<uint16_t> a(kBlockRows * 64), b(64 * 256);
    std::vector<float> c(kBlockRows * 256);
    return bf16Gemm(kBlockRows, 256, 64, a.data(), 64, b.data(), 1, 64, c.data(), 256);
  }();
  return usable;
}

/// Prefill attention over a bf16 KV cache: the f32 path's (head, block)
/// tasks below with Q and the unnormalized probabilities rounded to bf16 and
/// both products bf16 GEMMs with f32 sums (~1.9x the f32 sgemm's speed on
/// AVX512-BF16), K and V read in place (or gathered, still bf16, for a
/// LazyLLM key list). The softmax stays f32; its sums come from the
/// unrounded probabilities. `visible.numKeys`: the key list's length
/// (keyPos) or the dense prefix's.
void attendBlocksBF16(const float *q, int64_t rows, const lazyc::rt::KVRows &kc,
                      const lazyc::rt::KVRows &vc, const VisibleKeys &visible, int64_t heads,
                      int64_t kvHeads, int64_t headDim, float scale, float softcap,
                      const float *sinks, float *out) {
  const int32_t *keyPos = visible.keyPos;
  const int64_t keys = visible.numKeys;
  const int64_t group = heads / kvHeads, kvDim = kvHeads * headDim, qDim = heads * headDim;
  uint16_t *qb = scratch<uint16_t>(Scratch::Query, static_cast<size_t>(rows * qDim));
#pragma omp parallel for schedule(static) if (rows >= 256)
  for (int64_t i = 0; i < rows; ++i)
    roundToBF16(q + i * qDim, qb + i * qDim, qDim);
  const uint16_t *keysK = kc.bf16Row(0), *keysV = vc.bf16Row(0);
  if (keyPos) {
    uint16_t *gatheredK = scratch<uint16_t>(Scratch::KeysK, static_cast<size_t>(keys * kvDim));
    uint16_t *gatheredV = scratch<uint16_t>(Scratch::KeysV, static_cast<size_t>(keys * kvDim));
#pragma omp parallel for schedule(static) if (keys >= 256)
    for (int64_t j = 0; j < keys; ++j) {
      std::memcpy(gatheredK + j * kvDim, kc.bf16Row(keyPos[j]), kvDim * sizeof(uint16_t));
      std::memcpy(gatheredV + j * kvDim, vc.bf16Row(keyPos[j]), kvDim * sizeof(uint16_t));
    }
    keysK = gatheredK;
    keysV = gatheredV;
  }
  const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
#pragma omp parallel
  {
    const size_t blockScores = static_cast<size_t>(std::min(rows, kBlockRows) * keys);
    float *scores = scratch<float>(Scratch::Scores, blockScores);
    float *inverses = scratch<float>(Scratch::Inverses, kBlockRows);
    uint16_t *probs = scratch<uint16_t>(Scratch::Probs, blockScores);
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < heads * blocks; ++t) {
      const int64_t h = t % heads, g = h / group;
      const int64_t r0 = (blocks - 1 - t / heads) * kBlockRows;
      const int64_t n = std::min(kBlockRows, rows - r0);
      const auto [lo, hi] = blockKeyRange(visible, r0, n);
      const int64_t blockKeys = hi - lo;
      bf16Gemm(n, blockKeys, headDim, qb + r0 * qDim + h * headDim, qDim,
               keysK + lo * kvDim + g * headDim, 1, kvDim, scores, blockKeys);
      for (int64_t i = 0; i < n; ++i) {
        float *s = scores + i * blockKeys;
        uint16_t *p = probs + i * blockKeys;
        const int64_t first = visible.first(r0 + i) - lo, valid = visible(r0 + i) - lo;
        float m;
        const float sum = cappedExpRow(s + first, valid - first, scale, softcap, m, p + first);
        inverses[i] = 1.0f / (sinks ? sum + std::exp(sinks[h] - m) : sum);
        std::fill(p, p + first, uint16_t{0});
        std::fill(p + valid, p + blockKeys, uint16_t{0});
      }
      float *o = out + r0 * qDim + h * headDim;
      bf16Gemm(n, headDim, blockKeys, probs, blockKeys, keysV + lo * kvDim + g * headDim, kvDim,
               1, o, qDim);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t d = 0; d < headDim; ++d)
          o[i * qDim + d] *= inverses[i];
    }
  }
}
#endif
} // namespace

void lazyc::rt::warmUpDecodeAttention(int64_t headDim) {
  constexpr int64_t kKeys = 256, group = 3; // attendFewRows' chunk, a GQA group
  if (groupKernelsApply(group, headDim))
    return; // no GEMMs to generate
  std::vector<float> q(static_cast<size_t>(group * headDim)), kv(kKeys * headDim),
      scores(group * kKeys), out(group * headDim);
  gemmABt(group, kKeys, headDim, q.data(), headDim, kv.data(), headDim, scores.data(), kKeys);
  gemmAB(group, headDim, kKeys, scores.data(), kKeys, kv.data(), headDim, out.data(), headDim);
}

extern "C" void lazyc_rt_parallel_for(void (*body)(void *, int64_t, int64_t), void *context,
                                      int64_t lo, int64_t hi, int64_t work) {
  // Below ~32k inner iterations (~10-30 us of elementwise work) a fork/join
  // costs about what it saves.
  constexpr int64_t kMinParallelWork = 1 << 15;
  const int64_t n = hi - lo;
  const int threads = omp_get_max_threads();
  // (n * work < kMinParallelWork, without the product's overflow.)
  if (n < 2 || threads < 2 || omp_in_parallel() ||
      std::max<int64_t>(work, 1) < (kMinParallelWork + n - 1) / n) {
    if (n > 0)
      body(context, lo, hi);
    return;
  }
  const int64_t parts = std::min<int64_t>(threads, n);
#pragma omp parallel num_threads(static_cast<int>(parts))
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t begin = lo + n * t / count, end = lo + n * (t + 1) / count;
    if (begin < end)
      body(context, begin, end);
  }
}

namespace {
/// lazyc_rt_attention under a sliding window (`window` > 0: row i sees only
/// the slots after pos[i] - window; 0: none), soft-capped scores (`softcap`
/// > 0: cap * tanh(s / cap); 0: none) and attention sinks (one logit per
/// query head; null: none).
void attention(LazycKVCache *cache, int64_t layer, uint64_t qAddr, uint64_t kAddr,
               uint64_t vAddr, uint64_t posAddr, int64_t rows, uint64_t keysAddr,
               int64_t numKeys, int64_t heads, int64_t kvHeads, int64_t headDim, double scaleD,
               uint64_t outAddr, int64_t window, float softcap, const float *sinks) {
  lazyc::rt::profile::Scope timed("attention", rows);
  const float *q = ptr<float>(qAddr), *k = ptr<float>(kAddr), *v = ptr<float>(vAddr);
  const int32_t *pos = ptr<int32_t>(posAddr);
  const int32_t *keyPos = numKeys >= 0 ? ptr<int32_t>(keysAddr) : nullptr;
  float *out = ptr<float>(outAddr);
  const int64_t kvDim = kvHeads * headDim, qDim = heads * headDim;
  const lazyc::rt::KVRows kc(*cache, layer, false), vc(*cache, layer, true);
  uint8_t *cached = cache->cached ? cache->cached + layer * cache->context : nullptr;
  int64_t *stats = cache->stats;
  int64_t maxPos = 0;
  for (int64_t i = 0; i < rows; ++i) {
    kc.store(pos[i], k + i * kvDim);
    vc.store(pos[i], v + i * kvDim);
    maxPos = std::max<int64_t>(maxPos, pos[i]);
    if (cached) {
      if (cached[pos[i]] && stats)
        ++stats[LAZYC_STAT_RECOMPUTED * cache->layers + layer];
      cached[pos[i]] = 1;
    }
  }
  const int64_t keys = keyPos ? numKeys : maxPos + 1;
  const VisibleKeys visible{pos, keyPos, keys, window};
  if (takeFewRows(rows, visible, kc.isF32(), heads / kvHeads, headDim)) {
    if (stats) {
      for (int64_t j = 0; keyPos && cached && j < numKeys; ++j)
        if (!cached[keyPos[j]])
          ++stats[LAZYC_STAT_UNCACHED_KEY * cache->layers + layer];
      stats[LAZYC_STAT_COMPUTED * cache->layers + layer] += rows;
      stats[LAZYC_STAT_TOTAL_COMPUTED * cache->layers + layer] += rows;
      stats[LAZYC_STAT_KEYS * cache->layers + layer] = keyPos ? numKeys : maxPos + 1;
      stats[LAZYC_STAT_LAST_KEY * cache->layers + layer] = keyPos ? keyPos[numKeys - 1] : maxPos;
    }
    attendFewRows(q, rows, kc, vc, visible, heads, kvHeads, headDim,
                  static_cast<float>(scaleD), softcap, sinks, out);
    return;
  }
  for (int64_t j = 0; keyPos && cached && stats && j < keys; ++j)
    if (!cached[keyPos[j]])
      ++stats[LAZYC_STAT_UNCACHED_KEY * cache->layers + layer];
  if (stats) {
    stats[LAZYC_STAT_COMPUTED * cache->layers + layer] += rows;
    stats[LAZYC_STAT_TOTAL_COMPUTED * cache->layers + layer] += rows;
    stats[LAZYC_STAT_KEYS * cache->layers + layer] = keys;
    stats[LAZYC_STAT_LAST_KEY * cache->layers + layer] = keyPos ? keyPos[keys - 1] : maxPos;
  }
  const float scale = static_cast<float>(scaleD);
#ifdef LAZYC_HAVE_DNNL
  if (kc.isBF16() && haveBF16Gemm()) {
    attendBlocksBF16(q, rows, kc, vc, visible, heads, kvHeads, headDim, scale, softcap, sinks,
                     out);
    return;
  }
#endif
  // Keys: every slot up to the last row (dense, in place in an f32 cache),
  // or the slots of S_l (or of a 16-bit cache) gathered into contiguous f32
  // K/V blocks. A bf16 cache without bf16 GEMMs here rounds Q and the
  // probabilities to bf16 as attendBlocksBF16 does, so its results do not
  // depend on the CPU beyond the order of the sums.
  const bool roundBF16 = kc.isBF16();
  const float *keysK = nullptr, *keysV = nullptr;
  if (keyPos || !kc.isF32()) {
    float *gatheredK = scratch<float>(Scratch::KeysK, static_cast<size_t>(keys * kvDim));
    float *gatheredV = scratch<float>(Scratch::KeysV, static_cast<size_t>(keys * kvDim));
#pragma omp parallel for schedule(static) if (keys >= 256)
    for (int64_t j = 0; j < keys; ++j) {
      const int64_t slot = keyPos ? keyPos[j] : j;
      kc.load(slot, 0, kvDim, gatheredK + j * kvDim);
      vc.load(slot, 0, kvDim, gatheredV + j * kvDim);
    }
    keysK = gatheredK;
    keysV = gatheredV;
  } else {
    keysK = kc.f32Row(0);
    keysV = vc.f32Row(0);
  }
  if (roundBF16) {
    float *roundedQ = scratch<float>(Scratch::Query, static_cast<size_t>(rows * qDim));
    for (int64_t i = 0; i < rows * qDim; ++i)
      roundedQ[i] = lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(q[i]));
    q = roundedQ;
  }
  const int64_t group = heads / kvHeads;
  const int64_t block = kBlockRows;
  const int64_t blocks = (rows + block - 1) / block;
  // (head, block) tasks run in parallel, each with single-threaded GEMMs: one
  // parallel region per layer instead of two small ones per head and block.
  // Tasks, not heads: SmolLM2's 9 heads split 5 : 4 over two threads left one
  // idle for a ninth of the layer. The last blocks (the most keys) go first.
#pragma omp parallel
  {
    float *scores = scratch<float>(Scratch::Scores,
                                   static_cast<size_t>(std::min<int64_t>(rows, block) * keys));
    float *inverses = scratch<float>(Scratch::Inverses, static_cast<size_t>(block));
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < heads * blocks; ++t) {
      const int64_t h = t % heads, g = h / group;
      const int64_t r0 = (blocks - 1 - t / heads) * block;
      const int64_t n = std::min(block, rows - r0);
      // S = Q_h K_g^T over every key visible to some row of the block.
      const auto [lo, hi] = blockKeyRange(visible, r0, n);
      const int64_t blockKeys = hi - lo;
      gemmABt(n, blockKeys, headDim, q + r0 * qDim + h * headDim, qDim,
              keysK + lo * kvDim + g * headDim, kvDim, scores, blockKeys);
      // Unnormalized probabilities (the keys outside a row's range 0);
      // each output row is divided by its row's sum after P V, which
      // touches headDim values per row instead of every score.
      for (int64_t i = 0; i < n; ++i) {
        float *s = scores + i * blockKeys;
        const int64_t first = visible.first(r0 + i) - lo, valid = visible(r0 + i) - lo;
        float m;
        const float sum = cappedExpRow(s + first, valid - first, scale, softcap, m);
        inverses[i] = 1.0f / (sinks ? sum + std::exp(sinks[h] - m) : sum);
        for (int64_t j = first; roundBF16 && j < valid; ++j)
          s[j] = lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(s[j]));
        std::fill(s, s + first, 0.0f);
        std::fill(s + valid, s + blockKeys, 0.0f);
      }
      // O_h = P V_g
      float *o = out + r0 * qDim + h * headDim;
      gemmAB(n, headDim, blockKeys, scores, blockKeys, keysV + lo * kvDim + g * headDim, kvDim,
             o, qDim);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t d = 0; d < headDim; ++d)
          o[i * qDim + d] *= inverses[i];
    }
  }
}
} // namespace

extern "C" void lazyc_rt_attention(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                                   uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                                   int64_t numKeys, int64_t heads, int64_t kvHeads,
                                   int64_t headDim, double scale, uint64_t out) {
  attention(cache, layer, q, k, v, positions, rows, keys, numKeys, heads, kvHeads, headDim, scale,
            out, 0, 0.0f, nullptr);
}

namespace {
/// lazyc_rt_attention_ex and lazyc_rt_attention_sinks: checks, then the
/// f32 kernel between widened / rounded bf16 activations.
void attentionEx(const char *entry, LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                 uint64_t v, uint64_t positions, int64_t rows, uint64_t keys, int64_t numKeys,
                 int64_t heads, int64_t kvHeads, int64_t headDim, double scale, uint64_t out,
                 int64_t qtype, int64_t kvtype, int64_t otype, int64_t window, double softcap,
                 const float *sinks) {
  for (int64_t type : {qtype, kvtype, otype})
    if (type != 0 && type != 1) {
      std::fprintf(stderr, "lazyc: %s: unsupported element type %lld\n", entry,
                   static_cast<long long>(type));
      std::exit(1);
    }
  if (window < 0 || !(softcap >= 0.0) || !std::isfinite(softcap)) {
    std::fprintf(stderr, "lazyc: %s: bad sliding window %lld or softcap %g\n", entry,
                 static_cast<long long>(window), softcap);
    std::exit(1);
  }
  if (rows <= 0)
    return;
  const int64_t qDim = heads * headDim, kvDim = kvHeads * headDim;
  std::vector<float> qs, ks, vs, os;
  const float *qf = asFloat(q, qtype, rows * qDim, qs);
  const float *kf = asFloat(k, kvtype, rows * kvDim, ks);
  const float *vf = asFloat(v, kvtype, rows * kvDim, vs);
  if (otype == 1)
    os.resize(static_cast<size_t>(rows * qDim));
  uint64_t result = otype == 1 ? reinterpret_cast<uint64_t>(os.data()) : out;
  attention(cache, layer, reinterpret_cast<uint64_t>(qf), reinterpret_cast<uint64_t>(kf),
            reinterpret_cast<uint64_t>(vf), positions, rows, keys, numKeys, heads, kvHeads,
            headDim, scale, result, window, static_cast<float>(softcap), sinks);
  if (otype == 1)
    narrowTo(out, os.data(), rows * qDim);
}
} // namespace

extern "C" void lazyc_rt_attention_ex(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                                      uint64_t v, uint64_t positions, int64_t rows,
                                      uint64_t keys, int64_t numKeys, int64_t heads,
                                      int64_t kvHeads, int64_t headDim, double scale,
                                      uint64_t out, int64_t qtype, int64_t kvtype,
                                      int64_t otype, int64_t window, double softcap) {
  attentionEx("lazyc_rt_attention_ex", cache, layer, q, k, v, positions, rows, keys, numKeys,
              heads, kvHeads, headDim, scale, out, qtype, kvtype, otype, window, softcap,
              nullptr);
}

extern "C" void lazyc_rt_attention_sinks(LazycKVCache *cache, int64_t layer, uint64_t q,
                                         uint64_t k, uint64_t v, uint64_t positions,
                                         int64_t rows, uint64_t keys, int64_t numKeys,
                                         int64_t heads, int64_t kvHeads, int64_t headDim,
                                         double scale, uint64_t out, int64_t qtype,
                                         int64_t kvtype, int64_t otype, int64_t window,
                                         double softcap, uint64_t sinks) {
  attentionEx("lazyc_rt_attention_sinks", cache, layer, q, k, v, positions, rows, keys, numKeys,
              heads, kvHeads, headDim, scale, out, qtype, kvtype, otype, window, softcap,
              ptr<float>(sinks));
}

extern "C" void lazyc_rt_check_failed(const char *message) {
  std::fflush(stdout);
  std::fprintf(stderr, "lazyc: runtime check failed in the compiled model: %s\n", message);
  std::exit(1);
}

namespace {
/// The snapshots of lazyc_rt_keep_host_copy, and what was checked.
struct KeptLists {
  lazyc::rt::HostCopies snapshots;
  int64_t kept = 0, checks = 0;
  ~KeptLists() {
    if (kept > 0)
      std::fprintf(stderr, "lazyc: host index copies checked: %lld lists kept, %lld later reads "
                           "found them unchanged\n",
                   static_cast<long long>(kept), static_cast<long long>(checks));
  }
};
KeptLists &keptLists() {
  static KeptLists lists;
  return lists;
}
} // namespace

extern "C" void lazyc_rt_keep_host_copy(uint64_t address, int64_t bytes) {
  KeptLists &lists = keptLists();
  // A new list at a freed one's address replaces its snapshot.
  lists.snapshots.forget(ptr<void>(address));
  lists.snapshots.mirror(ptr<void>(address), ptr<void>(address), static_cast<size_t>(bytes));
  ++lists.kept;
}

extern "C" void lazyc_rt_check_host_copy(uint64_t address, int64_t bytes) {
  KeptLists &lists = keptLists();
  std::vector<int32_t> snapshot(static_cast<size_t>(bytes) / 4);
  if (!lists.snapshots.lookup(ptr<void>(address), snapshot.data(), snapshot.size() * 4)) {
    lazyc_rt_check_failed(("an index list of " + std::to_string(bytes) +
                           " bytes is read without a kept copy that long (not marked by "
                           "lazyc-gpu-host-index-copies, or marked shorter)")
                              .c_str());
  }
  const int32_t *now = ptr<int32_t>(address);
  for (size_t i = 0; i < snapshot.size(); ++i)
    if (snapshot[i] != now[i])
      lazyc_rt_check_failed(
          ("an index list marked final by lazyc-gpu-host-index-copies changed before a runtime "
           "call read it (element " + std::to_string(i) + " of " +
           std::to_string(snapshot.size()) + ": was " + std::to_string(snapshot[i]) +
           ", now " + std::to_string(now[i]) +
           "); on the GPU that call would read a stale host copy")
              .c_str());
  ++lists.checks;
}
