//===- LazyKernelsTest.cpp - the LazyLLM runtime kernels in isolation ------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/model/Quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sched.h>

namespace {

template <typename T> uint64_t addr(std::vector<T> &v) {
  return reinterpret_cast<uint64_t>(v.data());
}

/// A 2-layer cache of `context` slots with the LazyLLM bookkeeping.
struct Cache {
  /// `kvType` 2 / 1: an f16 / bf16 cache (lazy-compile --kv-cache=f16 /
  /// bf16) in kh / vh.
  explicit Cache(int64_t context, int64_t kvDim = 4, int64_t kvType = 0)
      : k(2 * context * kvDim), v(2 * context * kvDim), cached(2 * context), aux(2, nullptr),
        saved(2, nullptr), stats(LAZYC_STAT_COUNT * 2) {
    const bool half = kvType != 0;
    if (half) {
      kh.resize(k.size());
      vh.resize(v.size());
      c.kv_type = kvType;
    }
    c.k = half ? static_cast<void *>(kh.data()) : k.data();
    c.v = half ? static_cast<void *>(vh.data()) : v.data();
    c.context = context;
    c.layers = 2;
    c.kv_dim = kvDim;
    c.cached = cached.data();
    c.aux = aux.data();
    c.aux_saved = saved.data();
    c.stats = stats.data();
  }
  ~Cache() {
    for (int l = 0; l < 2; ++l) {
      std::free(aux[l]);
      std::free(saved[l]);
    }
  }
  int64_t stat(LazycStat s, int layer) const { return stats[s * 2 + layer]; }
  std::vector<float> k, v;
  std::vector<uint16_t> kh, vh;
  std::vector<uint8_t> cached;
  std::vector<float *> aux;
  std::vector<uint8_t *> saved;
  std::vector<int64_t> stats;
  LazycKVCache c{};
};

std::vector<double> softmax(std::vector<double> x) {
  double sum = 0;
  for (double &v : x)
    sum += (v = std::exp(v));
  for (double &v : x)
    v /= sum;
  return x;
}

TEST(LazyKernelsTest, SelectSizeIsACeilingClampedToOneAndN) {
  EXPECT_EQ(lazyc_rt_select_size(10, 0.7, 0), 7); // not 8: 0.7 * 10 rounds up in binary
  EXPECT_EQ(lazyc_rt_select_size(10, 0.71, 0), 8);
  EXPECT_EQ(lazyc_rt_select_size(3, 0.01, 0), 1);
  EXPECT_EQ(lazyc_rt_select_size(5, 1.0, 0), 5);
  EXPECT_EQ(lazyc_rt_select_size(9999, 0.9999, 0), 9999);
  EXPECT_EQ(lazyc_rt_select_size(0, 0.5, 0), 0);
}

TEST(LazyKernelsTest, SelectKeepsTheHighestScoresAndTheLastRow) {
  std::vector<float> scores = {0.5f, 0.1f, 0.9f, 0.3f, 0.0f};
  std::vector<int32_t> out(3);
  lazyc_rt_select(addr(scores), 5, 0.6, 0, addr(out));
  // Top 3 are rows 0, 2, 3; the last row (4) displaces the lowest of them (3).
  EXPECT_EQ(out, (std::vector<int32_t>{0, 2, 4}));
  // Ties go to later rows.
  std::vector<float> ties = {1, 1, 1, 1, 5};
  std::vector<int32_t> two(2);
  lazyc_rt_select(addr(ties), 5, 0.4, 0, addr(two));
  EXPECT_EQ(two, (std::vector<int32_t>{3, 4}));
}

TEST(LazyKernelsTest, SelectSizeHasAFloorOfMinKeepTokens) {
  // ceil(0.1 * 5) = 1, but never fewer than min(min_keep, n) tokens.
  EXPECT_EQ(lazyc_rt_select_size(5, 0.1, 32), 5);
  EXPECT_EQ(lazyc_rt_select_size(40, 0.1, 32), 32);
  EXPECT_EQ(lazyc_rt_select_size(400, 0.1, 32), 40); // the ratio wins above the floor
  EXPECT_EQ(lazyc_rt_select_size(400, 0.1, 0), 40);
  EXPECT_EQ(lazyc_rt_select_size(5, 0.1, 3), 3);
  EXPECT_EQ(lazyc_rt_select_size(0, 0.1, 32), 0);
}

TEST(LazyKernelsTest, SelectWithAFloorKeepsTheNextHighestScores) {
  std::vector<float> scores = {0.5f, 0.1f, 0.9f, 0.3f, 0.0f};
  // keep 0.2 alone keeps the last row only; a floor of 3 adds the two best.
  std::vector<int32_t> out(3);
  lazyc_rt_select(addr(scores), 5, 0.2, 3, addr(out));
  EXPECT_EQ(out, (std::vector<int32_t>{0, 2, 4}));
  // The static policy's first selection has the same floor.
  Cache cache(6);
  std::vector<int32_t> keys = {0, 1, 2, 3, 4}, pos = {0, 1, 2, 3, 4};
  ASSERT_EQ(lazyc_rt_select_once_size(&cache.c, 0, addr(scores), addr(keys), 5, addr(pos), 5,
                                      0.2, 4),
            4);
  std::vector<int32_t> once(4);
  lazyc_rt_select_once(&cache.c, 0, addr(scores), addr(keys), 5, addr(pos), 5, 0.2, 4,
                       addr(once));
  EXPECT_EQ(once, (std::vector<int32_t>{0, 2, 3, 4}));
}

TEST(LazyKernelsTest, ContextIsEveryPositionUpToTheLastRow) {
  std::vector<int32_t> pos = {7, 8, 9};
  ASSERT_EQ(lazyc_rt_context_size(addr(pos), 3), 10);
  std::vector<int32_t> keys(10);
  lazyc_rt_context(addr(pos), 3, addr(keys));
  EXPECT_EQ(keys[0], 0);
  EXPECT_EQ(keys[9], 9);
}

TEST(LazyKernelsTest, ScoresAreTheLastRowsMeanAttention) {
  // One KV head of dim 2, two query heads; keys e0, e1, e0+e1 at slots 0..2.
  Cache cache(3, 2);
  float keys[3][2] = {{1, 0}, {0, 1}, {1, 1}};
  for (int s = 0; s < 3; ++s)
    for (int d = 0; d < 2; ++d)
      cache.k[s * 2 + d] = keys[s][d];
  std::vector<float> q = {9, 9, 9, 9, /*last row:*/ 2, 0, 0, 2};
  std::vector<int32_t> slots = {0, 1, 2};
  std::vector<float> out(3);
  lazyc_rt_scores(&cache.c, 0, addr(q), 2, addr(slots), 3, 2, 1, 2, 1.0, addr(out));
  std::vector<double> h0 = softmax({2, 0, 2}), h1 = softmax({0, 2, 2});
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(out[j], (h0[j] + h1[j]) / 2, 1e-6);
  EXPECT_NEAR(out[0] + out[1] + out[2], 1.0, 1e-6);
}

TEST(LazyKernelsTest, ScoreWindowRowsAreTheLastPositionsOfTheStep) {
  std::vector<int32_t> prefill = {0, 1, 2, 5, 6, 9, 10};
  EXPECT_EQ(lazyc::scoreWindowRows(prefill.data(), 7, 1), (std::vector<int64_t>{6}));
  // Positions > 10 - 5: 6, 9, 10 (rows 4..6); 5 is out.
  EXPECT_EQ(lazyc::scoreWindowRows(prefill.data(), 7, 5), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(lazyc::scoreWindowRows(prefill.data(), 7, 100).size(), 7u);
  // A decode step: a revived old token and the new one; only the new one is recent.
  std::vector<int32_t> decode = {3, 40};
  EXPECT_EQ(lazyc::scoreWindowRows(decode.data(), 2, 32), (std::vector<int64_t>{1}));
  EXPECT_TRUE(lazyc::scoreWindowRows(decode.data(), 0, 32).empty());
}

TEST(LazyKernelsTest, WindowScoresAreTheMeanOfCausalRows) {
  // One KV head of dim 2, two query heads; keys at slots 0, 1, 3, 4 (a gap at 2).
  Cache cache(5, 2);
  float keys[5][2] = {{1, 0}, {0, 1}, {0, 0}, {1, 1}, {-1, 1}};
  for (int s = 0; s < 5; ++s)
    for (int d = 0; d < 2; ++d)
      cache.k[s * 2 + d] = keys[s][d];
  // Rows at positions 1, 3, 4: [head0 | head1] queries.
  std::vector<float> q = {5, 5, 5, 5, /*pos 3:*/ 1, 0, 0, 1, /*pos 4:*/ 2, 0, 0, 2};
  std::vector<int32_t> pos = {1, 3, 4};
  std::vector<int32_t> slots = {0, 1, 3, 4};
  // Window 1 through the window kernel = the last-row kernel, bit for bit.
  std::vector<float> one(4), last(4);
  lazyc_rt_window_scores(&cache.c, 0, addr(q), addr(pos), 3, addr(slots), 4, 2, 1, 2, 1.0, 1,
                         addr(one), 0, 0.0);
  lazyc_rt_scores(&cache.c, 0, addr(q), 3, addr(slots), 4, 2, 1, 2, 1.0, addr(last));
  EXPECT_EQ(one, last);
  // Window 2: rows at positions 3 and 4 (4 - 2 < p). Position 3 sees slots 0, 1, 3 only.
  std::vector<float> out(4);
  lazyc_rt_window_scores(&cache.c, 0, addr(q), addr(pos), 3, addr(slots), 4, 2, 1, 2, 1.0, 2,
                         addr(out), 0, 0.0);
  std::vector<double> r3h0 = softmax({1, 0, 1}), r3h1 = softmax({0, 1, 1});
  std::vector<double> r4h0 = softmax({2, 0, 2, -2}), r4h1 = softmax({0, 2, 2, 2});
  for (int j = 0; j < 4; ++j) {
    double row3 = j < 3 ? (r3h0[j] + r3h1[j]) / 2 : 0.0;
    double row4 = (r4h0[j] + r4h1[j]) / 2;
    EXPECT_NEAR(out[j], (row3 + row4) / 2, 1e-6) << "key " << j;
  }
  EXPECT_NEAR(out[0] + out[1] + out[2] + out[3], 1.0, 1e-6);
  // The row at position 1 joins with window 4 (4 - 4 < 1): it sees slots 0, 1 and
  // its scores are the same with one or many threads (fixed summation order).
  std::vector<float> wide(4), again(4);
  lazyc_rt_window_scores(&cache.c, 0, addr(q), addr(pos), 3, addr(slots), 4, 2, 1, 2, 1.0, 4,
                         addr(wide), 0, 0.0);
  std::vector<double> r1 = softmax({5, 5});
  EXPECT_NEAR(wide[0], (r1[0] + (r3h0[0] + r3h1[0]) / 2 + (r4h0[0] + r4h1[0]) / 2) / 3, 1e-6);
  EXPECT_NEAR(wide[3], (r4h0[3] + r4h1[3]) / 2 / 3, 1e-6);
  lazyc_rt_window_scores(&cache.c, 0, addr(q), addr(pos), 3, addr(slots), 4, 2, 1, 2, 1.0, 4,
                         addr(again), 0, 0.0);
  EXPECT_EQ(wide, again);
}

TEST(LazyKernelsTest, AuxCacheSavesDroppedRowsAndRevivesThem) {
  Cache cache(8);
  std::vector<float> hidden = {1, 1, 2, 2, 3, 3}; // rows at positions 1, 4, 6
  std::vector<int32_t> pos = {1, 4, 6}, kept = {4, 6};
  lazyc_rt_aux_save(&cache.c, 0, addr(hidden), addr(pos), 3, 2, addr(kept), 2);
  EXPECT_EQ(cache.stat(LAZYC_STAT_SAVED, 0), 1);
  // Layer 1 holds slot 4 already: only 1 and 6 are missing from {1, 4, 6}.
  cache.cached[1 * 8 + 4] = 1;
  std::vector<int32_t> want = {1, 4, 6};
  ASSERT_EQ(lazyc_rt_missing_size(&cache.c, 1, addr(want), 3), 2);
  std::vector<int32_t> missing(2);
  lazyc_rt_missing(&cache.c, 1, addr(want), 3, addr(missing));
  EXPECT_EQ(missing, (std::vector<int32_t>{1, 6}));
  // A later step computes only position 6: position 1 is revived.
  std::vector<float> fresh = {9, 9};
  std::vector<int32_t> freshPos = {6};
  std::vector<float> out(4);
  lazyc_rt_aux_load(&cache.c, 0, addr(missing), 2, addr(fresh), addr(freshPos), 1, 2, addr(out));
  EXPECT_EQ(out, (std::vector<float>{1, 1, 9, 9}));
  EXPECT_EQ(cache.stat(LAZYC_STAT_REVIVED, 0), 1);
  EXPECT_EQ(cache.stat(LAZYC_STAT_MISSING_INPUT, 0), 0);
  // A token that was never saved has no input: counted, zero-filled.
  std::vector<int32_t> unknown = {3};
  lazyc_rt_aux_load(&cache.c, 0, addr(unknown), 1, addr(fresh), addr(freshPos), 1, 2, addr(out));
  EXPECT_EQ(cache.stat(LAZYC_STAT_MISSING_INPUT, 0), 1);
  EXPECT_EQ(out[0], 0.0f);
}

TEST(LazyKernelsTest, SelectOncePrunesAtTheFirstStepOnly) {
  Cache cache(6);
  std::vector<float> scores = {0.9f, 0.1f, 0.8f, 0.0f, 0.2f};
  std::vector<int32_t> keys = {0, 1, 2, 3, 4}, pos = {0, 1, 2, 3, 4};
  // First step: layer 1 holds none of the keys -> percentile selection.
  ASSERT_EQ(
      lazyc_rt_select_once_size(&cache.c, 0, addr(scores), addr(keys), 5, addr(pos), 5, 0.6, 0),
      3);
  // Later step: layer 1 holds 0, 2, 4; the step computes position 5.
  for (int p : {0, 2, 4})
    cache.cached[6 + p] = 1;
  std::vector<float> later = {0.0f, 0.9f, 0.0f, 0.9f, 0.0f, 0.5f};
  std::vector<int32_t> keys2 = {0, 1, 2, 3, 4, 5}, pos2 = {5};
  ASSERT_EQ(
      lazyc_rt_select_once_size(&cache.c, 0, addr(later), addr(keys2), 6, addr(pos2), 1, 0.5, 0),
      4);
  std::vector<int32_t> out(4);
  lazyc_rt_select_once(&cache.c, 0, addr(later), addr(keys2), 6, addr(pos2), 1, 0.5, 0,
                       addr(out));
  EXPECT_EQ(out, (std::vector<int32_t>{0, 2, 4, 5})); // 1 and 3 never come back
}

TEST(LazyKernelsTest, ReuseBiasScalesTheScoresOfTokensTheNextLayerHolds) {
  Cache cache(6);
  std::vector<float> scores = {0.30f, 0.05f, 0.20f, 0.25f, 0.10f, 0.10f};
  std::vector<int32_t> keys = {0, 1, 2, 3, 4, 5};
  std::vector<float> out(6, -1.0f);
  // The prefill: layer 1 holds none of the keys, nothing changes.
  lazyc_rt_reuse_bias(&cache.c, 0, addr(scores), addr(keys), 6, 4.0, addr(out));
  EXPECT_EQ(out, scores);
  // Layer 1 holds 1 and 4 (computed in an earlier step); layer 0's
  // membership does not count.
  cache.cached[6 + 1] = cache.cached[6 + 4] = 1;
  cache.cached[2] = 1;
  lazyc_rt_reuse_bias(&cache.c, 0, addr(scores), addr(keys), 6, 4.0, addr(out));
  EXPECT_EQ(out, (std::vector<float>{0.30f, 0.20f, 0.20f, 0.25f, 0.40f, 0.10f}));
  // A key list that skips positions reads each key's own slot.
  std::vector<int32_t> some = {1, 3, 4};
  std::vector<float> three = {1.0f, 1.0f, 1.0f}, biased(3);
  lazyc_rt_reuse_bias(&cache.c, 0, addr(three), addr(some), 3, 2.5, addr(biased));
  EXPECT_EQ(biased, (std::vector<float>{2.5f, 1.0f, 2.5f}));
  // The selection then keeps the held tokens unless outscored 4-fold: the
  // top 3 of the biased scores are 0 (0.30, not held), 4 (0.40) and the
  // step's last row 5; without the bias, 0, 3 and 5.
  std::vector<int32_t> kept(3);
  lazyc_rt_select(addr(out), 6, 0.5, 0, addr(kept));
  EXPECT_EQ(kept, (std::vector<int32_t>{0, 4, 5}));
  lazyc_rt_select(addr(scores), 6, 0.5, 0, addr(kept));
  EXPECT_EQ(kept, (std::vector<int32_t>{0, 3, 5}));
  // Only a step of one new token is biased: a decode step (step_tokens 1)
  // like an unset count; a step of several (a follow-up question) is not.
  cache.c.step_tokens = 1;
  lazyc_rt_reuse_bias(&cache.c, 0, addr(three), addr(some), 3, 2.5, addr(biased));
  EXPECT_EQ(biased, (std::vector<float>{2.5f, 1.0f, 2.5f}));
  cache.c.step_tokens = 12;
  lazyc_rt_reuse_bias(&cache.c, 0, addr(three), addr(some), 3, 2.5, addr(biased));
  EXPECT_EQ(biased, three);
}

TEST(LazyKernelsTest, RandomScoresAreDeterministicUniformAndSeeded) {
  std::vector<int32_t> keys(1000);
  std::iota(keys.begin(), keys.end(), 0);
  std::vector<float> a(1000), b(1000), c(1000);
  lazyc_rt_random_scores(addr(keys), 1000, 3, 7, addr(a));
  lazyc_rt_random_scores(addr(keys), 1000, 3, 7, addr(b));
  lazyc_rt_random_scores(addr(keys), 1000, 3, 8, addr(c));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double mean = 0;
  for (float v : a) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LT(v, 1.0f);
    mean += v / 1000;
  }
  EXPECT_NEAR(mean, 0.5, 0.05);
}

TEST(LazyKernelsTest, KeyedAttentionMatchesDenseOverTheSameSlots) {
  // Two layers' worth of cache; one query row at position 3 attending over
  // all of [0, 3] (dense) vs the key list {0, 1, 2, 3}: identical output.
  const int64_t heads = 2, kvHeads = 1, dim = 4;
  Cache dense(8, kvHeads * dim), keyed(8, kvHeads * dim);
  std::vector<float> q(4 * heads * dim), k(4 * dim), v(4 * dim);
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = std::sin(0.3f * static_cast<float>(i));
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::cos(0.7f * static_cast<float>(i));
    v[i] = static_cast<float>(i % 5);
  }
  std::vector<int32_t> pos = {0, 1, 2, 3}, all = {0, 1, 2, 3};
  std::vector<float> a(4 * heads * dim), b(4 * heads * dim);
  lazyc_rt_attention(&dense.c, 0, addr(q), addr(k), addr(v), addr(pos), 4, 0, -1, heads, kvHeads,
                     dim, 0.5, addr(a));
  lazyc_rt_attention(&keyed.c, 0, addr(q), addr(k), addr(v), addr(pos), 4, addr(all), 4, heads,
                     kvHeads, dim, 0.5, addr(b));
  EXPECT_EQ(a, b);
  EXPECT_EQ(dense.stat(LAZYC_STAT_COMPUTED, 0), 4);
  EXPECT_EQ(keyed.stat(LAZYC_STAT_KEYS, 0), 4);
  // Writing a cached slot again is counted (the runtime fails such a step).
  lazyc_rt_attention(&keyed.c, 0, addr(q), addr(k), addr(v), addr(pos), 1, addr(all), 1, heads,
                     kvHeads, dim, 0.5, addr(b));
  EXPECT_EQ(keyed.stat(LAZYC_STAT_RECOMPUTED, 0), 1);
  // A key list skipping slot 1: row 3's output differs from dense.
  std::vector<int32_t> some = {0, 2, 3};
  std::vector<int32_t> last = {3};
  Cache sparse(8, kvHeads * dim);
  std::vector<float> c(4 * heads * dim);
  lazyc_rt_attention(&sparse.c, 0, addr(q), addr(k), addr(v), addr(pos), 4, addr(some), 3, heads,
                     kvHeads, dim, 0.5, addr(c));
  EXPECT_NE(std::vector<float>(c.begin() + 3 * heads * dim, c.end()),
            std::vector<float>(a.begin() + 3 * heads * dim, a.end()));
  EXPECT_EQ(sparse.stat(LAZYC_STAT_LAST_KEY, 0), 3);
}

