//===- Kernels.h - C ABI of the runtime kernels compiled models call -------===//
//
// Compiled models (lazy-compile) call these for the heavy ops; every array is
// passed as its address (uint64) plus sizes. All arrays are row-major and
// contiguous. Weight type codes: 0 = f32, 1 = bf16, 2 = f16, 3 = GGML Q8_0
// blocks (cpu/Q8_0.h).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_KERNELS_H
#define LAZYC_RUNTIME_CPU_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Counters the kernels keep per layer (rows of LazycKVCache::stats). The
/// "step" counters are reset by the runtime before every step; the others
/// accumulate over the whole generation.
enum LazycStat {
  LAZYC_STAT_COMPUTED = 0,     // step: rows computed (Q/K/V, attention, MLP)
  LAZYC_STAT_KEYS,             // step: size of the layer's token set S_l
  LAZYC_STAT_REVIVED,          // step: rows read back from the layer's Aux Cache
  LAZYC_STAT_SAVED,            // step: rows saved into the layer's Aux Cache
  LAZYC_STAT_LAST_KEY,         // step: the largest position in S_l
  LAZYC_STAT_TOTAL_COMPUTED,   // generation: rows computed
  LAZYC_STAT_RECOMPUTED,       // generation: K/V written for a cached slot (must stay 0)
  LAZYC_STAT_MISSING_INPUT,    // generation: a row had no input (must stay 0)
  LAZYC_STAT_UNCACHED_KEY,     // generation: S_l held a slot without K/V (must stay 0)
  LAZYC_STAT_COUNT
};

/// The KV cache object behind `!llm.kv_cache`: for every layer and context
/// slot (= original position), `kv_dim = kv_heads * head_dim` keys / values.
/// The LazyLLM state lives next to it (`!lazy.aux_cache` names the same
/// object): which slots each layer holds, the Aux Cache and the counters.
typedef struct LazycKVCache {
  void *k;        // [layers][context][kv_dim] of kv_type
  void *v;        // [layers][context][kv_dim] of kv_type
  int64_t context;
  int64_t layers;
  int64_t kv_dim;
  uint8_t *cached;    // [layers][context]: 1 once the layer holds the slot's K/V
  int64_t hidden;     // row size of the Aux Cache (0 until a layer allocates one)
  float **aux;        // [layers]: [context][hidden] rows, null until the layer saves one
  uint8_t **aux_saved; // [layers]: [context] flags, null like aux
  int64_t aux_bytes;  // bytes allocated for the Aux Cache
  int64_t *stats;     // [LAZYC_STAT_COUNT][layers]
  int64_t lazy_ns;    // step: time spent in scoring/selection/Aux Cache kernels
  int64_t kv_type;    // k and v elements: 0 = f32, 1 = bf16, 2 = f16 (lazy-compile --kv-cache;
                      // the CUDA runtime's are bf16)
  int64_t step_tokens; // the running step's new tokens (set by the runtime; 0 = not set)
} LazycKVCache;

#ifdef __cplusplus
// Compiled code reads `k` and `context` itself (lazy.cache_keys, lowered in
// passes/Conversion/LazycToLLVM): keep them at these offsets.
static_assert(__builtin_offsetof(LazycKVCache, k) == 0 &&
                  __builtin_offsetof(LazycKVCache, context) == 2 * sizeof(void *),
              "lazy.cache_keys' lowering reads k at field 0 and context at field 2");
#endif

/// y[rows x out] = x[rows x in] * w[out x in]^T; weight types `wtype`: 0
/// f32, 1 bf16, 2 f16, 3 GGML Q8_0 blocks (cpu/Q8_0.h), 4 MXFP4 blocks
/// (cpu/MXFP4.h).
void lazyc_rt_linear(uint64_t x, int64_t rows, int64_t in, uint64_t w, int64_t wtype,
                     int64_t out, uint64_t y);

