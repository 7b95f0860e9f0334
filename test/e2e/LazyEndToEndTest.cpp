//===- LazyEndToEndTest.cpp - compiled LazyLLM vs a numpy reference --------===//
//
// ctest compiles SmolLM2 pruned (e2e-compile-pruned: the fixture's schedule)
// and with keep = 0.9999 after every layer (e2e-compile-keepall). The tests:
//  * MatchesNumpyReference: prefill + 16 decode steps (teacher-forced) against
//    test/fixtures/lazy-smollm2.txt, made by the plain numpy implementation of
//    the spec (make_lazy_fixture.py): |S_l|, rows computed and rows revived
//    from the Aux Cache per layer and step, top-1 token and top-10 logits.
//  * Invariants: from the runtime's counters, on every step: S_{l+1} ⊆ S_l
//    in size, the step's token is in every S_l, each token computed at most
//    once per layer over the generation (the runtime also fails a step that
//    writes a cached slot twice or reads a row that has no input).
//  * GPULoopsMatchNumpyReference: the same with the CUDA target's loop nests
//    (--gpu-loops) on the CPU, compiler-generated scores and selection
//    included; WindowScores*: observation-window scores, runtime and generated;
//    ReuseBias*: the same with --reuse-bias (its own fixture);
//    Reversed*: the GPU loop nests run last to first (a dependence between
//    iterations, a race on a GPU, changes the values); FusedRowNorms*: the
//    block-per-row RMSNorm's CPU stand-in; FollowUp*: a step of several new
//    tokens after the decode steps (a second question), then decode steps.
//  * KeepAllIsBitIdentical: with every token kept, the full pruning machinery
//    (scores, selection, Aux Cache, keyed attention) runs and the logits are
//    bit-identical to the dense model's.
//
//===----------------------------------------------------------------------===//

#include "runtime/Runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;
const std::string kModel = LAZYC_MODEL_PATH;
const std::string kDense = LAZYC_E2E_LIBRARY;
const std::string kPruned = LAZYC_E2E_PRUNED_LIBRARY;
const std::string kKeepAll = LAZYC_E2E_KEEPALL_LIBRARY;
const std::string kWindow = LAZYC_E2E_WINDOW_LIBRARY;
const std::string kPrunedGPULoops = LAZYC_E2E_PRUNEDGPULOOPS_LIBRARY;
const std::string kWindowGPULoops = LAZYC_E2E_WINDOWGPULOOPS_LIBRARY;
const std::string kReuseBias = LAZYC_E2E_REUSEBIAS_LIBRARY;
const std::string kReuseBiasGPULoops = LAZYC_E2E_REUSEBIASGPULOOPS_LIBRARY;
const std::string kReversedGPULoops = LAZYC_E2E_REVERSEDGPULOOPS_LIBRARY;
const std::string kRowNormGPULoops = LAZYC_E2E_ROWNORMGPULOOPS_LIBRARY;
const std::string kReversedWindowGPULoops = LAZYC_E2E_REVERSEDWINDOWGPULOOPS_LIBRARY;

struct Step {
  std::vector<int32_t> tokens;
  std::vector<int64_t> keys, computed, revived;
  std::vector<std::pair<int32_t, float>> top;
};

struct LazyReference {
  std::string schedule;
  int64_t scoreWindow = 1, scorePool = 1;
  double reuseBias = 1;
  int64_t followUp = -1; // the index of a follow-up step (several new tokens), or -1
  std::vector<int32_t> prompt;
  std::vector<Step> steps;
};

template <typename T> std::vector<T> numbers(std::istringstream &s) {
  std::vector<T> out;
  T v;
  while (s >> v)
    out.push_back(v);
  return out;
}

/// A fixture of test/fixtures/make_lazy_fixture.py.
LazyReference readLazyReference(const std::string &name = "lazy-smollm2.txt") {
  std::ifstream in(kFixtures + "/" + name);
  LazyReference ref;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string key;
    s >> key;
    if (key == "schedule") {
      s >> ref.schedule;
    } else if (key == "scores") {
      std::string word;
      s >> word >> ref.scoreWindow >> word >> ref.scorePool;
    } else if (key == "reuse_bias") {
      s >> ref.reuseBias;
    } else if (key == "follow_up") {
      s >> ref.followUp;
    } else if (key == "prompt") {
      ref.prompt = numbers<int32_t>(s);
    } else if (key == "step") {
      int index;
      std::string word;
      s >> index >> word;
      ref.steps.emplace_back();
      ref.steps.back().tokens = numbers<int32_t>(s);
    } else if (key == "keys") {
      ref.steps.back().keys = numbers<int64_t>(s);
    } else if (key == "computed") {
      ref.steps.back().computed = numbers<int64_t>(s);
    } else if (key == "revived") {
      ref.steps.back().revived = numbers<int64_t>(s);
    } else if (key == "top") {
      std::string pair;
      while (s >> pair) {
        size_t colon = pair.find(':');
        ref.steps.back().top.emplace_back(std::stoi(pair.substr(0, colon)),
                                          std::stof(pair.substr(colon + 1)));
      }
    }
  }
  return ref;
}

