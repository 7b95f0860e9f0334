//===- CudaKernelsTest.cpp - the CUDA runtime's kernels against references -===//
//
// Without a GPU (or driver) every GPU test is skipped with the reason init()
// gives; InitExplains runs everywhere.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cuda/CudaApi.h"
#include "runtime/cuda/CudnnAttention.h"
#include "runtime/model/Quant.h"
#include "runtime/model/RandomWeights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern "C" {
void lazyc_gpu_linear(uint64_t x, int64_t rows, int64_t in, uint64_t w, int64_t wtype,
                      int64_t out, uint64_t y);
void lazyc_gpu_linear_ex(uint64_t x, int64_t xtype, int64_t rows, int64_t in, uint64_t w,
                         int64_t wtype, int64_t out, uint64_t y, int64_t ytype,
                         int64_t accumulate);
void lazyc_gpu_attention(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k, uint64_t v,
                         uint64_t positions, int64_t rows, uint64_t keys, int64_t num_keys,
                         int64_t heads, int64_t kv_heads, int64_t head_dim, double scale,
                         uint64_t out);
void lazyc_gpu_attention_ex(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                            uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                            int64_t num_keys, int64_t heads, int64_t kv_heads, int64_t head_dim,
                            double scale, uint64_t out, int64_t qtype, int64_t kvtype,
                            int64_t otype, int64_t window, double softcap);
void lazyc_gpu_attention_reference(LazycKVCache *cache, int64_t layer, uint64_t q,
                                   uint64_t positions, int64_t rows, uint64_t keys,
                                   int64_t num_keys, int64_t heads, int64_t kv_heads,
                                   int64_t head_dim, double scale, uint64_t out);
void lazyc_gpu_scores(LazycKVCache *cache, int64_t layer, uint64_t q, int64_t rows,
                      uint64_t keys, int64_t num_keys, int64_t heads, int64_t kv_heads,
                      int64_t head_dim, double scale, uint64_t out);
void lazyc_gpu_window_scores(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t positions,
                             int64_t rows, uint64_t keys, int64_t num_keys, int64_t heads,
                             int64_t kv_heads, int64_t head_dim, double scale, int64_t window,
                             uint64_t out, int64_t sliding, double softcap);
void lazyc_gpu_moe(uint64_t x, int64_t rows, int64_t hidden, uint64_t router, int64_t rtype,
                   uint64_t selectionBias, uint64_t routerBias, uint64_t gate, uint64_t up,
                   uint64_t down, uint64_t gateBias, uint64_t upBias, uint64_t downBias,
                   int64_t wtype, int64_t experts, int64_t topK, int64_t ffn, int64_t normTopK,
                   double normMin, int64_t activation, double limit, int64_t scoring,
                   double routedScale, uint64_t y);
void lazyc_gpu_attention_sinks(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t k,
                               uint64_t v, uint64_t positions, int64_t rows, uint64_t keys,
                               int64_t num_keys, int64_t heads, int64_t kv_heads,
                               int64_t head_dim, double scale, uint64_t out, int64_t qtype,
                               int64_t kvtype, int64_t otype, int64_t window, double softcap,
                               uint64_t sinks);
void lazyc_gpu_sink_scores(LazycKVCache *cache, int64_t layer, uint64_t q, uint64_t positions,
                           int64_t rows, uint64_t keys, int64_t num_keys, int64_t heads,
                           int64_t kv_heads, int64_t head_dim, double scale, int64_t window,
                           uint64_t out, int64_t sliding, double softcap, uint64_t sinks);
int64_t lazyc_gpu_cudnn_attention_calls(void);
int64_t lazyc_gpu_context_size(uint64_t positions, int64_t rows);
void lazyc_gpu_keep_host_copy(uint64_t device, int64_t bytes);
void lazyc_gpu_keep_uploaded_copy(uint64_t device, int64_t bytes);
int64_t lazyc_gpu_missing_size(LazycKVCache *cache, int64_t layer, uint64_t keys, int64_t n);
void lazyc_gpu_missing(LazycKVCache *cache, int64_t layer, uint64_t keys, int64_t n,
                       uint64_t out);
void lazyc_gpu_reuse_bias(LazycKVCache *cache, int64_t layer, uint64_t scores, uint64_t keys,
                          int64_t n, double bias, uint64_t out);
}