/// y[rows x out] (+)= x[rows x in] * w[out x in]^T with activation types
/// `xtype`, `ytype` (0 = f32, 1 = bf16: the CUDA target's GEMM inputs and
/// outputs; here widened / rounded around an f32 GEMM) and, with
/// `accumulate` = 1, the product added to y (f32 only: a residual add in the
/// GEMM's epilogue, beta = 1).
void lazyc_rt_linear_ex(uint64_t x, int64_t xtype, int64_t rows, int64_t in, uint64_t w,
                        int64_t wtype, int64_t out, uint64_t y, int64_t ytype,
                        int64_t accumulate);

/// llm.moe: y[rows x hidden] = the top_k experts' gated MLPs of each row of
/// x, weighted by the router's softmax probabilities (renormalized over the
/// chosen experts when `norm_top_k`, by their sum or `normMin` if larger).
/// The router's logits add `routerBias` (f32 per expert; 0: none). The
/// experts are the top_k by probability, or by probability +
/// `selectionBias` (f32 per expert; 0: none). The experts' matrices are
/// stacked row-wise in `gate`, `up` ([experts * ffn x hidden]) and `down`
/// ([experts * hidden x ffn]), all of weight type `wtype`, with f32 biases
/// `gateBias`, `upBias` ([experts * ffn]) and `downBias` ([experts *
/// hidden]) or 0 (none); `router` ([experts x hidden]) is of `rtype` (types
/// as lazyc_rt_linear's). `activation`: 0 SwiGLU (silu(g) * u), 1 gpt-oss's
/// (g clamped above and u on both sides at `limit`, then
/// g * sigmoid(1.702 g) * (u + 1)). `scoring` 1 scores the experts by the
/// sigmoid of their logits instead of the softmax (GLM-4.5); `routedScale`
/// multiplies the chosen experts' weights.
void lazyc_rt_moe(uint64_t x, int64_t rows, int64_t hidden, uint64_t router, int64_t rtype,
                  uint64_t selectionBias, uint64_t routerBias, uint64_t gate, uint64_t up,
                  uint64_t down, uint64_t gateBias, uint64_t upBias, uint64_t downBias,
                  int64_t wtype, int64_t experts, int64_t topK, int64_t ffn, int64_t normTopK,
                  double normMin, int64_t activation, double limit, int64_t scoring,
                  double routedScale, uint64_t y);

/// Writes k/v rows into `layer` of the cache at `positions`, then causal GQA
/// attention of each query row over the cached slots: every slot
/// [0, positions[i]] when `num_keys` < 0 (dense), else the ascending slots
/// `keys[0 .. num_keys)` that are <= positions[i] (LazyLLM's S_l).
void lazyc_rt_attention(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                        uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                        int64_t num_keys, int64_t heads, int64_t kv_heads, int64_t head_dim,
                        double scale, uint64_t out);

/// lazyc_rt_attention with the query, key/value and output element types
/// `qtype`, `kvtype`, `otype` (0 = f32, 1 = bf16: the CUDA target's
/// activations; here widened / rounded around the f32 kernel), a sliding
/// window (`window` > 0: row i sees only the slots > positions[i] - window;
/// 0: none) and Gemma 2's soft-capping of the scaled scores (`softcap` > 0:
/// s -> softcap * tanh(s / softcap); 0: none).
void lazyc_rt_attention_ex(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                           uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                           int64_t num_keys, int64_t heads, int64_t kv_heads, int64_t head_dim,
                           double scale, uint64_t out, int64_t qtype, int64_t kvtype,
                           int64_t otype, int64_t window, double softcap);

/// lazyc_rt_attention_ex with attention sinks (gpt-oss): `sinks` holds one
/// f32 logit per query head, a term exp(sinks[h]) added to head h's softmax
/// denominator (no value: the row's probabilities sum to less than 1).
void lazyc_rt_attention_sinks(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                              uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                              int64_t num_keys, int64_t heads, int64_t kv_heads,
                              int64_t head_dim, double scale, uint64_t out, int64_t qtype,
                              int64_t kvtype, int64_t otype, int64_t window, double softcap,
                              uint64_t sinks);

