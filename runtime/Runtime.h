//===- Runtime.h - load and run a compiled model ----------------*- C++ -*-===//
//
// Loads a model.so made by lazy-compile (ABI in compiler/Compile.h), fills
// its weight arena from the model file (GGUF or a Hugging Face checkpoint,
// dequantized once), owns the KV cache, and runs steps.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_RUNTIME_H
#define LAZYC_RUNTIME_RUNTIME_H

#include "runtime/Session.h"
#include "runtime/cpu/Kernels.h"
#include "runtime/cuda/CudaApi.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace lazyc::rt {

class Tokenizer;
class JsonValue;

struct ModelInfo {
  std::string arch, name;
  int64_t contextLength = 0, vocabSize = 0, layers = 0, kvHeads = 0, headDim = 0;
  int64_t arenaBytes = 0;
  /// A pruned model (LazyLLM): its policy and schedule (layer, keep).
  bool pruned = false;
  std::string policy;
  std::vector<std::pair<int64_t, double>> schedule;
  /// The schedule's floor: no pruning layer keeps fewer than min(minKeep, |S_l|).
  int64_t minKeep = 0;
  /// lazyllm/static scores: observation window and max-pool width (1 = the paper's).
  int64_t scoreWindow = 1, scorePool = 1;
  double reuseBias = 1; // lazy-compile --reuse-bias
  /// The Aux Cache's row size (the hidden size; 0: none, as in a dense
  /// model; -1: a pruned model compiled before lazy-compile recorded it).
  int64_t auxHidden = 0;
  /// cpu or cuda (lazy-compile --target).
  std::string target = "cpu";
  /// The CPU KV cache's storage: f32, bf16 or f16 (lazy-compile --kv-cache).
  std::string kvCache = "f32";
  /// Compiled from synthetic:NAME: no weight file, random weights only.
  bool synthetic = false;
};

/// What the last step and the whole generation computed, per layer (the
/// LazyLLM counters of LazycKVCache).
struct StepStats {
  std::vector<int64_t> computed;      // last step: rows computed per layer
  std::vector<int64_t> keys;          // last step: |S_l| per layer
  std::vector<int64_t> revived;       // last step: rows revived from the Aux Cache
  std::vector<int64_t> saved;         // last step: rows saved into the Aux Cache
  std::vector<int64_t> lastKey;       // last step: largest position in S_l
  std::vector<int64_t> totalComputed; // generation: rows computed per layer
  int64_t auxBytes = 0;               // Aux Cache memory allocated
  double selectSeconds = 0;           // last step: scoring/selection/Aux Cache kernels
};

class CompiledModel {
public:
  /// Loads `library` (model.so) and the weights of `modelPath` ("random" or
  /// "random:SEED": deterministic random weights, see
  /// runtime/model/RandomWeights.h); the KV cache holds `context` tokens
  /// (0 = the compiled context length). A model compiled for CUDA runs on
  /// GPU 0 (weights, KV cache and Aux Cache in GPU memory).
  static std::unique_ptr<CompiledModel> load(const std::string &library,
                                             const std::string &modelPath, int64_t context,
                                             std::string &error);
  ~CompiledModel();

  const ModelInfo &info() const { return info_; }
  int64_t context() const { return cache_.context; }
  /// The tokenizer of the model file (check hasTokenizer: random weights
  /// come without one, and a Hugging Face checkpoint without tokenizer.json).
  const Tokenizer &tokenizer() const { return *tokenizer_; }
  bool hasTokenizer() const { return tokenizer_ != nullptr; }
  /// Why there is no tokenizer ("random weights", "'DIR' has no
  /// tokenizer.json ..."); empty when there is one.
  const std::string &noTokenizerReason() const { return noTokenizer_; }
  /// The GPU running a CUDA model ("" for the CPU).
  std::string deviceName() const;
  /// CUDA models: which attention ran (LazycCudaApi::attentionInfo); else "".
  std::string attentionInfo() const;
  /// CUDA models under LAZYC_CUDA_PROFILE=1: the profile printed at exit
  /// leaves out the work done so far (warm-up). No-op otherwise.
  void restartProfile();

