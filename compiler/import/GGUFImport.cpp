//===- GGUFImport.cpp - GGUF (llama family) to llm IR ----------------------===//

#include "compiler/import/Import.h"

#include "dialects/llm/LLMOps.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <algorithm>
#include <cmath>
#include <set>

using namespace mlir;
using namespace lazyc;

namespace {
/// Architectures whose GGUF tensors follow llama.cpp's LLM_ARCH_LLAMA layout
/// (SwiGLU MLP, RMSNorm, RoPE, optional GQA); qwen2 adds Q/K/V biases,
/// qwen3 a per-head RMSNorm of the queries and keys, and both keep Hugging
/// Face's rotate-half RoPE (llama.cpp's NEOX mode: its converter does not
/// permute their Q/K rows); smollm3 is llama without RoPE in every 4th layer,
/// granite llama with multipliers (embedding, residual, attention, logits),
/// olmo2 normalizes the whole query and key projections and each sublayer's
/// output instead of its input (rotate-half RoPE, as qwen2); gemma3 (text)
/// has GeGLU, norms before and after each sublayer, per-head query/key norms,
/// scaled embeddings and a local RoPE in its sliding layers; gemma2 the same
/// without the query/key norms and local RoPE, with soft-capped attention
/// scores and logits; phi3 fuses its projections; glm4 has Q/K/V biases, a
/// fused gate and up, norms before and after each sublayer and RoPE on half
/// of each head; ernie4_5 is llama whose converter keeps Hugging Face's
/// interleaved RoPE pairs (NORM mode, no permutation).
const char *const kLlamaFamily[] = {"llama", "mistral", "qwen2",    "qwen3",   "smollm3",
                                    "granite", "olmo2", "gemma",    "gemma2",  "gemma3",
                                    "phi3",    "glm4",  "ernie4_5", "qwen3moe", "olmoe",
                                    "ernie4_5-moe", "gpt-oss", "glm4moe", "qwen2moe",
                                    "granitemoe", "command-r", "cohere2", "starcoder2",
                                    "phi2", "gptneox", "falcon", "olmo"};

/// Sliding-window attention as llama.cpp's converter writes it:
/// `attention.sliding_window` (the window; 0 or absent: none) and, for models
/// whose layers differ, `attention.sliding_window_pattern`: one bool per
/// layer (true: sliding), or a number n (every n-th layer full, the others
/// sliding; 0: all sliding). Without a pattern every layer slides, or every
/// `defaultPattern`-th is full (gemma3: 6, as llama.cpp fixes it).
bool readGGUFSlidingWindow(const rt::GGUFFile &file, const std::string &arch,
                           int64_t defaultPattern, ModelConfig &c, std::string &error) {
  std::optional<int64_t> window = file.getInt(arch + ".attention.sliding_window");
  if (!window || *window <= 0)
    return true;
  c.slidingWindow = *window;
  const std::string key = arch + ".attention.sliding_window_pattern";
  const rt::GGUFValue *pattern = file.find(key);
  std::optional<int64_t> every = pattern ? pattern->asInt() : std::nullopt;
  if (!pattern && defaultPattern > 0)
    every = defaultPattern;
  if (every) {
    if (*every < 0) {
      error = key + " must be a layer count >= 0 or one bool per layer";
      return false;
    }
    c.slidingLayers = everyNthLayerFull(*every, c.numLayers);
  } else if (!pattern) {
    return true; // every layer slides
  } else if (pattern->type == rt::GGUFValueType::Array &&
             pattern->elementType == rt::GGUFValueType::Bool &&
             static_cast<int64_t>(pattern->array.size()) == c.numLayers) {
    for (const rt::GGUFValue &v : pattern->array)
      c.slidingLayers.push_back(v.b);
  } else {
    error = key + " must be a layer count or one bool for each of the " +
            std::to_string(c.numLayers) + " layers";
    return false;
  }
  if (llvm::none_of(c.slidingLayers, [](bool b) { return b; })) {
    c.slidingWindow = 0; // no sliding layer
    c.slidingLayers.clear();
  }
  return true;
}

/// A tensor of rotaryDim() / 2 RoPE frequency factors (f32 or f16, each positive
/// and finite) into `out`; absent: true, `out` untouched.
bool readFactorTensor(const rt::GGUFFile &file, const char *name, int64_t half,
                      const char *dimName, std::vector<double> &out, std::string &error) {
  const rt::GGUFTensorInfo *t = file.findTensor(name);
  if (!t)
    return true;
  if (t->dims.size() != 1 || t->dims[0] != static_cast<uint64_t>(half) ||
      (t->type != rt::GGMLType::F32 && t->type != rt::GGMLType::F16)) {
    error = std::string("tensor '") + name + "' (RoPE frequency factors) must be f32 or f16 " +
            "with " + dimName + " / 2 = " + std::to_string(half) + " elements";
    return false;
  }
  std::vector<float> values(static_cast<size_t>(half));
  if (!rt::dequantize(t->type, t->data, values.data(), values.size())) {
    error = std::string("tensor '") + name + "' cannot be read";
    return false;
  }
  for (float v : values) {
    if (!(v > 0.0f) || !std::isfinite(v)) {
      error = std::string("tensor '") + name + "' has a factor that is not positive and finite (" +
              std::to_string(v) + ")";
      return false;
    }
    out.push_back(v);
  }
  return true;
}

/// RoPE scaling as llama.cpp stores it: the `rope_freqs` tensor (per-
/// frequency divisors; Llama 3.1/3.2 "llama3" scaling) and/or "linear"
/// scaling by `rope.scaling.factor`, or "yarn", or LongRoPE's two factor
/// tensors. Other kinds are refused: ignoring them would compile a model that
/// silently computes wrong values.
bool readGGUFRopeScaling(const rt::GGUFFile &file, const std::string &arch,
                         ModelConfig &config, std::string &error) {
  const int64_t half = config.rotaryDim() / 2;
  const char *dim = config.ropeDim ? "rope.dimension_count" : "head_dim";
  if (!readFactorTensor(file, "rope_freqs.weight", half, dim, config.ropeFreqFactors, error))
    return false;
  // LongRoPE (Phi-3 128k, Phi-3.5) as llama.cpp's converter writes it: both
  // factor sets, the original context, the attention factor it computed.
  if (!readFactorTensor(file, "rope_factors_long.weight", half, dim, config.ropeLongFactors,
                        error) ||
      !readFactorTensor(file, "rope_factors_short.weight", half, dim, config.ropeShortFactors,
                        error))
    return false;
  if (!config.ropeLongFactors.empty() || !config.ropeShortFactors.empty()) {
    std::optional<int64_t> original = file.getInt(arch + ".rope.scaling.original_context_length");
    double attnFactor = file.getFloat(arch + ".rope.scaling.attn_factor").value_or(1.0);
    if (config.ropeLongFactors.empty() || config.ropeShortFactors.empty() || !original ||
        *original <= 0 || !(attnFactor > 0.0) || !std::isfinite(attnFactor) ||
        !config.ropeFreqFactors.empty()) {
      error = "LongRoPE needs both rope_factors_long and rope_factors_short, "
              "rope.scaling.original_context_length > 0 and a positive rope.scaling.attn_factor "
              "(and no rope_freqs)";
      return false;
    }
    config.ropeOriginalContext = *original;
    config.ropeAttentionFactor = attnFactor;
    return true;
  }
  std::optional<std::string> scaling = file.getString(arch + ".rope.scaling.type");
  if (!scaling || *scaling == "none")
    return true;
  if (*scaling != "linear" && *scaling != "yarn") {
    error = "RoPE scaling '" + *scaling + "' is not supported (lazyc supports linear and yarn "
            "scaling and llama3-style frequency factors)";
    return false;
  }
  double factor = file.getFloat(arch + ".rope.scaling.factor").value_or(1.0);
  if (!(factor > 0.0) || !std::isfinite(factor)) {
    error = "rope.scaling.factor must be positive";
    return false;
  }
  if (*scaling == "yarn") {
    // llama.cpp's YaRN: the ramp between beta_fast and beta_slow rotations
    // over the original context, the attention scaled by
    // attn_factor * (1 + 0.1 ln factor) on both the query and the key.
    std::optional<int64_t> original = file.getInt(arch + ".rope.scaling.original_context_length");
    double betaFast = file.getFloat(arch + ".rope.scaling.yarn_beta_fast").value_or(32.0);
    double betaSlow = file.getFloat(arch + ".rope.scaling.yarn_beta_slow").value_or(1.0);
    double attnFactor = file.getFloat(arch + ".rope.scaling.attn_factor").value_or(1.0);
    double logMultiplier = file.getFloat(arch + ".rope.scaling.yarn_log_multiplier").value_or(0);
    if (!original || *original <= 0 || !(betaFast > betaSlow) || !(betaSlow > 0.0) ||
        !std::isfinite(betaFast) || !(attnFactor > 0.0) || !std::isfinite(attnFactor)) {
      error = "yarn RoPE scaling needs rope.scaling.original_context_length > 0, "
              "yarn_beta_fast > yarn_beta_slow > 0 and a positive attn_factor";
      return false;
    }
    if (logMultiplier != 0.0 || !config.ropeFreqFactors.empty()) {
      error = "yarn RoPE scaling with yarn_log_multiplier or rope_freqs.weight is not supported";
      return false;
    }
    // gpt-oss's configs say "truncate": false (transformers then keeps the
    // ramp's ends unrounded; GGUF has no key for it: by architecture).
    return applyYarnRopeScaling(config, factor, static_cast<double>(*original), betaFast,
                                betaSlow, /*truncate=*/arch != "gpt-oss",
                                attnFactor * yarnAttentionFactor(factor), error);
  }
  if (config.ropeFreqFactors.empty())
    config.ropeFreqFactors.assign(static_cast<size_t>(half), 1.0);
  for (double &f : config.ropeFreqFactors)
    f *= factor;
  return true;
}

/// Granite's multipliers as llama.cpp's converter stores them: embedding_scale,
/// residual_scale, logit_scale (absent: 1) and attention.scale (absent or 0:
/// 1/sqrt(head_dim), as llama.cpp reads it).
bool readGraniteScales(const rt::GGUFFile &file, const std::string &arch, ModelConfig &config,
                       std::string &error) {
  for (auto [key, out] : {std::pair<const char *, double *>{"embedding_scale",
                                                            &config.embeddingScale},
                          {"residual_scale", &config.residualScale},
                          {"logit_scale", &config.logitScale},
                          {"attention.scale", &config.attentionScale}}) {
    std::optional<double> v = file.getFloat(arch + "." + key);
    if (!v)
      continue;
    bool attention = out == &config.attentionScale;
    if (!std::isfinite(*v) || *v < 0.0 || (*v == 0.0 && !attention)) {
      error = "model metadata '" + arch + "." + key + "' must be a positive number";
      return false;
    }
    *out = *v;
  }
  return true;
}
} // namespace

