//===- HFImport.cpp - Hugging Face Llama-family checkpoints to llm IR ------===//

#include "compiler/import/Import.h"
#include "dialects/llm/LLMOps.h"

#include "runtime/model/Safetensors.h"

#include "llvm/ADT/StringSwitch.h"

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace mlir;
using namespace lazyc;

namespace {
/// LongRoPE (Phi-3 128k, Phi-3.5), as transformers' _compute_longrope_parameters:
/// `long_factor` and `short_factor` (rotary dimension / 2 frequency divisors each),
/// the original context (`original_max_position_embeddings`, at the top level
/// or in the scaling), the factor (the scaling's, else context / original) and
/// the attention factor (the scaling's `attention_factor`, else
/// sqrt(1 + ln factor / ln original) for a factor above 1).
bool readLongRope(const rt::JsonValue &json, const rt::JsonValue &scaling, const char *key,
                  ModelConfig &c, std::string &error) {
  const size_t half = static_cast<size_t>(c.rotaryDim() / 2);
  auto factors = [&](const char *name, std::vector<double> &out) {
    const rt::JsonValue *list = scaling.get(name);
    bool ok = list && list->isArray() && list->array().size() == half;
    for (size_t i = 0; ok && i < half; ++i) {
      const rt::JsonValue &v = list->array()[i];
      ok = v.isNumber() && v.number() > 0.0 && std::isfinite(v.number());
      if (ok)
        out.push_back(v.number());
    }
    if (!ok)
      error = std::string("config.json: ") + key + "." + name + " (longrope RoPE scaling) must " +
              "list " + (c.ropeDim ? "the rotary dimension" : "head_dim") + " / 2 = " +
              std::to_string(half) + " positive numbers";
    return ok;
  };
  if (!factors("long_factor", c.ropeLongFactors) || !factors("short_factor", c.ropeShortFactors))
    return false;
  std::optional<int64_t> original = json.getInt("original_max_position_embeddings");
  if (!original)
    original = scaling.getInt("original_max_position_embeddings");
  if (!original || *original <= 1) {
    error = std::string("config.json: longrope RoPE scaling needs "
                        "original_max_position_embeddings > 1");
    return false;
  }
  c.ropeOriginalContext = *original;
  std::optional<double> factor = scaling.getNumber("factor");
  if (!factor || json.getInt("original_max_position_embeddings"))
    factor = static_cast<double>(c.contextLength) / static_cast<double>(*original);
  std::optional<double> attention = scaling.getNumber("attention_factor");
  if (attention && (!(*attention > 0.0) || !std::isfinite(*attention))) {
    error = std::string("config.json: ") + key + ".attention_factor must be a positive number";
    return false;
  }
  c.ropeAttentionFactor =
      attention ? *attention
      : *factor <= 1.0
          ? 1.0
          : std::sqrt(1.0 + std::log(*factor) / std::log(static_cast<double>(*original)));
  return true;
}

/// RoPE base and scaling from config.json: `rope_theta` and `rope_scaling`
/// (transformers 4.x), or both inside `rope_parameters` (transformers 5).
/// Supported kinds: default, linear, llama3 (Llama 3.1/3.2), yarn (Qwen2.5,
/// Qwen3 and SmolLM3 past their trained context), longrope (Phi-3). The others
/// (dynamic, ...) are refused by name rather than ignored. `given` (named
/// `givenKey`): one layer type's parameters, base included (Gemma 3's
/// `rope_parameters.full_attention`), instead of the top level's.
bool readHFRopeScaling(const rt::JsonValue &json, ModelConfig &c, std::string &error,
                       const rt::JsonValue *given = nullptr, const char *givenKey = nullptr) {
  const rt::JsonValue *scaling = given;
  const char *key = givenKey;
  if (!given) {
    scaling = json.get("rope_parameters");
    key = "rope_parameters";
    if (!scaling || scaling->isNull()) {
      scaling = json.get("rope_scaling");
      key = "rope_scaling";
    }
  }
  if (scaling && scaling->isNull())
    scaling = nullptr;
  std::optional<double> theta = given ? std::nullopt : json.getNumber("rope_theta");
  if (!theta && scaling)
    theta = scaling->getNumber("rope_theta");
  c.ropeTheta = theta.value_or(10000.0);
  if (!(c.ropeTheta > 0.0) || !std::isfinite(c.ropeTheta)) {
    error = "config.json: rope_theta must be positive";
    return false;
  }
  if (!scaling)
    return true;
  if (!scaling->isObject()) {
    error = std::string("config.json: '") + key + "' is not an object";
    return false;
  }
  std::string type = scaling->getString("rope_type")
                         .value_or(scaling->getString("type").value_or("default"));
  if (type == "default")
    return true;
  if (type == "longrope" || type == "su") // Phi-3's name before transformers 4.43
    return readLongRope(json, *scaling, key, c, error);
  if (type != "linear" && type != "llama3" && type != "yarn") {
    error = std::string("config.json: RoPE scaling '") + type +
            "' is not supported (lazyc supports default, linear, llama3, yarn and longrope)";
    return false;
  }
  auto number = [&](const char *name, double &out) {
    std::optional<double> v = scaling->getNumber(name);
    if (!v || !(*v > 0.0) || !std::isfinite(*v)) {
      error = std::string("config.json: ") + key + "." + name + " (" + type +
              " RoPE scaling) is missing or not a positive number";
      return false;
    }
    out = *v;
    return true;
  };
  double factor = 0;
  if (!number("factor", factor))
    return false;
  if (type == "linear") {
    c.ropeFreqFactors.assign(static_cast<size_t>(c.rotaryDim() / 2), factor);
    return true;
  }
  if (type == "llama3") {
    double low = 0, high = 0, original = 0;
    if (!number("low_freq_factor", low) || !number("high_freq_factor", high) ||
        !number("original_max_position_embeddings", original))
      return false;
    if (!(high > low)) {
      error = std::string("config.json: ") + key +
              ".high_freq_factor must be greater than low_freq_factor";
      return false;
    }
    c.ropeFreqFactors =
        llama3RopeFactors(c.ropeTheta, c.rotaryDim(), factor, low, high, original);
    return true;
  }
  if (type == "yarn") {
    // transformers' _compute_yarn_parameters: the original context from the
    // config's top level, else the scaling's, else max_position_embeddings.
    double original = static_cast<double>(c.contextLength);
    for (const rt::JsonValue *from : {scaling, &json})
      if (std::optional<int64_t> v = from->getInt("original_max_position_embeddings"))
        original = static_cast<double>(*v);
    auto optional = [&](const char *name, double fallback, double &out) {
      const rt::JsonValue *v = scaling->get(name);
      out = fallback;
      if (!v || v->isNull())
        return true;
      if (!v->isNumber() || !std::isfinite(v->number()) || v->number() < 0.0) {
        error = std::string("config.json: ") + key + "." + name +
                " (yarn RoPE scaling) must be a non-negative number";
        return false;
      }
      if (v->number() > 0.0) // transformers: `or` falls back on 0 too
        out = v->number();
      return true;
    };
    double betaFast = 0, betaSlow = 0, mscale = 0, mscaleAllDim = 0, attention = 0;
    if (!optional("beta_fast", 32.0, betaFast) || !optional("beta_slow", 1.0, betaSlow) ||
        !optional("mscale", 0.0, mscale) || !optional("mscale_all_dim", 0.0, mscaleAllDim) ||
        !optional("attention_factor", 0.0, attention))
      return false;
    if (!(original > 0.0) || !(betaFast > betaSlow)) {
      error = std::string("config.json: ") + key +
              " (yarn RoPE scaling) needs original_max_position_embeddings > 0 and "
              "beta_fast > beta_slow";
      return false;
    }
    if (attention == 0.0 && mscale > 0.0 && mscaleAllDim > 0.0)
      attention = yarnAttentionFactor(factor, mscale) / yarnAttentionFactor(factor, mscaleAllDim);
    else if (attention == 0.0)
      attention = yarnAttentionFactor(factor);
    bool truncate = scaling->getBool("truncate").value_or(true);
    if (!applyYarnRopeScaling(c, factor, original, betaFast, betaSlow, truncate, attention,
                              error)) {
      error = std::string("config.json: ") + key + ": " + error;
      return false;
    }
  }
  return true;
}

/// SmolLM3's NoPE layers: `no_rope_layers` (one 0/1 per layer, 1 = RoPE), or
/// without it every `no_rope_layer_interval`-th layer (default 4) has none.
bool readNoRopeLayers(const rt::JsonValue &json, ModelConfig &c, std::string &error) {
  const rt::JsonValue *list = json.get("no_rope_layers");
  if (!list || list->isNull()) {
    std::optional<int64_t> interval = json.getInt("no_rope_layer_interval");
    const rt::JsonValue *given = json.get("no_rope_layer_interval");
    if (given && !given->isNull() && (!interval || *interval <= 0)) {
      error = "config.json: no_rope_layer_interval must be a positive integer";
      return false;
    }
    c.noRopeInterval = interval.value_or(4);
    return true;
  }
  auto isFlag = [](const rt::JsonValue &v) {
    return v.isNumber() && (v.number() == 0.0 || v.number() == 1.0);
  };
  if (!list->isArray() || static_cast<int64_t>(list->array().size()) != c.numLayers ||
      !std::all_of(list->array().begin(), list->array().end(), isFlag)) {
    error = "config.json: no_rope_layers must list one 0 or 1 for each of the " +
            std::to_string(c.numLayers) + " layers";
    return false;
  }
  for (const rt::JsonValue &v : list->array())
    c.noRopeLayers.push_back(v.number() == 0.0);
  return true;
}

/// Granite's multipliers (transformers' GraniteConfig, each 1 by default):
/// embedding_multiplier, residual_multiplier, attention_multiplier (the
/// softmax's scale instead of 1/sqrt(head_dim)) and logits_scaling (a divisor).
bool readGraniteMultipliers(const rt::JsonValue &json, ModelConfig &c, std::string &error) {
  c.attentionScale = 1.0;
  for (auto [key, out] : {std::pair<const char *, double *>{"embedding_multiplier",
                                                            &c.embeddingScale},
                          {"residual_multiplier", &c.residualScale},
                          {"attention_multiplier", &c.attentionScale},
                          {"logits_scaling", &c.logitScale}}) {
    const rt::JsonValue *v = json.get(key);
    if (!v || v->isNull())
      continue;
    if (!v->isNumber() || !(v->number() > 0.0) || !std::isfinite(v->number())) {
      error = std::string("config.json: ") + key + " must be a positive number";
      return false;
    }
    *out = v->number();
  }
  return true;
}
/// RoPE by layer type (Gemma 3, OLMo 3): the full layers' base and scaling
/// (`rope_theta`, `rope_scaling`), the sliding layers' unscaled RoPE with
/// base `localKey` (default `localDefault`; no key: rope_theta's); in
/// transformers 5 both inside `rope_parameters`, keyed by layer type.
bool readLayerTypeRope(const rt::JsonValue &json, const char *localKey, double localDefault,
                       ModelConfig &c, std::string &error) {
  const rt::JsonValue *params = json.get("rope_parameters");
  if (params && params->isObject() && params->get("full_attention")) {
    const rt::JsonValue *full = params->get("full_attention");
    const rt::JsonValue *local = params->get("sliding_attention");
    if (!full->isObject() || !local || !local->isObject()) {
      error = "config.json: rope_parameters must hold full_attention and sliding_attention "
              "objects";
      return false;
    }
    if (!readHFRopeScaling(json, c, error, full, "rope_parameters.full_attention"))
      return false;
    std::string type = local->getString("rope_type").value_or("default");
    if (type != "default") {
      error = "config.json: rope_parameters.sliding_attention: RoPE scaling '" + type +
              "' is not supported on the sliding layers";
      return false;
    }
    c.localRopeTheta = local->getNumber("rope_theta").value_or(localKey ? localDefault
                                                                        : c.ropeTheta);
  } else {
    if (!readHFRopeScaling(json, c, error))
      return false;
    c.localRopeTheta = localKey ? json.getNumber(localKey).value_or(localDefault) : c.ropeTheta;
  }
  if (!(c.localRopeTheta > 0.0) || !std::isfinite(c.localRopeTheta)) {
    error = "config.json: the sliding layers' RoPE base must be a positive number";
    return false;
  }
  return true;
}

/// Gemma's text decoders (transformers' GemmaConfig, Gemma2Config,
/// Gemma3TextConfig): GeGLU (tanh GELU), norms (2 and 3: before and after
/// each sublayer) scaling by 1 + weight, embeddings times sqrt(hidden_size), the
/// softmax scaled by query_pre_attn_scalar^-1/2, tied embeddings. Gemma 3:
/// per-head query/key norms and two RoPEs, the sliding layers' with base
/// rope_local_base_freq (10000) unscaled, the others' with rope_theta and
/// rope_scaling (transformers 5: both inside rope_parameters, keyed by layer
/// type); soft-capping refused. Gemma 2: one RoPE, its attention scores and
/// final logits soft-capped (attn_logit_softcapping, final_logit_softcapping).
/// Gemma 1 (`version` 1, CodeGemma too): norms on the sublayers' inputs
/// only, the softmax scaled by 1/sqrt(head_dim), one RoPE; its configs' legacy
/// hidden_act "gelu" means the tanh approximation (as transformers reads it).
bool readGemma(const rt::JsonValue &json, int version, ModelConfig &c, std::string &error) {
  for (auto [key, out] : {std::pair<const char *, double *>{"attn_logit_softcapping",
                                                            &c.attnLogitSoftcap},
                          {"final_logit_softcapping", &c.finalLogitSoftcap}}) {
    const rt::JsonValue *v = json.get(key);
    if (!v || v->isNull())
      continue;
    if (version != 2) {
      error = std::string("config.json: ") + key +
              " (Gemma 2's soft-capping) is not supported for Gemma " + std::to_string(version);
      return false;
    }
    if (!v->isNumber() || !(v->number() > 0.0) || !std::isfinite(v->number())) {
      error = std::string("config.json: ") + key + " must be a positive number or null";
      return false;
    }
    *out = v->number();
  }
  if (json.getBool("use_bidirectional_attention").value_or(false)) {
    error = "config.json: use_bidirectional_attention (EmbeddingGemma's encoder) is not "
            "supported: lazyc compiles causal decoders";
    return false;
  }
  std::string act = json.getString("hidden_activation")
                        .value_or(json.getString("hidden_act").value_or("gelu_pytorch_tanh"));
  if (version == 1 && act == "gelu" && !json.getString("hidden_activation"))
    act = "gelu_pytorch_tanh";
  if (act != "gelu_pytorch_tanh") {
    error = "config.json: hidden_activation '" + act +
            "' is not supported (Gemma's is gelu_pytorch_tanh)";
    return false;
  }
  c.mlpActivation = "gelu_tanh";
  const double scalar = json.getNumber("query_pre_attn_scalar")
                            .value_or(version == 1 ? static_cast<double>(c.headDim) : 256.0);
  if (!(scalar > 0.0) || !std::isfinite(scalar)) {
    error = "config.json: query_pre_attn_scalar must be a positive number";
    return false;
  }
  c.attentionScale = 1.0 / std::sqrt(scalar);
  c.embeddingScale = std::sqrt(static_cast<double>(c.hidden));
  c.normWeightOffset = 1.0;
  c.postNorms = version >= 2;
  if (version < 3)
    return readHFRopeScaling(json, c, error);
  c.qkNorm = true;
  return readLayerTypeRope(json, "rope_local_base_freq", 10000.0, c, error);
}

/// Sliding-window attention, as transformers reads it: Mistral 7B v0.1 sets
/// `sliding_window` for every layer (later Mistral/Llama configs null it);
/// Qwen2-style configs switch it on with `use_sliding_window` (default off
/// there and, `offByDefault`, in SmolLM3 and Qwen2-MoE) for the layers from
/// `max_window_layers` on; a `layer_types` list names each layer's kind and
/// wins over both; Gemma 3's
/// `sliding_window_pattern` (transformers 4.x; `defaultPattern` without it,
/// 0: none) makes every n-th layer full.
bool readSlidingWindow(const rt::JsonValue &json, bool offByDefault, int64_t defaultPattern,
                       ModelConfig &c, std::string &error) {
  std::optional<int64_t> window = json.getInt("sliding_window");
  const rt::JsonValue *given = json.get("sliding_window");
  if (given && !given->isNull() && (!window || *window <= 0)) {
    error = "config.json: sliding_window must be a positive integer or null";
    return false;
  }
  const bool qwen2Style = json.get("use_sliding_window") != nullptr || offByDefault;
  std::optional<int64_t> pattern = json.getInt("sliding_window_pattern");
  if (!pattern && defaultPattern > 0)
    pattern = defaultPattern;
  if (!json.getBool("use_sliding_window").value_or(!qwen2Style) || !window)
    return true;
  if (const rt::JsonValue *types = json.get("layer_types"); types && !types->isNull()) {
    if (!types->isArray() || static_cast<int64_t>(types->array().size()) != c.numLayers) {
      error = "config.json: layer_types must list one kind for each of the " +
              std::to_string(c.numLayers) + " layers";
      return false;
    }
    for (const rt::JsonValue &t : types->array()) {
      if (!t.isString() || (t.string() != "sliding_attention" && t.string() != "full_attention")) {
        error = "config.json: layer_types may hold only \"full_attention\" and "
                "\"sliding_attention\"";
        return false;
      }
      c.slidingLayers.push_back(t.string() == "sliding_attention");
    }
  } else if (std::optional<int64_t> every = pattern) {
    // Gemma 3 (transformers 4.x): every n-th layer full, the others sliding.
    if (*every <= 0) {
      error = "config.json: sliding_window_pattern must be a positive integer";
      return false;
    }
    c.slidingLayers = everyNthLayerFull(*every, c.numLayers);
  } else if (qwen2Style) {
    // transformers' Qwen2Config: sliding from max_window_layers on.
    const int64_t from = json.getInt("max_window_layers").value_or(c.numLayers);
    for (int64_t l = 0; l < c.numLayers; ++l)
      c.slidingLayers.push_back(l >= from);
  }
  if (!c.slidingLayers.empty() && llvm::none_of(c.slidingLayers, [](bool b) { return b; })) {
    c.slidingLayers.clear(); // no sliding layer
    return true;
  }
  c.slidingWindow = *window;
  return true;
}
/// The mixture-of-experts keys: Mixtral's num_local_experts (experts of
/// intermediate_size rows, always renormalized), Qwen3-MoE's and OLMoE's
/// num_experts (of moe_intermediate_size / intermediate_size rows,
/// renormalized with norm_topk_prob), Qwen3-MoE's dense layers
/// (mlp_only_layers, and all but every decoder_sparse_step-th), ERNIE 4.5's
/// moe_* keys; Qwen2-MoE's as Qwen3-MoE's (never renormalized by default)
/// with a gated shared expert of shared_expert_intermediate_size rows.
bool readExperts(const rt::JsonValue &json, bool mixtral, bool qwen3moe, bool qwen2moe,
                 bool ernie, bool gptOss, ModelConfig &c, std::string &error) {
  const char *expertsKey = mixtral || gptOss ? "num_local_experts"
                           : ernie ? "moe_num_experts"
                                   : "num_experts";
  const char *perTokenKey = ernie ? "moe_k" : "num_experts_per_tok";
  std::optional<int64_t> experts = json.getInt(expertsKey);
  std::optional<int64_t> perToken = json.getInt(perTokenKey);
  if (!experts || *experts <= 0 || !perToken || *perToken <= 0 || *perToken > *experts) {
    error = std::string("config.json: '") + expertsKey + "' and '" + perTokenKey + "' must be " +
            "positive integers, at most the former chosen per token";
    return false;
  }
  c.numExperts = *experts;
  c.expertsPerToken = *perToken;
  c.expertFfn = c.ffn;
  if (ernie) {
    // ERNIE 4.5: MoE layers every moe_layer_interval-th from
    // moe_layer_start_index to moe_layer_end_index (-1: the last), experts
    // chosen with the score correction bias, renormalized by at least
    // moe_norm_min, and moe_num_shared_experts shared experts as one MLP.
    std::optional<int64_t> ffn = json.getInt("moe_intermediate_size");
    const int64_t shared = json.getInt("moe_num_shared_experts").value_or(0);
    c.sparseStep = json.getInt("moe_layer_interval").value_or(1);
    c.moeFirst = json.getInt("moe_layer_start_index").value_or(1);
    c.moeLast = json.getInt("moe_layer_end_index").value_or(-1);
    if (c.moeLast == -1)
      c.moeLast = c.numLayers - 1;
    c.expertNormMin = json.getNumber("moe_norm_min").value_or(1e-12);
    if (!ffn || *ffn <= 0 || shared < 0 || shared > (int64_t(1) << 10) || c.sparseStep <= 0 ||
        c.moeFirst < 0 || c.moeLast < c.moeFirst || !(c.expertNormMin >= 0.0) ||
        !(c.expertNormMin < 1.0)) {
      error = "config.json: ERNIE 4.5's MoE keys (moe_intermediate_size, "
              "moe_num_shared_experts, moe_layer_interval, moe_layer_start_index / end_index, "
              "moe_norm_min) are missing or out of range";
      return false;
    }
    c.expertFfn = *ffn;
    c.sharedExpertFfn = shared * *ffn;
    c.expertSelectionBias = true;
    c.normTopK = true;
    return true;
  }
  if (qwen2moe) {
    // (transformers' Qwen2MoeConfig default: Qwen1.5-MoE-A2.7B's.)
    const int64_t shared = json.getInt("shared_expert_intermediate_size").value_or(5632);
    if (shared <= 0) {
      error = "config.json: 'shared_expert_intermediate_size' must be a positive integer";
      return false;
    }
    c.sharedExpertFfn = shared;
    c.sharedExpertGate = true;
  }
  if (qwen3moe || qwen2moe) {
    std::optional<int64_t> ffn = json.getInt("moe_intermediate_size");
    if (!ffn || *ffn <= 0) {
      error = "config.json: 'moe_intermediate_size' is missing or not a positive integer";
      return false;
    }
    c.expertFfn = *ffn;
    c.sparseStep = json.getInt("decoder_sparse_step").value_or(1);
    if (c.sparseStep <= 0) {
      error = "config.json: 'decoder_sparse_step' must be a positive integer";
      return false;
    }
    if (const rt::JsonValue *only = json.get("mlp_only_layers"); only && only->isArray())
      for (const rt::JsonValue &v : only->array()) {
        std::optional<int64_t> layer = v.integer();
        if (!layer || *layer < 0 || *layer >= c.numLayers) {
          error = "config.json: 'mlp_only_layers' lists a layer outside [0, num_hidden_layers)";
          return false;
        }
        c.denseLayers.push_back(*layer);
      }
  }
  // (gpt-oss: a softmax over the chosen experts' logits, i.e. renormalized.)
  c.normTopK = mixtral || gptOss || json.getBool("norm_topk_prob").value_or(false);
  c.mixtralNames = mixtral;
  return true;
}
/// GLM-4.5's mixture-of-experts keys (transformers' Glm4MoeConfig, whose
/// defaults apply): n_routed_experts (or num_local_experts) experts of
/// moe_intermediate_size rows, num_experts_per_tok chosen per token by
/// sigmoid score + the router's e_score_correction_bias, their scores
/// renormalized (norm_topk_prob) and times routed_scaling_factor;
/// n_shared_experts shared experts as one MLP; dense MLPs in the first
/// first_k_dense_replace layers. Group-limited choice (n_group experts'
/// groups, only topk_group of them eligible) is refused unless every group
/// is eligible, as in GLM-4.5's configs. The multi-token-prediction layers
/// after num_hidden_layers are not read.
bool readGlm4MoeExperts(const rt::JsonValue &json, ModelConfig &c, std::string &error) {
  std::optional<int64_t> experts = json.getInt("n_routed_experts");
  if (!experts)
    experts = json.getInt("num_local_experts");
  const int64_t perToken = json.getInt("num_experts_per_tok").value_or(8);
  const int64_t ffn = json.getInt("moe_intermediate_size").value_or(1408);
  const int64_t shared = json.getInt("n_shared_experts").value_or(1);
  const int64_t firstSparse = json.getInt("first_k_dense_replace").value_or(1);
  const double scale = json.getNumber("routed_scaling_factor").value_or(1.0);
  const int64_t groups = json.getInt("n_group").value_or(1);
  const int64_t eligible = json.getInt("topk_group").value_or(1);
  if (!experts || *experts <= 0 || perToken <= 0 || perToken > *experts || ffn <= 0 ||
      shared < 0 || shared > (int64_t(1) << 10) || firstSparse < 0 ||
      !(scale > 0.0) || !std::isfinite(scale)) {
    error = "config.json: GLM-4.5's MoE keys (n_routed_experts, num_experts_per_tok, "
            "moe_intermediate_size, n_shared_experts, first_k_dense_replace, "
            "routed_scaling_factor) are missing or out of range";
    return false;
  }
  if (groups > 1 && eligible < groups) {
    error = "config.json: group-limited expert choice (n_group " + std::to_string(groups) +
            ", topk_group " + std::to_string(eligible) +
            ") is not supported (every group eligible: topk_group = n_group)";
    return false;
  }
  c.numExperts = *experts;
  c.expertsPerToken = perToken;
  c.expertFfn = ffn;
  c.sharedExpertFfn = shared * ffn;
  c.moeFirst = firstSparse;
  c.expertSelectionBias = true;
  c.expertSigmoid = true;
  c.expertScale = scale;
  c.normTopK = json.getBool("norm_topk_prob").value_or(true);
  return true;
}

/// gpt-oss's keys (after readExperts): the attention's biases
/// (`attention_bias`, default true) and sinks, the experts' biases and
/// clamped SwiGLU (`swiglu_limit`; transformers' `swiglu_alpha` must be
/// gpt-oss's 1.702, the runtime's), and how the checkpoint stores the experts:
/// `quantization_config.quant_method` "mxfp4" (the published checkpoints'
/// blocks and scales), none (dequantized, transposed).
bool readGptOss(const rt::JsonValue &json, ModelConfig &c, std::string &error) {
  c.qkvBias = c.attnOutBias = json.getBool("attention_bias").value_or(true);
  c.attnSinks = c.expertBiases = true;
  c.expertActivation = "swiglu_oai";
  c.swigluLimit = json.getNumber("swiglu_limit").value_or(7.0);
  if (!(c.swigluLimit > 0.0) || !std::isfinite(c.swigluLimit)) {
    error = "config.json: swiglu_limit must be a positive number";
    return false;
  }
  if (double alpha = json.getNumber("swiglu_alpha").value_or(1.702); alpha != 1.702) {
    error = "config.json: swiglu_alpha " + formatDouble(alpha) +
            " is not supported (lazyc's clamped SwiGLU is gpt-oss's, alpha 1.702)";
    return false;
  }
  c.hfExperts = ModelConfig::HFExperts::GptOssTransposed;
  if (const rt::JsonValue *quant = json.get("quantization_config"); quant && !quant->isNull()) {
    std::string method = quant->isObject() ? quant->getString("quant_method").value_or("") : "";
    if (method != "mxfp4") {
      error = "config.json: quantization_config.quant_method '" + method +
              "' is not supported for gpt-oss (its checkpoints' mxfp4 is)";
      return false;
    }
    if (c.hidden % 32 != 0 || c.expertFfn % 32 != 0) {
      error = "config.json: MXFP4 experts need hidden_size and intermediate_size in whole "
              "blocks of 32";
      return false;
    }
    c.hfExperts = ModelConfig::HFExperts::GptOssMXFP4;
    c.expertsMXFP4 = true;
  }
  return true;
}
} // namespace

