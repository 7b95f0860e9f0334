//===- Runtime.h - load and run a compiled model ----------------*- C++ -*-===//
//
// Loads a model.so made by lazy-compile (ABI in compiler/Compile.h), fills
// its weight arena from the model file (GGUF or a Hugging Face checkpoint,
// dequantized once), owns the KV cache, and runs steps.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_RUNTIME_H
#define LAZYC_RUNTIME_RUNTIME_H

#include "runtime/cpu/Kernels.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace lazyc::rt {

class Tokenizer;

struct ModelInfo {
  std::string arch, name;
  int64_t contextLength = 0, vocabSize = 0, layers = 0, kvHeads = 0, headDim = 0;
  int64_t arenaBytes = 0;
};

class CompiledModel {
public:
  /// Loads `library` (model.so) and the weights of `modelPath`; the KV cache
  /// holds `context` tokens (0 = the compiled context length).
  static std::unique_ptr<CompiledModel> load(const std::string &library,
                                             const std::string &modelPath, int64_t context,
                                             std::string &error);
  ~CompiledModel();

  const ModelInfo &info() const { return info_; }
  int64_t context() const { return cache_.context; }
  /// The tokenizer of the model file.
  const Tokenizer &tokenizer() const { return *tokenizer_; }

  /// Runs one step over `tokens` at `positions` (each < context()), returning
  /// the logits of the rows `logitRows` (indices into this step's tokens) as
  /// a [logitRows.size() x vocab] array.
  bool step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions,
            const std::vector<int32_t> &logitRows, std::vector<float> &logits,
            std::string &error);
  /// Forgets every cached token.
  void reset();

private:
  CompiledModel() = default;
  bool loadWeights(const std::string &modelPath, const std::string &description,
                   std::string &error);

  void *library_ = nullptr;
  void *forward_ = nullptr;
  ModelInfo info_;
  uint8_t *arena_ = nullptr;
  LazycKVCache cache_{};
  std::unique_ptr<Tokenizer> tokenizer_;
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

private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
};

/// Peak resident set size of this process, in MiB.
double peakRSSMiB();

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_RUNTIME_H