namespace {

const LazycCudaApi *api() { return lazyc_cuda_api(); }

#define REQUIRE_GPU()                                                                      \
  do {                                                                                     \
    if (const char *why = api()->init())                                                   \
      GTEST_SKIP() << "no usable GPU: " << why;                                            \
  } while (0)

std::vector<float> randomVector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

template <typename T> T *toDevice(const std::vector<T> &host) {
  auto *d = static_cast<T *>(api()->alloc(host.size() * sizeof(T)));
  EXPECT_NE(d, nullptr);
  EXPECT_EQ(api()->toDevice(d, host.data(), host.size() * sizeof(T)), 0);
  return d;
}

template <typename T> std::vector<T> toHost(const T *device, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(api()->toHost(host.data(), device, n * sizeof(T)), 0);
  return host;
}

uint64_t a(const void *p) { return reinterpret_cast<uint64_t>(p); }

TEST(CudaRuntime, InitExplains) {
  const char *why = api()->init();
  if (why) {
    // No GPU: a reason a user can act on, and allocation fails cleanly.
    EXPECT_GT(std::strlen(why), 10u);
    EXPECT_EQ(api()->alloc(16), nullptr);
    EXPECT_NE(api()->lastError(), nullptr);
  } else {
    EXPECT_NE(std::string(api()->deviceName()), "");
  }
}

// cuDNN is optional: either it is usable (a version string) or there is a
// reason (library not found, too old, no GPU for a handle). Runs everywhere.
TEST(CudaRuntime, CudnnExplains) {
  api()->init();
  const std::string &why = lazyc::cuda::cudnnUnavailable();
  if (why.empty()) {
    EXPECT_EQ(lazyc::cuda::cudnnVersionString().rfind("cuDNN 9.", 0), 0u)
        << lazyc::cuda::cudnnVersionString();
  } else {
    EXPECT_GT(why.size(), 10u);
    EXPECT_EQ(lazyc::cuda::cudnnVersionString(), "");
    // A step cuDNN cannot run says why and leaves the work to the caller.
    std::string reason;
    lazyc::cuda::SdpaShape shape{256, 8, 2, 128, 1024, 256};
    EXPECT_FALSE(lazyc::cuda::cudnnPrepare(shape, reason));
    EXPECT_EQ(reason, why);
  }
}

// When cuDNN's causal-by-index attention may run a step (host logic, runs
// everywhere).
TEST(CudaRuntime, TokenSetClassification) {
  using lazyc::cuda::classifyTokenSet;
  using lazyc::cuda::TokenSet;
  std::vector<int32_t> dense = {0, 1, 2, 3}, gaps = {0, 2, 5, 9}, unsorted = {0, 2, 1, 3};
  EXPECT_EQ(classifyTokenSet(dense.data(), 4, nullptr, -1), TokenSet::FromZero);
  EXPECT_EQ(classifyTokenSet(dense.data(), 4, dense.data(), 4), TokenSet::FromZero);
  EXPECT_EQ(classifyTokenSet(gaps.data(), 4, gaps.data(), 4), TokenSet::Gathered);
  // Implicit keys over positions with gaps include slots no row computed.
  EXPECT_EQ(classifyTokenSet(gaps.data(), 4, nullptr, -1), TokenSet::Other);
  // A later chunk (positions 2..3 over keys 0..3), a key subset, a superset.
  EXPECT_EQ(classifyTokenSet(dense.data() + 2, 2, nullptr, -1), TokenSet::Other);
  std::vector<int32_t> subset = {0, 2, 9}, superset = {0, 1, 2, 5, 9};
  EXPECT_EQ(classifyTokenSet(gaps.data(), 4, subset.data(), 3), TokenSet::Other);
  EXPECT_EQ(classifyTokenSet(gaps.data(), 4, superset.data(), 5), TokenSet::Other);
  EXPECT_EQ(classifyTokenSet(gaps.data(), 4, dense.data(), 4), TokenSet::Other);
  EXPECT_EQ(classifyTokenSet(unsorted.data(), 4, unsorted.data(), 4), TokenSet::Other);
  EXPECT_EQ(classifyTokenSet(dense.data(), 0, nullptr, -1), TokenSet::Other);
}

// When `auto` builds cuDNN plans (host logic, runs everywhere): not in a
// length's first prefill unless it is long; from its second prefill on; and
// whenever the plan exists.
TEST(CudaRuntime, CudnnPlanPolicy) {
  lazyc::cuda::CudnnPlanPolicy policy(/*coldRows=*/16384);
  lazyc::cuda::SdpaShape s4k{4096, 32, 32, 128, 4096, 4096}, s2k{2048, 32, 32, 128, 4096, 4096},
      s16k{16384, 32, 32, 128, 4096, 4096};
  // First prefill (layers 0..3 at 4k, 4..5 at 2k): lazyc's kernel.
  for (int64_t layer = 0; layer < 4; ++layer)
    EXPECT_FALSE(policy.shouldUse(s4k, layer, false)) << layer;
  EXPECT_FALSE(policy.shouldUse(s2k, 4, false));
  EXPECT_FALSE(policy.shouldUse(s2k, 5, false));
  // Second prefill: both lengths were seen before.
  EXPECT_TRUE(policy.shouldUse(s4k, 0, false));
  EXPECT_TRUE(policy.shouldUse(s4k, 1, true));
  EXPECT_TRUE(policy.shouldUse(s2k, 4, true));
  // A new length waits for its own second prefill; a long one does not.
  lazyc::cuda::SdpaShape s3k{3000, 32, 32, 128, 4096, 4096};
  EXPECT_FALSE(policy.shouldUse(s3k, 0, false));
  EXPECT_TRUE(policy.shouldUse(s16k, 0, false));
  EXPECT_TRUE(policy.shouldUse(s3k, 0, false)); // layer 0 again: the next prefill
  // A built plan is always used.
  lazyc::cuda::CudnnPlanPolicy fresh(16384);
  EXPECT_TRUE(fresh.shouldUse(s2k, 0, true));
}

/// A one-layer device KV cache of `context` slots (bf16).
struct DeviceCache {
  DeviceCache(int64_t context, int64_t kvDim) : cached(context), stats(LAZYC_STAT_COUNT) {
    size_t bytes = static_cast<size_t>(context * kvDim) * 2;
    c.k = static_cast<float *>(api()->alloc(bytes));
    c.v = static_cast<float *>(api()->alloc(bytes));
    api()->zero(c.k, bytes);
    api()->zero(c.v, bytes);
    c.context = context;
    c.layers = 1;
    c.kv_dim = kvDim;
    c.cached = cached.data();
    c.aux = aux;
    c.aux_saved = saved;
    c.stats = stats.data();
  }
  ~DeviceCache() {
    api()->free(c.k);
    api()->free(c.v);
  }
  LazycKVCache c{};
  std::vector<uint8_t> cached;
  std::vector<int64_t> stats;
  float *aux[1] = {nullptr};
  uint8_t *saved[1] = {nullptr};
};

/// Sets an environment variable the runtime reads per call for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const std::string &value) : name_(name) {
    if (const char *v = std::getenv(name))
      saved_ = v;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (saved_.empty())
      unsetenv(name_);
    else
      setenv(name_, saved_.c_str(), 1);
  }

private:
  const char *name_;
  std::string saved_;
};

/// LAZYC_CUDA_ATTENTION for one scope.
class ScopedAttention : public ScopedEnv {
public:
  explicit ScopedAttention(const std::string &variant)
      : ScopedEnv("LAZYC_CUDA_ATTENTION", variant) {}
};

/// lazyc's own kernel: the environment's variant when it names one of
/// lazyc's kernels (run.sh reruns these tests with simple and wide), else
/// the default flash kernel.
std::string lazycKernel() {
  const char *v = std::getenv("LAZYC_CUDA_ATTENTION");
  std::string variant = v ? v : "";
  return variant == "simple" || variant == "wide" ? variant : "flash";
}

enum class Keys {
  All,        // dense: positions 0..rows-1, every earlier slot a key
  Subset,     // positions with gaps, every third of them (and the last) keys
  SameAsRows, // positions with gaps, the keys are exactly those positions
};

/// bf16 bits of each value (round to nearest even).
std::vector<uint16_t> bf16Bits(const std::vector<float> &values) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    bits[i] = lazyc::rt::floatToBF16(values[i]);
  return bits;
}

/// An attention kernel against the plain one, dense and over a key subset,
/// for both head sizes, with GQA. `bf16Operands`: the compiled model's bf16
/// activations (lazyc_gpu_attention_ex with bf16 query, key/value, output).
void checkAttention(int64_t headDim, Keys keysKind, const std::string &variant,
                    int64_t rows = 300, bool bf16Operands = false) {
  ScopedAttention scoped(variant);
  const int64_t heads = 8, kvHeads = 2, context = 400;
  const int64_t qDim = heads * headDim, kvDim = kvHeads * headDim;
  const bool keyed = keysKind != Keys::All;
  DeviceCache cache(context, kvDim);
  std::vector<int32_t> pos(rows);
  for (int64_t i = 0; i < rows; ++i)
    pos[i] = static_cast<int32_t>(keyed ? i + i / 10 : i); // gaps when keyed
  auto q = randomVector(rows * qDim, 1), k = randomVector(rows * kvDim, 2),
       v = randomVector(rows * kvDim, 3);
  std::vector<int32_t> keys;
  if (keysKind == Keys::Subset)
    for (int64_t i = 0; i < rows; i += 3)
      keys.push_back(pos[i]);
  if (keysKind == Keys::SameAsRows)
    keys = pos;
  keys.push_back(pos[rows - 1]);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<uint16_t> qb, kb, vb;
  if (bf16Operands) {
    qb = bf16Bits(q), kb = bf16Bits(k), vb = bf16Bits(v);
    for (size_t i = 0; i < q.size(); ++i) // the reference reads the rounded query
      q[i] = lazyc::rt::bf16ToFloat(qb[i]);
  }
  float *dq = toDevice(q), *dk = toDevice(k), *dv = toDevice(v);
  int32_t *dpos = toDevice(pos), *dkeys = toDevice(keys);
  float *out = static_cast<float *>(api()->alloc(rows * qDim * 4));
  float *ref = static_cast<float *>(api()->alloc(rows * qDim * 4));
  double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  const int64_t cudnnCallsBefore = lazyc_gpu_cudnn_attention_calls();
  const uint64_t keysAddr = keyed ? a(dkeys) : 0;
  const int64_t numKeys = keyed ? static_cast<int64_t>(keys.size()) : -1;
  std::vector<float> got;
  if (bf16Operands) {
    uint16_t *dqb = toDevice(qb), *dkb = toDevice(kb), *dvb = toDevice(vb);
    lazyc_gpu_attention_ex(&cache.c, 0, a(dqb), a(dkb), a(dvb), a(dpos), rows, keysAddr,
                           numKeys, heads, kvHeads, headDim, scale, a(out), 1, 1, 1, 0, 0.0);
    for (uint16_t bits : toHost(reinterpret_cast<uint16_t *>(out), rows * qDim))
      got.push_back(lazyc::rt::bf16ToFloat(bits));
    for (uint16_t *p : {dqb, dkb, dvb})
      api()->free(p);
  } else {
    lazyc_gpu_attention(&cache.c, 0, a(dq), a(dk), a(dv), a(dpos), rows, keysAddr, numKeys,
                        heads, kvHeads, headDim, scale, a(out));
    got = toHost(out, rows * qDim);
  }
  lazyc_gpu_attention_reference(&cache.c, 0, a(dq), a(dpos), rows, keysAddr, numKeys, heads,
                                kvHeads, headDim, scale, a(ref));
  auto want = toHost(ref, rows * qDim);
  ASSERT_EQ(api()->lastError(), nullptr);
  // cuDNN runs exactly when asked for and the step is one token set.
  EXPECT_EQ(lazyc_gpu_cudnn_attention_calls() - cudnnCallsBefore,
            variant == "cudnn" && keysKind != Keys::Subset ? 1 : 0);
  double maxDiff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    maxDiff = std::max(maxDiff, static_cast<double>(std::fabs(got[i] - want[i])));
  // Queries and probabilities are bf16 in the tensor-core kernels (and the
  // output, with bf16 operands).
  EXPECT_LT(maxDiff, bf16Operands ? 3e-2 : 2e-2)
      << "head_dim " << headDim << " keys " << static_cast<int>(keysKind) << " " << variant
      << (bf16Operands ? " bf16 operands" : "");
  EXPECT_EQ(cache.stats[LAZYC_STAT_COMPUTED], rows);
  EXPECT_EQ(cache.stats[LAZYC_STAT_RECOMPUTED], 0);
  for (void *p : {static_cast<void *>(dq), static_cast<void *>(dk), static_cast<void *>(dv),
                  static_cast<void *>(dpos), static_cast<void *>(dkeys),
                  static_cast<void *>(out), static_cast<void *>(ref)})
    api()->free(p);
}