/// A runtime check of the compiled model failed (lazy-compile
/// --runtime-checks: e.g. an out-of-bounds load): prints `message` to stderr
/// and exits with status 1.
void lazyc_rt_check_failed(const char *message);

/// Check mode of the CUDA target's host index copies (lazy-compile
/// --target=cpu --host-index-copies): `keep` snapshots an index list the
/// compiler proved final (lazyc-gpu-host-index-copies), `check` compares it
/// before a later runtime call reads it and stops the run (status 1) if it
/// changed: on the GPU that call would have read a stale host copy. The
/// process prints how many lists and reads it checked at exit.
void lazyc_rt_keep_host_copy(uint64_t address, int64_t bytes);
void lazyc_rt_check_host_copy(uint64_t address, int64_t bytes);

/// A parallel loop of the compiled code (lazyc-cpu-parallel-loops): runs
/// `body(context, begin, end)` over [lo, hi) split into one contiguous range
/// per thread, or once over all of it when `(hi - lo) * work` (work: the
/// compiler's estimate of the iterations inside one step of the range) is too
/// small to pay for waking the threads, or when called inside a parallel
/// region.
void lazyc_rt_parallel_for(void (*body)(void *context, int64_t begin, int64_t end),
                           void *context, int64_t lo, int64_t hi, int64_t work);

//===--- LazyLLM kernels (lazy dialect). Position lists are ascending i32. ---===//

/// S_0 = [0, positions[rows - 1]]: its size, then its contents.
int64_t lazyc_rt_context_size(uint64_t positions, int64_t rows);
void lazyc_rt_context(uint64_t positions, int64_t rows, uint64_t out);

/// Importance of each key: the last query row's softmax attention over the
/// keys in `layer`, averaged over the query heads (GQA groups).
void lazyc_rt_scores(LazycKVCache *cache, int64_t layer, uint64_t q, int64_t rows,
                     uint64_t keys, int64_t num_keys, int64_t heads, int64_t kv_heads,
                     int64_t head_dim, double scale, uint64_t out);

/// lazyc_rt_scores over an observation window (lazy.scores with window > 1):
/// the mean of the scores of every query row r with positions[r] > P -
/// window, P = positions[rows - 1] the step's last token (see
/// lazyc::scoreWindowRows); row r attends only to keys <= positions[r] and,
/// with `sliding` > 0 (the layer's sliding-window attention), > positions[r]
/// - sliding; `softcap` > 0: the scaled scores soft-capped as the layer's
/// attention caps them.
void lazyc_rt_window_scores(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t positions,
                            int64_t rows, uint64_t keys, int64_t num_keys, int64_t heads,
                            int64_t kv_heads, int64_t head_dim, double scale, int64_t window,
                            uint64_t out, int64_t sliding, double softcap);

/// lazyc_rt_window_scores with attention sinks (gpt-oss: `sinks`, one f32
/// logit per query head, in each head's softmax denominator); `positions`
/// may be 0 (no window, no sliding window: the last row over every key).
void lazyc_rt_sink_scores(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t positions,
                          int64_t rows, uint64_t keys, int64_t num_keys, int64_t heads,
                          int64_t kv_heads, int64_t head_dim, double scale, int64_t window,
                          uint64_t out, int64_t sliding, double softcap, uint64_t sinks);

/// Uniform scores in [0, 1) hashed from (key, layer, seed).
void lazyc_rt_random_scores(uint64_t keys, int64_t num_keys, int64_t layer, int64_t seed,
                            uint64_t out);

