//===- LazyKernels.cpp - LazyLLM kernels: scores, selection, Aux Cache -----===//
//
// The kernels behind the lazy dialect's ops (lazyc_rt_* in Kernels.h). They
// keep the invariants of ../shared/LAZYLLM.md checkable: every row computed,
// saved or revived is counted in LazycKVCache::stats, and a row that has no
// input (neither fresh nor in the Aux Cache) is counted instead of read.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/KVRows.h"
#include "runtime/cpu/Profile.h"
#include "runtime/cpu/Simd.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

namespace {

template <typename T> T *ptr(uint64_t address) { return reinterpret_cast<T *>(address); }

/// Adds the kernel's wall time to the step's selection-overhead counter,
/// and with LAZYC_PROFILE=1 to the profile as a call of `kernel` on `rows`.
class Timed {
public:
  Timed(LazycKVCache *cache, const char *kernel, int64_t rows)
      : cache_(cache), kernel_(kernel), rows_(rows), start_(std::chrono::steady_clock::now()) {}
  ~Timed() {
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    if (cache_)
      cache_->lazy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    if (lazyc::rt::profile::enabled())
      lazyc::rt::profile::record(kernel_, rows_,
                                 std::chrono::duration<double>(elapsed).count());
  }

private:
  LazycKVCache *cache_;
  const char *kernel_;
  int64_t rows_;
  std::chrono::steady_clock::time_point start_;
};

void count(LazycKVCache *cache, LazycStat stat, int64_t layer, int64_t n) {
  if (cache->stats)
    cache->stats[stat * cache->layers + layer] += n;
}

bool contains(const int32_t *sorted, int64_t n, int32_t value) {
  return std::binary_search(sorted, sorted + n, value);
}

/// The selection shared by lazy.select and the first step of lazy.select_once.
std::vector<int32_t> percentile(const float *scores, int64_t n, double keep, int64_t minKeep) {
  const int64_t k = lazyc_rt_select_size(n, keep, minKeep);
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // A strict total order on any input: NaN ranks lowest (as -inf), ties go
  // to the later row (lazyc-select-to-linalg generates the same order).
  auto key = [&](int32_t i) {
    return std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i];
  };
  auto better = [&](int32_t a, int32_t b) {
    const float ka = key(a), kb = key(b);
    return ka != kb ? ka > kb : a > b;
  };
  std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), better);
  order.resize(static_cast<size_t>(k));
  // The step's token P (last row) is always kept: it displaces the lowest.
  if (std::find(order.begin(), order.end(), static_cast<int32_t>(n - 1)) == order.end()) {
    auto lowest = std::min_element(order.begin(), order.end(),
                                   [&](int32_t a, int32_t b) { return better(b, a); });
    *lowest = static_cast<int32_t>(n - 1);
  }
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<int32_t> selectOnce(LazycKVCache *cache, int64_t layer, const float *scores,
                                const int32_t *keys, int64_t n, const int32_t *positions,
                                int64_t rows, double keep, int64_t minKeep) {
  const uint8_t *next = cache->cached + (layer + 1) * cache->context;
  bool first = std::none_of(keys, keys + n, [&](int32_t p) { return next[p] != 0; });
  if (first)
    return percentile(scores, n, keep, minKeep);
  std::vector<int32_t> kept;
  for (int64_t i = 0; i < n; ++i)
    if (next[keys[i]] || contains(positions, rows, keys[i]))
      kept.push_back(static_cast<int32_t>(i));
  return kept;
}

float *auxRows(LazycKVCache *cache, int64_t layer, int64_t columns) {
  float *rows = lazyc_rt_aux_rows(cache, layer, columns);
  if (!rows) {
    std::fprintf(stderr,
                 "lazyc: out of memory allocating the Aux Cache of layer %lld "
                 "(%lld slots x %lld floats)\n",
                 static_cast<long long>(layer), static_cast<long long>(cache->context),
                 static_cast<long long>(columns));
    std::exit(1);
  }
  return rows;
}

} // namespace