bool lazyc::applyYarnRopeScaling(ModelConfig &config, double factor, double originalContext,
                                 double betaFast, double betaSlow, bool truncate,
                                 double attentionFactor, std::string &error) {
  double extended = factor * originalContext;
  if (!(extended <= INT32_MAX)) {
    error = "yarn RoPE scaling extends the context past 2^31 positions";
    return false;
  }
  const double dim = static_cast<double>(config.rotaryDim()), theta = config.ropeTheta;
  // The dimension at which a frequency turns `rotations` times over the
  // original context.
  auto correctionDim = [&](double rotations) {
    return dim * std::log(originalContext / (rotations * 2 * M_PI)) / (2 * std::log(theta));
  };
  double low = correctionDim(betaFast), high = correctionDim(betaSlow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high)
    high += 0.001; // as transformers: no division by zero
  config.ropeFreqFactors.clear();
  for (int64_t j = 0; j < config.rotaryDim() / 2; ++j) {
    double ramp = std::clamp((static_cast<double>(j) - low) / (high - low), 0.0, 1.0);
    config.ropeFreqFactors.push_back(1.0 / (ramp / factor + 1.0 - ramp));
  }
  config.ropeAttentionFactor = attentionFactor;
  // The context YaRN extends to (Qwen3: 4 x 32,768), when the model's
  // trained context is shorter.
  config.contextLength = std::max(config.contextLength, static_cast<int64_t>(extended));
  return true;
}

double lazyc::yarnAttentionFactor(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

std::vector<double> lazyc::llama3RopeFactors(double theta, int64_t headDim, double factor,
                                             double lowFreqFactor, double highFreqFactor,
                                             double originalContext) {
  const double lowFreqWavelen = originalContext / lowFreqFactor;
  const double highFreqWavelen = originalContext / highFreqFactor;
  std::vector<double> factors;
  for (int64_t i = 0; i < headDim / 2; ++i) {
    double invFreq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / headDim);
    double wavelen = 2.0 * M_PI / invFreq;
    if (wavelen < highFreqWavelen) {
      factors.push_back(1.0);
    } else if (wavelen > lowFreqWavelen) {
      factors.push_back(factor);
    } else {
      double smooth = (originalContext / wavelen - lowFreqFactor) /
                      (highFreqFactor - lowFreqFactor);
      factors.push_back(1.0 / ((1.0 - smooth) / factor + smooth));
    }
  }
  return factors;
}

namespace {
/// Mixture-of-experts metadata as llama.cpp's converters write it:
/// expert_count, expert_used_count, expert_feed_forward_length (else the
/// experts are feed_forward_length wide: Mixtral), expert_weights_norm (else
/// llama.cpp's per-architecture choice: renormalized but for olmoe). A
/// layer without the router tensor ffn_gate_inp keeps a dense MLP. ERNIE
/// 4.5's and GLM-4.5's selection bias (exp_probs_b) and shared experts
/// (ffn_*_shexp, expert_shared_feed_forward_length wide when the file says)
/// are read, and GLM-4.5's sigmoid gating (expert_gating_func 2) with its
/// expert_weights_scale; Qwen2-MoE's gated shared expert (ffn_*_shexp of
/// expert_shared_feed_forward_length, else feed_forward_length, rows, its
/// output weighed by the sigmoid of ffn_gate_inp_shexp's projection), whose
/// choice llama.cpp never renormalizes; other shared experts and gating
/// functions refused.
bool readGGUFExperts(const rt::GGUFFile &file, const std::string &arch, ModelConfig &config,
                     std::string &error) {
  std::optional<int64_t> experts = file.getInt(arch + ".expert_count");
  if (!experts || *experts == 0)
    return true;
  std::optional<int64_t> used = file.getInt(arch + ".expert_used_count");
  if (*experts < 0 || !used || *used <= 0 || *used > *experts) {
    error = arch + ".expert_count and " + arch + ".expert_used_count must be positive, the " +
            "latter at most the former";
    return false;
  }
  // Shared experts: ERNIE 4.5's and GLM-4.5's (ffn_*_shexp, expert_shared_count
  // experts of the experts' width as one MLP); Qwen2-MoE's one, gated, and
  // GraniteMoeShared's have no count.
  const bool glm4moe = arch == "glm4moe", qwen2moe = arch == "qwen2moe";
  const int64_t shared = file.getInt(arch + ".expert_shared_count").value_or(0);
  if (shared != 0 && ((arch != "ernie4_5-moe" && !glm4moe) || shared < 0 ||
                      shared > (int64_t(1) << 10))) {
    error = "shared experts (" + arch + ".expert_shared_count) are not supported but ERNIE "
            "4.5's and GLM-4.5's";
    return false;
  }
  // llama.cpp's gating functions: 1 softmax, 2 sigmoid (GLM-4.5's), 3
  // softmax over the chosen experts' logits (gpt-oss's: softmax,
  // renormalized).
  std::optional<int64_t> gating = file.getInt(arch + ".expert_gating_func");
  if (gating && *gating != 1 && !(*gating == 3 && arch == "gpt-oss") &&
      !(*gating == 2 && glm4moe)) {
    error = arch + ".expert_gating_func " + std::to_string(*gating) +
            " is not supported (lazyc's routers: softmax, 1; glm4moe's sigmoid, 2)";
    return false;
  }
  if (glm4moe && gating.value_or(2) != 2) {
    error = "glm4moe.expert_gating_func " + std::to_string(*gating) +
            " is not GLM-4.5's routing (sigmoid, 2)";
    return false;
  }
  config.expertSigmoid = glm4moe;
  // The chosen experts' weights times expert_weights_scale (GLM-4.5's
  // routed_scaling_factor; llama.cpp's default 0 means none).
  if (std::optional<double> scale = file.getFloat(arch + ".expert_weights_scale");
      scale && *scale != 0.0) {
    if (!(*scale > 0.0) || !std::isfinite(*scale) || (!glm4moe && *scale != 1.0)) {
      error = arch + ".expert_weights_scale " + formatDouble(*scale) +
              (glm4moe ? " must be a positive number" : " is not supported but for glm4moe");
      return false;
    }
    config.expertScale = *scale;
  }
  config.numExperts = *experts;
  config.expertsPerToken = *used;
  config.expertFfn = file.getInt(arch + ".expert_feed_forward_length").value_or(config.ffn);
  if (config.expertFfn <= 0) {
    error = arch + ".expert_feed_forward_length must be positive";
    return false;
  }
  const rt::GGUFValue *norm = file.find(arch + ".expert_weights_norm");
  config.normTopK =
      norm ? norm->type == rt::GGUFValueType::Bool && norm->b : arch != "olmoe" && !qwen2moe;
  if (arch == "gpt-oss" && !config.normTopK) {
    error = "gpt-oss.expert_weights_norm false is not gpt-oss's routing (a softmax over the "
            "chosen experts' logits)";
    return false;
  }
  config.sharedExpertFfn =
      shared == 0 ? 0
                  : file.getInt(arch + ".expert_shared_feed_forward_length")
                        .value_or(shared * config.expertFfn);
  if (qwen2moe) {
    config.sharedExpertFfn = file.getInt(arch + ".expert_shared_feed_forward_length")
                                 .value_or(config.ffn);
    config.sharedExpertGate = true;
  }
  // GraniteMoeShared: a shared MLP when the file holds one (llama.cpp's
  // granitemoe graph adds it when ffn_gate_shexp is there).
  if (arch == "granitemoe" && file.findTensor("blk.0.ffn_gate_shexp.weight")) {
    std::optional<int64_t> width = file.getInt(arch + ".expert_shared_feed_forward_length");
    if (!width) {
      error = "granitemoe.expert_shared_feed_forward_length is missing (the file holds shared "
              "experts, ffn_*_shexp)";
      return false;
    }
    config.sharedExpertFfn = *width;
  }
  if ((shared != 0 || qwen2moe || config.sharedExpertFfn != 0) && config.sharedExpertFfn <= 0) {
    error = arch + ".expert_shared_feed_forward_length must be positive";
    return false;
  }
  // (numLayers is bounded by the file's tensor count: checkLayerCount.)
  if (config.numLayers > static_cast<int64_t>(file.tensors().size()))
    return true;
  // MXFP4 experts (gpt-oss) in every MoE layer, rows of whole blocks: kept
  // as they are unless the user widens them (ImportOptions::keepMXFP4).
  bool mxfp4 = config.hidden % 32 == 0 && config.expertFfn % 32 == 0;
  for (int64_t l = 0; l < config.numLayers; ++l) {
    const std::string block = "blk." + std::to_string(l) + ".";
    if (!file.findTensor(block + "ffn_gate_inp.weight")) {
      config.denseLayers.push_back(l);
      continue;
    }
    // The score correction bias (llama.cpp's exp_probs_b: ERNIE 4.5's,
    // GLM-4.5's).
    if (file.findTensor(block + "exp_probs_b.bias"))
      config.expertSelectionBias = true;
    for (const char *kind :
         {"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"}) {
      const rt::GGUFTensorInfo *t = file.findTensor(block + kind);
      mxfp4 &= t && t->type == rt::GGMLType::MXFP4;
    }
  }
  config.expertsMXFP4 = mxfp4 && config.denseLayers.size() < static_cast<size_t>(config.numLayers);
  return true;
}
} // namespace

