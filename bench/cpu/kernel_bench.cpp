//===- kernel_bench.cpp - CPU linear kernels at decode-step row counts ----===//
//
// Times y = x w^T on SmolLM2-135M's projection shapes for the row counts of
// decode steps (1 row) and of a pruned model's steps with revivals (a few to
// a few dozen rows), side by side for each weight path of the runtime:
//
//   Linear<dtype>     lazyc_rt_linear, what compiled models call (dispatches):
//                     f32, Q8_0, bf16 or MXFP4 weights (gpt-oss's experts)
//   Q8_0Gemv          gemvQ8_0 (rows in groups of 8, blocks read directly)
//   Q8_0WidenSgemm    linearQ8_0Widened (256-row panels widened to f32 + sgemm)
//   OneDnnSgemm       oneDNN's sgemm on all rows at once (f32 weights)
//   DecodeAttention   lazyc_rt_attention of one decode row over 1k-8k cached
//                     keys, f32 or f16 cache, read from memory (30 layers)
//   PrefillAttention  lazyc_rt_attention of a prefill step: `rows` query rows
//                     ending at position `keys` - 1 (a 512-row chunk of a
//                     4k prompt, the whole prompt in one step as a pruned
//                     model runs it, or a decode step's revived rows), f32
//                     or bf16 cache, over every slot or a key list
//   SlidingWindowAttention  the same over a sliding window of `window` slots
//                     (0: none; Mistral 7B v0.1's is 4096), every slot
//
// Run: build/bin/lazyc-kernel-bench [--benchmark_format=json ...]; the
// counter GFLOPs is 2 * rows * in * out per second.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Kernels.h"
#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/model/Quant.h"

#include <benchmark/benchmark.h>
#ifdef LAZYC_HAVE_DNNL
#include <dnnl.h>
#endif

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace {

struct Problem {
  int64_t rows, in, out;
  std::vector<float> x, y, wf;
  std::vector<uint8_t> wq, wm; // Q8_0, MXFP4
  std::vector<uint16_t> wb;     // bf16
};

Problem makeProblem(const benchmark::State &state) {
  Problem p{state.range(0), state.range(1), state.range(2), {}, {}, {}, {}, {}, {}};
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  p.x.resize(static_cast<size_t>(p.rows * p.in));
  p.wf.resize(static_cast<size_t>(p.out * p.in));
  for (float &v : p.x)
    v = dist(rng);
  for (float &v : p.wf)
    v = dist(rng);
  p.y.assign(static_cast<size_t>(p.rows * p.out), 0.0f);
  p.wq.resize(static_cast<size_t>(lazyc::rt::q8_0RowBytes(p.in) * p.out));
  lazyc::rt::quantizeQ8_0(p.wf.data(), p.wq.data(), p.wf.size());
  p.wm.resize(static_cast<size_t>(lazyc::rt::mxfp4RowBytes(p.in) * p.out));
  lazyc::rt::quantizeMXFP4(p.wf.data(), p.wm.data(), p.wf.size());
  p.wb.resize(p.wf.size());
  for (size_t i = 0; i < p.wf.size(); ++i)
    p.wb[i] = lazyc::rt::floatToBF16(p.wf[i]);
  return p;
}

void finish(benchmark::State &state, const Problem &p) {
  state.counters["GFLOPs"] = benchmark::Counter(
      2.0 * static_cast<double>(p.rows * p.in * p.out) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

/// lazyc_rt_linear on the f32 weights (type code 0), bf16 (1), their Q8_0
/// blocks (3) or MXFP4 blocks (4).
void timeLinear(benchmark::State &state, int64_t wtype) {
  Problem p = makeProblem(state);
  const void *w = wtype == 4   ? static_cast<const void *>(p.wm.data())
                  : wtype == 3 ? static_cast<const void *>(p.wq.data())
                  : wtype == 1 ? static_cast<const void *>(p.wb.data())
                               : p.wf.data();
  for (auto _ : state) {
    lazyc_rt_linear(reinterpret_cast<uint64_t>(p.x.data()), p.rows, p.in,
                    reinterpret_cast<uint64_t>(w), wtype, p.out,
                    reinterpret_cast<uint64_t>(p.y.data()));
    benchmark::ClobberMemory();
  }
  finish(state, p);
}

void LinearF32(benchmark::State &state) { timeLinear(state, 0); }
void LinearQ8_0(benchmark::State &state) { timeLinear(state, 3); }
void LinearBF16(benchmark::State &state) { timeLinear(state, 1); }
void LinearMXFP4(benchmark::State &state) { timeLinear(state, 4); }

/// The MXFP4 blocks as a bf16 model's experts read a few rows (gemvMXFP4BF16:
/// x rounded to bf16, vdpbf16ps); skipped without AVX512-BF16.
void MXFP4GemvBF16(benchmark::State &state) {
  Problem p = makeProblem(state);
  if (!lazyc::rt::gemvMXFP4BF16(p.x.data(), p.rows, p.in, p.wm.data(), p.out, p.y.data(),
                                false)) {
    state.SkipWithError("no AVX512-BF16");
    return;
  }
  for (auto _ : state) {
    lazyc::rt::gemvMXFP4BF16(p.x.data(), p.rows, p.in, p.wm.data(), p.out, p.y.data(), false);
    benchmark::ClobberMemory();
  }
  finish(state, p);
}

/// gpt-oss-20b's expert matrices (2880 x 2880) for a decode step's 1 row
/// and a few.
void expertShapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"rows", "in", "out"});
  for (int64_t rows : {1, 4, 8})
    b->Args({rows, 2880, 2880});
  b->UseRealTime();
}