TEST(CudaKernels, FlashAttentionDense128) {
  REQUIRE_GPU();
  checkAttention(128, Keys::All, lazycKernel());
}
TEST(CudaKernels, FlashAttentionKeyed128) {
  REQUIRE_GPU();
  checkAttention(128, Keys::Subset, lazycKernel());
}
TEST(CudaKernels, FlashAttentionDense64) {
  REQUIRE_GPU();
  checkAttention(64, Keys::All, lazycKernel());
}
TEST(CudaKernels, FlashAttentionKeyed64) {
  REQUIRE_GPU();
  checkAttention(64, Keys::Subset, lazycKernel());
}
// Phi-3's and Gemma's head sizes (the wide variant has neither: the default
// kernel runs).
TEST(CudaKernels, FlashAttentionHeadSizes96And256) {
  REQUIRE_GPU();
  for (int64_t headDim : {96, 256}) {
    checkAttention(headDim, Keys::All, lazycKernel());
    checkAttention(headDim, Keys::Subset, lazycKernel());
    checkAttention(headDim, Keys::SameAsRows, lazycKernel(), 300, true);
  }
}
// Head sizes without a tensor-core kernel (the tiny fixtures' 16): a warp per
// query row (rowAttention), against the plain kernel.
TEST(CudaKernels, RowAttentionOtherHeadSizes) {
  REQUIRE_GPU();
  checkAttention(80, Keys::All, lazycKernel(), 200);
  checkAttention(80, Keys::Subset, lazycKernel(), 200);
  checkAttention(16, Keys::SameAsRows, lazycKernel(), 100, true);
  checkAttention(200, Keys::All, lazycKernel(), 150);
}

#define REQUIRE_CUDNN()                                                                    \
  do {                                                                                     \
    REQUIRE_GPU();                                                                         \
    if (!lazyc::cuda::cudnnUnavailable().empty())                                          \
      GTEST_SKIP() << "no cuDNN: " << lazyc::cuda::cudnnUnavailable();                     \
  } while (0)

// The compiled model's bf16 activations: cuDNN reads the bf16 query and
// writes the bf16 output in place; lazyc's kernels go through f32 copies.
TEST(CudaKernels, CudnnAttentionBF16Operands) {
  REQUIRE_CUDNN();
  checkAttention(128, Keys::All, "cudnn", 300, true);
  checkAttention(64, Keys::SameAsRows, "cudnn", 257, true);
}
TEST(CudaKernels, FlashAttentionBF16Operands) {
  REQUIRE_GPU();
  checkAttention(128, Keys::Subset, lazycKernel(), 300, true);
  checkAttention(64, Keys::All, lazycKernel(), 100, true);
}

// cuDNN's fused attention: a dense prefill (K/V straight from the cache) and
// a pruned layer's token set (K/V rows gathered); a key subset stays with
// lazyc's kernel even when cuDNN is asked for.
TEST(CudaKernels, CudnnAttentionDense128) {
  REQUIRE_CUDNN();
  checkAttention(128, Keys::All, "cudnn");
}
TEST(CudaKernels, CudnnAttentionTokenSet128) {
  REQUIRE_CUDNN();
  checkAttention(128, Keys::SameAsRows, "cudnn");
}
TEST(CudaKernels, CudnnAttentionDense64) {
  REQUIRE_CUDNN();
  checkAttention(64, Keys::All, "cudnn");
}
TEST(CudaKernels, CudnnAttentionTokenSet64) {
  REQUIRE_CUDNN();
  checkAttention(64, Keys::SameAsRows, "cudnn");
}
// Other prompt lengths of the same head layout (one execution plan each).
TEST(CudaKernels, CudnnAttentionOtherLengths) {
  REQUIRE_CUDNN();
  for (int64_t rows : {129, 257, 384})
    checkAttention(128, Keys::All, "cudnn", rows);
  checkAttention(128, Keys::SameAsRows, "cudnn", 200);
}
TEST(CudaKernels, CudnnAttentionLeavesKeySubsetsToLazyc) {
  REQUIRE_CUDNN();
  checkAttention(128, Keys::Subset, "cudnn");
}