/// Causal GQA attention of one query row over the cache's slots `keys`
/// (layer `layer`), in double: the reference of the kernels.
std::vector<double> referenceAttention(const Cache &cache, int layer, const float *q,
                                       const std::vector<int32_t> &keys, int64_t heads,
                                       int64_t kvHeads, int64_t dim, double scale,
                                       double softcap = 0.0, const float *sinks = nullptr) {
  const int64_t kvDim = kvHeads * dim, group = heads / kvHeads;
  const float *kc = cache.k.data() + layer * cache.c.context * kvDim;
  const float *vc = cache.v.data() + layer * cache.c.context * kvDim;
  std::vector<double> out(static_cast<size_t>(heads * dim), 0.0);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / group;
    std::vector<double> s;
    double m = -1e300;
    for (int32_t slot : keys) {
      double dot = 0;
      for (int64_t d = 0; d < dim; ++d)
        dot += static_cast<double>(q[h * dim + d]) * kc[slot * kvDim + g * dim + d];
      s.push_back(softcap > 0.0 ? softcap * std::tanh(dot * scale / softcap) : dot * scale);
      m = std::max(m, s.back());
    }
    // A sink: one more logit in the softmax, with no value.
    if (sinks)
      m = std::max(m, static_cast<double>(sinks[h]));
    double sum = sinks ? std::exp(sinks[h] - m) : 0.0;
    for (double &x : s)
      sum += (x = std::exp(x - m));
    for (size_t j = 0; j < keys.size(); ++j)
      for (int64_t d = 0; d < dim; ++d)
        out[h * dim + d] += s[j] / sum * vc[keys[j] * kvDim + g * dim + d];
  }
  return out;
}