std::unique_ptr<CompiledModel> loadOrSkip(const std::string &library, bool &skipped) {
  skipped = !std::ifstream(library).good();
  if (skipped)
    return nullptr;
  std::string error;
  auto model = CompiledModel::load(library, kModel, 0, error);
  EXPECT_TRUE(model) << error;
  return model;
}

/// The checks every LazyLLM step must pass, from the runtime's counters.
void checkInvariants(const CompiledModel &model, int32_t lastPosition, int64_t contextTokens) {
  StepStats s = model.stats();
  for (size_t l = 0; l < s.keys.size(); ++l) {
    EXPECT_EQ(s.lastKey[l], lastPosition) << "layer " << l << ": the step's token left S_l";
    if (l > 0) {
      EXPECT_LE(s.keys[l], s.keys[l - 1]) << "layer " << l << ": S_l grew";
    }
    EXPECT_LE(s.computed[l], s.keys[l]) << "layer " << l << ": computed rows outside S_l";
    EXPECT_LE(s.totalComputed[l], contextTokens)
        << "layer " << l << ": a token was computed twice at this layer";
  }
}

/// Runs the fixture's prefill + decode steps (teacher-forced) on `model` and
/// checks the token sets, rows and revivals per layer and step, top-1 and the
/// top-10 logits against the numpy reference, and the invariants.
void matchReference(CompiledModel &model, const LazyReference &ref) {
  // Prefill + 16 decode steps; with a follow-up, its step of several tokens and
  // the decode steps after it.
  ASSERT_EQ(ref.steps.size() > 17u, ref.followUp >= 0)
      << "fixture: prefill + 16 decode steps [+ follow-up + decode steps]";
  ASSERT_GE(ref.steps.size(), 17u);
  if (ref.followUp >= 0) {
    ASSERT_LT(static_cast<size_t>(ref.followUp), ref.steps.size());
    ASSERT_GT(ref.steps[ref.followUp].tokens.size(), 1u) << "a follow-up step has several tokens";
  }
  // The model was compiled with the fixture's schedule and scores.
  std::string schedule;
  for (auto [layer, keep] : model.info().schedule) {
    std::ostringstream entry;
    entry << layer << ":" << keep;
    schedule += (schedule.empty() ? "" : ",") + entry.str();
  }
  ASSERT_EQ(schedule, ref.schedule);
  ASSERT_EQ(model.info().scoreWindow, ref.scoreWindow);
  ASSERT_EQ(model.info().scorePool, ref.scorePool);
  ASSERT_EQ(model.info().reuseBias, ref.reuseBias);

  const int64_t vocab = model.info().vocabSize;
  std::vector<float> logits;
  std::string error;
  int32_t position = 0;
  int64_t revived = 0;
  float worst = 0;
  for (size_t k = 0; k < ref.steps.size(); ++k) {
    const Step &step = ref.steps[k];
    std::vector<int32_t> positions;
    for (size_t i = 0; i < step.tokens.size(); ++i)
      positions.push_back(position++);
    ASSERT_TRUE(model.step(step.tokens, positions,
                           {static_cast<int32_t>(step.tokens.size() - 1)}, logits, error))
        << error;
    ASSERT_EQ(logits.size(), static_cast<size_t>(vocab)) << "a pruned step returns one row";
    StepStats s = model.stats();
    EXPECT_EQ(s.keys, step.keys) << "step " << k << ": |S_l| per layer";
    EXPECT_EQ(s.computed, step.computed) << "step " << k << ": rows computed per layer";
    EXPECT_EQ(s.revived, step.revived) << "step " << k << ": rows revived per layer";
    checkInvariants(model, positions.back(), position);
    int32_t argmax = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                                          logits.begin());
    EXPECT_EQ(argmax, step.top[0].first) << "step " << k;
    for (auto [id, value] : step.top)
      worst = std::max(worst, std::fabs(logits[id] - value));
    for (int64_t r : s.revived)
      revived += r;
  }
  EXPECT_GT(revived, 0) << "the fixture's run revives tokens";
  EXPECT_LT(worst, 2e-2f) << "largest |logit - reference| over each step's top 10";
  std::cout << "LazyLLM (window " << ref.scoreWindow << ", pool " << ref.scorePool
            << (ref.reuseBias != 1 ? ", reuse bias " + std::to_string(ref.reuseBias) : "")
            << (ref.followUp >= 0 ? ", follow-up step " + std::to_string(ref.followUp) : "")
            << ") vs numpy: " << ref.steps.size() << " steps, " << revived << " revivals, max |logit diff| = " << worst
            << "\n";
}