void Q8_0Gemv(benchmark::State &state) {
  Problem p = makeProblem(state);
  for (auto _ : state) {
    lazyc::rt::gemvQ8_0(p.x.data(), p.rows, p.in, p.wq.data(), p.out, p.y.data(), false);
    benchmark::ClobberMemory();
  }
  finish(state, p);
}

#ifdef LAZYC_HAVE_DNNL
/// oneDNN's sgemm on all rows at once (what LinearF32 did before splitting
/// 16..63 rows into pieces of at most 15).
void OneDnnSgemm(benchmark::State &state) {
  Problem p = makeProblem(state);
  for (auto _ : state) {
    dnnl_sgemm('N', 'T', p.rows, p.out, p.in, 1.0f, p.x.data(), p.in, p.wf.data(), p.in, 0.0f,
               p.y.data(), p.out);
    benchmark::ClobberMemory();
  }
  finish(state, p);
}
#endif

void Q8_0WidenSgemm(benchmark::State &state) {
  Problem p = makeProblem(state);
  for (auto _ : state) {
    lazyc::rt::linearQ8_0Widened(p.x.data(), p.rows, p.in, p.wq.data(), p.out, p.y.data(),
                                 false);
    benchmark::ClobberMemory();
  }
  finish(state, p);
}

/// SmolLM2-135M's projections: q/o (576 -> 576), gate/up (576 -> 1536),
/// down (1536 -> 576); rows 1 (decode) to 64.
void shapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"rows", "in", "out"});
  for (int64_t rows : {1, 4, 8, 9, 16, 32, 64, 128, 512})
    for (auto [in, out] : {std::pair<int64_t, int64_t>{576, 576}, {576, 1536}, {1536, 576}})
      b->Args({rows, in, out});
  b->UseRealTime();
}

/// `n` standard normal values.
std::vector<float> normal(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float &value : x)
    value = dist(rng);
  return x;
}

/// A KV cache of `layers` x `context` slots of kvDim random values, stored
/// as LazycKVCache::kv_type `kvType` (0 f32, 1 bf16, 2 f16).
struct RandomCache {
  std::vector<float> kf, vf;
  std::vector<uint16_t> kh, vh;
  LazycKVCache cache{};
  RandomCache(int64_t layers, int64_t context, int64_t kvDim, int64_t kvType, std::mt19937 &rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const size_t elements = static_cast<size_t>(layers * context * kvDim);
    auto narrow = [&](float x) {
      return kvType == 1 ? lazyc::rt::floatToBF16(x) : lazyc::rt::floatToHalf(x);
    };
    if (kvType != 0) {
      kh.resize(elements);
      vh.resize(elements);
      for (size_t i = 0; i < elements; ++i) {
        kh[i] = narrow(dist(rng));
        vh[i] = narrow(dist(rng));
      }
    } else {
      kf.resize(elements);
      vf.resize(elements);
      for (size_t i = 0; i < elements; ++i) {
        kf[i] = dist(rng);
        vf[i] = dist(rng);
      }
    }
    cache.k = kvType != 0 ? static_cast<void *>(kh.data()) : kf.data();
    cache.v = kvType != 0 ? static_cast<void *>(vh.data()) : vf.data();
    cache.context = context;
    cache.layers = layers;
    cache.kv_dim = kvDim;
    cache.kv_type = kvType;
  }
};