// Attention's every path against the reference over the slots each row
// sees: a 600-row prefill (the blocked path, checked at rows of each block:
// its softmax's exp is a polynomial whose errors show at 2e-6), decode steps
// of 1 and 3 rows (chunks of 256 keys per KV group, merged per head; the last
// chunk partial), a LazyLLM key list of every third slot, and a decode step
// reviving 24 early rows over the cache's slots and over a key list (the
// blocked path's rectangle would be mostly masked: at head dim 64 they take
// the few-rows kernels); on an f32, an f16 or a bf16 cache (the reference
// reads the values the cache holds; bf16 also rounds Q and the probabilities
// in the blocked path). With `window` > 0 (lazyc_rt_attention_ex's sliding
// window: row i sees the slots after pos[i] - window) a 256-row block's rows
// see different key ranges, and the window skips the first decode chunks; a
// window past every position changes nothing.
void checkAttentionPaths(int64_t dim, int64_t kvType, int64_t window, double softcap = 0.0,
                         bool withSinks = false) {
  SCOPED_TRACE("head dim " + std::to_string(dim) + ", cache type " + std::to_string(kvType) +
               ", window " + std::to_string(window) + ", softcap " + std::to_string(softcap) +
               (withSinks ? ", sinks" : ""));
  const int64_t heads = 6, kvHeads = 2, qDim = heads * dim, kvDim = kvHeads * dim;
  // gpt-oss's sinks: from far below the scores (no effect) to far above
  // (most of each row's probability).
  std::vector<float> sinks = {-30.0f, -1.0f, 0.0f, 2.5f, 6.0f, 12.0f};
  const int64_t prefill = 600, context = prefill + 8;
  const double scale = 0.25;
  const double bound = kvType == 1 ? 6e-3 : kvType == 2 ? 2e-5 : 2e-6;
  auto fill = [](std::vector<float> &x, float a, float b) {
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = std::sin(a * static_cast<float>(i) + b);
  };
  auto attend = [&](Cache &cache, std::vector<float> &q, std::vector<float> &k,
                    std::vector<float> &v, std::vector<int32_t> &pos, std::vector<int32_t> *keys,
                    std::vector<float> &out, int64_t w) {
    const auto rows = static_cast<int64_t>(pos.size());
    const uint64_t keyList = keys ? addr(*keys) : 0;
    const int64_t numKeys = keys ? static_cast<int64_t>(keys->size()) : -1;
    if (withSinks)
      lazyc_rt_attention_sinks(&cache.c, 1, addr(q), addr(k), addr(v), addr(pos), rows,
                               keyList, numKeys, heads, kvHeads, dim, scale, addr(out), 0, 0, 0,
                               w, softcap, addr(sinks));
    else if (w == 0 && softcap == 0.0)
      lazyc_rt_attention(&cache.c, 1, addr(q), addr(k), addr(v), addr(pos), rows, keyList,
                         numKeys, heads, kvHeads, dim, scale, addr(out));
    else
      lazyc_rt_attention_ex(&cache.c, 1, addr(q), addr(k), addr(v), addr(pos), rows, keyList,
                            numKeys, heads, kvHeads, dim, scale, addr(out), 0, 0, 0, w,
                            softcap);
  };
  // Row `row` of `got` against the reference over the slots of `keys` that
  // lie in its window (the cache's stored values, widened).
  auto check = [&](const Cache &cache, const std::vector<float> &query,
                   const std::vector<float> &got, int64_t row, int32_t position,
                   const std::vector<int32_t> &keys) {
    std::vector<int32_t> seen;
    for (int32_t slot : keys)
      if (slot <= position && (window == 0 || slot > position - window))
        seen.push_back(slot);
    Cache widened(context, kvDim);
    for (size_t i = 0; i < widened.k.size(); ++i) {
      if (kvType == 0) {
        widened.k[i] = cache.k[i];
        widened.v[i] = cache.v[i];
      } else if (kvType == 1) {
        widened.k[i] = lazyc::rt::bf16ToFloat(cache.kh[i]);
        widened.v[i] = lazyc::rt::bf16ToFloat(cache.vh[i]);
      } else {
        widened.k[i] = lazyc::rt::halfToFloat(cache.kh[i]);
        widened.v[i] = lazyc::rt::halfToFloat(cache.vh[i]);
      }
    }
    auto want = referenceAttention(widened, 1, query.data() + row * qDim, seen, heads, kvHeads,
                                   dim, scale, softcap, withSinks ? sinks.data() : nullptr);
    double worst = 0;
    for (int64_t i = 0; i < qDim; ++i)
      worst = std::max(worst, std::fabs(got[row * qDim + i] - want[i]));
    EXPECT_LT(worst, bound) << "row " << row << " at " << position << " over " << seen.size()
                            << " keys";
  };
  std::vector<float> q(prefill * qDim), k(prefill * kvDim), v(prefill * kvDim),
      out(prefill * qDim);
  fill(q, 0.37f, 0.1f);
  fill(k, 0.71f, 0.2f);
  fill(v, 0.13f, 0.3f);
  std::vector<int32_t> pos(prefill), all(context);
  std::iota(pos.begin(), pos.end(), 0);
  std::iota(all.begin(), all.end(), 0);
  Cache cache(context, kvDim, kvType);
  attend(cache, q, k, v, pos, nullptr, out, window);
  for (int64_t row : {0, 1, 50, 99, 100, 101, 255, 256, 300, 355, 356, 512, 599})
    check(cache, q, out, row, pos[row], all);
  // A window wider than the context is no window.
  {
    Cache wide(context, kvDim, kvType), none(context, kvDim, kvType);
    std::vector<float> got(prefill * qDim), want(prefill * qDim);
    attend(wide, q, k, v, pos, nullptr, got, 1 << 20);
    attend(none, q, k, v, pos, nullptr, want, 0);
    EXPECT_EQ(got, want);
  }
  // Decode steps of 1 and 3 rows (on copies of the prefilled cache).
  for (int64_t rows : {1, 3}) {
    Cache step(context, kvDim, kvType);
    attend(step, q, k, v, pos, nullptr, out, window);
    std::vector<float> dq(rows * qDim), dk(rows * kvDim), dv(rows * kvDim), dout(rows * qDim);
    fill(dq, 0.53f, 1.0f);
    fill(dk, 0.29f, 2.0f);
    fill(dv, 0.17f, 3.0f);
    std::vector<int32_t> dpos;
    for (int64_t r = 0; r < rows; ++r)
      dpos.push_back(static_cast<int32_t>(prefill + r));
    attend(step, dq, dk, dv, dpos, nullptr, dout, window);
    for (int64_t r = 0; r < rows; ++r)
      check(step, dq, dout, r, dpos[r], all);
    EXPECT_EQ(step.stat(LAZYC_STAT_KEYS, 1), prefill + rows);
  }
  // A key list: every third slot, then the new one.
  std::vector<int32_t> keys;
  for (int32_t slot = 0; slot < prefill; slot += 3)
    keys.push_back(slot);
  keys.push_back(prefill);
  std::vector<float> dq(qDim), dk(kvDim), dv(kvDim), dout(qDim);
  fill(dq, 0.53f, 1.0f);
  fill(dk, 0.29f, 2.0f);
  fill(dv, 0.17f, 3.0f);
  std::vector<int32_t> dpos = {static_cast<int32_t>(prefill)};
  attend(cache, dq, dk, dv, dpos, &keys, dout, window);
  check(cache, dq, dout, 0, prefill, keys);
  EXPECT_EQ(cache.stat(LAZYC_STAT_KEYS, 1), static_cast<int64_t>(keys.size()));
  EXPECT_EQ(cache.stat(LAZYC_STAT_LAST_KEY, 1), prefill);
  EXPECT_EQ(cache.stat(LAZYC_STAT_UNCACHED_KEY, 1), 0);
  // Revived early rows and a new one, over the cache's slots and a key list.
  std::vector<int32_t> revived;
  for (int32_t p = 5; p < 240; p += 10)
    revived.push_back(p);
  revived.push_back(prefill + 1);
  const auto n = static_cast<int64_t>(revived.size());
  std::vector<float> rq(n * qDim), rk(n * kvDim), rv(n * kvDim), rout(n * qDim);
  fill(rq, 0.43f, 4.0f);
  fill(rk, 0.31f, 5.0f);
  fill(rv, 0.19f, 6.0f);
  for (bool keyed : {false, true}) {
    SCOPED_TRACE(keyed ? "revived rows over a key list" : "revived rows");
    std::vector<int32_t> set = keys;
    set.push_back(prefill + 1);
    for (int32_t p : revived)
      if (!std::binary_search(set.begin(), set.end(), p))
        set.insert(std::upper_bound(set.begin(), set.end(), p), p);
    attend(cache, rq, rk, rv, revived, keyed ? &set : nullptr, rout, window);
    for (int64_t r = 0; r < n; ++r)
      check(cache, rq, rout, r, revived[r], keyed ? set : all);
  }
}

