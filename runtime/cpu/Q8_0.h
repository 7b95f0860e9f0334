//===- Q8_0.h - GEMMs on GGML Q8_0 weights ----------------------*- C++ -*-===//
//
// Weights of type code 3 (Kernels.h) are GGML's Q8_0 blocks as they are in a
// GGUF file: each row of K values is K / 32 blocks of 34 bytes, an f16 scale
// d then 32 int8 q (value = d * q). The activations stay f32. Decode steps
// (a few rows) read the blocks directly, a quarter of f32's bytes; prefill
// widens panels of rows to f32 for the sgemm.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_Q8_0_H
#define LAZYC_RUNTIME_CPU_Q8_0_H

#include <cstdint>

namespace lazyc::rt {

constexpr int64_t kQ8_0Values = 32; // values per block
constexpr int64_t kQ8_0Bytes = 34;  // bytes per block

/// Bytes of one row of `in` values (a multiple of 32).
constexpr int64_t q8_0RowBytes(int64_t in) { return in / kQ8_0Values * kQ8_0Bytes; }

/// y[rows x out] (+)= x[rows x in] * w^T reading the blocks directly, in
/// passes of up to kQ8_0GemvRows input rows: each pass reads every weight
/// row once and forms its dot products with the pass's rows from the same
/// loaded block; the output rows are split between the OpenMP threads. For
/// decode steps and a pruned model's steps with revivals (the step's token
/// and the rows it revives), below kQ8_0WidenRows rows; from there on
/// (prefill) linearQ8_0Widened's sgemm is faster (bench/cpu/kernel_bench).
constexpr int64_t kQ8_0GemvRows = 8;
constexpr int64_t kQ8_0WidenRows = 64;
void gemvQ8_0(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out, float *y,
              bool accumulate);

/// y[rows x out] (+)= x[rows x in] * w^T with panels of 256 weight rows
/// widened to f32 for the sgemm (prefill); in Kernels.cpp, with the sgemm.
void linearQ8_0Widened(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
                       float *y, bool accumulate);

/// Rows [first, first + count) of a Q8_0 matrix widened to f32 ([count x in]).
void widenQ8_0Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count, float *out);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CPU_Q8_0_H
