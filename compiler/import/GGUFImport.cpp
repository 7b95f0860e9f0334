//===- GGUFImport.cpp - GGUF (llama family) to llm IR ----------------------===//

#include "compiler/import/Import.h"

#include "dialects/llm/LLMOps.h"
#include "runtime/model/GGUF.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace lazyc;

namespace {
/// Architectures whose GGUF tensors follow llama.cpp's LLM_ARCH_LLAMA layout
/// (no biases, SwiGLU MLP, RMSNorm, RoPE, optional GQA).
const char *const kLlamaFamily[] = {"llama", "mistral"};
} // namespace

bool lazyc::readGGUFConfig(const rt::GGUFFile &file, ModelConfig &config,
                           std::string &error) {
  std::optional<std::string> arch = file.getString("general.architecture");
  if (!arch) {
    error = "the model file does not name its architecture "
            "(general.architecture missing)";
    return false;
  }
  bool supported = false;
  for (const char *a : kLlamaFamily)
    supported |= *arch == a;
  if (!supported) {
    error = "unsupported architecture '" + *arch +
            "' (lazyc imports the llama family: llama, mistral)";
    return false;
  }
  config.arch = *arch;
  config.name = file.getString("general.name").value_or(*arch);
  auto need = [&](const std::string &key, int64_t &out) {
    std::optional<int64_t> v = file.getInt(*arch + "." + key);
    if (!v || *v <= 0) {
      error = "model metadata '" + *arch + "." + key +
              "' is missing or not a positive integer";
      return false;
    }
    out = *v;
    return true;
  };
  if (!need("block_count", config.numLayers) ||
      !need("embedding_length", config.hidden) ||
      !need("feed_forward_length", config.ffn) ||
      !need("attention.head_count", config.numHeads) ||
      !need("context_length", config.contextLength))
    return false;
  config.numKVHeads = file.getInt(*arch + ".attention.head_count_kv")
                          .value_or(config.numHeads);
  if (config.numKVHeads <= 0 || config.numHeads % config.numKVHeads != 0) {
    error = "attention.head_count (" + std::to_string(config.numHeads) +
            ") is not a multiple of attention.head_count_kv (" +
            std::to_string(config.numKVHeads) + ")";
    return false;
  }
  if (config.hidden % config.numHeads != 0) {
    error = "embedding_length (" + std::to_string(config.hidden) +
            ") is not a multiple of attention.head_count (" +
            std::to_string(config.numHeads) + ")";
    return false;
  }
  config.headDim = config.hidden / config.numHeads;
  if (auto ropeDim = file.getInt(*arch + ".rope.dimension_count");
      ropeDim && *ropeDim != config.headDim) {
    error = "partial rotary embeddings (rope.dimension_count " +
            std::to_string(*ropeDim) + " != head_dim " +
            std::to_string(config.headDim) + ") are not supported";
    return false;
  }
  if (auto scaling = file.getString(*arch + ".rope.scaling.type");
      scaling && *scaling != "none") {
    error = "RoPE scaling '" + *scaling + "' is not supported";
    return false;
  }
  config.ropeTheta = file.getFloat(*arch + ".rope.freq_base").value_or(10000.0);
  config.rmsEpsilon =
      file.getFloat(*arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5);
  if (!(config.ropeTheta > 0) || !(config.rmsEpsilon > 0)) {
    error = "rope.freq_base and layer_norm_rms_epsilon must be positive";
    return false;
  }
  // llama.cpp's converter permutes Q/K rows for GGML's interleaved RoPE.
  config.ropeInterleaved = true;

  const rt::GGUFTensorInfo *emb = file.findTensor("token_embd.weight");
  if (!emb || emb->dims.size() != 2 ||
      emb->dims[0] != static_cast<uint64_t>(config.hidden)) {
    error = "tensor 'token_embd.weight' is missing or not [vocab, " +
            std::to_string(config.hidden) + "]";
    return false;
  }
  config.vocabSize = static_cast<int64_t>(emb->dims[1]);
  config.tiedEmbeddings = file.findTensor("output.weight") == nullptr;
  return true;
}

