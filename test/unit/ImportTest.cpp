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

/// A 1-layer llama header; `heads`/`kvHeads` are configurable.
ImageBuilder tinyLlama(uint32_t heads, uint32_t kvHeads, uint64_t tensors) {
  ImageBuilder b;
  b.header(3, tensors, 7);
  kvString(b, "general.architecture", "llama");
  kvU32(b, "llama.block_count", 1);
  kvU32(b, "llama.embedding_length", 64);
  kvU32(b, "llama.feed_forward_length", 128);
  kvU32(b, "llama.attention.head_count", heads);
  kvU32(b, "llama.attention.head_count_kv", kvHeads);
  kvU32(b, "llama.context_length", 256);
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

} // namespace