namespace {
/// Cohere's keys (transformers' CohereConfig, Cohere2Config): logit_scale
/// (0.0625 by default), use_qk_norm (Command R+'s per-head LayerNorms:
/// refused); Cohere2's RoPE only in its sliding layers (none at all without
/// a sliding_window, as transformers' Cohere2Attention).
bool readCohere(const rt::JsonValue &json, bool cohere2, ModelConfig &c, std::string &error) {
  if (json.getBool("use_qk_norm").value_or(false)) {
    error = "config.json: use_qk_norm (Command R+'s per-head query/key LayerNorms) is not "
            "supported";
    return false;
  }
  const double scale = json.getNumber("logit_scale").value_or(0.0625);
  if (!(scale > 0.0) || !std::isfinite(scale)) {
    error = "config.json: logit_scale must be a positive number";
    return false;
  }
  c.layerNorm = c.parallelBlock = true;
  c.logitScale = 1.0 / scale; // (ModelConfig divides the logits by it)
  if (cohere2 && !json.get("sliding_window")) {
    error = "config.json: Cohere2 needs sliding_window (its sliding layers are the ones with "
            "RoPE; null: none)";
    return false;
  }
  if (cohere2)
    for (int64_t l = 0; l < c.numLayers; ++l)
      c.noRopeLayers.push_back(c.windowOf(l) == 0);
  return true;
}
} // namespace