// Head dim 64 (SmolLM2's, Llama's is 128) takes the AVX-512 kernels of a
// GQA group's scores and outputs where the CPU has them; 16, the GEMMs.
TEST(LazyKernelsTest, DecodeAttentionMatchesTheReference) {
  checkAttentionPaths(16, 0, 0);
  checkAttentionPaths(64, 0, 0);
}

TEST(LazyKernelsTest, SlidingWindowAttentionMatchesTheReference) {
  for (int64_t kvType : {0, 2, 1}) {
    checkAttentionPaths(16, kvType, 100);
    checkAttentionPaths(64, kvType, 100);
  }
}

// Gemma 2's soft-capped scores (cap * tanh(s / cap)) on every path, with and
// without a window; a cap of 1 squashes these scores (up to ~8) hard.
TEST(LazyKernelsTest, SoftcappedAttentionMatchesTheReference) {
  for (int64_t kvType : {0, 2, 1})
    for (int64_t window : {0, 100}) {
      checkAttentionPaths(16, kvType, window, 1.0);
      checkAttentionPaths(64, kvType, window, 1.0);
    }
}

// gpt-oss's attention sinks (a per-head logit in each softmax's denominator)
// on every path and cache type, with and without a sliding window.
TEST(LazyKernelsTest, AttentionSinksMatchTheReference) {
  for (int64_t kvType : {0, 2, 1})
    for (int64_t window : {0, 100}) {
      checkAttentionPaths(16, kvType, window, 0.0, /*withSinks=*/true);
      checkAttentionPaths(64, kvType, window, 0.0, /*withSinks=*/true);
    }
}

// A sliding window in the LazyLLM scores: a row's keys at or before its
// position - sliding score 0, the others as over only its window's keys.
TEST(LazyKernelsTest, WindowScoresRespectASlidingWindow) {
  const int64_t heads = 2, kvHeads = 1, dim = 2;
  Cache cache(16, kvHeads * dim);
  // Keys at slots 0, 2, 5, 7, 9; the step's rows at positions 8 and 9.
  std::vector<int32_t> slots = {0, 2, 5, 7, 9}, pos = {8, 9};
  const float keyRows[5][2] = {{1, 0}, {0, 1}, {1, 1}, {-1, 1}, {1, -1}};
  for (size_t j = 0; j < slots.size(); ++j)
    for (int d = 0; d < 2; ++d)
      cache.k[(16 + slots[j]) * 2 + d] = keyRows[j][d]; // layer 1
  std::vector<float> q = {1, 0, 0, 1, /*row 9:*/ 2, 1, 1, 2};
  std::vector<float> got(slots.size()), full(slots.size());
  // Sliding window 5: row 9 sees slots 5, 7, 9.
  lazyc_rt_window_scores(&cache.c, 1, addr(q), addr(pos), 2, addr(slots), 5, heads, kvHeads, dim,
                         1.0, 1, addr(got), 5, 0.0);
  auto h0 = softmax({2 * 1 + 1 * 1, 2 * -1 + 1 * 1, 2 * 1 + 1 * -1});
  auto h1 = softmax({1 * 1 + 2 * 1, 1 * -1 + 2 * 1, 1 * 1 + 2 * -1});
  EXPECT_EQ(got[0], 0.0f);
  EXPECT_EQ(got[1], 0.0f);
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(got[2 + j], (h0[j] + h1[j]) / 2, 1e-6) << j;
  // Window 2 of rows (8 and 9): row 8 sees slots 5, 7 (its window 5: after 3).
  lazyc_rt_window_scores(&cache.c, 1, addr(q), addr(pos), 2, addr(slots), 5, heads, kvHeads, dim,
                         1.0, 2, addr(got), 5, 0.0);
  auto r8h0 = softmax({1, -1}), r8h1 = softmax({1, 1});
  EXPECT_EQ(got[0], 0.0f);
  EXPECT_EQ(got[1], 0.0f);
  EXPECT_NEAR(got[2], ((r8h0[0] + r8h1[0]) / 2 + (h0[0] + h1[0]) / 2) / 2, 1e-6);
  EXPECT_NEAR(got[3], ((r8h0[1] + r8h1[1]) / 2 + (h0[1] + h1[1]) / 2) / 2, 1e-6);
  EXPECT_NEAR(got[4], (h0[2] + h1[2]) / 4, 1e-6);
  // Soft-capped at 1 (Gemma 2): the softmax of tanh of the scores.
  lazyc_rt_window_scores(&cache.c, 1, addr(q), addr(pos), 2, addr(slots), 5, heads, kvHeads, dim,
                         1.0, 1, addr(got), 5, 1.0);
  auto c0 = softmax({std::tanh(3.0), std::tanh(-1.0), std::tanh(1.0)});
  auto c1 = softmax({std::tanh(3.0), std::tanh(1.0), std::tanh(-1.0)});
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(got[2 + j], (c0[j] + c1[j]) / 2, 1e-6) << j;
  // No sliding window: every key scores.
  lazyc_rt_window_scores(&cache.c, 1, addr(q), addr(pos), 2, addr(slots), 5, heads, kvHeads, dim,
                         1.0, 1, addr(full), 0, 0.0);
  EXPECT_GT(full[0], 0.0f);
  EXPECT_GT(full[1], 0.0f);
  // Attention sinks (gpt-oss): each head's softmax has the sink's logit
  // too, its probabilities as the layer's attention's (summing to < 1).
  std::vector<float> sinks = {2.0f, -1.0f};
  lazyc_rt_sink_scores(&cache.c, 1, addr(q), addr(pos), 2, addr(slots), 5, heads, kvHeads, dim,
                       1.0, 1, addr(got), 5, 0.0, addr(sinks));
  auto s0 = softmax({3, -1, 1, 2}), s1 = softmax({3, 1, -1, -1}); // the sinks last
  EXPECT_EQ(got[0], 0.0f);
  EXPECT_EQ(got[1], 0.0f);
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(got[2 + j], (s0[j] + s1[j]) / 2, 1e-6) << j;
  // Without positions: the last row over every key.
  std::vector<float> last(slots.size());
  lazyc_rt_sink_scores(&cache.c, 1, addr(q), 0, 2, addr(slots), 5, heads, kvHeads, dim, 1.0, 1,
                       addr(last), 0, 0.0, addr(sinks));
  auto a0 = softmax({2, 1, 3, -1, 1, 2}), a1 = softmax({1, 2, 3, 1, -1, -1});
  for (int j = 0; j < 5; ++j)
    EXPECT_NEAR(last[j], (a0[j] + a1[j]) / 2, 1e-6) << j;
}

// The prefill path's softmax (more than 4 rows) evaluates exp by a
// polynomial: with one-hot values (key j's value is the unit vector j) the
// output row is the probabilities themselves, each checked relative to
// itself. Scores fall from 0 to -7.75 in steps of 1/4 (probabilities over
// three orders of magnitude); 32 keys give rows with a full 16-lane vector
// and a scalar tail.
TEST(LazyKernelsTest, PrefillSoftmaxProbabilitiesAreExact) {
  const int64_t n = 32, dim = n; // one head, one KV head
  Cache cache(n, dim);
  std::vector<float> q(n * dim, 1.0f), k(n * dim, 0.0f), v(n * dim, 0.0f), out(n * dim);
  std::vector<int32_t> pos(n);
  for (int64_t j = 0; j < n; ++j) {
    k[j * dim + j] = -0.25f * static_cast<float>(j);
    v[j * dim + j] = 1.0f;
    pos[j] = static_cast<int32_t>(j);
  }
  lazyc_rt_attention(&cache.c, 0, addr(q), addr(k), addr(v), addr(pos), n, 0, -1, 1, 1, dim,
                     1.0, addr(out));
  double worst = 0;
  for (int64_t row = 0; row < n; ++row) {
    std::vector<double> scores;
    for (int64_t j = 0; j <= row; ++j)
      scores.push_back(-0.25 * static_cast<double>(j));
    const std::vector<double> want = softmax(scores);
    for (int64_t j = 0; j < n; ++j) {
      const double got = out[row * dim + j];
      if (j > row) {
        EXPECT_EQ(got, 0.0) << "row " << row << " sees the later key " << j;
        continue;
      }
      worst = std::max(worst, std::fabs(got - want[j]) / want[j]);
    }
  }
  EXPECT_LT(worst, 1e-6) << "largest relative error of a probability";
}