/// The tensors of a llama-family decoder and their [out, in] shapes.
static std::vector<std::pair<std::string, std::vector<int64_t>>>
expectedTensors(const ModelConfig &c) {
  int64_t kv = c.numKVHeads * c.headDim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out = {
      {"token_embd.weight", {c.vocabSize, c.hidden}},
      {"output_norm.weight", {c.hidden}}};
  if (!c.tiedEmbeddings)
    out.push_back({"output.weight", {c.vocabSize, c.hidden}});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    out.push_back({p + "attn_norm.weight", {c.hidden}});
    out.push_back({p + "attn_q.weight", {c.hidden, c.hidden}});
    out.push_back({p + "attn_k.weight", {kv, c.hidden}});
    out.push_back({p + "attn_v.weight", {kv, c.hidden}});
    out.push_back({p + "attn_output.weight", {c.hidden, c.hidden}});
    out.push_back({p + "ffn_norm.weight", {c.hidden}});
    out.push_back({p + "ffn_gate.weight", {c.ffn, c.hidden}});
    out.push_back({p + "ffn_up.weight", {c.ffn, c.hidden}});
    out.push_back({p + "ffn_down.weight", {c.hidden, c.ffn}});
  }
  return out;
}

OwningOpRef<ModuleOp> lazyc::buildDecoder(MLIRContext *context,
                                          const ModelConfig &c,
                                          const ImportOptions &options) {
  context->loadDialect<llm::LLMDialect, func::FuncDialect>();
  OpBuilder b(context);
  Location loc = NameLoc::get(b.getStringAttr(c.name));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr("llm.arch", b.getStringAttr(c.arch));
  (*module)->setAttr("llm.name", b.getStringAttr(c.name));
  (*module)->setAttr("llm.context_length",
                  b.getI64IntegerAttr(options.contextLength > 0
                                          ? options.contextLength
                                          : c.contextLength));
  (*module)->setAttr("llm.vocab_size", b.getI64IntegerAttr(c.vocabSize));
  b.setInsertionPointToEnd(module->getBody());

  const int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  Type wt = options.weightType == WeightType::BF16  ? Type(b.getBF16Type())
            : options.weightType == WeightType::F16 ? Type(b.getF16Type())
                                                    : f32;
  auto rows = [&](int64_t cols) { return RankedTensorType::get({dyn, cols}, f32); };
  auto ids = RankedTensorType::get({dyn}, b.getI32Type());
  auto cache = llm::KVCacheType::get(context, c.numLayers, c.numKVHeads,
                                     c.headDim, f32);
  auto fn = func::FuncOp::create(
      b, loc, "forward",
      b.getFunctionType({ids, ids, cache, ids}, {rows(c.vocabSize)}));
  fn.setArgAttr(0, "llm.name", b.getStringAttr("tokens"));
  fn.setArgAttr(1, "llm.name", b.getStringAttr("positions"));
  fn.setArgAttr(2, "llm.name", b.getStringAttr("kv_cache"));
  fn.setArgAttr(3, "llm.name", b.getStringAttr("logit_rows"));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), pos = entry->getArgument(1),
        kv = entry->getArgument(2), logitRows = entry->getArgument(3);

  auto matrix = [&](const std::string &name, int64_t out, int64_t in) -> Value {
    return llm::WeightOp::create(b, loc, RankedTensorType::get({out, in}, wt), name);
  };
  auto vector = [&](const std::string &name, int64_t n) -> Value {
    return llm::WeightOp::create(b, loc, RankedTensorType::get({n}, f32), name);
  };
  auto eps = b.getF64FloatAttr(c.rmsEpsilon);
  auto rmsNorm = [&](Value x, const std::string &weight) -> Value {
    return llm::RMSNormOp::create(b, loc, rows(c.hidden), x,
                                  vector(weight, c.hidden), eps);
  };
  auto linear = [&](Value x, const std::string &weight, int64_t out, int64_t in) -> Value {
    return llm::LinearOp::create(b, loc, rows(out), x, matrix(weight, out, in));
  };
  auto rope = [&](Value x, int64_t cols) -> Value {
    auto op = llm::RoPEOp::create(b, loc, rows(cols), x, pos,
                                  b.getI64IntegerAttr(c.headDim),
                                  b.getF64FloatAttr(c.ropeTheta));
    if (c.ropeInterleaved)
      op.setInterleaved(true);
    return op;
  };

  int64_t kvCols = c.numKVHeads * c.headDim;
  Value embedding = matrix("token_embd.weight", c.vocabSize, c.hidden);
  Value x = llm::EmbeddingOp::create(b, loc, rows(c.hidden), embedding, tokens);
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    Value n = rmsNorm(x, p + "attn_norm.weight");
    Value q = rope(linear(n, p + "attn_q.weight", c.hidden, c.hidden), c.hidden);
    Value k = rope(linear(n, p + "attn_k.weight", kvCols, c.hidden), kvCols);
    Value v = linear(n, p + "attn_v.weight", kvCols, c.hidden);
    Value attn = llm::AttentionOp::create(
        b, loc, rows(c.hidden), q, k, v, pos, kv, b.getI64IntegerAttr(l),
        b.getI64IntegerAttr(c.numHeads), b.getI64IntegerAttr(c.numKVHeads),
        b.getI64IntegerAttr(c.headDim),
        b.getF64FloatAttr(1.0 / std::sqrt(static_cast<double>(c.headDim))));
    Value h = llm::AddOp::create(
        b, loc, x, linear(attn, p + "attn_output.weight", c.hidden, c.hidden));
    Value m = rmsNorm(h, p + "ffn_norm.weight");
    Value act = llm::SwiGLUOp::create(b, loc, linear(m, p + "ffn_gate.weight", c.ffn, c.hidden),
                                      linear(m, p + "ffn_up.weight", c.ffn, c.hidden));
    x = llm::AddOp::create(b, loc, h,
                           linear(act, p + "ffn_down.weight", c.hidden, c.ffn));
  }
  Value out = rmsNorm(x, "output_norm.weight");
  Value head = c.tiedEmbeddings ? embedding
                                : matrix("output.weight", c.vocabSize, c.hidden);
  Value logits = llm::LogitsOp::create(b, loc, rows(c.vocabSize), out, logitRows, head);
  func::ReturnOp::create(b, loc, logits);
  return module;
}