namespace {
/// Falcon's keys (transformers' FalconConfig): alibi (Falcon-RW's ALiBi:
/// refused), bias (every projection's, default false), the blocks:
/// new_decoder_architecture's parallel ones with num_ln_in_parallel_attn
/// norms (2 by default: ln_attn and ln_mlp; 1: input_layernorm for both, as
/// Falcon2-11B), else parallel_attn (default true: one input_layernorm) or
/// sequential ones (input_layernorm, post_attention_layernorm).
bool readFalcon(const rt::JsonValue &json, ModelConfig &c, std::string &error) {
  if (json.getBool("alibi").value_or(false)) {
    error = "config.json: alibi (ALiBi position biases instead of RoPE: Falcon-RW) is not "
            "supported";
    return false;
  }
  c.layerNorm = c.normBias = true;
  c.qkvBias = c.attnOutBias = c.mlpBias = json.getBool("bias").value_or(false);
  c.fusedQKV = true;
  c.fusedQKVGrouped = c.numKVHeads > 1; // (one group: the query's rows, the key's, the value's)
  const bool parallel = json.getBool("parallel_attn").value_or(true);
  if (!json.getBool("new_decoder_architecture").value_or(false)) {
    c.parallelBlock = parallel;
    return true;
  }
  const int64_t norms = json.getInt("num_ln_in_parallel_attn").value_or(2);
  if (norms != 2 && !(norms == 1 && parallel)) {
    error = "config.json: num_ln_in_parallel_attn " + std::to_string(norms) +
            " is not Falcon's (2, or 1 with parallel_attn)";
    return false;
  }
  c.parallelBlock = true;
  c.parallelMlpNorm = norms == 2;
  return true;
}
} // namespace