extern "C" float *lazyc_rt_aux_rows(LazycKVCache *cache, int64_t layer, int64_t columns) {
  if (!cache->aux[layer]) {
    size_t rows = static_cast<size_t>(cache->context);
    auto *aux =
        static_cast<float *>(std::calloc(rows * static_cast<size_t>(columns), sizeof(float)));
    auto *saved = static_cast<uint8_t *>(std::calloc(rows, 1));
    if (!aux || !saved) {
      std::free(aux);
      std::free(saved);
      return nullptr;
    }
    cache->aux[layer] = aux;
    cache->aux_saved[layer] = saved;
    cache->hidden = columns;
    cache->aux_bytes += static_cast<int64_t>(rows * columns * sizeof(float) + rows);
  }
  return cache->aux[layer];
}

extern "C" int64_t lazyc_rt_context_size(uint64_t positions, int64_t rows) {
  const int32_t *pos = ptr<int32_t>(positions);
  return rows > 0 ? static_cast<int64_t>(*std::max_element(pos, pos + rows)) + 1 : 0;
}

extern "C" void lazyc_rt_context(uint64_t positions, int64_t rows, uint64_t out) {
  int32_t *o = ptr<int32_t>(out);
  std::iota(o, o + lazyc_rt_context_size(positions, rows), 0);
}

namespace {

/// q . k over n values: 8-lane FMAs (the kernels are built for
/// LAZYC_KERNEL_ARCH), a scalar loop otherwise.
inline float dot(const float *q, const float *k, int64_t n) {
  int64_t d = 0;
  float sum = 0;
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc = _mm256_setzero_ps();
  for (; d + 8 <= n; d += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), acc);
  sum = lazyc::rt::horizontalSum(acc);
#endif
  for (; d < n; ++d)
    sum += q[d] * k[d];
  return sum;
}

/// out[j] = mean over the query rows `windowRows` (indices into q) of that
/// row's attention probability on key j, itself the mean over query heads
/// (GQA: head h reads KV group h / (heads / kvHeads)). Row r attends
/// causally: only to keys[j] <= positions[r] (all keys when positions is
/// null) and, with `sliding` > 0, > positions[r] - sliding (positions
/// required); no rows: all zeros. Each (row, head) is one task (so a decode
/// step's single row still uses every thread); their probabilities are
/// summed in a fixed order, so the result does not depend on the thread
/// count.
void attentionScores(LazycKVCache *cache, int64_t layer, const float *q,
                     const int32_t *positions, const std::vector<int64_t> &windowRows,
                     const int32_t *keys, int64_t numKeys, int64_t heads, int64_t kvHeads,
                     int64_t headDim, double scale, int64_t sliding, double softcap,
                     const float *sinks, float *out) {
  const int64_t group = heads / kvHeads;
  const lazyc::rt::KVRows kc(*cache, layer, false);
  const auto windowSize = static_cast<int64_t>(windowRows.size());
  std::fill(out, out + numKeys, 0.0f);
  if (windowSize == 0 || numKeys == 0)
    return;
  auto visibleOf = [&](int64_t w) -> int64_t {
    const int64_t row = windowRows[static_cast<size_t>(w)];
    return positions ? std::upper_bound(keys, keys + numKeys, positions[row]) - keys : numKeys;
  };
  // The first key a row sees: under a sliding window, the first after its
  // position - sliding.
  auto firstOf = [&](int64_t w) -> int64_t {
    if (sliding <= 0 || !positions)
      return 0;
    const int64_t row = windowRows[static_cast<size_t>(w)];
    const int64_t oldest = int64_t{positions[row]} - sliding + 1;
    return std::lower_bound(keys, keys + numKeys, oldest,
                            [](int32_t key, int64_t p) { return key < p; }) -
           keys;
  };
  // probs[(w * heads + h) * numKeys + j]: head h's probability of key j for
  // window row w, divided by the number of heads.
  const int64_t tasks = windowSize * heads;
  std::vector<float> probs(static_cast<size_t>(tasks * numKeys), 0.0f);
#pragma omp parallel
  {
    std::vector<float> wide(kc.isF32() ? 0 : static_cast<size_t>(headDim));
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t w = t / heads, h = t % heads;
      const int64_t row = windowRows[static_cast<size_t>(w)], visible = visibleOf(w);
      const int64_t first = firstOf(w);
      const float *qh = q + (row * heads + h) * headDim;
      const int64_t g = h / group;
      float *p = probs.data() + t * numKeys;
      float m = -INFINITY;
      for (int64_t j = first; j < visible; ++j) {
        const float *kj;
        if (!kc.isF32()) {
          kc.load(keys[j], g * headDim, headDim, wide.data());
          kj = wide.data();
        } else {
          kj = kc.f32Row(keys[j]) + g * headDim;
        }
        p[j] = dot(qh, kj, headDim) * static_cast<float>(scale);
        if (softcap > 0.0)
          p[j] = static_cast<float>(softcap * std::tanh(p[j] / softcap));
        m = std::max(m, p[j]);
      }
      // A sink (gpt-oss): one more term of the softmax's denominator.
      if (sinks)
        m = std::max(m, sinks[h]);
      double sum = sinks ? std::exp(double{sinks[h]} - m) : 0.0;
      for (int64_t j = first; j < visible; ++j) {
        p[j] = std::exp(p[j] - m);
        sum += p[j];
      }
      const float weight = static_cast<float>(1.0 / (sum * static_cast<double>(heads)));
      for (int64_t j = first; j < visible; ++j)
        p[j] *= weight;
    }
  }
  // out[j] = mean over rows of (sum over heads, in order).
  const float mean = 1.0f / static_cast<float>(windowSize);
