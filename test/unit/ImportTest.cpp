//===- ImportTest.cpp - GGUF -> llm IR: real model and malformed models ----===//

#include "compiler/InitAll.h"
#include "compiler/import/Import.h"
#include "dialects/llm/LLMOps.h"
#include "runtime/model/GGUF.h"
#include "test/unit/GGUFBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace lazyc;
using lazyc::test::ImageBuilder;

namespace {

const std::string kModel = LAZYC_MODEL_PATH;

class ImportTest : public ::testing::Test {
protected:
  ImportTest() {
    mlir::DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
  }
  std::string importError(const std::vector<uint8_t> &bytes,
                          ImportOptions options = {}) {
    std::string error;
    auto file = rt::GGUFFile::parse(bytes.data(), bytes.size(), error);
    EXPECT_TRUE(file) << error;
    if (!file)
      return error;
    EXPECT_FALSE(importGGUF(&context, *file, options, error));
    return error;
  }
  /// readGGUFConfig on an image: empty, or the error.
  std::string readConfig(const ImageBuilder &b, ModelConfig &config) {
    std::string error;
    auto file = rt::GGUFFile::parse(b.bytes.data(), b.bytes.size(), error);
    EXPECT_TRUE(file) << error;
    return file && readGGUFConfig(*file, config, error) ? std::string() : error;
  }
  mlir::MLIRContext context;
};

ImageBuilder &kvString(ImageBuilder &b, const std::string &k, const std::string &v) {
  return b.str(k).put<uint32_t>(8).str(v);
}
ImageBuilder &kvU32(ImageBuilder &b, const std::string &k, uint32_t v) {
  return b.str(k).put<uint32_t>(4).put<uint32_t>(v);
}

TEST_F(ImportTest, SmolLM2) {
  if (!std::ifstream(kModel).good())
    GTEST_SKIP() << "model not downloaded (scripts/setup.sh): " << kModel;
  std::string error;
  auto file = rt::GGUFFile::open(kModel, error);
  ASSERT_TRUE(file) << error;
  ModelConfig config;
  ASSERT_TRUE(readGGUFConfig(*file, config, error)) << error;
  EXPECT_EQ(config.numLayers, 30);
  EXPECT_EQ(config.numHeads, 9);
  EXPECT_EQ(config.numKVHeads, 3);
  EXPECT_EQ(config.hidden, 576);
  EXPECT_EQ(config.ffn, 1536);
  EXPECT_EQ(config.headDim, 64);
  EXPECT_EQ(config.vocabSize, 49152);
  EXPECT_TRUE(config.tiedEmbeddings);

  ImportOptions options;
  options.contextLength = 4096;
  options.weightType = WeightType::BF16;
  auto module = importGGUF(&context, *file, options, error);
  ASSERT_TRUE(module) << error;
  int attention = 0, weights = 0;
  module->walk([&](llm::AttentionOp op) {
    EXPECT_EQ(op.getLayer(), attention++);
    EXPECT_EQ(op.getNumHeads(), 9);
    EXPECT_EQ(op.getNumKvHeads(), 3);
  });
  module->walk([&](llm::WeightOp op) {
    ++weights;
    EXPECT_TRUE(file->findTensor(op.getName().str())) << op.getName().str();
  });
  EXPECT_EQ(attention, 30);
  EXPECT_EQ(weights, 2 + 30 * 9); // embedding (tied head) + final norm + 9 per layer
  EXPECT_EQ((*module)->getAttrOfType<mlir::IntegerAttr>("llm.context_length").getInt(), 4096);
  // The logits read the embedding table (tied weights).
  module->walk([&](llm::LogitsOp op) {
    EXPECT_EQ(op.getLmHead().getDefiningOp<llm::WeightOp>().getName(), "token_embd.weight");
  });

  options.contextLength = 9000;
  EXPECT_FALSE(importGGUF(&context, *file, options, error));
  EXPECT_NE(error.find("requested context length 9000 is outside [1, 8192]"), std::string::npos)
      << error;
}

TEST_F(ImportTest, UnsupportedArchitecture) {
  ImageBuilder b;
  b.header(3, 0, 1);
  kvString(b, "general.architecture", "bert");
  EXPECT_NE(importError(b.bytes).find("unsupported architecture 'bert'"), std::string::npos);
  ImageBuilder none;
  none.header(3, 0, 0);
  EXPECT_NE(importError(none.bytes).find("general.architecture missing"), std::string::npos);
}

/// A 1-layer llama header; `heads`/`kvHeads` are configurable, and
/// `extraKVs` more metadata entries follow it.
ImageBuilder tinyLlama(uint32_t heads, uint32_t kvHeads, uint64_t tensors,
                       uint64_t extraKVs = 0, uint32_t blocks = 1,
                       const std::string &arch = "llama") {
  ImageBuilder b;
  b.header(3, tensors, 7 + extraKVs);
  kvString(b, "general.architecture", arch);
  kvU32(b, arch + ".block_count", blocks);
  kvU32(b, arch + ".embedding_length", 64);
  kvU32(b, arch + ".feed_forward_length", 128);
  kvU32(b, arch + ".attention.head_count", heads);
  kvU32(b, arch + ".attention.head_count_kv", kvHeads);
  kvU32(b, arch + ".context_length", 256);
  return b;
}

TEST_F(ImportTest, InconsistentHyperParameters) {
  auto gqa = tinyLlama(4, 3, 0);
  EXPECT_NE(importError(gqa.bytes).find("not a multiple of attention.head_count_kv (3)"),
            std::string::npos);
  auto heads = tinyLlama(5, 5, 0);
  EXPECT_NE(importError(heads.bytes).find("embedding_length (64) is not a multiple"),
            std::string::npos);
  auto noEmbedding = tinyLlama(4, 2, 0);
  EXPECT_NE(importError(noEmbedding.bytes).find("'token_embd.weight' is missing"),
            std::string::npos);
}

// A block count the file's tensors cannot hold is refused before the
// importer lists the tensors it needs (a billion blocks once ran it out of
// memory: test/fuzz/regressions/import/).
TEST_F(ImportTest, BlockCountBeyondTheTensors) {
  auto b = tinyLlama(4, 2, 2, 0, 1000000000);
  b.tensor("token_embd.weight", {64, 100}, 0, 0);
  b.tensor("output_norm.weight", {64}, 0, 64 * 100 * 4);
  b.alignData();
  b.bytes.resize(b.bytes.size() + 64 * 100 * 4 + 64 * 4);
  EXPECT_EQ(importError(b.bytes), "llama.block_count (1000000000) names more blocks than the "
                                  "file has tensors (2; a block has 9)");
}

TEST_F(ImportTest, MissingAndMisshapenTensors) {
  auto b = tinyLlama(4, 2, 2);
  b.tensor("token_embd.weight", {64, 100}, 0, 0);
  b.tensor("output_norm.weight", {32}, 0, 64 * 100 * 4);
  b.alignData();
  b.bytes.resize(b.bytes.size() + 64 * 100 * 4 + 32 * 4);
  EXPECT_NE(importError(b.bytes).find("tensor 'output_norm.weight' has shape 32 but the architecture's hyper-parameters need 64"),
            std::string::npos);
  auto c = tinyLlama(4, 2, 2);
  c.tensor("token_embd.weight", {64, 100}, 0, 0);
  c.tensor("output_norm.weight", {64}, 0, 64 * 100 * 4);
  c.alignData();
  c.bytes.resize(c.bytes.size() + 64 * 100 * 4 + 64 * 4);
  EXPECT_NE(importError(c.bytes).find("tensor 'blk.0.attn_norm.weight' is missing"),
            std::string::npos);
}

/// Llama 3.1/3.2 GGUFs carry their RoPE scaling as llama.cpp's converter
/// writes it: `rope_freqs.weight`, one divisor per frequency (the numbers are
/// checked end to end against transformers: EndToEndTest tiny_hf_llama3_gguf).
/// Linear scaling multiplies them; YaRN without its parameters, other
/// kinds and malformed factors are errors, never ignored.
TEST_F(ImportTest, RopeScaling) {
  // 4 heads of 16: 8 frequencies. token_embd [64 x 100] f32, then the factors.
  const uint64_t embBytes = 64 * 100 * 4;
  auto model = [&](std::vector<uint64_t> freqDims, uint32_t freqType,
                   const std::vector<float> &factors, const char *scaling, float factor) {
    auto b = tinyLlama(4, 2, 2, scaling ? 2 : 0);
    if (scaling) {
      kvString(b, "llama.rope.scaling.type", scaling);
      b.str("llama.rope.scaling.factor").put<uint32_t>(6).put<float>(factor);
    }
    b.tensor("token_embd.weight", {64, 100}, 0, 0);
    b.tensor("rope_freqs.weight", freqDims, freqType, embBytes);
    b.alignData();
    b.bytes.resize(b.bytes.size() + embBytes);
    for (float f : factors)
      b.put<float>(f);
    return b;
  };
  std::vector<float> llama3 = {1, 1.25f, 4, 8, 8, 8, 8, 8};
  ModelConfig c;
  ASSERT_EQ(readConfig(model({8}, 0, llama3, nullptr, 0), c), "");
  EXPECT_EQ(c.ropeFreqFactors, std::vector<double>(llama3.begin(), llama3.end()));

  ModelConfig linear;
  ASSERT_EQ(readConfig(model({8}, 0, llama3, "linear", 2), linear), "");
  EXPECT_EQ(linear.ropeFreqFactors, (std::vector<double>{2, 2.5, 8, 16, 16, 16, 16, 16}));

  // YaRN (checked against transformers end to end: EndToEndTest
  // tiny_hf_qwen3_yarn_gguf) needs the original context, which this file
  // lacks; LongRoPE is refused by name.
  ModelConfig yarn;
  EXPECT_NE(readConfig(model({8}, 0, llama3, "yarn", 4), yarn)
                .find("yarn RoPE scaling needs rope.scaling.original_context_length > 0"),
            std::string::npos);
  ModelConfig longrope;
  EXPECT_NE(readConfig(model({8}, 0, llama3, "longrope", 4), longrope)
                .find("RoPE scaling 'longrope' is not supported"),
            std::string::npos);
  ModelConfig shortFactors;
  EXPECT_NE(readConfig(model({4}, 0, {1, 1, 1, 1, 0, 0, 0, 0}, nullptr, 0), shortFactors)
                .find("'rope_freqs.weight' (RoPE frequency factors) must be f32 or f16 with "
                      "head_dim / 2 = 8 elements"),
            std::string::npos);
  ModelConfig zero;
  EXPECT_NE(readConfig(model({8}, 0, {1, 1, 0, 8, 8, 8, 8, 8}, nullptr, 0), zero)
                .find("'rope_freqs.weight' has a factor that is not positive and finite"),
            std::string::npos);
}

/// rope.dimension_count below the head width: partial rotary embeddings
/// (Phi-4-mini, llama.cpp's n_rot) for the rotate-half (NEOX) architectures;
/// the RoPE scaling factors then count half of it. (Phi-4-mini's form is
/// checked end to end against transformers: EndToEndTest tiny_hf_phi4mini_gguf.)
/// GGML's interleaved layout under a partial rotation is refused but for
/// glm4 (EndToEndTest tiny_hf_glm4_gguf).
TEST_F(ImportTest, PartialRotary) {
  const uint64_t embBytes = 64 * 100 * 4;
  auto model = [&](uint32_t ropeDim, size_t factors, const char *arch = "qwen2") {
    auto b = tinyLlama(4, 2, 2, 1, 1, arch);
    kvU32(b, std::string(arch) + ".rope.dimension_count", ropeDim);
    b.tensor("token_embd.weight", {64, 100}, 0, 0);
    b.tensor("rope_freqs.weight", {factors}, 0, embBytes);
    b.alignData();
    b.bytes.resize(b.bytes.size() + embBytes);
    for (size_t i = 0; i < factors; ++i)
      b.put<float>(1.0f + static_cast<float>(i));
    return b;
  };
  ModelConfig c;
  ASSERT_EQ(readConfig(model(12, 6), c), "");
  EXPECT_EQ(c.headDim, 16);
  EXPECT_EQ(c.ropeDim, 12);
  EXPECT_EQ(c.rotaryDim(), 12);
  EXPECT_EQ(c.ropeFreqFactors, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  ModelConfig whole; // the head's width: a whole-head rotation
  ASSERT_EQ(readConfig(model(16, 8), whole), "");
  EXPECT_EQ(whole.ropeDim, 0);
  ModelConfig headCount;
  EXPECT_NE(readConfig(model(12, 8), headCount)
                .find("'rope_freqs.weight' (RoPE frequency factors) must be f32 or f16 with "
                      "rope.dimension_count / 2 = 6 elements"),
            std::string::npos);
  for (uint32_t bad : {18u, 7u, 0u}) {
    ModelConfig b;
    EXPECT_NE(readConfig(model(bad, 8), b)
                  .find("rope.dimension_count " + std::to_string(bad) +
                        " must be positive, even and at most the head size 16"),
              std::string::npos)
        << bad;
  }
  ModelConfig interleaved;
  EXPECT_NE(readConfig(model(12, 6, "llama"), interleaved)
                .find("partial rotary embeddings (rope.dimension_count 12 of 16) are supported "
                      "for glm4 and the architectures with rotate-half RoPE (phi3, qwen2, ...), "
                      "not for 'llama'"),
            std::string::npos);
}

/// attention.key_length sets the head width when it is not embedding_length /
/// heads (Mistral Nemo); key and value widths must agree.
TEST_F(ImportTest, HeadWidthFromKeyLength) {
  auto model = [&](uint32_t key, uint32_t value) {
    auto b = tinyLlama(4, 2, 1, 2);
    kvU32(b, "llama.attention.key_length", key);
    kvU32(b, "llama.attention.value_length", value);
    b.tensor("token_embd.weight", {64, 100}, 0, 0);
    b.alignData();
    b.bytes.resize(b.bytes.size() + 64 * 100 * 4);
    return b;
  };
  ModelConfig c;
  ASSERT_EQ(readConfig(model(32, 32), c), "");
  EXPECT_EQ(c.headDim, 32); // 4 heads of 32 on a 64-wide model
  auto tensors = expectedTensors(c); // tied embeddings: no output.weight
  ASSERT_EQ(tensors[3].first, "blk.0.attn_q.weight");
  EXPECT_EQ(tensors[3].second, (std::vector<int64_t>{128, 64}));
  ASSERT_EQ(tensors[6].first, "blk.0.attn_output.weight");
  EXPECT_EQ(tensors[6].second, (std::vector<int64_t>{64, 128}));
  ModelConfig mismatch;
  EXPECT_NE(readConfig(model(32, 16), mismatch)
                .find("attention.key_length and attention.value_length must be equal, positive "
                      "and even (got 32 and 16)"),
            std::string::npos);
}

/// A GGUF's sliding window: attention.sliding_window for every layer, or the
/// layers attention.sliding_window_pattern marks (one bool per layer, or
/// every n-th layer full as llama.cpp reads a number); malformed patterns
/// are errors naming the key.
TEST_F(ImportTest, SlidingWindowAndItsLayerPattern) {
  auto windowed = [](uint64_t extraKVs) {
    auto b = tinyLlama(4, 2, 1, 1 + extraKVs, /*blocks=*/4);
    kvU32(b, "llama.attention.sliding_window", 64);
    return b;
  };
  // The embeddings after the metadata (readGGUFConfig reads the vocabulary).
  auto withTensors = [](ImageBuilder b) {
    b.tensor("token_embd.weight", {64, 100}, 0, 0);
    b.alignData();
    b.bytes.resize(b.bytes.size() + 64 * 100 * 4);
    return b;
  };
  ModelConfig every;
  ASSERT_EQ(readConfig(withTensors(windowed(0)), every), "");
  EXPECT_EQ(every.slidingWindow, 64);
  for (int64_t l = 0; l < 4; ++l)
    EXPECT_EQ(every.windowOf(l), 64) << l;
  // Every 2nd layer full: layers 0 and 2 slide.
  auto b = windowed(1);
  kvU32(b, "llama.attention.sliding_window_pattern", 2);
  ModelConfig stepped;
  ASSERT_EQ(readConfig(withTensors(b), stepped), "");
  EXPECT_EQ(std::vector<int64_t>({stepped.windowOf(0), stepped.windowOf(1), stepped.windowOf(2),
                                  stepped.windowOf(3)}),
            std::vector<int64_t>({64, 0, 64, 0}));
  // One bool per layer (GGUF array of type 7).
  auto bools = [&](std::vector<uint8_t> flags) {
    auto image = windowed(1);
    image.str("llama.attention.sliding_window_pattern").put<uint32_t>(9).put<uint32_t>(7);
    image.put<uint64_t>(flags.size());
    for (uint8_t f : flags)
      image.put<uint8_t>(f);
    return withTensors(image);
  };
  ModelConfig listed;
  ASSERT_EQ(readConfig(bools({0, 0, 1, 1}), listed), "");
  EXPECT_EQ(std::vector<int64_t>({listed.windowOf(0), listed.windowOf(1), listed.windowOf(2),
                                  listed.windowOf(3)}),
            std::vector<int64_t>({0, 0, 64, 64}));
  // No layer slides: no window at all.
  ModelConfig none;
  ASSERT_EQ(readConfig(bools({0, 0, 0, 0}), none), "");
  EXPECT_EQ(none.slidingWindow, 0);
  ModelConfig shortList;
  EXPECT_NE(readConfig(bools({1, 0}), shortList)
                .find("llama.attention.sliding_window_pattern must be a layer count or one "
                      "bool for each of the 4 layers"),
            std::string::npos);
}

/// Mixtral-style GGUFs say "llama" and hold experts (tiny-mixtral.gguf and
/// the others check them against transformers); counts that cannot be, and
/// what lazyc's router does not do, are errors naming the key.
TEST_F(ImportTest, MixtureOfExpertsMetadata) {
  const std::string counts = "llama.expert_count and llama.expert_used_count must be positive, "
                             "the latter at most the former";
  struct Case {
    uint32_t count, used;
    const char *key;
    uint32_t value;
    std::string message;
  };
  for (const Case &c : {Case{8, 9, nullptr, 0, counts}, Case{8, 0, nullptr, 0, counts},
                        Case{8, 2, "llama.expert_shared_count", 1,
                             "shared experts (llama.expert_shared_count) are not supported but "
                             "ERNIE 4.5's and GLM-4.5's"},
                        Case{8, 2, "llama.expert_gating_func", 2,
                             "llama.expert_gating_func 2 is not supported (lazyc's routers: "
                             "softmax, 1; glm4moe's sigmoid, 2)"}}) {
    auto b = tinyLlama(4, 2, 0, c.key ? 3 : 2);
    kvU32(b, "llama.expert_count", c.count);
    kvU32(b, "llama.expert_used_count", c.used);
    if (c.key)
      kvU32(b, c.key, c.value);
    std::string error = importError(b.bytes);
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
}

/// gpt-oss: every layer is a MoE layer routed by a softmax over the chosen
/// experts' logits; a file without experts, or saying otherwise, is refused.
TEST_F(ImportTest, GptOssMetadata) {
  EXPECT_NE(importError(tinyLlama(4, 2, 0, 0, 1, "gpt-oss").bytes)
                .find("gpt-oss needs gpt-oss.expert_count and expert_used_count"),
            std::string::npos);
  auto unnormalized = tinyLlama(4, 2, 0, 3, 1, "gpt-oss");
  kvU32(unnormalized, "gpt-oss.expert_count", 4);
  kvU32(unnormalized, "gpt-oss.expert_used_count", 2);
  unnormalized.str("gpt-oss.expert_weights_norm").put<uint32_t>(7).put<uint8_t>(0);
  EXPECT_NE(importError(unnormalized.bytes)
                .find("gpt-oss.expert_weights_norm false is not gpt-oss's routing"),
            std::string::npos);
  // llama.cpp's gating function 3 (softmax over the chosen) is gpt-oss's own;
  // another architecture's is refused.
  auto gated = tinyLlama(4, 2, 0, 3, 1, "gpt-oss");
  kvU32(gated, "gpt-oss.expert_count", 4);
  kvU32(gated, "gpt-oss.expert_used_count", 2);
  kvU32(gated, "gpt-oss.expert_gating_func", 3);
  EXPECT_EQ(importError(gated.bytes).find("expert_gating_func"), std::string::npos)
      << importError(gated.bytes);
  // A RoPE base of the sliding layers' own is not implemented.
  auto swaBase = tinyLlama(4, 2, 0, 3, 1, "gpt-oss");
  kvU32(swaBase, "gpt-oss.expert_count", 4);
  kvU32(swaBase, "gpt-oss.expert_used_count", 2);
  swaBase.str("gpt-oss.rope.freq_base_swa").put<uint32_t>(6).put<float>(5000.0f);
  EXPECT_NE(importError(swaBase.bytes)
                .find("gpt-oss.rope.freq_base_swa (a RoPE base of the sliding layers' own, "
                      "5000.000000) is not supported"),
            std::string::npos)
      << importError(swaBase.bytes);
  auto llama = tinyLlama(4, 2, 0, 3);
  kvU32(llama, "llama.expert_count", 4);
  kvU32(llama, "llama.expert_used_count", 2);
  kvU32(llama, "llama.expert_gating_func", 3);
  EXPECT_NE(importError(llama.bytes).find("llama.expert_gating_func 3 is not supported"),
            std::string::npos);
}

/// gptneox: whether a block runs its attention and MLP in parallel is
/// use_parallel_residual (llama.cpp requires it too): missing or not a bool,
/// refused; either value is read.
TEST_F(ImportTest, GptNeoXParallelResidual) {
  const std::string missing = "gptneox.use_parallel_residual (a bool) is missing";
  EXPECT_NE(importError(tinyLlama(4, 4, 0, 0, 1, "gptneox").bytes).find(missing),
            std::string::npos);
  auto number = tinyLlama(4, 4, 0, 1, 1, "gptneox");
  kvU32(number, "gptneox.use_parallel_residual", 1);
  EXPECT_NE(importError(number.bytes).find(missing), std::string::npos);
  for (uint8_t parallel : {0, 1}) {
    auto b = tinyLlama(4, 4, 0, 1, 1, "gptneox");
    b.str("gptneox.use_parallel_residual").put<uint32_t>(7).put<uint8_t>(parallel);
    ModelConfig config;
    std::string error = readConfig(b, config);
    EXPECT_EQ(error.find("use_parallel_residual"), std::string::npos) << error;
    EXPECT_EQ(config.parallelBlock, parallel != 0);
    EXPECT_EQ(config.parallelMlpNorm, parallel != 0);
    EXPECT_TRUE(config.fusedQKV && config.layerNorm && config.normBias && !config.gatedMlp);
    EXPECT_EQ(config.mlpActivation, "gelu");
  }
}

/// The llama3 factors against transformers' _compute_llama3_parameters for
/// Llama 3.1 8B's config (theta 500000, head_dim 128, factor 8, low/high 1/4,
/// original context 8192): transformers' inv_freq divided into the plain
/// one, computed with torch in float32: 1 up to frequency 28, the band
/// 29..34 interpolated, 8 from 35 on.
TEST(Llama3RopeFactors, MatchTransformers) {
  std::vector<double> f = llama3RopeFactors(500000.0, 128, 8.0, 1.0, 4.0, 8192.0);
  ASSERT_EQ(f.size(), 64u);
  const double band[] = {1.207484, 1.553415, 2.026313, 2.69453, 3.684253, 5.257327};
  for (size_t i = 0; i < f.size(); ++i) {
    double want = i < 29 ? 1.0 : i < 35 ? band[i - 29] : 8.0;
    EXPECT_NEAR(f[i], want, 2e-5 * want) << "frequency " << i;
  }
}

} // namespace