/// A decode-sized step (`rows` query rows after a `history`-token prefill)
/// with LAZYC_CUDA_KEY_SPLITS=`splits` against the plain kernel; `keyed`: a
/// pruned layer's key list (every third history slot and the step's rows).
void checkSmallStep(int64_t headDim, int64_t history, int64_t rows, bool keyed,
                    const std::string &splits) {
  ScopedAttention flash("flash");
  ScopedEnv scoped("LAZYC_CUDA_KEY_SPLITS", splits);
  const int64_t heads = 8, kvHeads = 2, context = history + rows;
  const int64_t qDim = heads * headDim, kvDim = kvHeads * headDim;
  DeviceCache cache(context, kvDim);
  double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  // The history's K/V into the cache (its attention output is not checked).
  {
    std::vector<int32_t> pos(history);
    for (int64_t i = 0; i < history; ++i)
      pos[i] = static_cast<int32_t>(i);
    auto q = randomVector(history * qDim, 11), k = randomVector(history * kvDim, 12),
         v = randomVector(history * kvDim, 13);
    float *dq = toDevice(q), *dk = toDevice(k), *dv = toDevice(v);
    int32_t *dpos = toDevice(pos);
    float *out = static_cast<float *>(api()->alloc(history * qDim * 4));
    lazyc_gpu_attention(&cache.c, 0, a(dq), a(dk), a(dv), a(dpos), history, 0, -1, heads,
                        kvHeads, headDim, scale, a(out));
    for (void *p : {static_cast<void *>(dq), static_cast<void *>(dk), static_cast<void *>(dv),
                    static_cast<void *>(dpos), static_cast<void *>(out)})
      api()->free(p);
  }
  std::vector<int32_t> pos(rows), keys;
  for (int64_t i = 0; i < rows; ++i)
    pos[i] = static_cast<int32_t>(history + i);
  if (keyed) {
    for (int64_t i = 0; i < history; i += 3)
      keys.push_back(static_cast<int32_t>(i));
    keys.insert(keys.end(), pos.begin(), pos.end());
  }
  auto q = randomVector(rows * qDim, 21), k = randomVector(rows * kvDim, 22),
       v = randomVector(rows * kvDim, 23);
  float *dq = toDevice(q), *dk = toDevice(k), *dv = toDevice(v);
  int32_t *dpos = toDevice(pos), *dkeys = keyed ? toDevice(keys) : nullptr;
  float *out = static_cast<float *>(api()->alloc(rows * qDim * 4));
  float *ref = static_cast<float *>(api()->alloc(rows * qDim * 4));
  const uint64_t keysAddr = keyed ? a(dkeys) : 0;
  const int64_t numKeys = keyed ? static_cast<int64_t>(keys.size()) : -1;
  lazyc_gpu_attention(&cache.c, 0, a(dq), a(dk), a(dv), a(dpos), rows, keysAddr, numKeys, heads,
                      kvHeads, headDim, scale, a(out));
  lazyc_gpu_attention_reference(&cache.c, 0, a(dq), a(dpos), rows, keysAddr, numKeys, heads,
                                kvHeads, headDim, scale, a(ref));
  auto got = toHost(out, rows * qDim), want = toHost(ref, rows * qDim);
  ASSERT_EQ(api()->lastError(), nullptr);
  double maxDiff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    maxDiff = std::max(maxDiff, static_cast<double>(std::fabs(got[i] - want[i])));
  EXPECT_LT(maxDiff, 2e-2) << "head_dim " << headDim << ", " << history << " + " << rows
                           << " rows, keyed " << keyed << ", LAZYC_CUDA_KEY_SPLITS=" << splits;
  for (void *p : {static_cast<void *>(dq), static_cast<void *>(dk), static_cast<void *>(dv),
                  static_cast<void *>(dpos), static_cast<void *>(dkeys),
                  static_cast<void *>(out), static_cast<void *>(ref)})
    api()->free(p);
}

// Flash-decoding: a few query rows over many keys split into ranges (auto:
// 8 heads on an H100 ask for ~33 ranges), forced counts that leave a last
// range short or empty, none, and a pruned layer's key list.
TEST(CudaKernels, FlashAttentionSplitsTheKeysOfSmallSteps) {
  REQUIRE_GPU();
  for (int64_t headDim : {128, 64, 96, 256})
    for (int64_t rows : {1, 5, 64})
      for (const char *splits : {"auto", "0", "3", "7", "64"}) {
        checkSmallStep(headDim, 3000, rows, false, splits);
        checkSmallStep(headDim, 3000, rows, true, splits);
      }
  // Short histories: ranges of one tile, more ranges asked for than tiles.
  checkSmallStep(128, 70, 1, false, "5");
  checkSmallStep(128, 10, 3, true, "4");
  checkSmallStep(256, 10, 3, true, "4");
  checkSmallStep(80, 3000, 1, true, "auto"); // rowAttention's splits
  checkSmallStep(80, 300, 5, false, "3");
  EXPECT_EQ(api()->lastError(), nullptr);
}

/// One attention call of a banded test: the rows' positions and the key
/// list (empty: every slot up to the step's last position, a dense step).
struct AttentionStep {
  std::vector<int32_t> pos, keys;
};

/// Scenarios of banded attention over `history` + a few positions: a dense
/// 300-row prefill; a pruned layer's token set (positions with gaps, the
/// keys exactly those); a dense prefill of `history` tokens, then a step of
/// `rows` rows over every third history slot and its own (a pruned layer's
/// decode step).
std::vector<AttentionStep> bandedScenario(int kind, int64_t rows = 5, int64_t history = 1200) {
  std::vector<AttentionStep> steps(1);
  if (kind == 0 || kind == 1)
    for (int32_t i = 0; i < 300; ++i)
      steps[0].pos.push_back(kind == 0 ? i : i + i / 10);
  if (kind == 1)
    steps[0].keys = steps[0].pos;
  if (kind == 2) {
    for (int32_t i = 0; i < history; ++i)
      steps[0].pos.push_back(i);
    AttentionStep step;
    for (int32_t i = 0; i < history; i += 3)
      step.keys.push_back(i);
    for (int64_t i = 0; i < rows; ++i)
      step.pos.push_back(static_cast<int32_t>(history + i));
    step.keys.insert(step.keys.end(), step.pos.begin(), step.pos.end());
    steps.push_back(step);
  }
  return steps;
}

/// The random query, key and value rows of step `i` (queries scaled so that
/// a soft cap of 1 changes the scores).
void stepInputs(size_t i, int64_t rows, int64_t qDim, int64_t kvDim, std::vector<float> &q,
                std::vector<float> &k, std::vector<float> &v) {
  const uint32_t seed = 40 + 3 * static_cast<uint32_t>(i);
  q = randomVector(rows * qDim, seed, 3.0f);
  k = randomVector(rows * kvDim, seed + 1);
  v = randomVector(rows * kvDim, seed + 2);
}

constexpr int64_t kBandedHeads = 8, kBandedKvHeads = 2;

