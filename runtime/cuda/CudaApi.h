//===- CudaApi.h - what the host runtime asks of the CUDA runtime -*- C -*-===//
//
// liblazycrt_cuda.so (runtime/cuda/CudaRuntime.cu) is loaded only when a
// model compiled with --target=cuda is loaded, so lazy-run and the CPU
// runtime never depend on CUDA. It exports the mgpu* entry points the lowered
// host code calls, the lazyc_gpu_* kernels (runtime/cpu/Kernels.h's ABI with
// device addresses) and this table for runtime/Runtime.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_CUDAAPI_H
#define LAZYC_RUNTIME_CUDA_CUDAAPI_H

#include "runtime/cpu/Kernels.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAZYC_CUDA_API_VERSION 5

typedef struct LazycCudaApi {
  int version;
  /// Starts CUDA on device 0. Null on success, else why not (no driver, a
  /// driver too old for this runtime, no device, ...).
  const char *(*init)(void);
  /// The first error since init (a kernel module that failed to load, a
  /// failed launch, out of device memory), or null.
  const char *(*lastError)(void);
  /// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)".
  const char *(*deviceName)(void);
  /// Device memory (stream-ordered); null when out of memory (see lastError).
  void *(*alloc)(size_t bytes);
  void (*free)(void *device);
  /// Copies (0 on success). toHost waits for the copy.
  int (*toDevice)(void *device, const void *host, size_t bytes);
  int (*toHost)(void *host, const void *device, size_t bytes);
  int (*zero)(void *device, size_t bytes);
  /// Fills `count` elements (dtype 0 = f32, 1 = bf16) with
  /// lazyc::rt::randomWeight(seed, tensor, i, scale), or `scale` itself when
  /// constant != 0.
  int (*fillRandom)(void *device, int64_t count, int dtype, uint64_t seed, uint64_t tensor,
                    float scale, int constant);
  /// Waits for all queued work (0 on success).
  int (*synchronize)(void);
  /// Frees the Aux Cache rows the kernels allocated in `cache`.
  void (*releaseCache)(LazycKVCache *cache);
  /// Bytes per K/V element in the device cache (2: bf16).
  int kvElementBytes;
  /// Which attention ran: "auto; cuDNN 9.19.0; attention calls: cuDNN 32,
  /// lazyc 0" (LAZYC_CUDA_ATTENTION, cuDNN or why not, calls so far).
  const char *(*attentionInfo)(void);
  /// `device` holds a copy of `host` (`bytes`) until it is freed, and the
  /// compiled code only reads it (a step's inputs): the kernels' host-side
  /// index work reads the host copy instead of waiting for a device copy.
  void (*mirror)(const void *device, const void *host, size_t bytes);
  /// LAZYC_CUDA_PROFILE: forget the work measured so far (lazy-run calls it
  /// after its --warmup prefills), so the report covers warm work only.
  void (*restartProfile)(void);
  /// The GPU's compute capability as major * 10 + minor (90 for an H100;
  /// 0 before a successful init): which of a model's kernels it can run.
  int (*computeCapability)(void);
} LazycCudaApi;

/// The table (never null; init says whether CUDA works).
const LazycCudaApi *lazyc_cuda_api(void);

#ifdef __cplusplus
}
#endif

#endif // LAZYC_RUNTIME_CUDA_CUDAAPI_H
