//===- MXFP4.h - GEMMs on MXFP4 weights -------------------------*- C++ -*-===//
//
// Weights of type code 4 (Kernels.h) are MXFP4 blocks (OCP microscaling FP4:
// gpt-oss's experts) as they are in a GGUF file: each row of K values is
// K / 32 blocks of 17 bytes, an E8M0 exponent e, then 16 bytes whose low
// nibbles are values 0..15 and high nibbles values 16..31, each an E2M1 code
// (value = kvalue[code] * 2^(e - 128), ggml's doubled table with the halved
// scale). The activations stay f32. As Q8_0's (Q8_0.h): a few rows read the
// blocks, more widen panels of rows to f32 for the sgemm.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_MXFP4_H
#define LAZYC_RUNTIME_CPU_MXFP4_H

#include <cstdint>

namespace lazyc::rt {

constexpr int64_t kMXFP4Values = 32; // values per block
constexpr int64_t kMXFP4Bytes = 17;  // bytes per block

/// Bytes of one row of `in` values (a multiple of 32).
constexpr int64_t mxfp4RowBytes(int64_t in) { return in / kMXFP4Values * kMXFP4Bytes; }

/// y[rows x out] (+)= x[rows x in] * w^T reading the blocks directly, in
/// passes of up to kMXFP4GemvRows input rows (each weight block decoded once
/// per pass); the output rows split between the OpenMP threads. Below
/// kMXFP4WidenRows rows; from there on linearMXFP4Widened.
constexpr int64_t kMXFP4GemvRows = 8;
constexpr int64_t kMXFP4WidenRows = 32;
void gemvMXFP4(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
               float *y, bool accumulate);

/// gemvMXFP4 for a bf16 model (whose other GEMMs round their inputs to bf16)
/// on CPUs with AVX512-BF16: x rounded to bf16 once, in the order the
/// kernel decodes pairs of blocks (byte lookups of the bf16 values' low and
/// high bytes, interleaved within 128-bit lanes: no cross-lane shuffles), 32
/// products a vdpbf16ps, each pair's sums scaled once. Returns false (nothing
/// done) where the CPU lacks AVX512-BF16.
bool gemvMXFP4BF16(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
                   float *y, bool accumulate);

/// Rows [first, first + count) of an MXFP4 matrix widened to f32 ([count x in]).
void widenMXFP4Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count, float *out);
/// ... to bf16 (exactly: an E2M1 value times a power of two has at most 4
/// significant bits).
void widenMXFP4RowsBF16(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                        uint16_t *out);

/// y[rows x out] (+)= x[rows x in] * w^T with panels of weight rows widened
/// to f32 for the sgemm; in Kernels.cpp, with the sgemm.
void linearMXFP4Widened(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
                        float *y, bool accumulate);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CPU_MXFP4_H