/// One decode step's attention (1 query row) of SmolLM2's shape (9 heads, 3
/// KV heads of 64) over `keys` cached keys, as a decode step meets it: the KV
/// cache is 30 layers deep, so each call (the next layer) reads its K/V from
/// memory, not from a cache that the previous iteration warmed. The cache's
/// LazycKVCache::kv_type (range 1): 0 f32, 1 bf16, 2 f16. The counter GBps is
/// the K/V bytes read per second.
void DecodeAttention(benchmark::State &state) {
  const int64_t keys = state.range(0), layers = 30, heads = 9, kvHeads = 3, dim = 64;
  const int64_t kvDim = kvHeads * dim, context = keys + 1, kvType = state.range(1);
  const bool half = kvType != 0;
  std::mt19937 rng(3);
  RandomCache random(layers, context, kvDim, kvType, rng);
  LazycKVCache &cache = random.cache;
  const std::vector<float> q = normal(heads * dim, rng), k = normal(kvDim, rng),
                           v = normal(kvDim, rng);
  std::vector<float> out(heads * dim);
  const int32_t pos = static_cast<int32_t>(keys);
  int64_t layer = 0;
  for (auto _ : state) {
    lazyc_rt_attention(&cache, layer, reinterpret_cast<uint64_t>(q.data()),
                       reinterpret_cast<uint64_t>(k.data()), reinterpret_cast<uint64_t>(v.data()),
                       reinterpret_cast<uint64_t>(&pos), 1, 0, -1, heads, kvHeads, dim, 0.125,
                       reinterpret_cast<uint64_t>(out.data()));
    benchmark::ClobberMemory();
    layer = (layer + 1) % layers;
  }
  state.counters["GBps"] = benchmark::Counter(
      2.0 * static_cast<double>(context * kvDim) * (half ? 2.0 : 4.0) *
          static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

/// Prefill attention as SmolLM2-135M meets it (9 heads, 3 KV heads of 64):
/// `rows` query rows at positions keys - rows .. keys - 1, causal over every
/// earlier slot. The counter GFLOPs counts the two products' multiply-adds
/// over the visible (causal) keys only.
void prefillAttention(benchmark::State &state, bool list, int64_t window) {
  const int64_t rows = state.range(0), keys = state.range(1), kvType = state.range(2);
  const int64_t heads = 9, kvHeads = 3, dim = 64, kvDim = kvHeads * dim;
  std::mt19937 rng(5);
  RandomCache random(1, keys, kvDim, kvType, rng);
  LazycKVCache &cache = random.cache;
  const std::vector<float> q = normal(rows * heads * dim, rng), k = normal(rows * kvDim, rng),
                           v = normal(rows * kvDim, rng);
  std::vector<float> out(q.size());
  std::vector<int32_t> pos(static_cast<size_t>(rows)), keyList;
  for (int64_t i = 0; i < rows; ++i)
    pos[i] = static_cast<int32_t>(keys - rows + i);
  for (int32_t slot = 0; list && slot < keys - rows; slot += 2)
    keyList.push_back(slot);
  keyList.insert(keyList.end(), pos.begin(), pos.end());
  for (auto _ : state) {
    lazyc_rt_attention_ex(&cache, 0, reinterpret_cast<uint64_t>(q.data()),
                          reinterpret_cast<uint64_t>(k.data()),
                          reinterpret_cast<uint64_t>(v.data()),
                          reinterpret_cast<uint64_t>(pos.data()), rows,
                          list ? reinterpret_cast<uint64_t>(keyList.data()) : 0,
                          list ? static_cast<int64_t>(keyList.size()) : -1, heads, kvHeads, dim,
                          0.125, reinterpret_cast<uint64_t>(out.data()), 0, 0, 0, window, 0.0);
    benchmark::ClobberMemory();
  }
  double visible = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double causal = list ? static_cast<double>(keyList.size() - rows + i + 1)
                               : static_cast<double>(pos[i] + 1);
    visible += window > 0 ? std::min(causal, static_cast<double>(window)) : causal;
  }
  state.counters["GFLOPs"] = benchmark::Counter(
      4.0 * visible * static_cast<double>(heads * dim) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void PrefillAttention(benchmark::State &state) {
  // list: a LazyLLM key list (every other slot, then the rows).
  prefillAttention(state, state.range(3) != 0, 0);
}

void SlidingWindowAttention(benchmark::State &state) {
  prefillAttention(state, false, state.range(3));
}

} // namespace

BENCHMARK(PrefillAttention)
    ->ArgNames({"rows", "keys", "kv_type", "list"})
    ->Args({512, 4096, 0, 0})
    ->Args({512, 4096, 1, 0})
    ->Args({4096, 4096, 1, 0})
    ->ArgsProduct({{1, 8, 16, 32, 64, 128, 256}, {4096}, {0, 1}, {0, 1}})
    ->UseRealTime();
BENCHMARK(SlidingWindowAttention)
    ->ArgNames({"rows", "keys", "kv_type", "window"})
    ->ArgsProduct({{1, 4096}, {4096}, {0, 1}, {0, 512, 2048}})
    ->UseRealTime();
BENCHMARK(DecodeAttention)
    ->ArgNames({"keys", "kv_type"})
    ->Args({1024, 0})
    ->Args({4096, 0})
    ->Args({4096, 1})
    ->Args({4096, 2})
    ->Args({8191, 0})
    ->Args({8191, 1})
    ->UseRealTime();
BENCHMARK(LinearF32)->Apply(shapes);
BENCHMARK(LinearQ8_0)->Apply(shapes);
BENCHMARK(LinearBF16)->Apply(shapes);
BENCHMARK(LinearMXFP4)->Apply(shapes)->Apply(expertShapes);
BENCHMARK(MXFP4GemvBF16)->Apply(shapes)->Apply(expertShapes);
BENCHMARK(Q8_0Gemv)->Apply(shapes);
BENCHMARK(Q8_0WidenSgemm)->Apply(shapes);
#ifdef LAZYC_HAVE_DNNL
BENCHMARK(OneDnnSgemm)->Apply(shapes);
#endif

BENCHMARK_MAIN();