/// Each step's output through lazyc_gpu_attention_ex (`gpu`) or the CPU's
/// lazyc_rt_attention_ex on a bf16 cache (as the GPU's), with `window` and
/// `softcap`.
std::vector<std::vector<float>> bandedAttention(bool gpu, int64_t headDim,
                                                const std::vector<AttentionStep> &steps,
                                                int64_t window, double softcap,
                                                const std::vector<float> *sinks = nullptr) {
  const int64_t qDim = kBandedHeads * headDim, kvDim = kBandedKvHeads * headDim;
  int64_t context = 0;
  for (const AttentionStep &s : steps)
    context = std::max<int64_t>(context, s.pos.back() + 1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  std::unique_ptr<DeviceCache> device;
  std::vector<uint16_t> kc, vc;
  std::vector<uint8_t> cached;
  std::vector<int64_t> stats(LAZYC_STAT_COUNT);
  LazycKVCache host{};
  if (gpu) {
    device = std::make_unique<DeviceCache>(context, kvDim);
  } else {
    kc.resize(context * kvDim);
    vc.resize(context * kvDim);
    cached.resize(context);
    host.k = kc.data();
    host.v = vc.data();
    host.context = context;
    host.layers = 1;
    host.kv_dim = kvDim;
    host.cached = cached.data();
    host.stats = stats.data();
    host.kv_type = 1;
  }
  std::vector<std::vector<float>> outs;
  for (size_t i = 0; i < steps.size(); ++i) {
    const AttentionStep &s = steps[i];
    const auto rows = static_cast<int64_t>(s.pos.size());
    const int64_t numKeys = s.keys.empty() ? -1 : static_cast<int64_t>(s.keys.size());
    std::vector<float> q, k, v, out(rows * qDim);
    stepInputs(i, rows, qDim, kvDim, q, k, v);
    if (!gpu) {
      if (sinks)
        lazyc_rt_attention_sinks(&host, 0, a(q.data()), a(k.data()), a(v.data()),
                                 a(s.pos.data()), rows, numKeys < 0 ? 0 : a(s.keys.data()),
                                 numKeys, kBandedHeads, kBandedKvHeads, headDim, scale,
                                 a(out.data()), 0, 0, 0, window, softcap, a(sinks->data()));
      else
        lazyc_rt_attention_ex(&host, 0, a(q.data()), a(k.data()), a(v.data()), a(s.pos.data()),
                              rows, numKeys < 0 ? 0 : a(s.keys.data()), numKeys, kBandedHeads,
                              kBandedKvHeads, headDim, scale, a(out.data()), 0, 0, 0, window,
                              softcap);
      outs.push_back(std::move(out));
      continue;
    }
    float *dq = toDevice(q), *dk = toDevice(k), *dv = toDevice(v);
    int32_t *dpos = toDevice(s.pos), *dkeys = numKeys < 0 ? nullptr : toDevice(s.keys);
    auto *dout = static_cast<float *>(api()->alloc(rows * qDim * 4));
    float *dsinks = sinks ? toDevice(*sinks) : nullptr;
    if (sinks)
      lazyc_gpu_attention_sinks(&device->c, 0, a(dq), a(dk), a(dv), a(dpos), rows, a(dkeys),
                                numKeys, kBandedHeads, kBandedKvHeads, headDim, scale, a(dout),
                                0, 0, 0, window, softcap, a(dsinks));
    else
      lazyc_gpu_attention_ex(&device->c, 0, a(dq), a(dk), a(dv), a(dpos), rows, a(dkeys),
                             numKeys, kBandedHeads, kBandedKvHeads, headDim, scale, a(dout), 0,
                             0, 0, window, softcap);
    outs.push_back(toHost(dout, rows * qDim));
    for (void *p : {static_cast<void *>(dq), static_cast<void *>(dk), static_cast<void *>(dv),
                    static_cast<void *>(dpos), static_cast<void *>(dkeys),
                    static_cast<void *>(dout), static_cast<void *>(dsinks)})
      api()->free(p);
  }
  return outs;
}

double maxAbsDiff(const std::vector<std::vector<float>> &x,
                  const std::vector<std::vector<float>> &y, size_t step) {
  double d = 0;
  for (size_t i = 0; i < x[step].size(); ++i)
    d = std::max(d, static_cast<double>(std::fabs(x[step][i] - y[step][i])));
  return d;
}

// Runs everywhere: the banded GPU test's cases are ones where the window and
// the cap change the result (a kernel that ignored either would fail it).
TEST(CudaRuntime, BandedAttentionCasesDependOnTheBand) {
  for (int kind : {0, 1, 2}) {
    const std::vector<AttentionStep> steps = bandedScenario(kind);
    const size_t last = steps.size() - 1;
    const int64_t window = kind == 2 ? 500 : 48;
    auto plain = bandedAttention(false, 64, steps, 0, 0.0);
    auto windowed = bandedAttention(false, 64, steps, window, 0.0);
    auto capped = bandedAttention(false, 64, steps, 0, 1.0);
    EXPECT_GT(maxAbsDiff(plain, windowed, last), 0.05) << "scenario " << kind;
    EXPECT_GT(maxAbsDiff(plain, capped, last), 0.05) << "scenario " << kind;
  }
}

// Sliding windows and soft-capped scores (Mistral, Phi-3, Gemma 2/3) in
// lazyc's kernels against the CPU's: the flash kernel's four head sizes and
// the warp-per-row kernel's (80), dense and pruned prefills, decode steps
// with their keys split (flash-decoding) or not; cuDNN is never asked to run
// them.
TEST(CudaKernels, BandedAttentionMatchesCPU) {
  REQUIRE_GPU();
  // "cudnn" would send every step cuDNN can run there: none of these.
  ScopedAttention scoped(lazycKernel() == "flash" ? "cudnn" : lazycKernel());
  const int64_t cudnnCallsBefore = lazyc_gpu_cudnn_attention_calls();
  for (int64_t headDim : {64, 128, 96, 256, 80})
    for (int kind : {0, 1, 2})
      for (const char *splits : {"auto", "3", "0"}) {
        if (kind != 2 && std::string(splits) != "auto")
          continue; // only small steps split their keys
        ScopedEnv keySplits("LAZYC_CUDA_KEY_SPLITS", splits);
        const std::vector<AttentionStep> steps = bandedScenario(kind);
        const int64_t window = kind == 2 ? 500 : 48;
        for (auto [w, cap] : {std::pair<int64_t, double>{window, 0.0}, {0, 1.0}, {window, 1.0}}) {
          auto want = bandedAttention(false, headDim, steps, w, cap);
          auto got = bandedAttention(true, headDim, steps, w, cap);
          ASSERT_EQ(api()->lastError(), nullptr);
          for (size_t i = 0; i < steps.size(); ++i)
            EXPECT_LT(maxAbsDiff(want, got, i), 2e-2)
                << "head_dim " << headDim << ", scenario " << kind << " step " << i
                << ", window " << w << ", softcap " << cap << ", LAZYC_CUDA_KEY_SPLITS=" << splits;
        }
      }
  EXPECT_EQ(lazyc_gpu_cudnn_attention_calls(), cudnnCallsBefore);
}

/// One sink logit per head of the banded tests (gpt-oss's attention sinks),
/// from small to outweighing every key.
std::vector<float> bandedSinks() {
  std::vector<float> sinks(kBandedHeads);
  for (int64_t h = 0; h < kBandedHeads; ++h)
    sinks[h] = static_cast<float>(h) + 2.0f; // up to 9: weighs against 1200 keys too
  return sinks;
}

// Runs everywhere: the sinks move the attention of the sink tests' cases.
TEST(CudaRuntime, SinkAttentionCasesDependOnTheSinks) {
  const std::vector<float> sinks = bandedSinks();
  for (int kind : {0, 1, 2}) {
    const std::vector<AttentionStep> steps = bandedScenario(kind);
    auto plain = bandedAttention(false, 64, steps, 0, 0.0);
    auto sunk = bandedAttention(false, 64, steps, 0, 0.0, &sinks);
    EXPECT_GT(maxAbsDiff(plain, sunk, steps.size() - 1), 0.05) << "scenario " << kind;
  }
}

// Attention sinks (gpt-oss) in lazyc's kernels against the CPU's: the key-split
// path for every step (prefills too), whose combine adds the sinks; the flash
// kernel's head sizes and the warp-per-row kernel's, with and without a
// sliding window (gpt-oss alternates them), keys split as the runtime
// chooses, in 3, or "none" (still 2: the sinks need a combine).
TEST(CudaKernels, SinkAttentionMatchesCPU) {
  REQUIRE_GPU();
  ScopedAttention scoped(lazycKernel() == "flash" ? "cudnn" : lazycKernel());
  const int64_t cudnnCallsBefore = lazyc_gpu_cudnn_attention_calls();
  const std::vector<float> sinks = bandedSinks();
  for (int64_t headDim : {64, 128, 80})
    for (int kind : {0, 1, 2})
      for (const char *splits : {"auto", "3", "0"}) {
        ScopedEnv keySplits("LAZYC_CUDA_KEY_SPLITS", splits);
        const std::vector<AttentionStep> steps = bandedScenario(kind);
        for (int64_t w : {int64_t{0}, int64_t{kind == 2 ? 500 : 48}}) {
          auto want = bandedAttention(false, headDim, steps, w, 0.0, &sinks);
          auto got = bandedAttention(true, headDim, steps, w, 0.0, &sinks);
          ASSERT_EQ(api()->lastError(), nullptr);
          for (size_t i = 0; i < steps.size(); ++i)
            EXPECT_LT(maxAbsDiff(want, got, i), 2e-2)
                << "head_dim " << headDim << ", scenario " << kind << " step " << i
                << ", window " << w << ", LAZYC_CUDA_KEY_SPLITS=" << splits;
        }
      }
  EXPECT_EQ(lazyc_gpu_cudnn_attention_calls(), cudnnCallsBefore);
}

TEST(CudaKernels, LinearMatchesCPU) {
  REQUIRE_GPU();
  const int64_t rows = 77, in = 256, out = 192;
  auto x = randomVector(rows * in, 4);
  auto wf = randomVector(out * in, 5, 0.05f);
  std::vector<uint16_t> w(wf.size());
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = lazyc::rt::floatToBF16Bits(wf[i]);
  std::vector<float> want(rows * out);
  lazyc_rt_linear(a(x.data()), rows, in, a(w.data()), 1, out, a(want.data()));
  float *dx = toDevice(x), *dy = static_cast<float *>(api()->alloc(rows * out * 4));
  uint16_t *dw = toDevice(w);
  lazyc_gpu_linear(a(dx), rows, in, a(dw), 1, out, a(dy));
  auto got = toHost(dy, rows * out);
  ASSERT_EQ(api()->lastError(), nullptr);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 2e-2) << i; // the GPU rounds x to bf16
  api()->free(dx);
  api()->free(dy);
  api()->free(dw);
}