/// matchReference on the model that ctest test `compileTest` compiles into
/// `library` (skipped when it is missing), against fixture `fixture`.
void matchCompiledModel(const std::string &library, const std::string &compileTest,
                        const std::string &fixture) {
  bool skipped;
  auto model = loadOrSkip(library, skipped);
  if (skipped)
    GTEST_SKIP() << "model missing (ctest runs " << compileTest << " first)";
  ASSERT_TRUE(model);
  matchReference(*model, readLazyReference(fixture));
}

TEST(LazyEndToEndTest, MatchesNumpyReference) {
  matchCompiledModel(kPruned, "e2e-compile-pruned", "lazy-smollm2.txt");
}

// The same model with the CUDA target's loop nests (lazy-compile
// --gpu-loops: the LazyLLM gathers, RMSNorm's split sums and every other
// generated kernel as the GPU runs them, executed on the CPU).
TEST(LazyEndToEndTest, GPULoopsMatchNumpyReference) {
  matchCompiledModel(kPrunedGPULoops, "e2e-compile-prunedgpuloops", "lazy-smollm2.txt");
}

// Both GPU-loop models again with every loop nest run last to first
// (--reverse-parallel-loops). A GPU runs a kernel's iterations in no order:
// one that reads what another iteration writes (a scan step, a shared
// accumulator) would pass in one order and fail in the other.
TEST(LazyEndToEndTest, ReversedGPULoopsMatchNumpyReference) {
  matchCompiledModel(kReversedGPULoops, "e2e-compile-reversedgpuloops", "lazy-smollm2.txt");
}

// The CUDA target's block-per-row RMSNorm (--fused-row-norms) as its CPU
// stand-in: each row's 256 thread shares, their sum, each thread's part of
// the scaling; a wrong share or element index moves every layer's output.
TEST(LazyEndToEndTest, FusedRowNormsGPULoopsMatchNumpyReference) {
  matchCompiledModel(kRowNormGPULoops, "e2e-compile-rownormgpuloops", "lazy-smollm2.txt");
}

TEST(LazyEndToEndTest, ReversedWindowScoresGPULoopsMatchNumpyReference) {
  matchCompiledModel(kReversedWindowGPULoops, "e2e-compile-reversedwindowgpuloops",
                     "lazy-smollm2-w16p5.txt");
}

TEST(LazyEndToEndTest, KeepAllIsBitIdentical) {
  bool skippedDense, skippedKeep;
  auto dense = loadOrSkip(kDense, skippedDense);
  auto keepAll = loadOrSkip(kKeepAll, skippedKeep);
  if (skippedDense || skippedKeep)
    GTEST_SKIP() << "compiled models missing (ctest runs e2e-compile* first)";
  ASSERT_TRUE(dense && keepAll);
  ASSERT_TRUE(keepAll->info().pruned);
  ASSERT_EQ(keepAll->info().schedule.size(), static_cast<size_t>(dense->info().layers - 1));
  LazyReference ref = readLazyReference();
  std::vector<int32_t> tokens = ref.prompt, positions;
  for (size_t i = 0; i < tokens.size(); ++i)
    positions.push_back(static_cast<int32_t>(i));
  std::vector<float> a, b;
  std::string error;
  for (int step = 0; step < 5; ++step) {
    int32_t last = static_cast<int32_t>(tokens.size() - 1);
    ASSERT_TRUE(dense->step(tokens, positions, {last}, a, error)) << error;
    ASSERT_TRUE(keepAll->step(tokens, positions, {last}, b, error)) << error;
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << "step " << step << ": logits differ from the dense model's";
    StepStats s = keepAll->stats();
    for (size_t l = 0; l < s.keys.size(); ++l)
      EXPECT_EQ(s.keys[l], positions.back() + 1) << "layer " << l << " dropped a token";
    int32_t next = static_cast<int32_t>(std::max_element(a.begin(), a.end()) - a.begin());
    tokens = {next};
    positions = {positions.back() + 1};
  }
}