// An f16 KV cache (lazy-compile --kv-cache=f16) stores keys and values
// rounded to f16: with inputs that are f16 values already, prefill (the
// blocked path), decode (a few rows) and the LazyLLM scores compute what an
// f32 cache does, up to the GEMMs' operand layout; other inputs are rounded
// to nearest even on the way in.
TEST(LazyKernelsTest, HalfCacheMatchesF32OnHalfValues) {
  const int64_t heads = 4, kvHeads = 2, dim = 8, qDim = heads * dim, kvDim = kvHeads * dim;
  const int64_t rows = 40;
  std::vector<float> q(rows * qDim), k(rows * kvDim), v(rows * kvDim);
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = lazyc::rt::halfToFloat(lazyc::rt::floatToHalf(std::cos(0.71f * static_cast<float>(i))));
    v[i] = lazyc::rt::halfToFloat(lazyc::rt::floatToHalf(std::sin(0.13f * static_cast<float>(i))));
  }
  std::vector<int32_t> pos(rows);
  for (int64_t i = 0; i < rows; ++i)
    pos[i] = static_cast<int32_t>(i);
  Cache wide(64, kvDim), half(64, kvDim, /*kvType=*/2);
  auto near = [](const std::vector<float> &a, const std::vector<float> &b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a[i], b[i], 1e-6f) << i;
  };
  // Prefill of rows - 1 rows, then one decode row.
  std::vector<float> a((rows - 1) * qDim), b(a.size());
  for (Cache *c : {&wide, &half})
    lazyc_rt_attention(&c->c, 1, addr(q), addr(k), addr(v), addr(pos), rows - 1, 0, -1, heads,
                       kvHeads, dim, 0.35, addr(c == &wide ? a : b));
  near(a, b);
  for (size_t i = 0; i < (rows - 1) * kvDim; ++i)
    EXPECT_EQ(lazyc::rt::halfToFloat(half.kh[kvDim * 64 + i]), k[i]) << i; // layer 1
  std::vector<float> da(qDim), db(qDim);
  const int64_t last = rows - 1;
  for (Cache *c : {&wide, &half})
    lazyc_rt_attention(&c->c, 1, addr(q) + last * qDim * 4, addr(k) + last * kvDim * 4,
                       addr(v) + last * kvDim * 4, addr(pos) + last * 4, 1, 0, -1, heads,
                       kvHeads, dim, 0.35, addr(c == &wide ? da : db));
  near(da, db);
  // The last row's scores over a key list.
  std::vector<int32_t> keys = {0, 3, 7, 20, 39};
  std::vector<float> sa(keys.size()), sb(keys.size());
  for (Cache *c : {&wide, &half})
    lazyc_rt_scores(&c->c, 1, addr(q) + last * qDim * 4, 1, addr(keys),
                    static_cast<int64_t>(keys.size()), heads, kvHeads, dim, 0.35,
                    addr(c == &wide ? sa : sb));
  near(sa, sb);
  // A value that is not an f16 is stored rounded to nearest even.
  std::vector<float> odd(kvDim, 1.0f + 1.0f / 2048.0f), zero(qDim, 0.0f), out(qDim);
  std::vector<int32_t> at = {50};
  lazyc_rt_attention(&half.c, 0, addr(zero), addr(odd), addr(odd), addr(at), 1, 0, -1, heads,
                     kvHeads, dim, 0.35, addr(out));
  EXPECT_EQ(half.kh[50 * kvDim], lazyc::rt::floatToHalf(1.0f)); // the tie rounds to even
}

// Decode rows over an f16 cache at head dim 64 read its rows in place and
// widen them in registers (the AVX-512 group kernels), an f32 cache's in
// place too, a key list's copied: on values that are f16 already, all three
// compute what the f32 cache does, up to the order of the sums. 600 slots:
// three chunks of 256 keys, the last partial; one and three rows (each over
// its own prefix), and every third slot as a LazyLLM key list.
TEST(LazyKernelsTest, HalfCacheDecodeMatchesF32AtHeadDim64) {
  const int64_t heads = 6, kvHeads = 2, dim = 64, qDim = heads * dim, kvDim = kvHeads * dim;
  const int64_t prefill = 600;
  auto fill = [](std::vector<float> &x, float a, float b, bool asHalf) {
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = std::sin(a * static_cast<float>(i) + b);
      if (asHalf)
        x[i] = lazyc::rt::halfToFloat(lazyc::rt::floatToHalf(x[i]));
    }
  };
  std::vector<float> q(prefill * qDim), k(prefill * kvDim), v(prefill * kvDim),
      out(prefill * qDim);
  fill(q, 0.37f, 0.1f, false);
  fill(k, 0.71f, 0.2f, true);
  fill(v, 0.13f, 0.3f, true);
  std::vector<int32_t> pos(prefill);
  std::iota(pos.begin(), pos.end(), 0);
  Cache wide(prefill + 8, kvDim), half(prefill + 8, kvDim, /*kvType=*/2);
  for (Cache *c : {&wide, &half})
    lazyc_rt_attention(&c->c, 1, addr(q), addr(k), addr(v), addr(pos), prefill, 0, -1, heads,
                       kvHeads, dim, 0.125, addr(out));
  std::vector<int32_t> list;
  for (int32_t slot = 0; slot < prefill; slot += 3)
    list.push_back(slot);
  for (int64_t rows : {1, 3}) {
    std::vector<float> dq(rows * qDim), dk(rows * kvDim), dv(rows * kvDim);
    fill(dq, 0.53f, 1.0f, false);
    fill(dk, 0.29f, 2.0f, true);
    fill(dv, 0.17f, 3.0f, true);
    std::vector<int32_t> dpos(rows);
    std::iota(dpos.begin(), dpos.end(), static_cast<int32_t>(prefill));
    // Dense (every slot up to the row), then over the key list plus the rows.
    std::vector<int32_t> keys = list;
    keys.insert(keys.end(), dpos.begin(), dpos.end());
    for (bool keyed : {false, true}) {
      SCOPED_TRACE(std::to_string(rows) + (keyed ? " rows over a key list" : " rows"));
      std::vector<float> a(rows * qDim), b(rows * qDim);
      for (Cache *c : {&wide, &half})
        lazyc_rt_attention(&c->c, 1, addr(dq), addr(dk), addr(dv), addr(dpos), rows,
                           keyed ? addr(keys) : 0, keyed ? static_cast<int64_t>(keys.size()) : -1,
                           heads, kvHeads, dim, 0.125, addr(c == &wide ? a : b));
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 1e-6f) << i;
    }
  }
  // The rows went to the f16 cache rounded (they are f16 values: exactly).
  EXPECT_EQ(lazyc::rt::halfToFloat(half.kh[(prefill + 8) * kvDim + 5]), k[5]); // layer 1
}