// lazyc_gpu_linear_ex: the residual add in the epilogue (beta = 1 into y) and
// bf16 outputs, against the CPU GEMM.
TEST(CudaKernels, LinearExAccumulatesAndWritesBF16) {
  REQUIRE_GPU();
  const int64_t rows = 131, in = 256, out = 320;
  auto x = randomVector(rows * in, 6);
  auto wf = randomVector(out * in, 7, 0.05f);
  auto residual = randomVector(rows * out, 8);
  std::vector<uint16_t> w(wf.size());
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = lazyc::rt::floatToBF16Bits(wf[i]);
  std::vector<float> product(rows * out);
  lazyc_rt_linear(a(x.data()), rows, in, a(w.data()), 1, out, a(product.data()));
  float *dx = toDevice(x), *dy = toDevice(residual);
  uint16_t *dw = toDevice(w);
  lazyc_gpu_linear_ex(a(dx), 0, rows, in, a(dw), 1, out, a(dy), 0, 1);
  auto sum = toHost(dy, rows * out);
  ASSERT_EQ(api()->lastError(), nullptr);
  for (size_t i = 0; i < sum.size(); ++i)
    ASSERT_NEAR(sum[i], residual[i] + product[i], 2e-2) << i;
  auto *db = static_cast<uint16_t *>(api()->alloc(rows * out * 2));
  lazyc_gpu_linear_ex(a(dx), 0, rows, in, a(dw), 1, out, a(db), 1, 0);
  auto bits = toHost(db, rows * out);
  ASSERT_EQ(api()->lastError(), nullptr);
  for (size_t i = 0; i < bits.size(); ++i)
    ASSERT_NEAR(lazyc::rt::bf16ToFloat(bits[i]), product[i],
                2e-2 + 1e-2 * std::fabs(product[i])) << i;
  // Accumulating into bf16 (a bf16 residual stream, beta = 1 with C = D bf16).
  std::vector<uint16_t> residualBits(residual.size());
  for (size_t i = 0; i < residual.size(); ++i)
    residualBits[i] = lazyc::rt::floatToBF16Bits(residual[i]);
  uint16_t *dr = toDevice(residualBits);
  lazyc_gpu_linear_ex(a(dx), 0, rows, in, a(dw), 1, out, a(dr), 1, 1);
  auto summed = toHost(dr, rows * out);
  ASSERT_EQ(api()->lastError(), nullptr);
  for (size_t i = 0; i < summed.size(); ++i) {
    float want = lazyc::rt::bf16ToFloat(residualBits[i]) + product[i];
    ASSERT_NEAR(lazyc::rt::bf16ToFloat(summed[i]), want, 3e-2 + 1e-2 * std::fabs(want)) << i;
  }
  api()->free(dr);
  api()->free(dx);
  api()->free(dy);
  api()->free(dw);
  api()->free(db);
}

// lazyc_gpu_moe against lazyc_rt_moe on bf16 and f32 weights, a prefill's 37
// rows and a decode step's one: Mixtral's form (SwiGLU, top-k renormalized),
// gpt-oss's (clamped SwiGLU, expert and router biases) with a selection bias
// and a renormalization floor, and GLM-4.5's (sigmoid scores, a selection
// bias, the weights scaled by 2.5). The router sees the first `experts`
// columns of x, set apart by 0.5 (logits by 2): both sides choose the same
// experts whatever their GEMMs round.
TEST(CudaKernels, MixtureOfExpertsMatchesCPU) {
  REQUIRE_GPU();
  const int64_t rows = 37, hidden = 128, ffn = 96, experts = 6, topK = 2;
  auto bf16 = [](const std::vector<float> &v) {
    std::vector<uint16_t> bits(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      bits[i] = lazyc::rt::floatToBF16Bits(v[i]);
    return bits;
  };
  auto x = randomVector(rows * hidden, 11);
  std::mt19937 rng(12);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int> rank(experts);
    for (int e = 0; e < experts; ++e)
      rank[e] = e;
    std::shuffle(rank.begin(), rank.end(), rng);
    for (int64_t e = 0; e < experts; ++e)
      x[r * hidden + e] = 0.5f * static_cast<float>(rank[e]);
  }
  std::vector<float> routerF(experts * hidden, 0.0f);
  for (int64_t e = 0; e < experts; ++e)
    routerF[e * hidden + e] = 4.0f;
  const auto gateF = randomVector(experts * ffn * hidden, 13, 0.1f);
  const auto upF = randomVector(experts * ffn * hidden, 14, 0.1f);
  const auto downF = randomVector(experts * hidden * ffn, 15, 0.1f);
  auto gateBias = randomVector(experts * ffn, 16, 0.2f);
  auto upBias = randomVector(experts * ffn, 17, 0.2f);
  auto downBias = randomVector(experts * hidden, 18, 0.2f);
  std::vector<float> routerBias(experts, 0.25f), selection = randomVector(experts, 19, 0.01f);
  float *dx = toDevice(x), *dgb = toDevice(gateBias), *dub = toDevice(upBias),
        *ddb = toDevice(downBias), *drb = toDevice(routerBias), *dsel = toDevice(selection);
  auto *dy = static_cast<float *>(api()->alloc(rows * hidden * 4));
  for (const bool f32 : {false, true}) {
    // The weights as the model holds them: f32 (type 0) or bf16 (type 1).
    std::vector<std::vector<uint16_t>> bf16Weights;
    std::vector<void *> device;
    std::vector<uint64_t> host;
    for (const std::vector<float> *w :
         std::initializer_list<const std::vector<float> *>{&routerF, &gateF, &upF, &downF}) {
      if (f32) {
        device.push_back(toDevice(*w));
        host.push_back(a(w->data()));
      } else {
        bf16Weights.push_back(bf16(*w));
        device.push_back(toDevice(bf16Weights.back()));
        host.push_back(a(bf16Weights.back().data()));
      }
    }
    const int64_t wtype = f32 ? 0 : 1;
    for (int64_t n : {rows, int64_t{1}})
      for (const int form : {0, 1, 2}) {
        const bool oss = form == 1, glm = form == 2;
        std::vector<float> want(n * hidden);
        auto run = [&](bool gpu, uint64_t xa, const uint64_t *w, uint64_t sel, uint64_t rb,
                       uint64_t gb, uint64_t ub, uint64_t db, uint64_t y) {
          (gpu ? lazyc_gpu_moe : lazyc_rt_moe)(
              xa, n, hidden, w[0], wtype, oss || glm ? sel : 0, oss ? rb : 0, w[1], w[2], w[3],
              oss ? gb : 0, oss ? ub : 0, oss ? db : 0, wtype, experts, topK, ffn, 1,
              oss ? 0.1 : 0.0, oss ? 1 : 0, oss ? 0.3 : 0.0, glm ? 1 : 0, glm ? 2.5 : 1.0, y);
        };
        run(false, a(x.data()), host.data(), a(selection.data()), a(routerBias.data()),
            a(gateBias.data()), a(upBias.data()), a(downBias.data()), a(want.data()));
        const uint64_t dw[4] = {a(device[0]), a(device[1]), a(device[2]), a(device[3])};
        run(true, a(dx), dw, a(dsel), a(drb), a(dgb), a(dub), a(ddb), a(dy));
        auto got = toHost(dy, n * hidden);
        ASSERT_EQ(api()->lastError(), nullptr);
        float scale = 0;
        for (float v : want)
          scale = std::max(scale, std::fabs(v));
        ASSERT_GT(scale, 0.05f) << (f32 ? "f32" : "bf16") << " rows " << n << " form " << form;
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 2e-2 * scale)
              << (f32 ? "f32" : "bf16") << " rows " << n << " form " << form << " element " << i;
      }
    for (void *p : device)
      api()->free(p);
  }
  for (void *p : std::initializer_list<void *>{dx, dgb, dub, ddb, drb, dsel, dy})
    api()->free(p);
}

