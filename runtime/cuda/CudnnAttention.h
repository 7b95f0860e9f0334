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
#include <map>
#include <string>
#include <tuple>

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

/// When LAZYC_CUDA_ATTENTION=auto lets cuDNN run an eligible step. A plan
/// per prompt length costs ~0.1 s to build (NVRTC, H100), which one prefill
/// of a few thousand tokens does not win back (lazyc's kernel is ~1.1-1.2x
/// slower there), so a shape goes to cuDNN once its plan exists, when an
/// earlier step (a previous prefill) already had it, or when it has at least
/// `coldRows` rows (a prefill that long wins the build back at once). Steps
/// are told apart by the layer index starting over.
class CudnnPlanPolicy {
public:
  explicit CudnnPlanPolicy(int64_t coldRows) : coldRows_(coldRows) {}
  bool shouldUse(const SdpaShape &shape, int64_t layer, bool planBuilt);

private:
  int64_t coldRows_, step_ = 0, lastLayer_ = -1;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, int64_t> firstStep_;
};

/// True once the plan of `shape` was built (or failed to build).
bool cudnnHasPlan(const SdpaShape &shape);

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