bool lazyc::readHFConfig(const rt::HFCheckpoint &checkpoint, ModelConfig &c,
                         std::string &error) {
  const rt::JsonValue &json = checkpoint.config();
  std::string arch;
  if (const rt::JsonValue *archs = json.get("architectures");
      archs && archs->isArray() && !archs->array().empty() && archs->array()[0].isString())
    arch = archs->array()[0].string();
  std::string modelType = json.getString("model_type").value_or("");
  bool qwen2 = arch == "Qwen2ForCausalLM" || modelType == "qwen2";
  bool qwen3 = arch == "Qwen3ForCausalLM" || modelType == "qwen3";
  bool smollm3 = arch == "SmolLM3ForCausalLM" || modelType == "smollm3";
  // Granite 3.x MoE (granite-3.1-1b-a400m, -3b-a800m; GraniteMoeShared with a
  // shared MLP): Granite's multipliers, Mixtral's routing (a softmax over the
  // chosen experts' logits), the experts stacked (ModelConfig::hfExperts).
  bool graniteMoeShared =
      arch == "GraniteMoeSharedForCausalLM" || modelType == "granitemoeshared";
  bool graniteMoe =
      arch == "GraniteMoeForCausalLM" || modelType == "granitemoe" || graniteMoeShared;
  bool granite = arch == "GraniteForCausalLM" || modelType == "granite" || graniteMoe;
  // OLMo 3: OLMo 2's layers, 3 of every 4 sliding, the others' RoPE scaled.
  bool olmo3 = arch == "Olmo3ForCausalLM" || modelType == "olmo3";
  bool olmo2 = arch == "Olmo2ForCausalLM" || modelType == "olmo2" || olmo3;
  bool gemma3 = arch == "Gemma3ForCausalLM" || modelType == "gemma3_text";
  bool gemma2 = arch == "Gemma2ForCausalLM" || modelType == "gemma2";
  bool gemma1 = arch == "GemmaForCausalLM" || modelType == "gemma";
  // Phi-3: Llama's layers with fused qkv and gate_up projections.
  bool phi3 = arch == "Phi3ForCausalLM" || modelType == "phi3";
  // GLM-4 (GLM-4-0414, GLM-Z1): Q/K/V biases, a fused gate_up, norms before
  // and after both sublayers, RoPE on interleaved pairs of half of each head.
  bool glm4 = arch == "Glm4ForCausalLM" || modelType == "glm4";
  // ERNIE 4.5 (the dense models, e.g. ERNIE-4.5-0.3B): Llama's layers with
  // RoPE on interleaved pairs, tied embeddings by default.
  // (Its MoE models: ERNIE-4.5-21B-A3B and -300B-A47B, below.)
  bool ernieMoe = arch == "Ernie4_5_MoeForCausalLM" || modelType == "ernie4_5_moe";
  bool ernie = arch == "Ernie4_5ForCausalLM" || modelType == "ernie4_5" || ernieMoe;
  // Ministral (Ministral-8B): Mistral's layers, sliding windows per `layer_types`.
  // Mixture-of-experts MLPs: Mixtral (Mistral's layers), Qwen3-MoE (Qwen3's),
  // OLMoE (Llama's with OLMo 2's query/key norms).
  bool mixtral = arch == "MixtralForCausalLM" || modelType == "mixtral";
  bool qwen3moe = arch == "Qwen3MoeForCausalLM" || modelType == "qwen3_moe";
  // Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): Qwen2's layers, experts as
  // Qwen3-MoE's and a shared expert weighed by a sigmoid gate.
  bool qwen2moe = arch == "Qwen2MoeForCausalLM" || modelType == "qwen2_moe";
  bool olmoe = arch == "OlmoeForCausalLM" || modelType == "olmoe";
  // GLM-4.5 / GLM-4.5-Air (and GLM-4.6): Llama's layers (optional Q/K/V
  // biases and per-head query/key norms, RoPE on the first half of each head
  // in rotate-half form), dense MLPs in the first first_k_dense_replace
  // layers, then sigmoid-scored experts with a selection bias and shared
  // experts.
  bool glm4moe = arch == "Glm4MoeForCausalLM" || modelType == "glm4_moe";
  bool llamaLike = arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" ||
                   arch == "MinistralForCausalLM" || modelType == "llama" ||
                   modelType == "mistral" || modelType == "ministral";
  // gpt-oss (gpt-oss-20b, -120b): biased attention with sinks, a sliding
  // window every other layer, YaRN; biased experts with the clamped SwiGLU,
  // one interleaved gate/up tensor per layer (ModelConfig::hfExperts).
  bool gptOss = arch == "GptOssForCausalLM" || modelType == "gpt_oss";
  // Cohere (Command R: CohereForCausalLM; Command R7B, Command A:
  // Cohere2ForCausalLM): LayerNorms without a bias, parallel attention and
  // MLP blocks, RoPE on interleaved pairs, logits times logit_scale; Cohere2
  // slides 3 of every 4 layers, and only those get RoPE.
  bool cohere2 = arch == "Cohere2ForCausalLM" || modelType == "cohere2";
  bool cohere = arch == "CohereForCausalLM" || modelType == "cohere" || cohere2;
  // StarCoder2 (bigcode/starcoder2-3b, -7b, -15b): LayerNorms with biases, biases
  // on every projection, a non-gated GELU MLP (c_fc, c_proj), a sliding window
  // in every layer.
  bool starcoder2 = arch == "Starcoder2ForCausalLM" || modelType == "starcoder2";
  // Phi-2 (and Phi-1.5): StarCoder2's kind of layers as parallel blocks (as
  // Cohere's), RoPE on part of each head, a bias on the logits.
  bool phi2 = arch == "PhiForCausalLM" || modelType == "phi";
  // GPT-NeoX (Pythia, GPT-NeoX-20B): StarCoder2's kind of layers with the
  // query, key and value in one matrix head by head, parallel blocks (the
  // MLP with its own norm) unless use_parallel_residual is false, RoPE on a
  // quarter of each head (rotary_pct), GELU in its exact erf form.
  bool neox = arch == "GPTNeoXForCausalLM" || modelType == "gpt_neox";
  // Falcon (Falcon-7B, -40B, -180B, Falcon2-11B): GPT-NeoX's kind of layers
  // (biased only where `bias`), its query/key/value by key/value groups
  // (multi-query: one), parallel blocks with one norm or (the new decoder
  // architecture) one per sublayer; ALiBi (Falcon-RW) refused.
  bool falcon = arch == "FalconForCausalLM" || modelType == "falcon";
  // GPT-J (GPT-J-6B): Phi-2's kind of parallel blocks (one biased LayerNorm,
  // a biased GELU MLP fc_in / fc_out, lm_head with a bias) with unbiased
  // query/key/value/output projections, RoPE on interleaved pairs of the first
  // rotary_dim elements of each head; GPT-2's config.json names.
  bool gptj = arch == "GPTJForCausalLM" || modelType == "gptj";
  // OLMo 1 (OLMo-1B, -7B, -7B-0424/0724 in transformers' form): Llama's
  // layers with LayerNorms without weights, the query, key and value
  // projections optionally clamped (clip_qkv).
  bool olmo1 = arch == "OlmoForCausalLM" || modelType == "olmo";
  if (!llamaLike && !qwen2 && !qwen3 && !smollm3 && !granite && !olmo2 && !gemma1 && !gemma2 &&
      !gemma3 && !phi3 && !glm4 && !ernie && !mixtral && !qwen3moe && !olmoe && !gptOss &&
      !glm4moe && !qwen2moe && !graniteMoe && !cohere && !starcoder2 && !phi2 && !neox &&
      !falcon && !gptj && !olmo1) {
    error = "unsupported architecture '" + (arch.empty() ? modelType : arch) +
            "' (lazyc imports LlamaForCausalLM, MistralForCausalLM, MinistralForCausalLM, "
            "Qwen2ForCausalLM, Qwen3ForCausalLM, SmolLM3ForCausalLM, GraniteForCausalLM, "
            "Olmo2ForCausalLM, Olmo3ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM, "
            "Gemma3ForCausalLM, Phi3ForCausalLM, Glm4ForCausalLM, Ernie4_5ForCausalLM, "
            "MixtralForCausalLM, Qwen3MoeForCausalLM, OlmoeForCausalLM, "
            "Ernie4_5_MoeForCausalLM, GptOssForCausalLM, Glm4MoeForCausalLM, "
            "Qwen2MoeForCausalLM, GraniteMoeForCausalLM, GraniteMoeSharedForCausalLM, "
            "CohereForCausalLM, Cohere2ForCausalLM, Starcoder2ForCausalLM, PhiForCausalLM, "
            "GPTNeoXForCausalLM, FalconForCausalLM, GPTJForCausalLM and OlmoForCausalLM)";
    return false;
  }
  c.arch = qwen2      ? "qwen2"
           : qwen3    ? "qwen3"
           : mixtral  ? "mixtral"
           : qwen3moe ? "qwen3moe"
           : qwen2moe ? "qwen2moe"
           : graniteMoe ? "granitemoe"
           : olmoe    ? "olmoe"
           : ernieMoe ? "ernie4_5_moe"
           : gptOss   ? "gpt-oss"
           : glm4moe  ? "glm4moe"
           : smollm3 ? "smollm3"
           : granite ? "granite"
           : olmo3   ? "olmo3"
           : olmo2   ? "olmo2"
           : gemma1  ? "gemma"
           : gemma2  ? "gemma2"
           : gemma3  ? "gemma3"
           : phi3    ? "phi3"
           : glm4    ? "glm4"
           : ernie   ? "ernie4_5"
           : cohere2 ? "cohere2"
           : cohere  ? "command-r" // (llama.cpp's names)
           : starcoder2 ? "starcoder2"
           : phi2       ? "phi2"
           : neox       ? "gptneox"
           : falcon     ? "falcon"
           : gptj       ? "gptj"
           : olmo1      ? "olmo"
           : modelType.empty() ? "llama"
                               : modelType;
  // Qwen2's Q/K/V projections always have biases, GLM-4's by default.
  // (Qwen2-MoE: transformers 5's qkv_bias, always in 4.x.)
  c.qkvBias = qwen2 || (qwen2moe && json.getBool("qkv_bias").value_or(true)) ||
              (glm4 && json.getBool("attention_bias").value_or(true)) ||
              (glm4moe && json.getBool("attention_bias").value_or(false));
  c.fusedQKV = phi3 || neox;
  c.fusedQKVGrouped = neox;
  c.fusedGateUp = phi3 || glm4;
  // Qwen3 normalizes each query and key head, GLM-4.5 with use_qk_norm.
  c.qkNorm = qwen3 || qwen3moe || (glm4moe && json.getBool("use_qk_norm").value_or(false));
  // OLMo 2 normalizes the whole query and key projections, and each
  // sublayer's output instead of its input; GLM-4 both. (OLMoE: only the first.)
  c.qkFullNorm = olmo2 || olmoe;
  c.postNorms = olmo2 || glm4;
  c.preNorms = !olmo2;
  c.name = json.getString("_name_or_path").value_or(c.arch);
  // (GPT-J's config.json uses GPT-2's names, which transformers maps.)
  auto gpt2Name = [](llvm::StringRef key) -> const char * {
    return llvm::StringSwitch<const char *>(key)
        .Case("num_hidden_layers", "n_layer")
        .Case("hidden_size", "n_embd")
        .Case("num_attention_heads", "n_head")
        .Case("max_position_embeddings", "n_positions")
        .Default(nullptr);
  };
  auto need = [&](const char *key, int64_t &out) {
    std::optional<int64_t> v = json.getInt(key);
    if (!v && gptj && gpt2Name(key))
      v = json.getInt(gpt2Name(key));
    if (!v || *v <= 0) {
      error = std::string("config.json: '") + key + "' is missing or not a positive integer";
      return false;
    }
    out = *v;
    return true;
  };
  if (!need("num_hidden_layers", c.numLayers) || !need("hidden_size", c.hidden) ||
      (!falcon && !gptj && !need("intermediate_size", c.ffn)) ||
      !need("num_attention_heads", c.numHeads) || !need("vocab_size", c.vocabSize) ||
      (!falcon && !need("max_position_embeddings", c.contextLength)))
    return false;
  // (Falcon's MLP width: ffn_hidden_size, 4 x hidden by default; its context
  // 2048 unless max_position_embeddings says, as transformers' FalconConfig;
  // GPT-J's MLP width n_inner, 4 x hidden where null.)
  if (falcon || gptj) {
    std::vector<std::tuple<const char *, int64_t *, int64_t>> defaults = {
        {falcon ? "ffn_hidden_size" : "n_inner", &c.ffn, 4 * c.hidden}};
    if (falcon)
      defaults.push_back({"max_position_embeddings", &c.contextLength, 2048});
    for (auto [key, out, fallback] : defaults) {
      const rt::JsonValue *v = json.get(key);
      *out = v && !v->isNull() ? json.getInt(key).value_or(0) : fallback;
      if (*out <= 0) {
        error = std::string("config.json: '") + key + "' is not a positive integer";
        return false;
      }
    }
  }
  if ((mixtral || graniteMoe || qwen3moe || qwen2moe || olmoe || ernieMoe || gptOss) &&
      !readExperts(json, mixtral || graniteMoe, qwen3moe, qwen2moe, ernieMoe, gptOss, c, error))
    return false;
  if (graniteMoe) {
    c.hfExperts = ModelConfig::HFExperts::GraniteStacked;
    // (GraniteMoeShared's shared MLP; 0: none, transformers' default.)
    const int64_t shared = graniteMoeShared ? json.getInt("shared_intermediate_size").value_or(0)
                                            : 0;
    if (shared < 0) {
      error = "config.json: 'shared_intermediate_size' must not be negative";
      return false;
    }
    c.sharedExpertFfn = shared;
  }
  if (glm4moe && !readGlm4MoeExperts(json, c, error))
    return false;
  if (gptOss && !readGptOss(json, c, error))
    return false;
  if (const rt::JsonValue *clip = json.get("clip_qkv"); clip && !clip->isNull()) {
    // (OLMo 1's: after the projections, before RoPE. OLMoE's would be after
    // its query/key norms: not implemented.)
    c.clipQKV = olmo1 ? json.getNumber("clip_qkv").value_or(0.0) : 0.0;
    if (!olmo1 || !(c.clipQKV > 0.0) || !std::isfinite(c.clipQKV)) {
      error = olmo1 ? "config.json: clip_qkv must be a positive number"
                    : "config.json: clip_qkv (clamping the query/key/value projections) is "
                      "supported for OlmoForCausalLM only";
      return false;
    }
  }
  // (GPT-NeoX's attention has as many key/value heads as query heads;
  // Falcon's new decoder architecture num_kv_heads, its first one query
  // heads over one key/value head (multi_query) or as many.)
  c.numKVHeads = neox ? c.numHeads
                 : falcon && json.getBool("new_decoder_architecture").value_or(false)
                     ? json.getInt("num_kv_heads").value_or(c.numHeads)
                 : falcon ? (json.getBool("multi_query").value_or(true) ? 1 : c.numHeads)
                          : json.getInt("num_key_value_heads").value_or(c.numHeads);
  if (c.numKVHeads <= 0 || c.numHeads % c.numKVHeads != 0) {
    error = "config.json: num_attention_heads (" + std::to_string(c.numHeads) +
            ") is not a multiple of num_key_value_heads (" + std::to_string(c.numKVHeads) + ")";
    return false;
  }
  if (auto headDim = json.getInt("head_dim")) {
    c.headDim = *headDim;
  } else if (ernie) { // transformers' Ernie4_5Config default
    c.headDim = 128;
  } else if (c.hidden % c.numHeads == 0) {
    c.headDim = c.hidden / c.numHeads;
  } else {
    error = "config.json: hidden_size is not a multiple of num_attention_heads";
    return false;
  }
  if (!checkSizes(c, "config.json", error))
    return false;
  if (c.headDim <= 0 || c.headDim % 2 != 0) {
    error = "config.json: head_dim must be positive and even";
    return false;
  }
  const char *defaultAct = starcoder2 ? "gelu_pytorch_tanh"
                           : phi2     ? "gelu_new"
                           : neox || falcon ? "gelu"
                           : gptj           ? "gelu_new"
                                            : "silu";
  // (Falcon's key: activation; GPT-J's activation_function.)
  const std::string act = json.getString(falcon ? "activation"
                                         : gptj ? "activation_function"
                                                : "hidden_act")
                              .value_or(defaultAct);
  // (A non-gated MLP's GELU: exact, or its tanh approximation.)
  const bool geluMlp = starcoder2 || phi2 || neox || falcon || gptj;
  if (geluMlp && act != "gelu" && act != "gelu_pytorch_tanh" && act != "gelu_new") {
    error = "config.json: hidden_act '" + act + "' is not supported for " +
            (arch.empty() ? modelType : arch) +
            " (lazyc's GELU: gelu, exact, or gelu_pytorch_tanh / gelu_new, its tanh "
            "approximation)";
    return false;
  } else if (act != "silu" && !gemma1 && !gemma2 && !gemma3 && !geluMlp) {
    error = "config.json: hidden_act '" + act + "' is not supported (lazyc's MLP is SwiGLU: silu)";
    return false;
  }
  if (geluMlp) { // up, GELU (exact or its tanh form), down
    c.gatedMlp = false;
    c.mlpActivation = act == "gelu" ? "gelu" : "gelu_tanh";
  }
  if ((json.getBool("attention_bias").value_or(false) && !glm4 && !gptOss && !glm4moe && !neox &&
       !olmo1) ||
      json.getBool("mlp_bias").value_or(false) ||
      (json.getBool("use_bias").value_or(false) && !starcoder2)) {
    error = "config.json: attention/MLP biases are not supported (but GLM-4's and GLM-4.5's "
            "Q/K/V biases, gpt-oss's and StarCoder2's)";
    return false;
  }
  // Phi-4-mini rotates a part of each head (partial_rotary_factor 0.75), as
  // transformers' Phi3Attention: the first int(head_dim * factor) elements,
  // with the frequencies of a head that wide; GLM-4 half of it (its config's
  // default). (Read before the RoPE scaling, whose factor lists have that
  // many halves. transformers 5 moves the key into rope_parameters.)
  std::optional<double> partialKey = json.getNumber("partial_rotary_factor");
  if (const rt::JsonValue *params = json.get("rope_parameters");
      !partialKey && params && params->isObject())
    partialKey = params->getNumber("partial_rotary_factor");
  // (GPT-NeoX's configs on the Hub call it rotary_pct.)
  if (!partialKey && neox)
    partialKey = json.getNumber("rotary_pct");
  // (Phi-2's default: 0.5, as transformers' PhiConfig; GPT-NeoX's 0.25.)
  if (double partial = partialKey.value_or(glm4 || glm4moe || phi2 ? 0.5 : neox ? 0.25 : 1.0);
      partial != 1.0) {
    auto rotary = static_cast<int64_t>(static_cast<double>(c.headDim) * partial);
    if (!phi3 && !glm4 && !glm4moe && !phi2 && !neox) {
      error = "config.json: partial_rotary_factor (rotary embeddings on part of each head) is "
              "supported for Phi3ForCausalLM (Phi-4-mini), PhiForCausalLM, Glm4ForCausalLM, "
              "Glm4MoeForCausalLM and GPTNeoXForCausalLM, not for " + arch;
      return false;
    }
    if (!(partial > 0.0 && partial < 1.0) || rotary <= 0 || rotary % 2 != 0) {
      error = "config.json: partial_rotary_factor " + formatDouble(partial) +
              " must be in (0, 1] and rotate an even number of each head's " +
              std::to_string(c.headDim) + " elements (got " + std::to_string(rotary) + ")";
      return false;
    }
    c.ropeDim = rotary;
  }
  if (gemma1 || gemma2 || gemma3 ? !readGemma(json, gemma1 ? 1 : gemma2 ? 2 : 3, c, error)
      : olmo3 ? !readLayerTypeRope(json, nullptr, 0.0, c, error)
              : !readHFRopeScaling(json, c, error))
    return false;
  if (smollm3 && !readNoRopeLayers(json, c, error))
    return false;
  // GPT-NeoX's configs on the Hub name the RoPE base rotary_emb_base
  // (transformers reads it when neither rope_theta key is there).
  const rt::JsonValue *ropeParameters = json.get("rope_parameters");
  if (neox && !json.get("rope_theta") &&
      !(ropeParameters && ropeParameters->isObject() && ropeParameters->get("rope_theta"))) {
    c.ropeTheta = json.getNumber("rotary_emb_base").value_or(10000.0);
    if (!(c.ropeTheta > 0.0) || !std::isfinite(c.ropeTheta)) {
      error = "config.json: rotary_emb_base must be positive";
      return false;
    }
  }
  if (granite && !readGraniteMultipliers(json, c, error))
    return false;
  // Gemma 2 and gpt-oss: every 2nd layer full; Gemma 3: every 6th; OLMo 3:
  // every 4th.
  if (!readSlidingWindow(json, smollm3 || qwen2moe,
                         gemma2 || gptOss ? 2 : gemma3 ? 6 : olmo3 || cohere2 ? 4 : 0, c, error))
    return false;
  const char *epsKey = falcon || gptj          ? "layer_norm_epsilon"
                       : cohere || phi2 || neox ? "layer_norm_eps"
                       : starcoder2   ? "norm_epsilon"
                                      : "rms_norm_eps";
  c.rmsEpsilon =
      json.getNumber(epsKey).value_or(cohere || starcoder2 || geluMlp ? 1e-5 : 1e-6);
  if (!(c.rmsEpsilon > 0) || !std::isfinite(c.rmsEpsilon)) {
    error = std::string("config.json: ") + epsKey + " must be a positive number";
    return false;
  }
  if (cohere && !readCohere(json, cohere2, c, error))
    return false;
  if (starcoder2 || phi2) {
    // nn.LayerNorm (always biased); use_bias (default true): every
    // projection's (Phi-2's always, and the logits').
    if (phi2 && json.getBool("qk_layernorm").value_or(false)) {
      error = "config.json: qk_layernorm (LayerNorms of the queries and keys) is not supported";
      return false;
    }
    const bool bias = phi2 || json.getBool("use_bias").value_or(true);
    c.layerNorm = c.normBias = true;
    c.parallelBlock = phi2;
    c.qkvBias = c.attnOutBias = c.mlpBias = bias;
    c.outputBias = phi2;
  }
  if (neox) {
    // Biased LayerNorms and MLP (always), biased attention (attention_bias,
    // default true), parallel blocks each norm of its own
    // (use_parallel_residual, default true).
    const bool bias = json.getBool("attention_bias").value_or(true);
    c.layerNorm = c.normBias = c.mlpBias = true;
    c.qkvBias = c.attnOutBias = bias;
    c.parallelBlock = c.parallelMlpNorm = json.getBool("use_parallel_residual").value_or(true);
    // (A checkpoint saved by transformers 5 names the head lm_head.)
    if (!checkpoint.findTensor("embed_out.weight") && checkpoint.findTensor("lm_head.weight"))
      c.outputName = "lm_head.weight";
  }
  if (falcon && !readFalcon(json, c, error))
    return false;
  if (olmo1) {
    // LayerNorms without weights, epsilon fixed at 1e-5 (transformers'
    // OlmoLayerNorm); attention_bias on all four projections.
    c.layerNorm = true;
    c.normWeight = false;
    c.rmsEpsilon = 1e-5;
    c.qkvBias = c.attnOutBias = json.getBool("attention_bias").value_or(false);
  }
  if (gptj) {
    // RoPE on rotary_dim elements of each head (null: transformers would
    // rotate hidden_size of them, which no head has: refused).
    const std::optional<int64_t> rotary = json.getInt("rotary_dim");
    if (!rotary || *rotary <= 0 || *rotary > c.headDim || *rotary % 2 != 0) {
      error = "config.json: rotary_dim must be a positive even number up to the head size " +
              std::to_string(c.headDim);
      return false;
    }
    c.ropeDim = *rotary == c.headDim ? 0 : *rotary;
    c.layerNorm = c.normBias = c.parallelBlock = true;
    c.mlpBias = c.outputBias = true;
  }
  // Hugging Face weights use rotate-half, but for GLM-4, whose RoPE pairs
  // neighbours (transformers' Glm4 rotate_half is GGML's interleaved layout).
  // (ERNIE 4.5, Cohere and GPT-J rotate like GLM-4)
  c.ropeInterleaved = glm4 || ernie || cohere || gptj;
  // (Gemma's default: tied.)
  c.tiedEmbeddings =
      json.getBool("tie_word_embeddings")
          .value_or(gemma1 || gemma2 || gemma3 || ernie || cohere || starcoder2 || falcon);
  c.hfNames = true;
  return true;
}