#pragma omp parallel for schedule(static) if (numKeys >= 4096)
  for (int64_t j = 0; j < numKeys; ++j) {
    float total = 0;
    for (int64_t w = 0; w < windowSize; ++w) {
      float row = 0;
      for (int64_t h = 0; h < heads; ++h)
        row += probs[static_cast<size_t>((w * heads + h) * numKeys + j)];
      total += row * mean;
    }
    out[j] = total;
  }
}

} // namespace

extern "C" void lazyc_rt_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                                int64_t rows, uint64_t keysAddr, int64_t numKeys,
                                int64_t heads, int64_t kvHeads, int64_t headDim,
                                double scale, uint64_t outAddr) {
  Timed timed(cache, "scores", rows);
  std::vector<int64_t> lastRow; // P's row
  if (rows > 0)
    lastRow.push_back(rows - 1);
  attentionScores(cache, layer, ptr<float>(qAddr), nullptr, lastRow, ptr<int32_t>(keysAddr),
                  numKeys, heads, kvHeads, headDim, scale, 0, 0.0, nullptr, ptr<float>(outAddr));
}

extern "C" void lazyc_rt_window_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                                       uint64_t positionsAddr, int64_t rows, uint64_t keysAddr,
                                       int64_t numKeys, int64_t heads, int64_t kvHeads,
                                       int64_t headDim, double scale, int64_t window,
                                       uint64_t outAddr, int64_t sliding, double softcap) {
  Timed timed(cache, "window_scores", rows);
  const int32_t *positions = ptr<int32_t>(positionsAddr);
  std::vector<int64_t> windowRows = lazyc::scoreWindowRows(positions, rows, window);
  attentionScores(cache, layer, ptr<float>(qAddr), positions, windowRows,
                  ptr<int32_t>(keysAddr), numKeys, heads, kvHeads, headDim, scale, sliding,
                  softcap, nullptr, ptr<float>(outAddr));
}

