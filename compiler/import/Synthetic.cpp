//===- Synthetic.cpp - model shapes without a model file --------------------===//
//
// `lazy-compile synthetic:llama2-7b` compiles a decoder of a known shape whose
// weights the runtime fills with deterministic random values (lazy-run
// --random-weights): GPU benchmarks at 7B scale without a 13 GB download, and
// CPU-vs-GPU checks on a small model with identical weights.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Import.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace {
struct Preset {
  const char *name, *summary;
  int64_t layers, hidden, ffn, heads, kvHeads, vocab, context;
  /// A sliding window in the first layer (0: none) and soft-capped
  /// attention scores in every layer (0: none): the banded attention
  /// kernels, GPU vs CPU.
  int64_t window = 0;
  double softcap = 0.0;
  /// Mixture-of-experts MLPs in every layer (0 experts: dense): `topK` of
  /// `experts` of `expertFfn` rows, renormalized.
  int64_t experts = 0, topK = 0, expertFfn = 0;
  /// gpt-oss's layers: attention sinks, biased projections, router and
  /// experts, the clamped SwiGLU, MXFP4 experts (unless --mxfp4=widen), the
  /// window in every other layer (from the first).
  bool gptOss = false;
  /// Heads of this width (0: hidden / heads).
  int64_t headDim = 0;
};
constexpr Preset kPresets[] = {
    {"llama2-7b", "Llama-2-7B shape: 32 layers, hidden 4096, 32 heads, FFN 11008, vocab 32000",
     32, 4096, 11008, 32, 32, 32000, 32768},
    {"smollm2-135m", "SmolLM2-135M shape: 30 layers, hidden 576, 9/3 heads, FFN 1536", 30, 576,
     1536, 9, 3, 49152, 8192},
    {"tiny", "2 layers, hidden 256, 4/2 heads of 64, FFN 512, vocab 1024 (tests)", 2, 256, 512,
     4, 2, 1024, 4096},
    // A cap low enough to bind on random weights' small scores (with 20,
    // Gemma 2's, the logits move by 0.4%; with 0.05 by 4%).
    {"tiny-banded",
     "tiny with a 48-token sliding window in layer 0 and attention scores soft-capped at 0.05 "
     "(tests)",
     2, 256, 512, 4, 2, 1024, 4096, 48, 0.05},
    {"tiny-banded-128", "tiny-banded with 4/2 heads of 128 (hidden 512, FFN 1024; tests)", 2, 512,
     1024, 4, 2, 1024, 4096, 48, 0.05},
    // A CPU-sized mixture of experts (~300M parameters, ~85M active per token).
    {"moe-small",
     "12 layers, hidden 768, 12/4 heads, 16 experts of 512 rows (4 per token), vocab 32000",
     12, 768, 2048, 12, 4, 32000, 16384, 0, 0.0, 16, 4, 512},
    {"tiny-moe", "tiny with 8 experts of 128 rows (2 per token) in both layers (tests)", 2, 256,
     512, 4, 2, 1024, 4096, 0, 0.0, 8, 2, 128},
    // gpt-oss's layers at a CPU size (gpt-oss-20b: 24 layers, hidden 2880,
    // 64/8 heads of 64, 32 experts of 2880, 4 per token, window 128).
    {"gpt-oss-mini",
     "gpt-oss layers: 12 layers, hidden 768, 12/4 heads, 16 MXFP4 experts of 768 rows (4 per "
     "token), sinks, window 128 in every other layer, vocab 32000",
     12, 768, 768, 12, 4, 32000, 16384, 128, 0.0, 16, 4, 768, true},
    // Its full size: 20.9B parameters, 13.7 GB with MXFP4 experts and bf16
    // for the rest (fits a 24 GB machine; bf16 throughout: 42 GB).
    {"gpt-oss-20b",
     "gpt-oss-20b's shape: 24 layers, hidden 2880, 64/8 heads of 64, 32 MXFP4 experts of 2880 "
     "rows (4 per token), sinks, window 128 in every other layer, vocab 201088",
     24, 2880, 2880, 64, 8, 201088, 131072, 128, 0.0, 32, 4, 2880, true, 64},
};
} // namespace

std::string lazyc::syntheticPresets() {
  std::string out;
  for (const Preset &p : kPresets)
    out += std::string(out.empty() ? "" : ", ") + p.name;
  return out;
}

OwningOpRef<ModuleOp> lazyc::importSynthetic(MLIRContext *context, llvm::StringRef name,
                                             const ImportOptions &options, std::string &error) {
  const Preset *preset = nullptr;
  for (const Preset &p : kPresets)
    if (name == p.name)
      preset = &p;
  if (!preset) {
    error = "unknown synthetic model '" + name.str() + "' (known: " + syntheticPresets() + ")";
    return nullptr;
  }
  ModelConfig c;
  c.arch = "llama";
  c.name = "synthetic-" + std::string(preset->name);
  c.numLayers = preset->layers;
  c.hidden = preset->hidden;
  c.ffn = preset->ffn;
  c.numHeads = preset->heads;
  c.numKVHeads = preset->kvHeads;
  c.headDim = preset->headDim ? preset->headDim : preset->hidden / preset->heads;
  c.vocabSize = preset->vocab;
  c.contextLength = preset->context;
  c.ropeTheta = 10000.0;
  c.rmsEpsilon = 1e-5;
  c.ropeInterleaved = false;
  c.tiedEmbeddings = false;
  c.hfNames = true;
  c.slidingWindow = preset->window;
  if (preset->gptOss) {
    c.slidingLayers = everyNthLayerFull(2, preset->layers);
  } else if (preset->window > 0) {
    c.slidingLayers.assign(static_cast<size_t>(preset->layers), false);
    c.slidingLayers[0] = true;
  }
  c.attnLogitSoftcap = preset->softcap;
  c.numExperts = preset->experts;
  c.expertsPerToken = preset->topK;
  c.expertFfn = preset->expertFfn;
  if (preset->gptOss) {
    c.arch = "gpt-oss";
    c.qkvBias = c.attnOutBias = c.attnSinks = c.expertBiases = true;
    c.expertActivation = "swiglu_oai";
    c.expertsMXFP4 = true;
  }
  if (!checkImportOptions(c, options, error))
    return nullptr;
  OwningOpRef<ModuleOp> module = buildVerifiedDecoder(context, c, options, error);
  if (module)
    (*module)->setAttr("llm.synthetic", UnitAttr::get(context));
  return module;
}