// A bf16 KV cache (lazy-compile --kv-cache=bf16) stores keys and values
// rounded to bf16. Prefill attention (more than 4 rows) then multiplies in
// bf16: Q and the unnormalized probabilities rounded to bf16, f32 sums,
// normalized by the sum of the unrounded probabilities; decode rows widen the
// cache's rows to f32 (exact). Against attention in double on the bf16 values
// (and the rounded Q for prefill): the probabilities' rounding (at most 2^-8 of each)
// bounds a prefill output's error by 2^-8 of the largest |v|; a wrong block,
// head or key offset is off by far more. Dense (a 256-row block and a partial
// one), over a LazyLLM key list, and decode rows.
TEST(LazyKernelsTest, BF16CacheAttentionMatchesTheReference) {
  // GQA groups of 5 query heads.
  const int64_t heads = 10, kvHeads = 2, dim = 64, qDim = heads * dim, kvDim = kvHeads * dim;
  const int64_t rows = 300;
  const double scale = 0.125;
  auto fill = [](std::vector<float> &x, float a, float b, float amplitude, float mean = 0) {
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = mean + amplitude * std::sin(a * static_cast<float>(i) + b);
  };
  auto rounded = [](std::vector<float> x) {
    for (float &value : x)
      value = lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(value));
    return x;
  };
  std::vector<float> q(rows * qDim), k(rows * kvDim), v(rows * kvDim), out(rows * qDim);
  fill(q, 0.37f, 0.1f, 2.0f);
  fill(k, 0.71f, 0.2f, 2.0f);
  fill(v, 0.13f, 0.3f, 0.5f, 0.5f); // outputs near 0.5, not averaged away
  std::vector<float> qr = rounded(q), kr = rounded(k), vr = rounded(v);
  // A query row over the rows `keys` of kr / vr.
  auto reference = [&](const float *query, const std::vector<int32_t> &keys) {
    std::vector<double> o(static_cast<size_t>(qDim), 0.0);
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / (heads / kvHeads);
      std::vector<double> s;
      for (int32_t j : keys) {
        double dot = 0;
        for (int64_t d = 0; d < dim; ++d)
          dot += static_cast<double>(query[h * dim + d]) * kr[j * kvDim + g * dim + d];
        s.push_back(dot * scale);
      }
      const std::vector<double> p = softmax(s);
      for (size_t j = 0; j < keys.size(); ++j)
        for (int64_t d = 0; d < dim; ++d)
          o[h * dim + d] += p[j] * vr[keys[j] * kvDim + g * dim + d];
    }
    return o;
  };
  auto worstError = [&](const float *got, const std::vector<double> &want) {
    double worst = 0;
    for (int64_t i = 0; i < qDim; ++i)
      worst = std::max(worst, std::fabs(got[i] - want[i]));
    return worst;
  };
  const double bound = std::ldexp(1.0, -8) * 1.0 + 1e-5; // max |v| = 1
  std::vector<int32_t> pos(rows);
  std::iota(pos.begin(), pos.end(), 0);
  Cache dense(rows + 8, kvDim, /*kvType=*/1);
  lazyc_rt_attention(&dense.c, 1, addr(q), addr(k), addr(v), addr(pos), rows, 0, -1, heads,
                     kvHeads, dim, scale, addr(out));
  const size_t layer1 = static_cast<size_t>((rows + 8) * kvDim);
  for (size_t i = 0; i < k.size(); ++i) {
    ASSERT_EQ(dense.kh[layer1 + i], lazyc::rt::floatToBF16(k[i])) << i;
    ASSERT_EQ(dense.vh[layer1 + i], lazyc::rt::floatToBF16(v[i])) << i;
  }
  double worst = 0;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int32_t> keys(static_cast<size_t>(r + 1));
    std::iota(keys.begin(), keys.end(), 0);
    worst = std::max(worst, worstError(out.data() + r * qDim, reference(&qr[r * qDim], keys)));
  }
  EXPECT_LT(worst, bound) << "dense prefill";
  EXPECT_GT(worst, 0.0); // the probabilities were rounded
  // LazyLLM's scores read the cache widened: those of an f32 cache holding
  // the same values, over a key list spanning both blocks.
  Cache wide(rows + 8, kvDim);
  std::vector<float> wideOut(rows * qDim);
  lazyc_rt_attention(&wide.c, 1, addr(q), addr(kr), addr(vr), addr(pos), rows, 0, -1, heads,
                     kvHeads, dim, scale, addr(wideOut));
  std::vector<int32_t> scored = {0, 5, 77, 255, 256, 299};
  std::vector<float> fromWide(scored.size()), fromBF16(scored.size());
  for (Cache *c : {&wide, &dense})
    lazyc_rt_scores(&c->c, 1, addr(q) + (rows - 1) * qDim * 4, 1, addr(scored),
                    static_cast<int64_t>(scored.size()), heads, kvHeads, dim, scale,
                    addr(c == &wide ? fromWide : fromBF16));
  for (size_t i = 0; i < scored.size(); ++i)
    EXPECT_NEAR(fromBF16[i], fromWide[i], 1e-6f) << "score of slot " << scored[i];
  // A LazyLLM layer computing its set S_l (every third slot and the last):
  // each row attends to the listed slots up to its own position.
  std::vector<int32_t> set;
  for (int32_t slot = 0; slot < rows; slot += 3)
    set.push_back(slot);
  set.push_back(rows - 1);
  const auto n = static_cast<int64_t>(set.size());
  std::vector<float> sq(n * qDim), sk(n * kvDim), sv(n * kvDim), sout(n * qDim);
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(&q[set[i] * qDim], qDim, &sq[i * qDim]);
    std::copy_n(&k[set[i] * kvDim], kvDim, &sk[i * kvDim]);
    std::copy_n(&v[set[i] * kvDim], kvDim, &sv[i * kvDim]);
  }
  Cache keyed(rows + 8, kvDim, /*kvType=*/1);
  lazyc_rt_attention(&keyed.c, 0, addr(sq), addr(sk), addr(sv), addr(set), n, addr(set), n,
                     heads, kvHeads, dim, scale, addr(sout));
  worst = 0;
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, worstError(sout.data() + i * qDim,
                                       reference(&qr[set[i] * qDim],
                                                 std::vector<int32_t>(set.begin(),
                                                                      set.begin() + i + 1))));
  EXPECT_LT(worst, bound) << "key list";
  // Decode steps (up to 4 rows, the widened values): only the order of f32
  // sums differs from the reference. Three rows at slots rows .. rows + 2
  // (each over its prefix: chunks of 256 keys, the last partial), then one
  // row over a key list.
  const int64_t steps = 3;
  std::vector<float> dq(steps * qDim), dk(steps * kvDim), dv(steps * kvDim), dout(steps * qDim);
  fill(dq, 0.53f, 1.0f, 2.0f);
  fill(dk, 0.29f, 2.0f, 2.0f);
  fill(dv, 0.17f, 3.0f, 0.5f, 0.5f);
  std::vector<int32_t> dpos(steps);
  std::iota(dpos.begin(), dpos.end(), static_cast<int32_t>(rows));
  lazyc_rt_attention(&dense.c, 1, addr(dq), addr(dk), addr(dv), addr(dpos), steps, 0, -1, heads,
                     kvHeads, dim, scale, addr(dout));
  const std::vector<float> stepK = rounded(dk), stepV = rounded(dv);
  kr.insert(kr.end(), stepK.begin(), stepK.end()); // slots rows .. rows + 2 of the reference
  vr.insert(vr.end(), stepV.begin(), stepV.end());
  for (int64_t i = 0; i < steps; ++i) {
    std::vector<int32_t> prefix(static_cast<size_t>(rows + i + 1));
    std::iota(prefix.begin(), prefix.end(), 0);
    EXPECT_LT(worstError(dout.data() + i * qDim, reference(&dq[i * qDim], prefix)), 1e-5)
        << "decode row " << i;
  }
  // One more row (slot rows + 3, the first step's values) over a key list of
  // more than 256 slots: all but every seventh, then its own.
  std::vector<int32_t> listed, at = {static_cast<int32_t>(rows + steps)};
  for (int32_t slot = 0; slot < rows + steps; ++slot)
    if (slot % 7 != 3)
      listed.push_back(slot);
  listed.push_back(at[0]);
  ASSERT_GT(listed.size(), 256u);
  lazyc_rt_attention(&dense.c, 1, addr(dq), addr(dk), addr(dv), addr(at), 1, addr(listed),
                     static_cast<int64_t>(listed.size()), heads, kvHeads, dim, scale,
                     addr(dout));
  kr.insert(kr.end(), stepK.begin(), stepK.begin() + kvDim);
  vr.insert(vr.end(), stepV.begin(), stepV.begin() + kvDim);
  EXPECT_LT(worstError(dout.data(), reference(dq.data(), listed)), 1e-5) << "decode, key list";
}

} // namespace

// lazyc_rt_attention_ex with bf16 query, key/value and output: the f32
// kernel on the widened values, its output rounded to bf16; mixed types too.
TEST(LazyKernelsTest, AttentionExOnBF16OperandsMatchesWidened) {
  const int64_t heads = 2, kvHeads = 1, dim = 4, rows = 4;
  std::vector<float> q(rows * heads * dim), k(rows * dim), v(rows * dim);
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = std::sin(0.3f * static_cast<float>(i));
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::cos(0.7f * static_cast<float>(i));
    v[i] = 0.25f * static_cast<float>(i % 5);
  }
  std::vector<uint16_t> qb(q.size()), kb(k.size()), vb(v.size());
  auto round = [](std::vector<float> &x, std::vector<uint16_t> &bits) {
    for (size_t i = 0; i < x.size(); ++i) {
      bits[i] = lazyc::rt::floatToBF16(x[i]);
      x[i] = lazyc::rt::bf16ToFloat(bits[i]);
    }
  };
  round(q, qb);
  round(k, kb);
  round(v, vb);
  std::vector<int32_t> pos = {0, 1, 2, 3};
  Cache wide(8, kvHeads * dim), narrow(8, kvHeads * dim), mixed(8, kvHeads * dim);
  std::vector<float> want(rows * heads * dim), got(rows * heads * dim);
  std::vector<uint16_t> gotBits(rows * heads * dim);
  lazyc_rt_attention(&wide.c, 0, addr(q), addr(k), addr(v), addr(pos), rows, 0, -1, heads,
                     kvHeads, dim, 0.5, addr(want));
  lazyc_rt_attention_ex(&narrow.c, 0, addr(qb), addr(kb), addr(vb), addr(pos), rows, 0, -1, heads,
                        kvHeads, dim, 0.5, addr(gotBits), 1, 1, 1, 0, 0.0);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(gotBits[i], lazyc::rt::floatToBF16(want[i])) << i;
  EXPECT_EQ(narrow.k, wide.k); // the cache holds the same (widened) keys
  // f32 query (a pruning layer's), bf16 key/value, f32 output.
  lazyc_rt_attention_ex(&mixed.c, 0, addr(q), addr(kb), addr(vb), addr(pos), rows, 0, -1, heads,
                        kvHeads, dim, 0.5, addr(got), 0, 1, 0, 0, 0.0);
  EXPECT_EQ(got, want);
}

namespace {
// bf16 activations (what the CUDA target feeds its GEMMs) on the CPU: the
// same as the f32 kernel on the widened values.
TEST(Kernels, LinearWithBF16InputMatchesWidened) {
  const int64_t rows = 3, in = 8, out = 5;
  std::vector<uint16_t> xb(rows * in);
  std::vector<float> x(rows * in), w(out * in), want(rows * out), got(rows * out);
  for (size_t i = 0; i < xb.size(); ++i) {
    xb[i] = static_cast<uint16_t>(0x3F80 + (i * 37) % 200); // values in [1, 2)
    uint32_t bits = static_cast<uint32_t>(xb[i]) << 16;
    std::memcpy(&x[i], &bits, 4);
  }
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.01f * static_cast<float>(static_cast<int>(i % 7) - 3);
  lazyc_rt_linear(addr(x), rows, in, addr(w), 0, out, addr(want));
  lazyc_rt_linear_ex(addr(xb), 1, rows, in, addr(w), 0, out, addr(got), 0, 0);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_FLOAT_EQ(got[i], want[i]) << i;
}

// f32 linears at the row counts of a pruned model's decode steps: from 16
// to 63 rows the runtime runs oneDNN's sgemm on pieces of at most 15 rows
// (Kernels.cpp, linearGemm), and a single row whose inputs are a multiple of
// 16 runs the AVX-512 GEMV where the CPU has it (4 outputs at a time, then
// the rest); every row must still get its own product, plain and
// accumulating, against a double-precision reference.
TEST(Kernels, LinearOfEveryRowCountMatchesReference) {
  for (auto [in, out] : {std::pair<int64_t, int64_t>{40, 23}, {48, 23}, {64, 8}, {32, 3}})
  for (int64_t rows : {1, 15, 16, 17, 30, 31, 46, 63, 64, 100}) {
    std::vector<float> x(rows * in), w(out * in), y(rows * out), acc(rows * out);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = 0.03f * static_cast<float>(static_cast<int>((i * 7 + rows) % 23) - 11);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 0.05f * static_cast<float>(static_cast<int>((i * 5) % 17) - 8);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = 0.25f * static_cast<float>(i % 4);
    const std::vector<float> start = acc;
    lazyc_rt_linear(addr(x), rows, in, addr(w), 0, out, addr(y));
    lazyc_rt_linear_ex(addr(x), 0, rows, in, addr(w), 0, out, addr(acc), 0, 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double want = 0;
        for (int64_t k = 0; k < in; ++k)
          want += static_cast<double>(x[r * in + k]) * w[o * in + k];
        const size_t i = static_cast<size_t>(r * out + o);
        EXPECT_NEAR(y[i], want, 1e-5) << rows << " rows of " << in << " -> " << out << ": " << r
                                      << ", " << o;
        EXPECT_NEAR(acc[i], start[i] + want, 1e-5) << rows << " rows (accumulating)";
      }
  }
}

// lazyc_rt_linear_ex with accumulate adds the product to y (the residual add
// of lazyc-fuse-linear-add), for f32 and bf16 weights; a bf16 output is the
// rounded f32 product, and a bf16 accumulation the rounded f32 sum.
TEST(Kernels, LinearExAccumulatesAndRoundsToBF16) {
  const int64_t rows = 4, in = 16, out = 6;
  std::vector<float> x(rows * in), w(out * in), product(rows * out);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.25f * static_cast<float>(static_cast<int>(i % 9) - 4);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.125f * static_cast<float>(static_cast<int>(i % 5) - 2);
  lazyc_rt_linear(addr(x), rows, in, addr(w), 0, out, addr(product));
  std::vector<uint16_t> wb(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    wb[i] = lazyc::rt::floatToBF16(w[i]); // exact: multiples of 1/8
  for (int64_t wtype : {0, 1}) {
    uint64_t weights = wtype == 0 ? addr(w) : addr(wb);
    std::vector<float> y(rows * out);
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = 100.0f + static_cast<float>(i);
    lazyc_rt_linear_ex(addr(x), 0, rows, in, weights, wtype, out, addr(y), 0, 1);
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], 100.0f + static_cast<float>(i) + product[i], 1e-4) << wtype << " " << i;
    std::vector<uint16_t> yb(rows * out);
    lazyc_rt_linear_ex(addr(x), 0, rows, in, weights, wtype, out, addr(yb), 1, 0);
    for (size_t i = 0; i < yb.size(); ++i)
      EXPECT_EQ(yb[i], lazyc::rt::floatToBF16(product[i])) << wtype << " " << i;
    // Accumulating into bf16 (a bf16 residual stream): bf16(y + product).
    std::vector<uint16_t> acc(rows * out);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = lazyc::rt::floatToBF16(3.0f + 0.5f * static_cast<float>(i));
    lazyc_rt_linear_ex(addr(x), 0, rows, in, weights, wtype, out, addr(acc), 1, 1);
    for (size_t i = 0; i < acc.size(); ++i)
      EXPECT_EQ(acc[i], lazyc::rt::floatToBF16(3.0f + 0.5f * static_cast<float>(i) + product[i]))
          << wtype << " " << i;
  }
  // Every product is non-zero somewhere: the test would notice a no-op.
  EXPECT_TRUE(std::any_of(product.begin(), product.end(), [](float v) { return v != 0.0f; }));
}