OwningOpRef<ModuleOp> lazyc::importHF(MLIRContext *context,
                                      const rt::HFCheckpoint &checkpoint,
                                      const ImportOptions &options, std::string &error) {
  ModelConfig config;
  if (!readHFConfig(checkpoint, config, error) ||
      !checkLayerCount(config, checkpoint.numTensors(), "config.json: num_hidden_layers",
                       error) ||
      !checkImportOptions(config, options, error))
    return nullptr;
  for (const auto &[name, shape] : expectedTensors(config)) {
    const rt::SafetensorsTensor *t = checkpoint.findTensor(name);
    if (!t) {
      error = "tensor '" + name + "' is missing from the checkpoint";
      return nullptr;
    }
    // (gpt-oss's MXFP4 blocks and scales are bytes, read as such.)
    const bool bytes = config.hfExperts == ModelConfig::HFExperts::GptOssMXFP4 &&
                       (llvm::StringRef(name).ends_with("_blocks") ||
                        llvm::StringRef(name).ends_with("_scales"));
    if (bytes && t->type != rt::GGMLType::U8) {
      error = "tensor '" + name + "' holds MXFP4 blocks or scales, which must be U8";
      return nullptr;
    }
    // (Checked as bytes above: only their shape below.)
    auto type = bytes ? rt::GGMLType::F32 : t->type;
    if (!checkTensor(name, shape, t->shape, static_cast<uint32_t>(type), error))
      return nullptr;
  }
  return buildVerifiedDecoder(context, config, options, error);
}