namespace {
/// Cohere's graphs in llama.cpp (command-r: Command R / R+; cohere2: Command
/// R7B, Command A): LayerNorms without a bias (attention.layer_norm_epsilon),
/// parallel attention and MLP blocks, logits times logit_scale; cohere2's
/// full layers have no RoPE (its sliding ones do). Command R+'s query/key
/// LayerNorms (attn_q_norm, per head) are refused.
bool readGGUFCohere(const rt::GGUFFile &file, const std::string &arch, ModelConfig &c,
                    std::string &error) {
  if (file.findTensor("blk.0.attn_q_norm.weight") || file.findTensor("blk.0.attn_k_norm.weight")) {
    error = arch + " with query/key norms (attn_q_norm, attn_k_norm: Command R+'s per-head "
                   "LayerNorms) is not supported";
    return false;
  }
  c.layerNorm = c.parallelBlock = true;
  c.rmsEpsilon = file.getFloat(arch + ".attention.layer_norm_epsilon").value_or(1e-5);
  if (!(c.rmsEpsilon > 0.0) || !std::isfinite(c.rmsEpsilon)) {
    error = arch + ".attention.layer_norm_epsilon must be a positive number";
    return false;
  }
  std::optional<double> scale = file.getFloat(arch + ".logit_scale");
  if (!scale || !(*scale > 0.0) || !std::isfinite(*scale)) {
    error = arch + ".logit_scale is missing or not a positive number";
    return false;
  }
  c.logitScale = 1.0 / *scale; // (ModelConfig divides the logits by it)
  if (arch == "cohere2") {
    if (c.slidingWindow <= 0) {
      error = "cohere2.attention.sliding_window is missing or not positive (Command R7B's "
              "sliding layers are the ones with RoPE)";
      return false;
    }
    c.noRopeLayers.clear();
    for (int64_t l = 0; l < c.numLayers; ++l)
      c.noRopeLayers.push_back(c.windowOf(l) == 0);
  }
  return true;
}
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
            "' (lazyc imports the llama family: llama, mistral, qwen2, qwen3, smollm3, "
            "granite, olmo2, gemma, gemma2, gemma3, phi3, glm4, ernie4_5, qwen3moe, olmoe, "
            "ernie4_5-moe, gpt-oss, glm4moe, qwen2moe, granitemoe, command-r, cohere2, "
            "starcoder2, phi2, gptneox, falcon, olmo)";
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
  // GLM-4.5's multi-token-prediction layers (llama.cpp's nextn, counted in
  // block_count) come last: not read.
  if (std::optional<int64_t> nextn = file.getInt(*arch + ".nextn_predict_layers");
      nextn && *nextn != 0) {
    if (*nextn < 0 || *nextn >= config.numLayers) {
      error = *arch + ".nextn_predict_layers " + std::to_string(*nextn) +
              " must be in [0, block_count)";
      return false;
    }
    config.numLayers -= *nextn;
  }
  // Mixtral-style GGUFs keep arch "llama" and add experts (ffn_*_exps).
  if (!readGGUFExperts(file, *arch, config, error))
    return false;
  config.numKVHeads = file.getInt(*arch + ".attention.head_count_kv")
                          .value_or(config.numHeads);
  if (config.numKVHeads <= 0 || config.numHeads % config.numKVHeads != 0) {
    error = "attention.head_count (" + std::to_string(config.numHeads) +
            ") is not a multiple of attention.head_count_kv (" +
            std::to_string(config.numKVHeads) + ")";
    return false;
  }
  // The head width: attention.key_length when the file says (Mistral Nemo:
  // 32 heads of 128 on a 5120-wide model), else embedding_length / heads.
  std::optional<int64_t> keyLength = file.getInt(*arch + ".attention.key_length");
  std::optional<int64_t> valueLength = file.getInt(*arch + ".attention.value_length");
  if (keyLength || valueLength) {
    if (!keyLength || !valueLength || *keyLength != *valueLength || *keyLength <= 0 ||
        *keyLength % 2 != 0) {
      error = "attention.key_length and attention.value_length must be equal, positive and "
              "even (got " + (keyLength ? std::to_string(*keyLength) : "none") + " and " +
              (valueLength ? std::to_string(*valueLength) : "none") + ")";
      return false;
    }
    config.headDim = *keyLength;
  } else if (config.hidden % config.numHeads != 0) {
    error = "embedding_length (" + std::to_string(config.hidden) +
            ") is not a multiple of attention.head_count (" +
            std::to_string(config.numHeads) + ")";
    return false;
  } else {
    config.headDim = config.hidden / config.numHeads;
  }
  if (!checkSizes(config, *arch, error))
    return false;
  // Partial rotary embeddings (Phi-4-mini: 96 of 128), as llama.cpp's
  // n_rot: RoPE on the first rope.dimension_count elements of each head.
  if (auto ropeDim = file.getInt(*arch + ".rope.dimension_count");
      ropeDim && *ropeDim != config.headDim) {
    if (*ropeDim <= 0 || *ropeDim > config.headDim || *ropeDim % 2 != 0) {
      error = "rope.dimension_count " + std::to_string(*ropeDim) +
              " must be positive, even and at most the head size " +
              std::to_string(config.headDim);
      return false;
    }
    config.ropeDim = *ropeDim;
  }
  // llama.cpp fixes Gemma's sliding layers: every 2nd full (gemma2), every 6th (gemma3).
  // gpt-oss alternates sliding and full layers (llama.cpp's swa pattern 2).
  // cohere2 (Command R7B, Command A): every 4th full (llama.cpp's fixed pattern).
  const int64_t windowPattern = *arch == "gemma2" || *arch == "gpt-oss" ? 2
                                : *arch == "gemma3"                     ? 6
                                : *arch == "cohere2"                    ? 4
                                                                        : 0;
  if (!readGGUFSlidingWindow(file, *arch, windowPattern, config, error))
    return false;
  config.ropeTheta = file.getFloat(*arch + ".rope.freq_base").value_or(10000.0);
  // A separate RoPE base for the sliding layers (llama.cpp's
  // rope.freq_base_swa, which its gpt-oss graph reads): only Gemma 3's fixed
  // local base is implemented.
  if (std::optional<double> swaBase = file.getFloat(*arch + ".rope.freq_base_swa");
      swaBase && *swaBase != config.ropeTheta && *arch != "gemma3") {
    error = *arch + ".rope.freq_base_swa (a RoPE base of the sliding layers' own, " +
            std::to_string(*swaBase) + ") is not supported";
    return false;
  }
  if (!readGGUFRopeScaling(file, *arch, config, error))
    return false;
  config.rmsEpsilon =
      file.getFloat(*arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5);
  if (!(config.ropeTheta > 0) || !(config.rmsEpsilon > 0)) {
    error = "rope.freq_base and layer_norm_rms_epsilon must be positive";
    return false;
  }
  // llama.cpp's converter permutes Llama's Q/K rows for GGML's interleaved
  // RoPE; Qwen2's stay in rotate-half order.
  config.ropeInterleaved = *arch != "qwen2" && *arch != "qwen3" && *arch != "olmo2" &&
                           *arch != "gemma" && *arch != "gemma2" && *arch != "gemma3" &&
                           *arch != "phi3" && *arch != "qwen3moe" && *arch != "olmoe" &&
                           *arch != "gpt-oss" && *arch != "glm4moe" && *arch != "qwen2moe" &&
                           *arch != "starcoder2" && *arch != "phi2" && *arch != "gptneox" &&
                           *arch != "falcon";
  // GGML's interleaved layout under a partial rotation: GLM-4's (llama.cpp
  // runs glm4 in NORM mode on its first rope.dimension_count elements, as
  // transformers' Glm4 rotates interleaved pairs; no Q/K permutation).
  // Another architecture with it: nothing here to check it against.
  if (config.ropeDim && config.ropeInterleaved && *arch != "glm4") {
    error = "partial rotary embeddings (rope.dimension_count " + std::to_string(config.ropeDim) +
            " of " + std::to_string(config.headDim) + ") are supported for glm4 and the "
            "architectures with rotate-half RoPE (phi3, qwen2, ...), not for '" + *arch + "'";
    return false;
  }
  // llama.cpp's converter keeps Phi-3's fused projections: qkv (older files
  // may split it) and ffn_up holding the gate's rows, then the up's; GLM-4's
  // gate and up likewise. llama.cpp's glm4 graph also has Q/K/V biases and
  // RMSNorms before and after both sublayers (post_attention_norm, ffn_norm,
  // post_ffw_norm); its fused attn_qkv variant and GLM-4.1V's sectioned RoPE
  // are refused.
  if (*arch == "glm4" &&
      (file.findTensor("blk.0.attn_qkv.weight") || file.find("glm4.rope.dimension_sections"))) {
    error = "glm4 with a fused attn_qkv tensor or a sectioned (multimodal) RoPE is not "
            "supported (lazyc reads GLM-4's separate attn_q/k/v)";
    return false;
  }
  if (*arch == "phi3")
    config.fusedQKV = file.findTensor("blk.0.attn_qkv.weight") != nullptr;
  if (*arch == "phi3" || *arch == "glm4")
    config.fusedGateUp = file.findTensor("blk.0.ffn_gate.weight") == nullptr;
  config.qkvBias = *arch == "qwen2" || *arch == "qwen2moe" || *arch == "gpt-oss" ||
                   ((*arch == "glm4" || *arch == "glm4moe") &&
                    file.findTensor("blk.0.attn_q.bias"));
  if (*arch == "gpt-oss") {
    // llama.cpp's openai-moe graph: every projection biased, a sink per
    // head, the experts' clamped SwiGLU (alpha 1.702, limit 7, as llama.cpp
    // and transformers fix them). Every layer is a MoE layer.
    if (config.numExperts == 0) {
      error = "gpt-oss needs gpt-oss.expert_count and expert_used_count";
      return false;
    }
    config.attnOutBias = config.attnSinks = config.expertBiases = true;
    config.expertActivation = "swiglu_oai";
    config.swigluLimit = 7.0;
  }
  config.qkNorm = *arch == "qwen3" || *arch == "gemma3" || *arch == "qwen3moe" ||
                  (*arch == "glm4moe" && file.findTensor("blk.0.attn_q_norm.weight"));
  config.qkFullNorm = *arch == "olmo2" || *arch == "olmoe";
  config.postNorms = *arch == "olmo2" || *arch == "glm4";
  config.preNorms = *arch != "olmo2";
  // SmolLM3: llama.cpp skips RoPE in every 4th layer (a fixed step, no key).
  if (*arch == "smollm3")
    config.noRopeInterval = 4;
  if ((*arch == "command-r" || *arch == "cohere2") && !readGGUFCohere(file, *arch, config, error))
    return false;
  if (*arch == "starcoder2" || *arch == "phi2" || *arch == "gptneox" || *arch == "falcon") {
    // llama.cpp's starcoder2 graph: LayerNorms with biases, biased
    // projections, up / GELU / down. (Its converter writes no sliding window,
    // and llama.cpp attends to everything: so does a file without one here.)
    // phi2's: the same in parallel blocks, RoPE on rope.dimension_count
    // elements of each head, a bias on the logits.
    // (GGUFs of Phi-2's first, pre-transformers checkpoint hold one
    // attn_qkv, weight and bias: the query's rows, the key's, the value's.)
    // gptneox's (Pythia): starcoder2's layers with one attn_qkv (the
    // converter puts the query's rows first, as phi2's), parallel blocks
    // where use_parallel_residual says (the MLP with its own norm,
    // ffn_norm), GELU in its exact erf form as GPT-NeoX was trained
    // (llama.cpp's graph runs the tanh approximation), RoPE on
    // rope.dimension_count elements of each head.
    // falcon's (Falcon-7B, -40B, -180B, Falcon2): gptneox's layers in
    // parallel blocks without biases, the attention and the MLP reading one
    // norm, attn_norm, or (Falcon-40B's new decoder architecture) the
    // attention attn_norm_2 and the MLP attn_norm; RoPE on whole heads; its
    // GELU exact too.
    const bool neox = *arch == "gptneox", falcon = *arch == "falcon";
    config.fusedQKV =
        (*arch == "phi2" && file.findTensor("blk.0.attn_qkv.weight")) || neox || falcon;
    config.layerNorm = config.normBias = true;
    config.parallelBlock = *arch == "phi2" || falcon;
    config.parallelMlpNorm = falcon && file.findTensor("blk.0.attn_norm_2.weight");
    if (neox) {
      const rt::GGUFValue *parallel = file.find("gptneox.use_parallel_residual");
      if (!parallel || parallel->type != rt::GGUFValueType::Bool) {
        error = "gptneox.use_parallel_residual (a bool) is missing: whether each block runs "
                "its attention and MLP in parallel";
        return false;
      }
      config.parallelBlock = config.parallelMlpNorm = parallel->b;
    }
    config.gatedMlp = false;
    config.mlpActivation = neox || falcon ? "gelu" : "gelu_tanh";
    config.rmsEpsilon =
        file.getFloat(*arch + ".attention.layer_norm_epsilon").value_or(1e-5);
    if (!(config.rmsEpsilon > 0.0) || !std::isfinite(config.rmsEpsilon)) {
      error = *arch + ".attention.layer_norm_epsilon must be a positive number";
      return false;
    }
    config.qkvBias = file.findTensor(config.fusedQKV ? "blk.0.attn_qkv.bias"
                                                     : "blk.0.attn_q.bias") != nullptr;
    config.attnOutBias = file.findTensor("blk.0.attn_output.bias") != nullptr;
    config.mlpBias = file.findTensor("blk.0.ffn_up.bias") != nullptr;
    config.outputBias = file.findTensor("output.bias") != nullptr;
  }
  if (*arch == "olmo") {
    // llama.cpp's olmo graph: LayerNorms without weights (epsilon
    // attention.layer_norm_epsilon, 1e-5 as the converter writes it), the
    // query, key and value clamped at attention.clamp_kqv when the file has
    // it; Llama's permuted Q/K rows, SwiGLU.
    config.layerNorm = true;
    config.normWeight = false;
    config.rmsEpsilon = file.getFloat("olmo.attention.layer_norm_epsilon").value_or(1e-5);
    std::optional<double> clamp = file.getFloat("olmo.attention.clamp_kqv");
    if (!(config.rmsEpsilon > 0.0) || !std::isfinite(config.rmsEpsilon) ||
        (clamp && (!(*clamp > 0.0) || !std::isfinite(*clamp)))) {
      error = "olmo.attention.layer_norm_epsilon and clamp_kqv must be positive numbers";
      return false;
    }
    config.clipQKV = clamp.value_or(0.0);
  }
  if ((*arch == "granite" || *arch == "granitemoe") &&
      !readGraniteScales(file, *arch, config, error))
    return false;
  if (*arch == "gemma" || *arch == "gemma2" || *arch == "gemma3") {
    // llama.cpp's Gemma graphs: the converter stored the norms' 1 + weight,
    // GELU (tanh), embeddings times sqrt(embedding_length); Gemma 1's softmax
    // scale is 1/sqrt(head_dim).
    config.mlpActivation = "gelu_tanh";
    config.embeddingScale = std::sqrt(static_cast<double>(config.hidden));
  }
  if (*arch == "gemma2" || *arch == "gemma3") {
    // As llama.cpp's graph: norms after the sublayers too; the softmax scale
    // is 1/sqrt(head_dim) but for the 27B models' (gemma2: 46 layers, gemma3:
    // 62) 1/sqrt(embedding_length / heads), their query_pre_attn_scalar;
    // gemma3's sliding layers' RoPE base is fixed at 10000 (unscaled); gemma2
    // soft-caps its scores and logits.
    const bool gemma2 = *arch == "gemma2";
    config.postNorms = true;
    config.localRopeTheta = gemma2 ? 0.0 : 10000.0;
    config.attentionScale =
        1.0 / std::sqrt(static_cast<double>(config.numLayers == (gemma2 ? 46 : 62)
                                                ? config.hidden / config.numHeads
                                                : config.headDim));
    for (auto [key, out] : {std::pair<const char *, double *>{".attn_logit_softcapping",
                                                              &config.attnLogitSoftcap},
                            {".final_logit_softcapping", &config.finalLogitSoftcap}}) {
      std::optional<double> cap = file.getFloat(*arch + key);
      if (cap && (!(*cap >= 0.0) || !std::isfinite(*cap))) {
        error = *arch + key + " must be a non-negative number";
        return false;
      }
      if (cap && *cap != 0.0 && !gemma2) {
        error = *arch + key + " (soft-capping) is not supported for " + *arch;
        return false;
      }
      *out = cap.value_or(0.0);
    }
  }

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

std::string lazyc::normBiasName(const std::string &weight) {
  llvm::StringRef name(weight);
  return (name.ends_with(".weight") ? name.drop_back(7).str() : weight) + ".bias";
}

std::string lazyc::tensorName(const ModelConfig &c, TensorRole role, int64_t layer) {
  static const char *const gguf[] = {
      "token_embd.weight", "output_norm.weight", "output.weight",
      "attn_norm.weight",  "attn_q.weight",      "attn_k.weight",
      "attn_v.weight",     "attn_output.weight", "ffn_norm.weight",
      "ffn_gate.weight",   "ffn_up.weight",      "ffn_down.weight",
      "attn_q.bias",       "attn_k.bias",        "attn_v.bias",
      "attn_q_norm.weight", "attn_k_norm.weight", "post_attention_norm.weight",
      "post_ffw_norm.weight", "attn_output.bias", "attn_sinks.weight", "ffn_up.bias",
      "ffn_down.bias",     "output.bias"};
  static const char *const hf[] = {
      "model.embed_tokens.weight",  "model.norm.weight",
      "lm_head.weight",             "input_layernorm.weight",
      "self_attn.q_proj.weight",    "self_attn.k_proj.weight",
      "self_attn.v_proj.weight",    "self_attn.o_proj.weight",
      "post_attention_layernorm.weight", "mlp.gate_proj.weight",
      "mlp.up_proj.weight",         "mlp.down_proj.weight",
      "self_attn.q_proj.bias",      "self_attn.k_proj.bias",
      "self_attn.v_proj.bias",      "self_attn.q_norm.weight",
      "self_attn.k_norm.weight",    "post_attention_layernorm.weight",
      "post_feedforward_layernorm.weight", "self_attn.o_proj.bias",
      "self_attn.sinks",            "mlp.up_proj.bias",
      "mlp.down_proj.bias",         "lm_head.bias"};
  auto index = static_cast<size_t>(role);
  std::string base = c.hfNames ? hf[index] : gguf[index];
  // With norms before and after each sublayer Hugging Face names the MLP's
  // input norm pre_feedforward_layernorm in Gemma (post_attention_layernorm
  // is the attention's output norm there); GLM-4 keeps Llama's names and
  // calls the output norms post_self_attn_layernorm and post_mlp_layernorm.
  const bool glm4 = c.arch == "glm4";
  if (c.hfNames && role == TensorRole::FfnNorm && c.preNorms && c.postNorms && !glm4)
    base = "pre_feedforward_layernorm.weight";
  if (c.hfNames && glm4 && role == TensorRole::AttnPostNorm)
    base = "post_self_attn_layernorm.weight";
  if (c.hfNames && glm4 && role == TensorRole::FfnPostNorm)
    base = "post_mlp_layernorm.weight";
  // llama.cpp's gpt-oss and glm4moe name the MLP's input norm
  // post_attention_norm.
  if (!c.hfNames && (c.arch == "gpt-oss" || c.arch == "glm4moe") && role == TensorRole::FfnNorm)
    base = "post_attention_norm.weight";
  // StarCoder2's MLP: c_fc (up), c_proj (down), with biases.
  if (c.hfNames && c.arch == "starcoder2") {
    if (role == TensorRole::FfnUp || role == TensorRole::FfnUpBias)
      base = role == TensorRole::FfnUp ? "mlp.c_fc.weight" : "mlp.c_fc.bias";
    if (role == TensorRole::FfnDown || role == TensorRole::FfnDownBias)
      base = role == TensorRole::FfnDown ? "mlp.c_proj.weight" : "mlp.c_proj.bias";
  }
  // Phi-2's: the attention's output projection `dense`, the MLP's fc1 / fc2,
  // the last norm `final_layernorm`.
  if (c.hfNames && c.arch == "phi2") {
    switch (role) {
    case TensorRole::AttnOut: base = "self_attn.dense.weight"; break;
    case TensorRole::AttnOutBias: base = "self_attn.dense.bias"; break;
    case TensorRole::FfnUp: base = "mlp.fc1.weight"; break;
    case TensorRole::FfnUpBias: base = "mlp.fc1.bias"; break;
    case TensorRole::FfnDown: base = "mlp.fc2.weight"; break;
    case TensorRole::FfnDownBias: base = "mlp.fc2.bias"; break;
    case TensorRole::OutputNorm: base = "model.final_layernorm.weight"; break;
    default: break;
    }
  }
  // GPT-NeoX's (Pythia's) and Falcon's: the query, key and value in one
  // matrix (GPT-NeoX's attention.query_key_value, Falcon's
  // self_attention.query_key_value), the output projection `dense`, the MLP's
  // dense_h_to_4h and dense_4h_to_h; GPT-NeoX's gpt_neox.embed_in,
  // final_layer_norm, embed_out, layers gpt_neox.layers.N; Falcon's
  // transformer.word_embeddings, ln_f, lm_head, layers transformer.h.N whose
  // norms are ln_attn and ln_mlp where both sublayers have one (Falcon-40B's
  // new decoder architecture), else input_layernorm (and a sequential block's
  // post_attention_layernorm).
  const bool neox = c.hfNames && c.arch == "gptneox";
  const bool falcon = c.hfNames && c.arch == "falcon";
  if (neox || falcon) {
    const std::string attention = neox ? "attention." : "self_attention.";
    switch (role) {
    case TensorRole::Embedding:
      return neox ? "gpt_neox.embed_in.weight" : "transformer.word_embeddings.weight";
    case TensorRole::OutputNorm:
      return neox ? "gpt_neox.final_layer_norm.weight" : "transformer.ln_f.weight";
    case TensorRole::Output:
      return !c.outputName.empty() ? c.outputName : neox ? "embed_out.weight" : "lm_head.weight";
    case TensorRole::AttnNorm:
      base = falcon && c.parallelMlpNorm ? "ln_attn.weight" : base;
      break;
    case TensorRole::FfnNorm:
      base = falcon && c.parallelMlpNorm ? "ln_mlp.weight" : base;
      break;
    case TensorRole::AttnQ:
    case TensorRole::AttnK:
    case TensorRole::AttnV: base = attention + "query_key_value.weight"; break;
    case TensorRole::AttnQBias:
    case TensorRole::AttnKBias:
    case TensorRole::AttnVBias: base = attention + "query_key_value.bias"; break;
    case TensorRole::AttnOut: base = attention + "dense.weight"; break;
    case TensorRole::AttnOutBias: base = attention + "dense.bias"; break;
    case TensorRole::FfnUp: base = "mlp.dense_h_to_4h.weight"; break;
    case TensorRole::FfnUpBias: base = "mlp.dense_h_to_4h.bias"; break;
    case TensorRole::FfnDown: base = "mlp.dense_4h_to_h.weight"; break;
    case TensorRole::FfnDownBias: base = "mlp.dense_4h_to_h.bias"; break;
    default: break;
    }
  }
  // GPT-J's: transformer.wte, each block's one norm ln_1, attn.q_proj /
  // k_proj / v_proj / out_proj, mlp.fc_in / fc_out, transformer.ln_f, lm_head
  // with a bias; blocks transformer.h.N.
  const bool gptj = c.hfNames && c.arch == "gptj";
  if (gptj) {
    switch (role) {
    case TensorRole::Embedding: return "transformer.wte.weight";
    case TensorRole::OutputNorm: return "transformer.ln_f.weight";
    case TensorRole::AttnNorm: base = "ln_1.weight"; break;
    case TensorRole::AttnQ: base = "attn.q_proj.weight"; break;
    case TensorRole::AttnK: base = "attn.k_proj.weight"; break;
    case TensorRole::AttnV: base = "attn.v_proj.weight"; break;
    case TensorRole::AttnOut: base = "attn.out_proj.weight"; break;
    case TensorRole::FfnUp: base = "mlp.fc_in.weight"; break;
    case TensorRole::FfnUpBias: base = "mlp.fc_in.bias"; break;
    case TensorRole::FfnDown: base = "mlp.fc_out.weight"; break;
    case TensorRole::FfnDownBias: base = "mlp.fc_out.bias"; break;
    default: break;
    }
  }
  // llama.cpp's falcon with a norm per sublayer: the attention's attn_norm_2
  // (ln_attn), the MLP's attn_norm (ln_mlp).
  if (!c.hfNames && c.arch == "falcon" && c.parallelMlpNorm &&
      (role == TensorRole::AttnNorm || role == TensorRole::FfnNorm))
    base = role == TensorRole::AttnNorm ? "attn_norm_2.weight" : "attn_norm.weight";
  // Phi-3's fused projections (llama.cpp keeps the gate in ffn_up).
  if (c.fusedQKV && !neox && !falcon &&
      (role == TensorRole::AttnQ || role == TensorRole::AttnK || role == TensorRole::AttnV))
    base = c.hfNames ? "self_attn.qkv_proj.weight" : "attn_qkv.weight";
  // (Their biases likewise: GGUFs of Phi-2's first checkpoint.)
  if (c.fusedQKV && !c.hfNames &&
      (role == TensorRole::AttnQBias || role == TensorRole::AttnKBias ||
       role == TensorRole::AttnVBias))
    base = "attn_qkv.bias";
  if (c.fusedGateUp && (role == TensorRole::FfnGate || role == TensorRole::FfnUp))
    base = c.hfNames ? "mlp.gate_up_proj.weight" : "ffn_up.weight";
  if (role <= TensorRole::Output || role == TensorRole::OutputBias)
    return base;
  return (neox     ? "gpt_neox.layers."
          : falcon || gptj ? "transformer.h."
          : c.hfNames ? "model.layers."
                      : "blk.") +
         std::to_string(layer) + "." + base;
}

std::string lazyc::expertTensorName(const ModelConfig &c, ExpertRole role, int64_t layer,
                                   int64_t expert) {
  static const char *const mixtral[] = {"gate", "w1", "w3", "w2"};
  static const char *const qwen[] = {"gate", "gate_proj", "up_proj", "down_proj"};
  static const char *const gguf[] = {
      "ffn_gate_inp.weight",  "ffn_gate_exps.weight",  "ffn_up_exps.weight",
      "ffn_down_exps.weight", "exp_probs_b.bias",      "ffn_gate_shexp.weight",
      "ffn_up_shexp.weight",  "ffn_down_shexp.weight", "ffn_gate_inp.bias",
      "ffn_gate_exps.bias",   "ffn_up_exps.bias",      "ffn_down_exps.bias",
      "ffn_gate_inp_shexp.weight"};
  // (gpt-oss's biases under Hugging Face names: the synthetic models'; its
  // checkpoints are read from GGUF only.)
  static const char *const hfShared[] = {"moe_statics.e_score_correction_bias",
                                         "shared_experts.gate_proj.weight",
                                         "shared_experts.up_proj.weight",
                                         "shared_experts.down_proj.weight",
                                         "router.bias",
                                         "experts.gate_proj_bias",
                                         "experts.up_proj_bias",
                                         "experts.down_proj_bias",
                                         "shared_expert_gate.weight"};
  auto index = static_cast<size_t>(role);
  // GGUF: one [experts, rows, columns] tensor per matrix kind.
  if (!c.hfNames)
    return "blk." + std::to_string(layer) + "." + gguf[index];
  std::string prefix = "model.layers." + std::to_string(layer) +
                       (c.mixtralNames ? ".block_sparse_moe." : ".mlp.");
  // Granite MoE: the experts' gate and up in input_linear, their down in
  // output_linear, the shared MLP's gate and up in one matrix.
  if (c.hfExperts == ModelConfig::HFExperts::GraniteStacked) {
    const std::string shared = "model.layers." + std::to_string(layer) + ".shared_mlp.";
    switch (role) {
    case ExpertRole::Router: return prefix + "router.layer.weight";
    case ExpertRole::Gate:
    case ExpertRole::Up: return prefix + "input_linear.weight";
    case ExpertRole::Down: return prefix + "output_linear.weight";
    case ExpertRole::SharedGate:
    case ExpertRole::SharedUp: return shared + "input_linear.weight";
    case ExpertRole::SharedDown: return shared + "output_linear.weight";
    default: break; // (no biases)
    }
  }
  // Hugging Face gpt-oss: one tensor per kind, gate and up as one.
  if (c.hfExperts != ModelConfig::HFExperts::PerExpert &&
      c.hfExperts != ModelConfig::HFExperts::GraniteStacked) {
    const char *blocks = c.hfExperts == ModelConfig::HFExperts::GptOssMXFP4 ? "_blocks" : "";
    switch (role) {
    case ExpertRole::Router: return prefix + "router.weight";
    case ExpertRole::RouterBias: return prefix + "router.bias";
    case ExpertRole::Gate:
    case ExpertRole::Up: return prefix + "experts.gate_up_proj" + blocks;
    case ExpertRole::Down: return prefix + "experts.down_proj" + blocks;
    case ExpertRole::GateBias:
    case ExpertRole::UpBias: return prefix + "experts.gate_up_proj_bias";
    case ExpertRole::DownBias: return prefix + "experts.down_proj_bias";
    default: break; // (gpt-oss has no shared experts nor selection bias)
    }
  }
  if (role == ExpertRole::Router)
    return prefix + "gate.weight";
  // ERNIE 4.5 keeps its score correction bias in moe_statics ([1, experts]),
  // GLM-4.5 in the router ([experts]).
  if (role == ExpertRole::SelectionBias && c.arch == "glm4moe")
    return prefix + "gate.e_score_correction_bias";
  // Qwen2-MoE names its one shared expert in the singular.
  if (c.arch == "qwen2moe" && (role == ExpertRole::SharedGate || role == ExpertRole::SharedUp ||
                               role == ExpertRole::SharedDown)) {
    const size_t kind = index - static_cast<size_t>(ExpertRole::SharedGate) + 1;
    return prefix + "shared_expert." + qwen[kind] + ".weight";
  }
  if (index >= static_cast<size_t>(ExpertRole::SelectionBias))
    return prefix + hfShared[index - static_cast<size_t>(ExpertRole::SelectionBias)];
  return prefix + "experts." + std::to_string(expert) + "." +
         (c.mixtralNames ? mixtral : qwen)[index] + ".weight";
}

std::string lazyc::expertScalesName(const ModelConfig &c, ExpertRole role, int64_t layer) {
  return "model.layers." + std::to_string(layer) + ".mlp.experts." +
         (role == ExpertRole::Down ? "down_proj" : "gate_up_proj") + "_scales";
}

std::optional<RowRange> lazyc::tensorRows(const ModelConfig &c, TensorRole role) {
  int64_t q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim;
  // 0, 1, 2: the query's, the key's, the value's; -1: another role.
  const int part = role == TensorRole::AttnQ || role == TensorRole::AttnQBias   ? 0
                   : role == TensorRole::AttnK || role == TensorRole::AttnKBias ? 1
                   : role == TensorRole::AttnV || role == TensorRole::AttnVBias ? 2
                                                                                : -1;
  if (c.fusedQKV && c.fusedQKVGrouped && part >= 0) {
    // Group g: its query heads' rows, its key head's, its value head's.
    const int64_t group = c.numHeads / c.numKVHeads, step = (group + 2) * c.headDim;
    return part == 0 ? RowRange{0, q + 2 * kv, step, group * c.headDim}
                     : RowRange{(group + part - 1) * c.headDim, q + 2 * kv, step, c.headDim};
  }
  if (c.fusedQKV && part >= 0)
    return part == 0   ? RowRange{0, q}
           : part == 1 ? RowRange{q, q + kv}
                       : RowRange{q + kv, q + 2 * kv};
  if (c.fusedGateUp) {
    if (role == TensorRole::FfnGate)
      return RowRange{0, c.ffn};
    if (role == TensorRole::FfnUp)
      return RowRange{c.ffn, 2 * c.ffn};
  }
  return std::nullopt;
}

namespace {
/// The tensors of layer `l`'s mixture-of-experts MLP: the router, the
/// experts' matrices (GGUF: one [experts, rows, columns] tensor per kind;
/// Hugging Face: one per expert), ERNIE 4.5's selection bias and shared
/// experts.
void appendExpertTensors(const ModelConfig &c, int64_t l,
                         std::vector<std::pair<std::string, std::vector<int64_t>>> &out) {
  const int64_t experts = c.numExperts, ffn = c.expertFfn, hidden = c.hidden;
  out.push_back({expertTensorName(c, ExpertRole::Router, l), {experts, hidden}});
  using HFExperts = ModelConfig::HFExperts;
  if (c.hfExperts == HFExperts::GraniteStacked) {
    auto name = [&](ExpertRole role) { return expertTensorName(c, role, l); };
    out.push_back({name(ExpertRole::Gate), {experts, 2 * ffn, hidden}});
    out.push_back({name(ExpertRole::Down), {experts, hidden, ffn}});
    if (const int64_t shared = c.sharedExpertFfn; shared > 0) {
      out.push_back({name(ExpertRole::SharedGate), {2 * shared, hidden}});
      out.push_back({name(ExpertRole::SharedDown), {hidden, shared}});
    }
    return;
  }
  if (c.hfExperts != HFExperts::PerExpert) {
    // Hugging Face gpt-oss: gate and up interleaved in one tensor.
    auto name = [&](ExpertRole role) { return expertTensorName(c, role, l); };
    if (c.hfExperts == HFExperts::GptOssMXFP4) {
      out.push_back({name(ExpertRole::Gate), {experts, 2 * ffn, hidden / 32, 16}});
      out.push_back({expertScalesName(c, ExpertRole::Gate, l), {experts, 2 * ffn, hidden / 32}});
      out.push_back({name(ExpertRole::Down), {experts, hidden, ffn / 32, 16}});
      out.push_back({expertScalesName(c, ExpertRole::Down, l), {experts, hidden, ffn / 32}});
    } else {
      out.push_back({name(ExpertRole::Gate), {experts, hidden, 2 * ffn}});
      out.push_back({name(ExpertRole::Down), {experts, ffn, hidden}});
    }
    out.push_back({name(ExpertRole::RouterBias), {experts}});
    out.push_back({name(ExpertRole::GateBias), {experts, 2 * ffn}});
    out.push_back({name(ExpertRole::DownBias), {experts, hidden}});
    return;
  }
  if (!c.hfNames) {
    out.push_back({expertTensorName(c, ExpertRole::Gate, l), {experts, ffn, hidden}});
    out.push_back({expertTensorName(c, ExpertRole::Up, l), {experts, ffn, hidden}});
    out.push_back({expertTensorName(c, ExpertRole::Down, l), {experts, hidden, ffn}});
  } else {
    for (int64_t e = 0; e < experts; ++e) {
      out.push_back({expertTensorName(c, ExpertRole::Gate, l, e), {ffn, hidden}});
      out.push_back({expertTensorName(c, ExpertRole::Up, l, e), {ffn, hidden}});
      out.push_back({expertTensorName(c, ExpertRole::Down, l, e), {hidden, ffn}});
    }
  }
  if (c.expertSelectionBias)
    out.push_back({expertTensorName(c, ExpertRole::SelectionBias, l),
                   c.hfNames && c.arch != "glm4moe" ? std::vector<int64_t>{1, experts}
                                                    : std::vector<int64_t>{experts}});
  if (c.expertBiases) {
    out.push_back({expertTensorName(c, ExpertRole::RouterBias, l), {experts}});
    out.push_back({expertTensorName(c, ExpertRole::GateBias, l), {experts, ffn}});
    out.push_back({expertTensorName(c, ExpertRole::UpBias, l), {experts, ffn}});
    out.push_back({expertTensorName(c, ExpertRole::DownBias, l), {experts, hidden}});
  }
  if (const int64_t shared = c.sharedExpertFfn; shared > 0) {
    out.push_back({expertTensorName(c, ExpertRole::SharedGate, l), {shared, hidden}});
    out.push_back({expertTensorName(c, ExpertRole::SharedUp, l), {shared, hidden}});
    out.push_back({expertTensorName(c, ExpertRole::SharedDown, l), {hidden, shared}});
    if (c.sharedExpertGate)
      out.push_back({expertTensorName(c, ExpertRole::SharedExpertGate, l), {1, hidden}});
  }
}
} // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>>
lazyc::expectedTensors(const ModelConfig &c) {
  int64_t kv = c.numKVHeads * c.headDim, q = c.numHeads * c.headDim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out = {
      {tensorName(c, TensorRole::Embedding), {c.vocabSize, c.hidden}},
      {tensorName(c, TensorRole::OutputNorm), {c.hidden}}};
  // A norm's bias (StarCoder2's LayerNorms) after its weight.
  auto normBias = [&](const std::string &weight) {
    if (c.normBias)
      out.push_back({normBiasName(weight), {c.hidden}});
  };
  normBias(out.back().first);
  if (!c.tiedEmbeddings)
    out.push_back({tensorName(c, TensorRole::Output), {c.vocabSize, c.hidden}});
  if (c.outputBias)
    out.push_back({tensorName(c, TensorRole::OutputBias), {c.vocabSize}});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    auto name = [&](TensorRole r) { return tensorName(c, r, l); };
    // OLMo 2 normalizes each sublayer's output, Llama its input, Gemma both.
    if (c.preNorms) {
      out.push_back({name(TensorRole::AttnNorm), {c.hidden}});
      normBias(out.back().first);
    }
    if (c.postNorms)
      out.push_back({name(TensorRole::AttnPostNorm), {c.hidden}});
    if (c.fusedQKV) {
      out.push_back({name(TensorRole::AttnQ), {q + 2 * kv, c.hidden}});
    } else {
      out.push_back({name(TensorRole::AttnQ), {q, c.hidden}});
      out.push_back({name(TensorRole::AttnK), {kv, c.hidden}});
      out.push_back({name(TensorRole::AttnV), {kv, c.hidden}});
    }
    out.push_back({name(TensorRole::AttnOut), {c.hidden, q}});
    if (c.attnOutBias)
      out.push_back({name(TensorRole::AttnOutBias), {c.hidden}});
    if (c.attnSinks)
      out.push_back({name(TensorRole::AttnSinks), {c.numHeads}});
    if (c.preNorms && (!c.parallelBlock || c.parallelMlpNorm)) {
      out.push_back({name(TensorRole::FfnNorm), {c.hidden}});
      normBias(out.back().first);
    }
    if (c.postNorms)
      out.push_back({name(TensorRole::FfnPostNorm), {c.hidden}});
    if (c.moeLayer(l)) {
      appendExpertTensors(c, l, out);
    } else if (c.fusedGateUp) {
      out.push_back({name(TensorRole::FfnGate), {2 * c.ffn, c.hidden}});
      out.push_back({name(TensorRole::FfnDown), {c.hidden, c.ffn}});
    } else if (!c.gatedMlp) {
      out.push_back({name(TensorRole::FfnUp), {c.ffn, c.hidden}});
      out.push_back({name(TensorRole::FfnDown), {c.hidden, c.ffn}});
      if (c.mlpBias) {
        out.push_back({name(TensorRole::FfnUpBias), {c.ffn}});
        out.push_back({name(TensorRole::FfnDownBias), {c.hidden}});
      }
    } else {
      out.push_back({name(TensorRole::FfnGate), {c.ffn, c.hidden}});
      out.push_back({name(TensorRole::FfnUp), {c.ffn, c.hidden}});
      out.push_back({name(TensorRole::FfnDown), {c.hidden, c.ffn}});
    }
    if (c.qkvBias && c.fusedQKV) {
      out.push_back({name(TensorRole::AttnQBias), {q + 2 * kv}});
    } else if (c.qkvBias) {
      out.push_back({name(TensorRole::AttnQBias), {q}});
      out.push_back({name(TensorRole::AttnKBias), {kv}});
      out.push_back({name(TensorRole::AttnVBias), {kv}});
    }
    if (c.qkNorm || c.qkFullNorm) {
      out.push_back({name(TensorRole::AttnQNorm), {c.qkNorm ? c.headDim : q}});
      out.push_back({name(TensorRole::AttnKNorm), {c.qkNorm ? c.headDim : kv}});
    }
  }
  if (!c.normWeight) { // OLMo 1: no norm has a tensor
    std::set<std::string> norms = {tensorName(c, TensorRole::OutputNorm)};
    for (int64_t l = 0; l < c.numLayers; ++l)
      for (TensorRole role : {TensorRole::AttnNorm, TensorRole::FfnNorm})
        norms.insert(tensorName(c, role, l));
    llvm::erase_if(out, [&](const auto &t) { return norms.count(t.first) != 0; });
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
  const int64_t contextLength =
      options.contextLength > 0 ? options.contextLength : c.contextLength;
  (*module)->setAttr("llm.context_length", b.getI64IntegerAttr(contextLength));
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

  // `part`: the rows of a fused tensor (Phi-3, GPT-NeoX) that hold this
  // matrix or vector (a vector's elements are rows taken with a row_step).
  auto selectRows = [&](llm::WeightOp op, const RowRange &part, bool isVector) {
    op.setRowsAttr(b.getDenseI64ArrayAttr({part.begin, part.end}));
    if (part.step > 0 || isVector)
      op.setRowStep(part.step > 0 ? part.step : 1);
    if (part.block > 0)
      op.setRowBlock(part.block);
  };
  auto matrix = [&](const std::string &name, int64_t out, int64_t in,
                    std::optional<RowRange> part = std::nullopt) -> Value {
    auto type = options.weightType == WeightType::Q8_0
                    ? llm::getQ8_0WeightType(context, out, in)
                    : RankedTensorType::get({out, in}, wt);
    auto op = llm::WeightOp::create(b, loc, type, name);
    if (part)
      selectRows(op, *part, /*isVector=*/false);
    return op;
  };
  auto vector = [&](const std::string &name, int64_t n) -> Value {
    return llm::WeightOp::create(b, loc, RankedTensorType::get({n}, f32), name);
  };
  auto eps = b.getF64FloatAttr(c.rmsEpsilon);
  // (Gemma scales by 1 + weight.)
  auto offset = b.getF64FloatAttr(c.normWeightOffset);
  auto rowNorm = [&](Value x, const std::string &weight, int64_t cols) -> Value {
    if (c.layerNorm) // Cohere, StarCoder2 (OLMo 1: no weight)
      return llm::LayerNormOp::create(
          b, loc, rows(cols), x, c.normWeight ? vector(weight, cols) : Value(),
          c.normBias ? vector(normBiasName(weight), cols) : Value(), eps);
    return llm::RMSNormOp::create(b, loc, rows(cols), x, vector(weight, cols), eps, offset);
  };
  auto linear = [&](Value x, const std::string &weight, int64_t out, int64_t in,
                    std::optional<RowRange> part = std::nullopt) -> Value {
    return llm::LinearOp::create(b, loc, rows(out), x, matrix(weight, out, in, part));
  };
  const std::vector<double> &freqFactors = c.freqFactorsFor(contextLength);
  // A partial rotation scales the rotated elements only: the attention
  // factor goes in llm.rope's cosines and sines (whole heads: in the softmax
  // scale).
  const bool partialRotary = c.rotaryDim() != c.headDim;
  // `local`: Gemma 3's sliding layers, their own base and no scaling.
  auto rope = [&](Value x, int64_t cols, bool local) -> Value {
    auto op = llm::RoPEOp::create(b, loc, rows(cols), x, pos,
                                  b.getI64IntegerAttr(c.headDim),
                                  b.getF64FloatAttr(local ? c.localRopeTheta : c.ropeTheta),
                                  /*interleaved=*/nullptr, /*freq_factors=*/nullptr,
                                  /*rotary_dim=*/nullptr, /*scale=*/nullptr);
    if (partialRotary) {
      op.setRotaryDim(c.rotaryDim());
      if (c.ropeAttentionFactor != 1.0 && !local)
        op.setScale(APFloat(c.ropeAttentionFactor));
    }
    if (c.ropeInterleaved)
      op.setInterleaved(true);
    if (!freqFactors.empty() && !local)
      op.setFreqFactors(freqFactors);
    return op;
  };

  int64_t kvCols = c.numKVHeads * c.headDim, qCols = c.numHeads * c.headDim;
  Value embedding = matrix(tensorName(c, TensorRole::Embedding), c.vocabSize, c.hidden);
  Value x = llm::EmbeddingOp::create(b, loc, rows(c.hidden), embedding, tokens);
  // Granite's multipliers (1: none).
  auto scaled = [&](Value y, double factor) -> Value {
    if (factor == 1.0)
      return y;
    return llm::ScaleOp::create(b, loc, y, b.getF64FloatAttr(factor));
  };
  x = scaled(x, c.embeddingScale);
  double attentionScale = c.attentionScale > 0.0
                              ? c.attentionScale
                              : 1.0 / std::sqrt(static_cast<double>(c.headDim));
  for (int64_t l = 0; l < c.numLayers; ++l) {
    auto name = [&](TensorRole r) { return tensorName(c, r, l); };
    Value n = c.preNorms ? rowNorm(x, name(TensorRole::AttnNorm), c.hidden) : x;
    // A projection, plus its bias when the model has one (Qwen2's Q/K/V).
    auto project = [&](TensorRole weight, TensorRole bias, int64_t cols) -> Value {
      Value y = linear(n, name(weight), cols, c.hidden, tensorRows(c, weight));
      // (OLMo 1's clip_qkv, after the bias.)
      auto clipped = [&](Value v) -> Value {
        if (c.clipQKV <= 0.0)
          return v;
        return llm::ClampOp::create(b, loc, v, b.getF64FloatAttr(c.clipQKV));
      };
      if (!c.qkvBias)
        return clipped(y);
      auto v = llm::WeightOp::create(b, loc, RankedTensorType::get({cols}, f32), name(bias));
      // A fused bias's elements (Phi-2's attn_qkv, GPT-NeoX's query_key_value).
      if (auto part = tensorRows(c, bias))
        selectRows(v, *part, /*isVector=*/true);
      return clipped(llm::AddBiasOp::create(b, loc, rows(cols), y, v));
    };
    // Qwen3 normalizes every query and key head before RoPE, OLMo 2 the
    // whole projection.
    auto headNorm = [&](Value y, TensorRole weight, int64_t cols) -> Value {
      if (c.qkFullNorm)
        return rowNorm(y, name(weight), cols);
      if (!c.qkNorm)
        return y;
      return llm::HeadRMSNormOp::create(b, loc, rows(cols), y, vector(name(weight), c.headDim),
                                        b.getI64IntegerAttr(c.headDim), eps, offset);
    };
    // SmolLM3's NoPE layers attend by content alone.
    const bool local = c.usesLocalRope(l);
    auto position = [&](Value y, int64_t cols) {
      return c.usesRope(l) ? rope(y, cols, local) : y;
    };
    Value q = position(headNorm(project(TensorRole::AttnQ, TensorRole::AttnQBias, qCols),
                                TensorRole::AttnQNorm, qCols),
                       qCols);
    Value k = position(headNorm(project(TensorRole::AttnK, TensorRole::AttnKBias, kvCols),
                                TensorRole::AttnKNorm, kvCols),
                       kvCols);
    Value v = project(TensorRole::AttnV, TensorRole::AttnVBias, kvCols);
    // YaRN scales the rotated queries and keys (not a NoPE or local layer's;
    // a partial rotation's, in llm.rope).
    double rotated = c.usesRope(l) && !local && !partialRotary
                         ? c.ropeAttentionFactor * c.ropeAttentionFactor
                         : 1.0;
    // A sliding window matters only past its width: a position p < context
    // sees back to 0 when context <= window.
    const int64_t window = c.windowOf(l) < contextLength ? c.windowOf(l) : 0;
    Value sinks = c.attnSinks ? vector(name(TensorRole::AttnSinks), c.numHeads) : Value();
    Value attn = llm::AttentionOp::create(
        b, loc, rows(qCols), q, k, v, pos, kv, /*keys=*/Value(), sinks, b.getI64IntegerAttr(l),
        b.getI64IntegerAttr(c.numHeads), b.getI64IntegerAttr(c.numKVHeads),
        b.getI64IntegerAttr(c.headDim), b.getF64FloatAttr(attentionScale * rotated),
        b.getI64IntegerAttr(window), b.getF64FloatAttr(c.attnLogitSoftcap));
    // OLMo 2 and Gemma normalize a sublayer's output before its residual add.
    auto postNorm = [&](Value y, TensorRole weight) -> Value {
      return c.postNorms ? rowNorm(y, name(weight), c.hidden) : y;
    };
    Value attnOut = linear(attn, name(TensorRole::AttnOut), c.hidden, qCols);
    if (c.attnOutBias) // gpt-oss
      attnOut = llm::AddBiasOp::create(b, loc, rows(c.hidden), attnOut,
                                       vector(name(TensorRole::AttnOutBias), c.hidden));
    Value h = llm::AddOp::create(
        b, loc, x, scaled(postNorm(attnOut, TensorRole::AttnPostNorm), c.residualScale));
    // (Cohere's parallel block: the MLP reads the attention's input; GPT-NeoX's
    // normalizes the layer input with a norm of its own.)
    Value m = c.parallelBlock && c.parallelMlpNorm ? rowNorm(x, name(TensorRole::FfnNorm), c.hidden)
              : c.parallelBlock                    ? n
              : c.preNorms                         ? rowNorm(h, name(TensorRole::FfnNorm), c.hidden)
                                                   : h;
    Value mlp;
    if (c.moeLayer(l)) {
      // The experts' matrices stacked row-wise: GGUF's one tensor, or views
      // of the arena's per-expert tensors.
      using HFExperts = ModelConfig::HFExperts;
      auto stacked = [&](ExpertRole role, int64_t rowsEach, int64_t cols) -> Value {
        // gpt-oss's MXFP4 experts as they are (ImportOptions::keepMXFP4).
        const bool keep = c.expertsMXFP4 && options.keepMXFP4;
        if (keep && c.hfExperts == HFExperts::PerExpert)
          return llm::WeightOp::create(
              b, loc, llm::getMXFP4WeightType(context, c.numExperts * rowsEach, cols),
              expertTensorName(c, role, l));
        if (c.hfExperts == HFExperts::GraniteStacked) {
          // Granite MoE: expert e's gate rows [2 e F, 2 e F + F) of
          // input_linear, its up rows the next F; the down projections stacked.
          const int64_t total = c.numExperts * rowsEach;
          auto w = llm::WeightOp::create(
              b, loc,
              options.weightType == WeightType::Q8_0
                  ? llm::getQ8_0WeightType(context, total, cols)
                  : RankedTensorType::get({total, cols}, wt),
              expertTensorName(c, role, l));
          if (role != ExpertRole::Down) {
            w.setRowsAttr(b.getDenseI64ArrayAttr({role == ExpertRole::Up ? rowsEach : 0,
                                                  2 * total}));
            w.setRowStep(2 * rowsEach);
            w.setRowBlock(rowsEach);
          }
          return w;
        }
        if (c.hfExperts != HFExperts::PerExpert) {
          // Hugging Face gpt-oss: the gate's rows are gate_up's even ones,
          // the up's its odd ones; OCP MXFP4 or transposed.
          const int64_t total = c.numExperts * rowsEach;
          auto type = keep ? llm::getMXFP4WeightType(context, total, cols)
                      : options.weightType == WeightType::Q8_0
                          ? llm::getQ8_0WeightType(context, total, cols)
                          : RankedTensorType::get({total, cols}, wt);
          auto w = llm::WeightOp::create(b, loc, type, expertTensorName(c, role, l));
          if (role != ExpertRole::Down) {
            w.setRowsAttr(b.getDenseI64ArrayAttr({role == ExpertRole::Up ? 1 : 0, 2 * total}));
            w.setRowStep(2);
          }
          if (c.hfExperts == HFExperts::GptOssMXFP4)
            w.setScales(expertScalesName(c, role, l));
          else
            w.setTransposed(true);
          return w;
        }
        if (!c.hfNames)
          return matrix(expertTensorName(c, role, l), c.numExperts * rowsEach, cols);
        SmallVector<Attribute> names;
        for (int64_t e = 0; e < c.numExperts; ++e)
          names.push_back(b.getStringAttr(expertTensorName(c, role, l, e)));
        SmallVector<int64_t> parts(c.numExperts, rowsEach);
        int64_t total = c.numExperts * rowsEach;
        auto type = options.weightType == WeightType::Q8_0
                        ? llm::getQ8_0WeightType(context, total, cols)
                        : RankedTensorType::get({total, cols}, wt);
        return llm::FusedWeightOp::create(b, loc, type, b.getArrayAttr(names),
                                          b.getDenseI64ArrayAttr(parts));
      };
      Value bias;
      if (c.expertSelectionBias) {
        auto shape = c.hfNames && c.arch != "glm4moe" ? SmallVector<int64_t>{1, c.numExperts}
                                                      : SmallVector<int64_t>{c.numExperts};
        bias = llm::WeightOp::create(b, loc, RankedTensorType::get(shape, f32),
                                     expertTensorName(c, ExpertRole::SelectionBias, l));
      }
      // gpt-oss's biases: the router's, and each kind's of all experts as
      // one vector.
      Value routerBias, gateBias, upBias, downBias;
      if (c.expertBiases) {
        auto biases = [&](ExpertRole role, int64_t each) -> Value {
          if (c.hfExperts == HFExperts::PerExpert || role == ExpertRole::RouterBias ||
              role == ExpertRole::DownBias)
            return vector(expertTensorName(c, role, l), c.numExperts * each);
          // (Hugging Face gpt-oss: gate_up_proj_bias's even or odd elements.)
          auto w = llm::WeightOp::create(b, loc, RankedTensorType::get({c.numExperts * each}, f32),
                                         expertTensorName(c, role, l));
          w.setRowsAttr(b.getDenseI64ArrayAttr(
              {role == ExpertRole::UpBias ? 1 : 0, 2 * c.numExperts * each}));
          w.setRowStep(2);
          return w;
        };
        routerBias = biases(ExpertRole::RouterBias, 1);
        gateBias = biases(ExpertRole::GateBias, c.expertFfn);
        upBias = biases(ExpertRole::UpBias, c.expertFfn);
        downBias = biases(ExpertRole::DownBias, c.hidden);
      }
      mlp = llm::MoEOp::create(
          b, loc, rows(c.hidden), m,
          matrix(expertTensorName(c, ExpertRole::Router, l), c.numExperts, c.hidden),
          stacked(ExpertRole::Gate, c.expertFfn, c.hidden),
          stacked(ExpertRole::Up, c.expertFfn, c.hidden),
          stacked(ExpertRole::Down, c.hidden, c.expertFfn), bias, routerBias, gateBias, upBias,
          downBias, c.numExperts, c.expertsPerToken, c.expertFfn, c.normTopK,
          APFloat(c.expertNormMin), c.expertActivation, APFloat(c.swigluLimit),
          c.expertSigmoid ? "sigmoid" : "softmax", APFloat(c.expertScale));
      // Shared experts: a dense SwiGLU MLP on every row, added.
      if (c.sharedExpertFfn > 0) {
        auto shared = [&](ExpertRole role) {
          // (Granite MoE: the gate's rows, then the up's, of one matrix.)
          std::optional<RowRange> part;
          if (c.hfExperts == HFExperts::GraniteStacked && role != ExpertRole::SharedDown)
            part = role == ExpertRole::SharedGate
                       ? RowRange{0, c.sharedExpertFfn}
                       : RowRange{c.sharedExpertFfn, 2 * c.sharedExpertFfn};
          return linear(m, expertTensorName(c, role, l), c.sharedExpertFfn, c.hidden, part);
        };
        Value act = llm::SwiGLUOp::create(b, loc, shared(ExpertRole::SharedGate),
                                          shared(ExpertRole::SharedUp),
                                          b.getStringAttr(c.mlpActivation));
        Value sharedOut = linear(act, expertTensorName(c, ExpertRole::SharedDown, l), c.hidden,
                                 c.sharedExpertFfn);
        // Qwen2-MoE: weighed by sigmoid(m · gate) row by row.
        if (c.sharedExpertGate)
          sharedOut = llm::SigmoidGateOp::create(
              b, loc, sharedOut.getType(), sharedOut,
              linear(m, expertTensorName(c, ExpertRole::SharedExpertGate, l), 1, c.hidden));
        mlp = llm::AddOp::create(b, loc, mlp, sharedOut);
      }
    } else if (!c.gatedMlp) {
      // StarCoder2: up, GELU, down, each projection biased (GPT-NeoX's GELU:
      // the exact erf form).
      auto biased = [&](Value y, TensorRole bias, int64_t cols) -> Value {
        if (!c.mlpBias)
          return y;
        return llm::AddBiasOp::create(b, loc, rows(cols), y, vector(name(bias), cols));
      };
      Value up = biased(linear(m, name(TensorRole::FfnUp), c.ffn, c.hidden),
                        TensorRole::FfnUpBias, c.ffn);
      Value act = llm::GeLUOp::create(b, loc, up, c.mlpActivation == "gelu" ? "none" : "tanh");
      mlp = biased(linear(act, name(TensorRole::FfnDown), c.hidden, c.ffn), TensorRole::FfnDownBias,
                   c.hidden);
    } else {
      auto ffn = [&](TensorRole role) {
        return linear(m, name(role), c.ffn, c.hidden, tensorRows(c, role));
      };
      Value act = llm::SwiGLUOp::create(b, loc, ffn(TensorRole::FfnGate),
                                        ffn(TensorRole::FfnUp), b.getStringAttr(c.mlpActivation));
      mlp = linear(act, name(TensorRole::FfnDown), c.hidden, c.ffn);
    }
    x = llm::AddOp::create(b, loc, h,
                           scaled(postNorm(mlp, TensorRole::FfnPostNorm), c.residualScale));
  }
  // logits / logitScale, as the normalized rows divided before the head.
  Value out = scaled(rowNorm(x, tensorName(c, TensorRole::OutputNorm), c.hidden),
                     1.0 / c.logitScale);
  Value head = c.tiedEmbeddings ? embedding
                                : matrix(tensorName(c, TensorRole::Output), c.vocabSize, c.hidden);
  Value logits = llm::LogitsOp::create(b, loc, rows(c.vocabSize), out, logitRows, head);
  if (c.outputBias) // Phi-2
    logits = llm::AddBiasOp::create(b, loc, rows(c.vocabSize), logits,
                                    vector(tensorName(c, TensorRole::OutputBias), c.vocabSize));
  if (c.finalLogitSoftcap > 0.0) // Gemma 2
    logits = llm::SoftcapOp::create(b, loc, logits, b.getF64FloatAttr(c.finalLogitSoftcap));
  func::ReturnOp::create(b, loc, logits);
  return module;
}

bool lazyc::checkTensor(const std::string &name, const std::vector<int64_t> &expected,
                        const std::vector<uint64_t> &dims, uint32_t type,
                        std::string &error) {
  if (dims.size() != expected.size() ||
      !std::equal(dims.begin(), dims.end(), expected.begin(),
                  [](uint64_t d, int64_t e) { return d == static_cast<uint64_t>(e); })) {
    auto show = [](auto begin, auto end) {
      std::string out;
      for (auto it = begin; it != end; ++it)
        out += (out.empty() ? "" : "x") + std::to_string(*it);
      return out;
    };
    error = "tensor '" + name + "' has shape " + show(dims.begin(), dims.end()) +
            " but the architecture's hyper-parameters need " +
            show(expected.begin(), expected.end());
    return false;
  }
  const rt::GGMLTypeTraits *traits = rt::getTypeTraits(type);
  if (!traits || !traits->canDequantize) {
    const char *typeName = traits                                             ? traits->name
                           : type == static_cast<uint32_t>(rt::GGMLType::U8) ? "U8 (bytes)"
                                                                              : "?";
    error = "tensor '" + name + "' has type " + typeName + ", which lazyc cannot dequantize";
    return false;
  }
  return true;
}

bool lazyc::checkImportOptions(const ModelConfig &config, const ImportOptions &options,
                               std::string &error) {
  if (options.contextLength < 0 || options.contextLength > config.contextLength) {
    error = "requested context length " + std::to_string(options.contextLength) +
            " is outside [1, " + std::to_string(config.contextLength) +
            "], the model's trained context";
    return false;
  }
  if (options.weightType == WeightType::Q8_0) {
    // Every weight matrix's rows are whole blocks of 32 values.
    for (auto [what, n] : {std::pair<const char *, int64_t>{"hidden size", config.hidden},
                           {"feed-forward size", config.ffn},
                           {"experts' feed-forward size", config.expertFfn},
                           {"shared experts' feed-forward size", config.sharedExpertFfn},
                           {"query width (heads x head_dim)",
                            config.numHeads * config.headDim}})
      if (n % llm::kQ8_0BlockValues != 0) {
        error = std::string("--dtype q8_0 needs weight rows of whole 32-value blocks, but the "
                            "model's ") +
                what + " is " + std::to_string(n) + ": use f32 or bf16";
        return false;
      }
  }
  return true;
}

OwningOpRef<ModuleOp> lazyc::buildVerifiedDecoder(MLIRContext *context, const ModelConfig &config,
                                                  const ImportOptions &options,
                                                  std::string &error) {
  OwningOpRef<ModuleOp> module = buildDecoder(context, config, options);
  if (failed(verify(*module))) {
    error = "internal error: the imported IR does not verify";
    return nullptr;
  }
  return module;
}

bool lazyc::checkSizes(const ModelConfig &c, const std::string &prefix, std::string &error) {
  // Far above any released model (hidden 16,384, heads of 256), far below
  // what would exhaust memory before the tensors' shapes are checked (the
  // RoPE tables have a value per head element).
  constexpr int64_t kMax = int64_t(1) << 20;
  for (auto [what, n] : {std::pair<const char *, int64_t>{"hidden size", c.hidden},
                         {"feed-forward size", c.ffn},
                         {"head count", c.numHeads},
                         {"head width", c.headDim},
                         {"experts' feed-forward size", c.expertFfn}})
    if (n > kMax) {
      error = prefix + ": the " + what + " " + std::to_string(n) + " is beyond any model's (" +
              std::to_string(kMax) + ")";
      return false;
    }
  return true;
}

bool lazyc::checkLayerCount(const ModelConfig &config, size_t tensorCount,
                            const std::string &key, std::string &error) {
  // Every block has 9 tensors or more; a count up to the file's tensors
  // keeps the list of expected names within 9x the file's own (and a file
  // short of tensors gets the name of the first one missing).
  // A Hugging Face checkpoint stores each expert's matrices as 3 tensors.
  // (gpt-oss's: a few tensors per layer for them all.)
  if (config.hfNames && config.hfExperts == ModelConfig::HFExperts::PerExpert &&
      config.numExperts > static_cast<int64_t>(tensorCount) / 3) {
    error = "the configuration's " + std::to_string(config.numExperts) +
            " experts need more tensors than the file has (" + std::to_string(tensorCount) + ")";
    return false;
  }
  if (config.numLayers <= static_cast<int64_t>(tensorCount))
    return true;
  error = key + " (" + std::to_string(config.numLayers) +
          ") names more blocks than the file has tensors (" + std::to_string(tensorCount) +
          "; a block has 9)";
  return false;
}

OwningOpRef<ModuleOp> lazyc::importGGUF(MLIRContext *context,
                                        const rt::GGUFFile &file,
                                        const ImportOptions &options,
                                        std::string &error) {
  ModelConfig config;
  if (!readGGUFConfig(file, config, error) ||
      !checkLayerCount(config, file.tensors().size(), config.arch + ".block_count", error) ||
      !checkImportOptions(config, options, error))
    return nullptr;
  for (const auto &[name, shape] : expectedTensors(config)) {
    const rt::GGUFTensorInfo *t = file.findTensor(name);
    if (!t) {
      error = "tensor '" + name + "' is missing from the model file";
      return nullptr;
    }
    // GGUF lists dimensions innermost first.
    std::vector<uint64_t> dims(t->dims.rbegin(), t->dims.rend());
    // A one-row matrix may be stored as a vector (Qwen2-MoE's
    // ffn_gate_inp_shexp: llama.cpp's older converters squeezed it).
    if (shape.size() == 2 && shape[0] == 1 && dims.size() == 1)
      dims.insert(dims.begin(), 1);
    if (!checkTensor(name, shape, dims, static_cast<uint32_t>(t->type), error))
      return nullptr;
  }
  return buildVerifiedDecoder(context, config, options, error);
}