extern "C" void lazyc_rt_sink_scores(LazycKVCache *cache, int64_t layer, uint64_t qAddr,
                                     uint64_t positionsAddr, int64_t rows, uint64_t keysAddr,
                                     int64_t numKeys, int64_t heads, int64_t kvHeads,
                                     int64_t headDim, double scale, int64_t window,
                                     uint64_t outAddr, int64_t sliding, double softcap,
                                     uint64_t sinksAddr) {
  Timed timed(cache, "sink_scores", rows);
  const int32_t *positions = ptr<int32_t>(positionsAddr);
  std::vector<int64_t> windowRows;
  if (positions)
    windowRows = lazyc::scoreWindowRows(positions, rows, window);
  else if (rows > 0)
    windowRows.push_back(rows - 1); // P's row
  attentionScores(cache, layer, ptr<float>(qAddr), positions, windowRows,
                  ptr<int32_t>(keysAddr), numKeys, heads, kvHeads, headDim, scale, sliding,
                  softcap, ptr<float>(sinksAddr), ptr<float>(outAddr));
}

extern "C" void lazyc_rt_random_scores(uint64_t keysAddr, int64_t numKeys, int64_t layer,
                                       int64_t seed, uint64_t outAddr) {
  const int32_t *keys = ptr<int32_t>(keysAddr);
  float *out = ptr<float>(outAddr);
  for (int64_t j = 0; j < numKeys; ++j) {
    // SplitMix64 of (seed, layer, position).
    uint64_t x = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull ^
                 static_cast<uint64_t>(layer) << 32 ^ static_cast<uint32_t>(keys[j]);
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    out[j] = static_cast<float>(x >> 40) / static_cast<float>(1ull << 24);
  }
}

extern "C" int64_t lazyc_rt_select_size(int64_t n, double keep, int64_t minKeep) {
  if (n <= 0)
    return 0;
  // The 1e-9 absorbs binary rounding (0.7 * 10 = 7.000000000000001).
  auto k = static_cast<int64_t>(std::ceil(keep * static_cast<double>(n) - 1e-9));
  return std::clamp<int64_t>(std::max(k, minKeep), 1, n);
}

extern "C" void lazyc_rt_select(uint64_t scores, int64_t n, double keep, int64_t minKeep,
                                uint64_t out) {
  Timed timed(nullptr, "select", n);
  std::vector<int32_t> kept = percentile(ptr<float>(scores), n, keep, minKeep);
  std::copy(kept.begin(), kept.end(), ptr<int32_t>(out));
}

extern "C" int64_t lazyc_rt_select_once_size(LazycKVCache *cache, int64_t layer,
                                             uint64_t scores, uint64_t keys, int64_t n,
                                             uint64_t positions, int64_t rows, double keep,
                                             int64_t minKeep) {
  Timed timed(cache, "select_once", n);
  return static_cast<int64_t>(selectOnce(cache, layer, ptr<float>(scores), ptr<int32_t>(keys),
                                         n, ptr<int32_t>(positions), rows, keep, minKeep)
                                  .size());
}

extern "C" void lazyc_rt_select_once(LazycKVCache *cache, int64_t layer, uint64_t scores,
                                     uint64_t keys, int64_t n, uint64_t positions,
                                     int64_t rows, double keep, int64_t minKeep, uint64_t out) {
  Timed timed(cache, "select_once", n);
  std::vector<int32_t> kept = selectOnce(cache, layer, ptr<float>(scores), ptr<int32_t>(keys),
                                         n, ptr<int32_t>(positions), rows, keep, minKeep);
  std::copy(kept.begin(), kept.end(), ptr<int32_t>(out));
}

