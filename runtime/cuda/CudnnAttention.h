//===- CudnnAttention.h - causal prefill attention through cuDNN -*- C++ -*-===//
//
// cuDNN's fused flash attention (the backend graph API, cuDNN >= 9), loaded
// with dlopen so the CUDA runtime builds and runs without cuDNN. The CUDA
// runtime uses it for the attention of a prefill whose query rows and keys
// are one token set (a dense prefill from position 0, or a LazyLLM layer
// whose computed rows are its keys): there causal by index is causal by
// original position. Everything else (decode steps, chunked prefill,
// revived rows) keeps lazyc's own flash kernel.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_CUDNNATTENTION_H
#define LAZYC_RUNTIME_CUDA_CUDNNATTENTION_H

#include <cstdint>
#include <string>

struct CUstream_st; // cudaStream_t

namespace lazyc::cuda {

/// One causal attention over `rows` tokens (queries and keys alike), bf16.
/// Q and O: [rows, heads * headDim] rows `qRowStride` elements apart; K and
/// V: [rows, kvHeads * headDim] rows `kvRowStride` apart (GQA when kvHeads <
/// heads).
struct SdpaShape {
  int64_t rows = 0;
  int64_t heads = 0, kvHeads = 0, headDim = 0;
  int64_t qRowStride = 0, kvRowStride = 0;
};

/// How a step's query rows (positions `pos`, `rows` of them) relate to its
/// keys (`keys`, `numKeys`; null: every slot 0..max(pos)), for a causal
/// attention by index: `FromZero` (positions 0..rows-1, the keys exactly
/// those: K/V straight from the cache), `Gathered` (the keys are exactly the
/// ascending positions, with gaps: K/V rows gathered first), `Other` (not one
/// token set: positions out of order, or keys that differ).
enum class TokenSet { Other, FromZero, Gathered };
TokenSet classifyTokenSet(const int32_t *pos, int64_t rows, const int32_t *keys, int64_t numKeys);

/// Loads cuDNN on the first call. Empty when usable, else why not (library
/// not found, too old, no handle). LAZYC_CUDNN names the library (a file or
/// the folder holding libcudnn.so.9) when it is not on the loader's path.
const std::string &cudnnUnavailable();

/// "cuDNN 9.19.0" once loaded (empty before or when unavailable).
std::string cudnnVersionString();

/// Builds (once, then cached) the execution plan of `shape`: the first call
/// of a shape may compile kernels (seconds). False with `why` when cuDNN
/// cannot run it (unavailable, no engine for the graph, ...).
bool cudnnPrepare(const SdpaShape &shape, std::string &why);

/// O = softmax(scale * Q K^T, causal) V on `stream`. False with `why` when
/// cuDNN cannot run this shape (unavailable, no engine for the graph, ...);
/// the caller falls back. Builds the plan when cudnnPrepare has not.
bool cudnnCausalAttention(CUstream_st *stream, const SdpaShape &shape, const void *q,
                          const void *k, const void *v, void *o, float scale, std::string &why);

} // namespace lazyc::cuda

#endif // LAZYC_RUNTIME_CUDA_CUDNNATTENTION_H