// A GEMM on bf16 weights rounds its f32 input to bf16, whether oneDNN has a
// bf16 matmul on this CPU (AVX-512-bf16, AMX) or the weights are widened to
// f32 (ctest runs this again with ONEDNN_MAX_CPU_ISA=AVX2, which has none):
// the same model computes the same values on either kind of CPU.
// One row with inputs a multiple of 32 runs the AVX512-BF16 GEMV where the
// CPU has it (4 outputs at a time, then the fifth), up to 31 rows its
// few-rows kernel, more rows oneDNN's matmul: all round the input and sum in
// f32, plain and accumulating.
TEST(Kernels, BF16WeightGemmRoundsItsInput) {
  // 1 row: the GEMV; 3, 6, 9: the few-rows kernel's groups of 4 rows and
  // their remainders (5 outputs: a tile of 4 and one more); 40: oneDNN.
  for (int64_t rows : {3, 1, 6, 9, 40}) {
  const int64_t in = 64, out = 5;
  std::vector<float> x(rows * in), rounded(rows * in);
  std::vector<uint16_t> wb(out * in);
  for (size_t i = 0; i < x.size(); ++i) {
    // Values with more mantissa bits than bf16 keeps.
    x[i] = 1.0f + 0.001f * static_cast<float>(i % 37) + 1e-5f * static_cast<float>(i % 11);
    rounded[i] = lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(x[i]));
  }
  for (size_t i = 0; i < wb.size(); ++i)
    wb[i] = lazyc::rt::floatToBF16(0.5f + 0.0078125f * static_cast<float>(i % 13));
  EXPECT_NE(x, rounded);
  std::vector<float> y(rows * out), yRounded(rows * out), exact(rows * out);
  lazyc_rt_linear(addr(x), rows, in, addr(wb), 1, out, addr(y));
  lazyc_rt_linear(addr(rounded), rows, in, addr(wb), 1, out, addr(yRounded));
  for (int64_t r = 0; r < rows; ++r) {
    double worst = 0;
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0, sumUnrounded = 0;
      for (int64_t k = 0; k < in; ++k) {
        const double w = lazyc::rt::bf16ToFloat(wb[o * in + k]);
        sum += rounded[r * in + k] * w;
        sumUnrounded += x[r * in + k] * w;
      }
      exact[r * out + o] = static_cast<float>(sum);
      worst = std::max(worst, std::fabs(sum - sumUnrounded));
    }
    // Unrounded, each row would have outputs off by more than the tolerance
    // below (up to 8e-4 to 5e-3 here); f32 summation error is ~1e-5.
    EXPECT_GT(worst, 5e-4) << "row " << r;
  }
  std::vector<float> acc(rows * out, 0.75f);
  lazyc_rt_linear_ex(addr(x), 0, rows, in, addr(wb), 1, out, addr(acc), 0, 1);
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR(y[i], exact[i], 2e-4) << rows << " rows: " << i;
    EXPECT_NEAR(yRounded[i], exact[i], 2e-4) << rows << " rows: " << i;
    EXPECT_NEAR(acc[i], 0.75 + exact[i], 2e-4) << rows << " rows (accumulating): " << i;
  }
  }
}
} // namespace

namespace {
// The CPU check of the CUDA target's kept index lists (lazy-compile
// --host-index-copies on the CPU): reads of an unchanged list pass; a list
// rewritten after its mark stops the run, naming the element.
// lazyc_rt_parallel_for (the compiled code's outlined loops,
// lazyc-cpu-parallel-loops): every index of [lo, hi) runs exactly once, in
// one contiguous range per thread when the work is large, in one call on the
// calling thread when it is small, none when the range is empty.
struct ParallelForRecord {
  std::mutex lock;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::set<std::thread::id> threads;
  static void body(void *context, int64_t begin, int64_t end) {
    auto *self = static_cast<ParallelForRecord *>(context);
    std::lock_guard<std::mutex> guard(self->lock);
    self->ranges.push_back({begin, end});
    self->threads.insert(std::this_thread::get_id());
  }
  /// Whether the ranges tile [lo, hi) without gaps or overlaps.
  bool tiles(int64_t lo, int64_t hi) {
    std::sort(ranges.begin(), ranges.end());
    int64_t next = lo;
    for (auto [begin, end] : ranges) {
      if (begin != next || end <= begin)
        return false;
      next = end;
    }
    return next == hi;
  }
};

TEST(Kernels, ParallelForSplitsTheRange) {
  cpu_set_t cpus;
  const bool several = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1 &&
                       !std::getenv("OMP_NUM_THREADS");
  ParallelForRecord large;
  lazyc_rt_parallel_for(&ParallelForRecord::body, &large, 5, 4101, 576);
  EXPECT_TRUE(large.tiles(5, 4101));
  if (several) {
    EXPECT_GE(large.ranges.size(), 2u) << "4096 rows of 576 elements ran on one thread";
    EXPECT_EQ(large.threads.size(), large.ranges.size());
  }
  ParallelForRecord small; // 8 rows of 64: not worth waking the threads
  lazyc_rt_parallel_for(&ParallelForRecord::body, &small, 0, 8, 64);
  ASSERT_EQ(small.ranges.size(), 1u);
  EXPECT_TRUE(small.tiles(0, 8));
  EXPECT_EQ(*small.threads.begin(), std::this_thread::get_id());
  ParallelForRecord one; // a decode step's single row
  lazyc_rt_parallel_for(&ParallelForRecord::body, &one, 7, 8, 1 << 20);
  ASSERT_EQ(one.ranges.size(), 1u);
  EXPECT_TRUE(one.tiles(7, 8));
  ParallelForRecord none;
  lazyc_rt_parallel_for(&ParallelForRecord::body, &none, 3, 3, 1 << 20);
  lazyc_rt_parallel_for(&ParallelForRecord::body, &none, 4, 3, 1 << 20);
  EXPECT_TRUE(none.ranges.empty());
}

TEST(HostCopyCheck, AChangedListStopsTheRun) {
  std::vector<int32_t> list = {3, 5, 8, 13};
  lazyc_rt_keep_host_copy(addr(list), 16);
  lazyc_rt_check_host_copy(addr(list), 16);
  lazyc_rt_check_host_copy(addr(list), 8); // a shorter read of the same list
  list[2] = 9;
  EXPECT_EXIT(lazyc_rt_check_host_copy(addr(list), 16), testing::ExitedWithCode(1),
              "changed before a runtime call read it \\(element 2 of 4: was 8, now 9\\)");
  // Marked again (a new list at the address): its new contents are the reference.
  lazyc_rt_keep_host_copy(addr(list), 16);
  lazyc_rt_check_host_copy(addr(list), 16);
  EXPECT_EXIT(lazyc_rt_check_host_copy(addr(list), 20), testing::ExitedWithCode(1),
              "without a kept copy that long");
  std::vector<int32_t> other = {1};
  EXPECT_EXIT(lazyc_rt_check_host_copy(addr(other), 4), testing::ExitedWithCode(1),
              "without a kept copy");
}
} // namespace