  /// Runs one step over `tokens` at `positions` (each < context()), returning
  /// the logits of the rows `logitRows` (indices into this step's tokens) as
  /// a [logitRows.size() x vocab] array.
  bool step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions,
            const std::vector<int32_t> &logitRows, std::vector<float> &logits,
            std::string &error);
  /// Forgets every cached token (and the Aux Cache).
  void reset();

  /// Sessions (runtime/Session.cpp, CPU models): the cache's state for the
  /// first tokens.size() positions, which hold `tokens` (K/V, which slots
  /// each layer holds, the Aux Cache), the last token's `logits` (may be
  /// empty) and the caller's `note`, written to `path` (replaced whole).
  bool saveSession(const std::string &path, const std::vector<int32_t> &tokens,
                   const std::vector<float> &logits, std::string &error,
                   const std::string &note = {}) const;
  /// Restores a session of this model (same compiled model and weights):
  /// with a `prompt`, all of it when its tokens are the prompt and it holds
  /// their logits (`restored.logits`: nothing is left to feed), else its
  /// longest common prefix with the prompt short of its last token (logits
  /// empty: that token's step gives them); without one (null), all of it.
  /// `restored.reused` is the length restored (0: nothing in common, the
  /// cache empty). A LazyLLM state cut to a prefix is one of the prefix's
  /// own: no token depends on later ones.
  bool loadSession(const std::string &path, const std::vector<int32_t> *prompt,
                   SessionRestore &restored, std::string &error);
  /// The counters of the last step and of the generation so far.
  StepStats stats() const;

private:
  CompiledModel() = default;
  bool loadWeights(const std::string &modelPath, const std::string &description,
                   std::string &error);
  bool fillRandomWeights(const JsonValue &weights, uint64_t seed, std::string &error);
  bool uploadArena(std::string &error);
  /// Sessions: the compiled model and its weights (the description's hash
  /// and a sample of the weight arena; Session.cpp).
  void hashDescription(const char *description);
  uint64_t identity() const;
  SessionModel sessionModel() const;
  /// reset() but for the K/V values: every slot uncached, no Aux Cache row
  /// saved, the counters zero. (A slot is read only after it is written:
  /// before a session overwrites the slots it restores, zeroing the whole
  /// cache, hundreds of MB, only costs time.)
  void forgetCachedSlots();
  bool canUseSessions(std::string &error) const;
  /// Bytes of one key or value element of the CPU KV cache.
  size_t kvElementBytes() const { return lazyc::rt::kvElementBytes(cache_); }

  void *library_ = nullptr;
  const ::LazycCudaApi *cuda_ = nullptr; // null: CPU model
  void *forward_ = nullptr;
  ModelInfo info_;
  uint8_t *arena_ = nullptr;
  LazycKVCache cache_{};
  std::vector<int64_t> stats_;
  uint64_t descriptionHash_ = 0;                // identity()
  mutable std::optional<uint64_t> identity_;  // identity(), once computed
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string noTokenizer_; // noTokenizerReason()
  std::shared_ptr<void> modelFile_; // keeps the mapping alive
};

struct SamplerOptions {
  float temperature = 0.0f; // 0 = greedy
  int topK = 0;             // 0 = off
  float topP = 1.0f;        // 1 = off
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(SamplerOptions options) : options_(options), rng_(options.seed) {}
  int32_t sample(const float *logits, int64_t vocab);
  /// The random generator's state as text (what lazy-run --session keeps of
  /// a conversation, so that --continue samples on where it stopped), and
  /// back; false if `text` is not such a state.
  std::string state() const;
  bool restore(const std::string &text);

private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
};

/// oneDNN runs its GEMMs on OpenMP threads, and GNU OpenMP busy-waits for a
/// long time between parallel regions by default: on a loaded machine (or a
/// 2-core one running anything else) the waiting threads steal the cores the
/// working ones need, and prefill slows down many times over. libgomp reads
/// its settings when it is loaded, before main, so tools call this first: it
/// restarts the process once with a short spin (unless the user chose a
/// policy). Returns only if no restart happened.
void boundOpenMPSpinning(char **argv);

/// Peak resident set size of this process, in MiB.
double peakRSSMiB();

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_RUNTIME_H