TEST(LazyEndToEndTest, WindowScoresMatchNumpyReference) {
  // The fixture's schedule with --score-window=16 --score-pool=5 (ours): the
  // same reference script scores with the mean attention of the window's
  // rows, max-pooled (make_lazy_fixture.py --window 16 --pool 5).
  matchCompiledModel(kWindow, "e2e-compile-window", "lazy-smollm2-w16p5.txt");
}

// The window model with --reuse-bias=4 (ours): before each percentile, the
// scores of the tokens the next layer already holds are multiplied by 4
// (make_lazy_fixture.py --reuse-bias 4: 82 revivals in 16 decode steps
// against 229 without), with the runtime's kernels and with the CUDA target's
// loops (generated scores and selection around lazyc_rt_reuse_bias).
TEST(LazyEndToEndTest, ReuseBiasMatchesNumpyReference) {
  matchCompiledModel(kReuseBias, "e2e-compile-reusebias", "lazy-smollm2-w16p5-b4.txt");
}
TEST(LazyEndToEndTest, ReuseBiasGPULoopsMatchNumpyReference) {
  matchCompiledModel(kReuseBiasGPULoops, "e2e-compile-reusebiasgpuloops",
                     "lazy-smollm2-w16p5-b4.txt");
}

// The window model with the CUDA target's loop nests: the window's scores
// generated (lazyc-scores-to-linalg, causal rows and the row count computed
// in the loops) instead of lazyc_rt_window_scores.
TEST(LazyEndToEndTest, WindowScoresGPULoopsMatchNumpyReference) {
  matchCompiledModel(kWindowGPULoops, "e2e-compile-windowgpuloops", "lazy-smollm2-w16p5.txt");
}

// A follow-up turn (lazy-run --follow-up): after the 16 decode steps, one
// step over a 12-token question at the next positions, then 4 decode steps
// (make_lazy_fixture.py --follow-up). S_0 is the whole context again; the
// question's rows score the window, its other tokens may be dropped and saved
// like any computed row, and what the prefill and the decode steps skipped
// comes back where the question selects it.
TEST(LazyEndToEndTest, FollowUpMatchesNumpyReference) {
  matchCompiledModel(kWindow, "e2e-compile-window", "lazy-smollm2-w16p5-followup.txt");
}
TEST(LazyEndToEndTest, FollowUpGPULoopsMatchNumpyReference) {
  matchCompiledModel(kWindowGPULoops, "e2e-compile-windowgpuloops",
                     "lazy-smollm2-w16p5-followup.txt");
}
// With --reuse-bias=4 the decode steps are biased and the follow-up's step
// is not (it selects like a prompt: 550 token-layers and 19 revivals; biased
// it would compute 336 and revive none).
TEST(LazyEndToEndTest, ReuseBiasFollowUpMatchesNumpyReference) {
  matchCompiledModel(kReuseBias, "e2e-compile-reusebias", "lazy-smollm2-w16p5-b4-followup.txt");
}
TEST(LazyEndToEndTest, ReuseBiasFollowUpGPULoopsMatchNumpyReference) {
  matchCompiledModel(kReuseBiasGPULoops, "e2e-compile-reusebiasgpuloops",
                     "lazy-smollm2-w16p5-b4-followup.txt");
}

TEST(LazyEndToEndTest, ResetForgetsTheAuxCache) {
  bool skipped;
  auto model = loadOrSkip(kPruned, skipped);
  if (skipped)
    GTEST_SKIP() << "pruned model missing";
  ASSERT_TRUE(model);
  LazyReference ref = readLazyReference();
  std::vector<int32_t> positions;
  for (size_t i = 0; i < ref.prompt.size(); ++i)
    positions.push_back(static_cast<int32_t>(i));
  std::vector<float> first, again;
  std::string error;
  int32_t last = static_cast<int32_t>(ref.prompt.size() - 1);
  ASSERT_TRUE(model->step(ref.prompt, positions, {last}, first, error)) << error;
  model->reset();
  ASSERT_TRUE(model->step(ref.prompt, positions, {last}, again, error)) << error;
  EXPECT_EQ(first, again);
  EXPECT_EQ(model->stats().totalComputed, ref.steps[0].computed);
}

} // namespace