namespace {
/// lazyc_rt_moe against a plain double-precision implementation of the
/// routing and the experts (the weights as the kernel reads them: bf16
/// matrices round their input rows to bf16 too, as oneDNN's bf16 matmul).
/// `oai`: gpt-oss's MoE (a router bias, the experts' biases, the clamped
/// SwiGLU with a limit of 1, which the biased gates and ups cross).
/// `bf16Model`: a bf16 router (a bf16 model's), under which MXFP4 experts'
/// prefill GEMMs are bf16 ones (x and the activations rounded to bf16; 160
/// rows give every expert 32 or more). `glm`: GLM-4.5's scoring (each
/// expert's sigmoid, not the softmax) and routed scale (2.5).
void checkMoE(bool bf16, bool normTopK, bool withBias, bool q8 = false, bool oai = false,
              bool mxfp4 = false, bool bf16Model = false, bool glm = false,
              int64_t oneRow = 0) {
  const int64_t rows = oneRow ? 1 : bf16Model ? 160 : 7, hidden = 64, experts = 5, topK = 2,
                ffn = 32;
  std::vector<float> x(rows * hidden), router(experts * hidden), gate(experts * ffn * hidden),
      up(gate.size()), down(experts * hidden * ffn);
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f);
  };
  for (auto *v : {&x, &gate, &up, &down})
    for (float &f : *v)
      f = next() * 0.5f;
  for (float &f : router)
    f = next() * 4.0f; // decisive routing: no near-ties
  // One row (a decode step's): the oneRow-th of 7 rows drawn as above.
  if (oneRow)
    for (int64_t i = 0; i < oneRow * hidden; ++i)
      x[static_cast<size_t>(i % hidden)] = next() * 0.5f;
  auto toBF16 = [](float f) { return lazyc::rt::bf16ToFloat(lazyc::rt::floatToBF16(f)); };
  auto round = [&](float f) { return bf16 || bf16Model ? toBF16(f) : f; };
  std::vector<uint16_t> router16;
  if (bf16Model)
    for (float &f : router) {
      router16.push_back(lazyc::rt::floatToBF16(f));
      f = toBF16(f);
    }
  std::vector<uint16_t> g16, u16, d16;
  if (bf16)
    for (auto [from, to] : {std::pair{&gate, &g16}, {&up, &u16}, {&down, &d16}})
      for (float f : *from)
        to->push_back(lazyc::rt::floatToBF16(f));
  // Q8_0 / MXFP4: the blocks, and the reference on their values.
  std::vector<uint8_t> g8, u8, d8;
  if (q8 || mxfp4)
    for (auto [from, to] : {std::pair{&gate, &g8}, {&up, &u8}, {&down, &d8}}) {
      to->resize(from->size() / 32 * (q8 ? 34 : 17));
      if (q8)
        lazyc::rt::quantizeQ8_0(from->data(), to->data(), from->size());
      else
        lazyc::rt::quantizeMXFP4(from->data(), to->data(), from->size());
      ASSERT_TRUE(lazyc::rt::dequantize(q8 ? lazyc::rt::GGMLType::Q8_0
                                           : lazyc::rt::GGMLType::MXFP4,
                                        to->data(), from->data(), from->size()));
    }
  q8 |= mxfp4; // (the blocks' vectors)
  std::vector<float> y(rows * hidden);
  auto a = [&](auto &v) { return reinterpret_cast<uint64_t>(v.data()); };
  // A selection bias that overturns the plain top-k for some rows.
  std::vector<float> bias(experts);
  for (float &b : bias)
    b = withBias ? next() * 0.6f : 0.0f;
  std::vector<float> routerBias(experts), gateBias(experts * ffn), upBias(gateBias.size()),
      downBias(experts * hidden);
  for (auto *v : {&routerBias, &gateBias, &upBias, &downBias})
    for (float &f : *v)
      f = oai ? next() * 4.0f : 0.0f;
  const double limit = 1.0;
  lazyc_rt_moe(a(x), rows, hidden, bf16Model ? a(router16) : a(router), bf16Model ? 1 : 0,
               withBias ? a(bias) : 0, oai ? a(routerBias) : 0,
               bf16 ? a(g16) : q8 ? a(g8) : a(gate), bf16 ? a(u16) : q8 ? a(u8) : a(up),
               bf16 ? a(d16) : q8 ? a(d8) : a(down), oai ? a(gateBias) : 0,
               oai ? a(upBias) : 0, oai ? a(downBias) : 0, bf16 ? 1 : mxfp4 ? 4 : q8 ? 3 : 0,
               experts, topK,
               ffn, normTopK ? 1 : 0, 0.0, oai ? 1 : 0, limit, glm ? 1 : 0, glm ? 2.5 : 1.0,
               a(y));
  int64_t clamped = 0;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> p(experts);
    double max = -1e300, sum = 0;
    for (int64_t e = 0; e < experts; ++e) {
      for (int64_t c = 0; c < hidden; ++c)
        p[e] += double(bf16Model ? toBF16(x[r * hidden + c]) : x[r * hidden + c]) *
                router[e * hidden + c];
      p[e] += routerBias[e];
      max = std::max(max, p[e]);
    }
    if (glm) { // scores p / sum with sum = 1
      for (double &v : p)
        v = 1.0 / (1.0 + std::exp(-v));
      sum = 1.0;
    } else {
      for (double &v : p)
        sum += v = std::exp(v - max);
    }
    std::vector<int64_t> order(experts);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
      return p[i] / sum + bias[i] > p[j] / sum + bias[j];
    });
    double chosen = p[order[0]] / sum + p[order[1]] / sum;
    std::vector<double> want(hidden, 0.0);
    for (int64_t k = 0; k < topK; ++k) {
      const int64_t e = order[k];
      const double w = p[e] / sum / (normTopK ? chosen : 1.0) * (glm ? 2.5 : 1.0);
      std::vector<double> act(ffn);
      for (int64_t f = 0; f < ffn; ++f) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < hidden; ++c) {
          double xi = round(x[r * hidden + c]);
          g += xi * round(gate[(e * ffn + f) * hidden + c]);
          u += xi * round(up[(e * ffn + f) * hidden + c]);
        }
        g += gateBias[e * ffn + f];
        u += upBias[e * ffn + f];
        if (oai) {
          clamped += g > limit || std::abs(u) > limit;
          g = std::min(g, limit);
          u = std::clamp(u, -limit, limit);
          act[f] = round(static_cast<float>(g / (1 + std::exp(-1.702 * g)) * (u + 1)));
        } else {
          act[f] = round(static_cast<float>(g / (1 + std::exp(-g)) * u));
        }
      }
      for (int64_t c = 0; c < hidden; ++c) {
        double d = 0;
        for (int64_t f = 0; f < ffn; ++f)
          d += act[f] * round(down[(e * hidden + c) * ffn + f]);
        want[c] += w * (d + downBias[e * hidden + c]);
      }
    }
    for (int64_t c = 0; c < hidden; ++c)
      // (A bf16 model's 160 rows: the activations' roundings to bf16 flip a
      // few ulps of 2^-8 against the reference's.)
      EXPECT_NEAR(y[r * hidden + c], want[c],
                  (bf16Model ? 1e-3 : 1e-4) + 1e-3 * std::abs(want[c]))
          << "row " << r << " column " << c
          << (bf16 ? " (bf16)" : mxfp4 ? " (mxfp4)" : q8 ? " (q8_0)" : " (f32)")
          << (normTopK ? " renormalized" : "") << (withBias ? " biased" : "")
          << (oai ? " gpt-oss" : "") << (glm ? " glm-4.5" : "");
  }
  if (oai) { // the clamps were crossed, both ways
    EXPECT_GT(clamped, rows * topK * ffn / 8);
  }
}
} // namespace

TEST(LazyKernelsTest, MixtureOfExpertsMatchesAReference) {
  for (bool bf16 : {false, true})
    for (bool norm : {true, false})
      for (bool bias : {false, true})
        checkMoE(bf16, norm, bias);
  checkMoE(false, true, true, /*q8=*/true);
  for (bool bf16 : {false, true})
    checkMoE(bf16, /*normTopK=*/true, /*withBias=*/false, /*q8=*/false, /*oai=*/true);
  // gpt-oss's own: MXFP4 experts.
  checkMoE(false, /*normTopK=*/true, /*withBias=*/false, /*q8=*/false, /*oai=*/true,
           /*mxfp4=*/true);
  checkMoE(false, /*normTopK=*/true, /*withBias=*/false, /*q8=*/false, /*oai=*/true,
           /*mxfp4=*/true, /*bf16Model=*/true);
  // GLM-4.5's: sigmoid scores, a selection bias, weights scaled by 2.5.
  for (bool norm : {true, false})
    checkMoE(false, norm, /*withBias=*/true, false, false, false, false, /*glm=*/true);
  checkMoE(true, true, true, false, false, false, false, /*glm=*/true);
  // A decode step's one row through bf16 experts (lazyc_rt_moe's one-row path),
  // several rows' worth of routings.
  for (int64_t row = 1; row <= 6; ++row)
    for (bool norm : {true, false})
      checkMoE(true, norm, /*withBias=*/row % 2 == 0, false, false, false, false, false, row);
}

/// The one-row path of bf16 experts (all their GEMVs in two parallel loops)
/// gives the per-expert path's values bit for bit: expert biases of zero
/// send the same row through the latter.
TEST(LazyKernelsTest, MixtureOfExpertsOneRowPathIsThePerExpertPath) {
  const int64_t hidden = 64, experts = 6, topK = 3, ffn = 96;
  uint32_t seed = 777;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
  };
  std::vector<float> x(hidden), router(experts * hidden);
  std::vector<uint16_t> gate(experts * ffn * hidden), up(gate.size()), down(gate.size());
  for (float &f : x)
    f = next();
  for (float &f : router)
    f = next() * 4.0f;
  for (auto *w : {&gate, &up, &down})
    for (uint16_t &b : *w)
      b = lazyc::rt::floatToBF16(next() * 0.5f);
  std::vector<float> zeros(experts * std::max(ffn, hidden), 0.0f);
  auto a = [](const auto &v) { return reinterpret_cast<uint64_t>(v.data()); };
  for (int64_t norm : {0, 1}) {
    std::vector<float> fast(hidden), general(hidden);
    for (bool biased : {false, true})
      lazyc_rt_moe(a(x), 1, hidden, a(router), 0, 0, 0, a(gate), a(up), a(down),
                   biased ? a(zeros) : 0, biased ? a(zeros) : 0, biased ? a(zeros) : 0, 1,
                   experts, topK, ffn, norm, 0.0, 0, 7.0, 0, 1.0,
                   biased ? a(general) : a(fast));
    EXPECT_EQ(fast, general) << "norm_top_k " << norm;
    EXPECT_GT(*std::max_element(fast.begin(), fast.end()), 0.0f);
  }
}