OwningOpRef<ModuleOp> lazyc::importGGUF(MLIRContext *context,
                                        const rt::GGUFFile &file,
                                        const ImportOptions &options,
                                        std::string &error) {
  ModelConfig config;
  if (!readGGUFConfig(file, config, error))
    return nullptr;
  if (options.contextLength < 0 || options.contextLength > config.contextLength) {
    error = "requested context length " + std::to_string(options.contextLength) +
            " is outside [1, " + std::to_string(config.contextLength) +
            "], the model's trained context";
    return nullptr;
  }
  for (const auto &[name, shape] : expectedTensors(config)) {
    const rt::GGUFTensorInfo *t = file.findTensor(name);
    if (!t) {
      error = "tensor '" + name + "' is missing from the model file";
      return nullptr;
    }
    // GGUF lists dimensions innermost first.
    std::vector<uint64_t> want(shape.rbegin(), shape.rend());
    if (t->dims != want) {
      std::string got;
      for (uint64_t d : t->dims)
        got += (got.empty() ? "" : "x") + std::to_string(d);
      error = "tensor '" + name + "' has GGUF shape " + got +
              ", which does not match the architecture's hyper-parameters";
      return nullptr;
    }
    const rt::GGMLTypeTraits *traits = rt::getTypeTraits(static_cast<uint32_t>(t->type));
    if (!traits || !traits->canDequantize) {
      error = "tensor '" + name + "' has type " +
              std::string(traits ? traits->name : "?") +
              ", which lazyc cannot dequantize";
      return nullptr;
    }
  }
  OwningOpRef<ModuleOp> module = buildDecoder(context, config, options);
  if (failed(verify(*module))) {
    error = "internal error: the imported IR does not verify";
    return nullptr;
  }
  return module;
}