/// Percentile selection: k = clamp(max(ceil(keep * n), min_keep), 1, n)
/// indices with the highest scores (ties toward later rows), the last row
/// always included; ascending. `min_keep` (>= 0) is the schedule's floor.
int64_t lazyc_rt_select_size(int64_t n, double keep, int64_t min_keep);
void lazyc_rt_select(uint64_t scores, int64_t n, double keep, int64_t min_keep, uint64_t out);

/// lazy.reuse_bias: out[j] = scores[j] * bias if layer `layer + 1` holds
/// the K/V of position keys[j], else scores[j] (out may be scores). Only in
/// a step of one new token (a decode step; cache->step_tokens 1 or not set):
/// a step of several (a prefill, a follow-up question) selects unbiased.
void lazyc_rt_reuse_bias(LazycKVCache *cache, int64_t layer, uint64_t scores, uint64_t keys,
                         int64_t n, double bias, uint64_t out);
/// Static pruning (lazy.select_once): like lazyc_rt_select at the first
/// step reaching the boundary after `layer`, afterwards the keys that layer
/// + 1 holds plus this step's computed rows `positions`.
int64_t lazyc_rt_select_once_size(LazycKVCache *cache, int64_t layer, uint64_t scores,
                                  uint64_t keys, int64_t n, uint64_t positions, int64_t rows,
                                  double keep, int64_t min_keep);
void lazyc_rt_select_once(LazycKVCache *cache, int64_t layer, uint64_t scores, uint64_t keys,
                          int64_t n, uint64_t positions, int64_t rows, double keep,
                          int64_t min_keep, uint64_t out);

/// The keys that `layer` holds no K/V for: size, then the positions.
int64_t lazyc_rt_missing_size(LazycKVCache *cache, int64_t layer, uint64_t keys, int64_t n);
void lazyc_rt_missing(LazycKVCache *cache, int64_t layer, uint64_t keys, int64_t n,
                      uint64_t out);

/// The Aux Cache rows of `layer` ([context][columns] f32, and its saved
/// flags), allocated on first use; null when out of memory.
float *lazyc_rt_aux_rows(LazycKVCache *cache, int64_t layer, int64_t columns);

/// Saves the rows of `hidden` whose position is not in `kept` into the Aux
/// Cache of `layer`.
void lazyc_rt_aux_save(LazycKVCache *cache, int64_t layer, uint64_t hidden,
                       uint64_t positions, int64_t rows, int64_t columns, uint64_t kept,
                       int64_t num_kept);

/// out[r] = the row of `fresh` at position wanted[r], else the Aux Cache row
/// of `layer` saved for it (a revived token).
void lazyc_rt_aux_load(LazycKVCache *cache, int64_t layer, uint64_t wanted,
                       int64_t num_wanted, uint64_t fresh, uint64_t fresh_positions,
                       int64_t fresh_rows, int64_t columns, uint64_t out);

#ifdef __cplusplus
}

#include <vector>

namespace lazyc {
namespace rt {
/// Runs the GEMMs of a decode step's attention once on heads of headDim, so
/// that oneDNN generates their kernels at load: a model whose prefill
/// attention does not use them (a bf16 KV cache's bf16 GEMMs) paid ~20 ms for
/// it in its first decode step. Nothing where the step runs the AVX-512
/// group kernels instead (head dim 64).
void warmUpDecodeAttention(int64_t headDim);
} // namespace rt

/// The query rows of a score window (window >= 1): the rows r whose
/// position is within the last `window` positions of the step's last token
/// P = positions[rows - 1] (positions ascending), i.e. positions[r] > P -
/// window; P's row is always among them. None when rows <= 0. Shared by the
/// CPU and CUDA kernels.
inline std::vector<int64_t> scoreWindowRows(const int32_t *positions, int64_t rows,
                                            int64_t window) {
  std::vector<int64_t> out;
  for (int64_t r = 0; r < rows; ++r)
    if (positions[r] > positions[rows - 1] - window)
      out.push_back(r);
  return out;
}
} // namespace lazyc
#endif

#endif // LAZYC_RUNTIME_CPU_KERNELS_H