extern "C" void lazyc_rt_reuse_bias(LazycKVCache *cache, int64_t layer, uint64_t scoresAddr,
                                    uint64_t keysAddr, int64_t n, double bias,
                                    uint64_t outAddr) {
  Timed timed(cache, "reuse_bias", n);
  const float *scores = ptr<float>(scoresAddr);
  const int32_t *keys = ptr<int32_t>(keysAddr);
  const uint8_t *next = cache->cached + (layer + 1) * cache->context;
  float *out = ptr<float>(outAddr);
  // A step of several new tokens (a follow-up question) scores with its own
  // rows, as informed as a prefill's: it selects freely and revives what the
  // question needs. The bias is for one-row decode steps.
  const auto factor = cache->step_tokens > 1 ? 1.0f : static_cast<float>(bias);
  for (int64_t j = 0; j < n; ++j)
    out[j] = next[keys[j]] ? scores[j] * factor : scores[j];
}

extern "C" int64_t lazyc_rt_missing_size(LazycKVCache *cache, int64_t layer, uint64_t keysAddr,
                                         int64_t n) {
  const int32_t *keys = ptr<int32_t>(keysAddr);
  const uint8_t *cached = cache->cached + layer * cache->context;
  return std::count_if(keys, keys + n, [&](int32_t p) { return !cached[p]; });
}

extern "C" void lazyc_rt_missing(LazycKVCache *cache, int64_t layer, uint64_t keysAddr,
                                 int64_t n, uint64_t outAddr) {
  const int32_t *keys = ptr<int32_t>(keysAddr);
  const uint8_t *cached = cache->cached + layer * cache->context;
  std::copy_if(keys, keys + n, ptr<int32_t>(outAddr), [&](int32_t p) { return !cached[p]; });
}

extern "C" void lazyc_rt_aux_save(LazycKVCache *cache, int64_t layer, uint64_t hiddenAddr,
                                  uint64_t positionsAddr, int64_t rows, int64_t columns,
                                  uint64_t keptAddr, int64_t numKept) {
  Timed timed(cache, "aux_save", rows);
  const float *hidden = ptr<float>(hiddenAddr);
  const int32_t *pos = ptr<int32_t>(positionsAddr), *kept = ptr<int32_t>(keptAddr);
  for (int64_t r = 0; r < rows; ++r) {
    if (contains(kept, numKept, pos[r]))
      continue;
    float *aux = auxRows(cache, layer, columns);
    std::memcpy(aux + pos[r] * columns, hidden + r * columns, columns * sizeof(float));
    cache->aux_saved[layer][pos[r]] = 1;
    count(cache, LAZYC_STAT_SAVED, layer, 1);
  }
}

extern "C" void lazyc_rt_aux_load(LazycKVCache *cache, int64_t layer, uint64_t wantedAddr,
                                  int64_t numWanted, uint64_t freshAddr,
                                  uint64_t freshPositionsAddr, int64_t freshRows,
                                  int64_t columns, uint64_t outAddr) {
  Timed timed(cache, "aux_load", numWanted);
  const int32_t *wanted = ptr<int32_t>(wantedAddr), *freshPos = ptr<int32_t>(freshPositionsAddr);
  const float *fresh = ptr<float>(freshAddr);
  float *out = ptr<float>(outAddr);
  for (int64_t r = 0; r < numWanted; ++r) {
    const int32_t p = wanted[r];
    const int32_t *hit = std::lower_bound(freshPos, freshPos + freshRows, p);
    const float *row = nullptr;
    if (hit != freshPos + freshRows && *hit == p) {
      row = fresh + (hit - freshPos) * columns;
    } else if (cache->aux[layer] && cache->aux_saved[layer][p]) {
      row = cache->aux[layer] + static_cast<int64_t>(p) * columns;
      count(cache, LAZYC_STAT_REVIVED, layer, 1);
    }
    if (row) {
      std::memcpy(out + r * columns, row, columns * sizeof(float));
    } else {
      std::fill(out + r * columns, out + (r + 1) * columns, 0.0f);
      count(cache, LAZYC_STAT_MISSING_INPUT, layer, 1);
    }
  }
}