// GEMM operands less aligned than cuBLASLt's default assumption (256 bytes):
// a weight at a 64-byte arena offset, activations 2 or 4 bytes off. The same
// shape runs aligned first, so a plan chosen for aligned pointers must not be
// reused for these.
TEST(CudaKernels, LinearOnOperandsAlignedBelow256Bytes) {
  REQUIRE_GPU();
  const int64_t rows = 64, in = 256, out = 128;
  auto x = randomVector(rows * in, 9);
  auto wf = randomVector(out * in, 10, 0.05f);
  std::vector<uint16_t> w(wf.size()), xb(x.size());
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = lazyc::rt::floatToBF16Bits(wf[i]);
  for (size_t i = 0; i < xb.size(); ++i)
    xb[i] = lazyc::rt::floatToBF16Bits(x[i]);
  std::vector<float> want(rows * out);
  lazyc_rt_linear_ex(a(xb.data()), 1, rows, in, a(w.data()), 1, out, a(want.data()), 0, 0);
  // (weight, input, output) byte offsets from 256-byte aligned allocations.
  const int64_t offsets[][3] = {{0, 0, 0}, {64, 128, 32}, {2, 2, 4}, {0, 0, 0}};
  for (const auto &off : offsets) {
    auto *wBase = static_cast<uint8_t *>(api()->alloc(w.size() * 2 + 256));
    auto *xBase = static_cast<uint8_t *>(api()->alloc(xb.size() * 2 + 256));
    auto *yBase = static_cast<uint8_t *>(api()->alloc(want.size() * 4 + 256));
    ASSERT_TRUE(wBase && xBase && yBase);
    uint8_t *dw = wBase + off[0], *dx = xBase + off[1], *dy = yBase + off[2];
    ASSERT_EQ(api()->toDevice(dw, w.data(), w.size() * 2), 0);
    ASSERT_EQ(api()->toDevice(dx, xb.data(), xb.size() * 2), 0);
    lazyc_gpu_linear_ex(a(dx), 1, rows, in, a(dw), 1, out, a(dy), 0, 0);
    std::vector<float> got(want.size());
    ASSERT_EQ(api()->toHost(got.data(), dy, got.size() * 4), 0);
    ASSERT_EQ(api()->lastError(), nullptr)
        << "offsets " << off[0] << ", " << off[1] << ", " << off[2];
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-2 + 1e-2 * std::fabs(want[i]))
          << i << " (offsets " << off[0] << ", " << off[1] << ", " << off[2] << ")";
    api()->free(wBase);
    api()->free(xBase);
    api()->free(yBase);
  }
}

// lazyc_gpu_keep_host_copy (lazyc-gpu-host-index-copies): a buffer marked
// final is fetched once; later calls read the host copy (and with
// lazyc_gpu_keep_uploaded_copy, the runtime's own upload is that copy). Seen by rewriting
// the device buffer behind the runtime's back (what the compiler rules out):
// an unmarked buffer's calls see the new contents, a marked one's do not.
TEST(CudaKernels, KeptHostCopiesServeLaterFetches) {
  REQUIRE_GPU();
  std::vector<int32_t> before = {0, 1, 2, 9}, after = {0, 1, 2, 99};
  int32_t *plain = toDevice(before), *kept = toDevice(before);
  lazyc_gpu_keep_host_copy(a(kept), 16);
  EXPECT_EQ(lazyc_gpu_context_size(a(plain), 4), 10);
  EXPECT_EQ(lazyc_gpu_context_size(a(kept), 4), 10); // fetched and kept
  ASSERT_EQ(api()->toDevice(plain, after.data(), 16), 0);
  ASSERT_EQ(api()->toDevice(kept, after.data(), 16), 0);
  EXPECT_EQ(lazyc_gpu_context_size(a(plain), 4), 100);
  EXPECT_EQ(lazyc_gpu_context_size(a(kept), 4), 10); // the kept copy
  ASSERT_EQ(api()->lastError(), nullptr);
  // Freed, the address forgets its copy.
  api()->free(kept);
  int32_t *again = toDevice(after);
  EXPECT_EQ(lazyc_gpu_context_size(a(again), 4), 100);
  api()->free(plain);
  api()->free(again);
  // lazyc_gpu_keep_uploaded_copy right after the call that uploaded the list
  // (the missing rows: none cached yet, so all of the keys): the upload is
  // the copy, never fetched, so a rewrite behind its back is not seen.
  DeviceCache cache(16, 64);
  std::vector<int32_t> keys = {0, 3, 9}, rewritten = {0, 3, 99};
  int32_t *dkeys = toDevice(keys);
  ASSERT_EQ(lazyc_gpu_missing_size(&cache.c, 0, a(dkeys), 3), 3);
  int32_t *missing = static_cast<int32_t *>(api()->alloc(12));
  lazyc_gpu_missing(&cache.c, 0, a(dkeys), 3, a(missing));
  lazyc_gpu_keep_uploaded_copy(a(missing), 12);
  ASSERT_EQ(api()->toDevice(missing, rewritten.data(), 12), 0);
  EXPECT_EQ(lazyc_gpu_context_size(a(missing), 3), 10);
  ASSERT_EQ(api()->lastError(), nullptr);
  api()->free(dkeys);
  api()->free(missing);
}

