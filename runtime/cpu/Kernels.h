//===- Kernels.h - C ABI of the runtime kernels compiled models call -------===//
//
// Compiled models (lazy-compile) call these for the heavy ops; every array is
// passed as its address (uint64) plus sizes. All arrays are row-major and
// contiguous. Weight type codes: 0 = f32, 1 = bf16, 2 = f16.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_KERNELS_H
#define LAZYC_RUNTIME_CPU_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The KV cache object behind `!llm.kv_cache`: for every layer and context
/// slot (= original position), `kv_dim = kv_heads * head_dim` keys / values.
typedef struct LazycKVCache {
  float *k;       // [layers][context][kv_dim]
  float *v;       // [layers][context][kv_dim]
  int64_t context;
  int64_t layers;
  int64_t kv_dim;
} LazycKVCache;

/// y[rows x out] = x[rows x in] * w[out x in]^T
void lazyc_rt_linear(uint64_t x, int64_t rows, int64_t in, uint64_t w, int64_t wtype,
                     int64_t out, uint64_t y);

/// Writes k/v rows into `layer` of the cache at `positions`, then causal GQA
/// attention of each query row over the slots [0, positions[i]].
void lazyc_rt_attention(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                        uint64_t v, uint64_t positions, int64_t rows, int64_t heads,
                        int64_t kv_heads, int64_t head_dim, double scale, uint64_t out);

#ifdef __cplusplus
}
#endif

#endif // LAZYC_RUNTIME_CPU_KERNELS_H