// lazy.reuse_bias on the device (through host copies): the CPU kernel's
// values, written to the device buffer; the layer's own membership and the
// keys' order are respected.
TEST(CudaKernels, ReuseBiasMatchesCPU) {
  REQUIRE_GPU();
  constexpr int64_t kContext = 8;
  std::vector<uint8_t> cached(2 * kContext, 0);
  cached[kContext + 2] = cached[kContext + 5] = 1; // layer 1 holds 2 and 5
  cached[3] = 1;                                   // layer 0's slots do not count
  LazycKVCache c{};
  c.context = kContext;
  c.layers = 2;
  c.cached = cached.data();
  std::vector<float> scores = {0.1f, 0.2f, 0.3f, 0.05f, 0.15f, 0.2f};
  std::vector<int32_t> keys = {0, 2, 3, 5, 6, 7};
  float *dscores = toDevice(scores);
  int32_t *dkeys = toDevice(keys);
  auto *dout = static_cast<float *>(api()->alloc(scores.size() * sizeof(float)));
  lazyc_gpu_reuse_bias(&c, 0, a(dscores), a(dkeys), 6, 8.0, a(dout));
  std::vector<float> expected(6);
  lazyc_rt_reuse_bias(&c, 0, a(scores.data()), a(keys.data()), 6, 8.0, a(expected.data()));
  EXPECT_EQ(toHost(dout, 6), expected);
  EXPECT_EQ(expected, (std::vector<float>{0.1f, 1.6f, 0.3f, 0.4f, 0.15f, 0.2f}));
  EXPECT_EQ(toHost(dscores, 6), scores) << "the input scores are left as they were";
  ASSERT_EQ(api()->lastError(), nullptr);
  api()->free(dscores);
  api()->free(dkeys);
  api()->free(dout);
}

TEST(CudaKernels, ScoresAndWindowScoresMatchCPU) {
  REQUIRE_GPU();
  const int64_t rows = 40, heads = 4, kvHeads = 2, headDim = 64, kvDim = kvHeads * headDim;
  DeviceCache cache(64, kvDim);
  std::vector<int32_t> pos(rows);
  for (int64_t i = 0; i < rows; ++i)
    pos[i] = static_cast<int32_t>(i);
  auto q = randomVector(rows * heads * headDim, 6), k = randomVector(rows * kvDim, 7),
       v = randomVector(rows * kvDim, 8);
  float *dq = toDevice(q), *dk = toDevice(k), *dv = toDevice(v);
  int32_t *dpos = toDevice(pos);
  float *out = static_cast<float *>(api()->alloc(rows * heads * headDim * 4));
  lazyc_gpu_attention(&cache.c, 0, a(dq), a(dk), a(dv), a(dpos), rows, 0, -1, heads, kvHeads,
                      headDim, 0.125, a(out)); // writes the K cache
  std::vector<int32_t> keys = {0, 3, 5, 17, 39};
  int32_t *dkeys = toDevice(keys);
  float *dscores = static_cast<float *>(api()->alloc(keys.size() * 4));
  lazyc_gpu_scores(&cache.c, 0, a(dq), rows, a(dkeys), keys.size(), heads, kvHeads, headDim,
                   0.125, a(dscores));
  auto got = toHost(dscores, keys.size());
  // CPU reference on the same (bf16-rounded) keys.
  std::vector<float> kc(64 * kvDim, 0.0f), vc(64 * kvDim, 0.0f);
  for (int64_t i = 0; i < rows * kvDim; ++i) {
    uint32_t bits = static_cast<uint32_t>(lazyc::rt::floatToBF16Bits(k[i])) << 16;
    std::memcpy(&kc[i], &bits, 4);
  }
  LazycKVCache host{};
  host.k = kc.data();
  host.v = vc.data();
  host.context = 64;
  host.layers = 1;
  host.kv_dim = kvDim;
  std::vector<float> want(keys.size());
  lazyc_rt_scores(&host, 0, a(q.data()), rows, a(keys.data()), keys.size(), heads, kvHeads,
                  headDim, 0.125, a(want.data()));
  ASSERT_EQ(api()->lastError(), nullptr);
  for (size_t j = 0; j < keys.size(); ++j)
    EXPECT_NEAR(got[j], want[j], 1e-5 + 1e-4 * want[j]) << j;
  // Observation windows: rows 32..39 (window 8: each causal over the keys up
  // to its own position), every row (window 64), and window 1 (= the last row).
  for (int64_t window : {8, 64, 1}) {
    lazyc_gpu_window_scores(&cache.c, 0, a(dq), a(dpos), rows, a(dkeys), keys.size(), heads,
                            kvHeads, headDim, 0.125, window, a(dscores), 0, 0.0);
    got = toHost(dscores, keys.size());
    lazyc_rt_window_scores(&host, 0, a(q.data()), a(pos.data()), rows, a(keys.data()),
                           keys.size(), heads, kvHeads, headDim, 0.125, window,
                           a(want.data()), 0, 0.0);
    ASSERT_EQ(api()->lastError(), nullptr);
    for (size_t j = 0; j < keys.size(); ++j)
      EXPECT_NEAR(got[j], want[j], 1e-5 + 1e-4 * want[j]) << "window " << window << " key " << j;
  }
  // The layer's sliding window (rows see keys after their position - 20:
  // key 0..17 drop out of late rows' views) and soft-capped scores.
  for (auto [sliding, cap] : {std::pair<int64_t, double>{20, 0.0}, {0, 0.05}, {20, 0.05}})
    for (int64_t window : {8, 64}) {
      lazyc_gpu_window_scores(&cache.c, 0, a(dq), a(dpos), rows, a(dkeys), keys.size(), heads,
                              kvHeads, headDim, 0.125, window, a(dscores), sliding, cap);
      got = toHost(dscores, keys.size());
      lazyc_rt_window_scores(&host, 0, a(q.data()), a(pos.data()), rows, a(keys.data()),
                             keys.size(), heads, kvHeads, headDim, 0.125, window,
                             a(want.data()), sliding, cap);
      ASSERT_EQ(api()->lastError(), nullptr);
      for (size_t j = 0; j < keys.size(); ++j)
        EXPECT_NEAR(got[j], want[j], 1e-5 + 1e-4 * want[j])
            << "window " << window << ", sliding " << sliding << ", cap " << cap << ", key " << j;
    }
  // Attention sinks (gpt-oss): the last row over every key (no positions),
  // observation windows, a sliding window.
  const std::vector<float> sinks = {-1.0f, 0.5f, 2.0f, 0.0f};
  float *dsinks = toDevice(sinks);
  for (auto [window, sliding] :
       {std::pair<int64_t, int64_t>{-1, 0}, {8, 0}, {64, 0}, {8, 20}, {64, 20}}) {
    const bool last = window < 0; // positions 0
    lazyc_gpu_sink_scores(&cache.c, 0, a(dq), last ? 0 : a(dpos), rows, a(dkeys), keys.size(),
                          heads, kvHeads, headDim, 0.125, last ? 1 : window, a(dscores),
                          sliding, 0.0, a(dsinks));
    got = toHost(dscores, keys.size());
    lazyc_rt_sink_scores(&host, 0, a(q.data()), last ? 0 : a(pos.data()), rows,
                         a(keys.data()), keys.size(), heads, kvHeads, headDim, 0.125,
                         last ? 1 : window, a(want.data()), sliding, 0.0, a(sinks.data()));
    ASSERT_EQ(api()->lastError(), nullptr);
    for (size_t j = 0; j < keys.size(); ++j)
      EXPECT_NEAR(got[j], want[j], 1e-5 + 1e-4 * want[j])
          << "sinks, window " << window << ", sliding " << sliding << ", key " << j;
  }
  for (void *p : {static_cast<void *>(dq), static_cast<void *>(dk), static_cast<void *>(dv),
                  static_cast<void *>(dpos), static_cast<void *>(out),
                  static_cast<void *>(dkeys), static_cast<void *>(dscores),
                  static_cast<void *>(dsinks)})
    api()->free(p);
}

} // namespace
