//===- Import.h - model files to dense llm IR -------------------*- C++ -*-===//
//
// Turns a model file into the dense `llm` IR of its decoder: one step
// function `@forward(tokens, positions, kv_cache, rows) -> logits` whose
// weights are `llm.weight` references by the file's tensor names (never
// inlined). Model facts the runtime needs travel as module attributes
// (`llm.arch`, `llm.context_length`, `llm.vocab_size`, ...).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_COMPILER_IMPORT_IMPORT_H
#define LAZYC_COMPILER_IMPORT_IMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lazyc::rt {
class GGUFFile;
class HFCheckpoint;
} // namespace lazyc::rt

namespace lazyc {

/// Q8_0: GGML's 8-bit blocks (32 int8 and an f16 scale), the weight
/// matrices' row length a multiple of 32; the CPU target's GEMMs read them
/// as they are (a quarter of f32's bytes: decode is memory-bound).
enum class WeightType { F32, BF16, F16, Q8_0 };

struct ImportOptions {
  /// Context length to compile for; 0 = the model's trained context.
  int64_t contextLength = 0;
  /// Element type of the weight matrices (norm weights stay f32).
  WeightType weightType = WeightType::F32;
  /// Experts the file stores as MXFP4 blocks (gpt-oss) stay MXFP4 (4.25 bits
  /// a weight, read by llm.moe's kernels: lossless, a quarter of bf16's
  /// bytes); false: widened to `weightType` like the other matrices.
  bool keepMXFP4 = true;
};

/// Decoder hyper-parameters read from a model file.
struct ModelConfig {
  std::string arch, name;
  int64_t numLayers = 0, hidden = 0, ffn = 0, numHeads = 0, numKVHeads = 0,
          headDim = 0, vocabSize = 0, contextLength = 0;
  double ropeTheta = 10000.0, rmsEpsilon = 1e-5;
  /// Partial rotary embeddings (Phi-4-mini: HF `partial_rotary_factor`, GGUF
  /// `rope.dimension_count`): RoPE rotates the first `ropeDim` elements of
  /// each head and passes the others through; 0 = the whole head.
  int64_t ropeDim = 0;
  int64_t rotaryDim() const { return ropeDim ? ropeDim : headDim; }
  /// RoPE context-extension scaling: frequency j is divided by factor j
  /// (rotaryDim() / 2 values; empty = none). llama.cpp's `rope_freqs` tensor.
  std::vector<double> ropeFreqFactors;
  /// LongRoPE (Phi-3's 128k models, Phi-3.5): two sets of frequency
  /// divisors, the long one for a compiled context past
  /// `ropeOriginalContext`, else the short one (llama.cpp chooses by context
  /// too; transformers by the positions of each call), used as
  /// ropeFreqFactors; its attention factor is ropeAttentionFactor.
  std::vector<double> ropeLongFactors, ropeShortFactors;
  int64_t ropeOriginalContext = 0;
  /// The frequency divisors of a model compiled for `context` positions.
  const std::vector<double> &freqFactorsFor(int64_t context) const {
    if (ropeLongFactors.empty())
      return ropeFreqFactors;
    return context > ropeOriginalContext ? ropeLongFactors : ropeShortFactors;
  }
  /// YaRN's attention factor ("mscale"): the rotated queries and keys are
  /// multiplied by it, so a RoPE layer's attention scale by its square.
  double ropeAttentionFactor = 1.0;
  bool ropeInterleaved = false; // GGML layout (GGUF llama) vs rotate-half
  /// Sliding-window attention (Mistral 7B v0.1: each token sees the last
  /// 4096 positions up to its own): the window, 0 = none, in the layers
  /// `slidingLayers` marks (empty: every layer; Qwen2's upper layers,
  /// config.json's `layer_types`). The importer gives a layer's
  /// llm.attention the window only where the compiled context exceeds it
  /// (below, full causal attention is the same).
  int64_t slidingWindow = 0;
  std::vector<bool> slidingLayers;
  /// Whether layer `layer` takes the local RoPE (Gemma 3's sliding layers).
  bool usesLocalRope(int64_t layer) const { return localRopeTheta > 0 && windowOf(layer) > 0; }
  /// The window of layer `layer`'s attention (0: none).
  int64_t windowOf(int64_t layer) const {
    if (slidingWindow <= 0)
      return 0;
    if (slidingLayers.empty())
      return slidingWindow;
    return layer < static_cast<int64_t>(slidingLayers.size()) &&
                   slidingLayers[static_cast<size_t>(layer)]
               ? slidingWindow
               : 0;
  }
  bool tiedEmbeddings = false;
  /// Biases on the Q, K and V projections (Qwen2).
  bool qkvBias = false;
  /// Per-head RMSNorm of the queries and keys before RoPE (Qwen3).
  bool qkNorm = false;
  /// OLMo 2: an RMSNorm over the whole query and key projections before
  /// RoPE, and the norms on the attention and MLP outputs (before their
  /// residual adds) instead of on their inputs.
  bool qkFullNorm = false;
  /// Norms on each sublayer's input (`preNorms`, Llama) and on its output
  /// before the residual add (`postNorms`): OLMo 2 has only the latter,
  /// Gemma 3 both.
  bool preNorms = true;
  bool postNorms = false;
  /// Cohere (Command R, R7B): the norms are LayerNorms without a bias
  /// (llm.layer_norm, `rmsEpsilon` their epsilon), and each layer is one
  /// parallel block: the attention and the MLP read the same normalized
  /// input, both added to the residual stream (no norm before the MLP).
  bool layerNorm = false;
  bool parallelBlock = false;
  /// GPT-NeoX's parallel block (use_parallel_residual): the MLP normalizes
  /// the layer input with a norm of its own (FfnNorm) instead of reading the
  /// attention's normalized input.
  bool parallelMlpNorm = false;
  /// StarCoder2: each LayerNorm adds a bias (the weight's name with `.bias`).
  bool normBias = false;
  /// OLMo 1: LayerNorms without a weight (and without a bias): no norm
  /// tensors in the file.
  bool normWeight = true;
  /// OLMo 1's clip_qkv: the query, key and value projections clamped to
  /// [-clipQKV, clipQKV] before RoPE (llm.clamp); 0: none.
  double clipQKV = 0.0;
  /// StarCoder2's MLP is not gated: up projection, `mlpActivation` ("gelu_tanh":
  /// llm.gelu; GPT-NeoX's "gelu": its exact erf form), down projection, each
  /// projection with a bias when `mlpBias`.
  bool gatedMlp = true;
  bool mlpBias = false;
  /// Phi-2: a bias on the logits (lm_head.bias, GGUF output.bias).
  bool outputBias = false;
  /// Gemma: every RMSNorm scales by (weight + normWeightOffset) (Hugging Face
  /// stores weight - 1; llama.cpp's converter adds the 1 back: 0 there).
  double normWeightOffset = 0.0;
  /// The MLP gate's activation: "silu" (SwiGLU) or "gelu_tanh" (Gemma's GeGLU).
  std::string mlpActivation = "silu";
  /// Gemma 3: the sliding-window layers' RoPE base (their RoPE unscaled:
  /// `ropeFreqFactors` and YaRN's attention factor apply to the others); 0: one
  /// RoPE for every layer.
  double localRopeTheta = 0.0;
  /// Gemma 2's soft-capping (0: none): each attention score and each final
  /// logit x becomes cap * tanh(x / cap).
  double attnLogitSoftcap = 0.0, finalLogitSoftcap = 0.0;
  /// Layers whose queries and keys get no RoPE (SmolLM3's NoPE layers): those
  /// marked in `noRopeLayers` (config.json's `no_rope_layers`), or without a
  /// list every `noRopeInterval`-th (layer l when l + 1 is a multiple; 4 in
  /// llama.cpp, which has no key for it). Neither: RoPE in every layer.
  std::vector<bool> noRopeLayers;
  int64_t noRopeInterval = 0;
  bool usesRope(int64_t layer) const {
    if (!noRopeLayers.empty())
      return layer >= static_cast<int64_t>(noRopeLayers.size()) ||
             !noRopeLayers[static_cast<size_t>(layer)];
    return noRopeInterval <= 0 || (layer + 1) % noRopeInterval != 0;
  }
  /// Granite's multipliers (1 = none): the embeddings are multiplied by
  /// `embeddingScale`, each attention and MLP output by `residualScale`
  /// before its residual add, the logits divided by `logitScale`; a positive
  /// `attentionScale` replaces 1/sqrt(head_dim) as the softmax's scale.
  double embeddingScale = 1.0, residualScale = 1.0, logitScale = 1.0, attentionScale = 0.0;
  /// Phi-3: the query, key and value projections stored as one matrix (the
  /// query's rows, then the key's, then the value's), and the MLP's gate and
  /// up projections as one (the gate's rows first); each projection is a row
  /// range of it (`llm.weight {rows}`, tensorRows).
  bool fusedQKV = false, fusedGateUp = false;
  /// GPT-NeoX and Falcon (Hugging Face): the fused query/key/value matrix
  /// goes key/value group by group, each group's query heads' rows (heads /
  /// KV heads of them), then its key head's, then its value head's (GPT-NeoX:
  /// a group per head; with fusedQKV; llama.cpp's converters reorder them as
  /// Phi-3's).
  bool fusedQKVGrouped = false;
  /// The output head's name where a file does not use the usual one
  /// (GPT-NeoX: `embed_out.weight` on the Hub, `lm_head.weight` as
  /// transformers 5 renames it); empty: the usual.
  std::string outputName;
  /// Tensor naming: GGUF ("blk.0.attn_q.weight") or Hugging Face
  /// ("model.layers.0.self_attn.q_proj.weight").
  bool hfNames = false;
  /// Mixture-of-experts MLPs (Mixtral, Qwen3-MoE, OLMoE; llm.moe): in the
  /// layers moeLayer() names, `numExperts` SwiGLU experts of `expertFfn`
  /// rows, `expertsPerToken` of them chosen per token by a softmax router,
  /// their weights renormalized over the chosen when `normTopK`; 0 experts:
  /// dense MLPs. Layers keep a dense MLP of `ffn` rows where `denseLayers`
  /// lists them (Qwen3-MoE's mlp_only_layers; GGUF blocks without a router)
  /// and but every `sparseStep`-th (Qwen3-MoE's decoder_sparse_step).
  int64_t numExperts = 0, expertsPerToken = 0, expertFfn = 0, sparseStep = 1;
  bool normTopK = true;
  std::vector<int64_t> denseLayers;
  /// ERNIE 4.5's MoE: layers [moeFirst, moeLast] only; the experts chosen by
  /// probability + a per-expert bias (`expertSelectionBias`), their weights
  /// renormalized by their sum or `expertNormMin` if larger; shared experts,
  /// a dense SwiGLU MLP of `sharedExpertFfn` rows added to theirs (0: none).
  int64_t moeFirst = 0, moeLast = INT64_MAX, sharedExpertFfn = 0;
  bool expertSelectionBias = false;
  /// Qwen2-MoE's shared expert: its output weighed, row by row, by the
  /// sigmoid of a one-row projection of the MLP's input (llm.sigmoid_gate).
  bool sharedExpertGate = false;
  double expertNormMin = 0.0;
  /// GLM-4.5's router (llm.moe scoring "sigmoid", routed_scale): each
  /// expert scored by the sigmoid of its logit, the chosen experts' weights
  /// times `expertScale` (routed_scaling_factor).
  bool expertSigmoid = false;
  double expertScale = 1.0;
  bool moeLayer(int64_t layer) const {
    return numExperts > 0 && (layer + 1) % sparseStep == 0 && layer >= moeFirst &&
           layer <= moeLast &&
           std::find(denseLayers.begin(), denseLayers.end(), layer) == denseLayers.end();
  }
  /// gpt-oss: a bias on the attention's output projection (`attnOutBias`),
  /// a learned sink logit per query head in each softmax (`attnSinks`,
  /// llm.attention's sinks), biases on the router and on each expert's
  /// projections (`expertBiases`) and the experts' activation
  /// (`expertActivation`: llm.moe's "silu" or gpt-oss's clamped
  /// "swiglu_oai" with `swigluLimit`).
  bool attnOutBias = false, attnSinks = false, expertBiases = false;
  /// Every MoE layer's expert matrices are MXFP4 blocks in the file (GGUF).
  bool expertsMXFP4 = false;
  std::string expertActivation = "silu";
  double swigluLimit = 7.0;
  /// Hugging Face expert names: Mixtral's (block_sparse_moe.gate,
  /// block_sparse_moe.experts.E.w1/w3/w2) or Qwen3-MoE's and OLMoE's
  /// (mlp.gate, mlp.experts.E.gate_proj/up_proj/down_proj).
  bool mixtralNames = false;
  /// Hugging Face gpt-oss: each layer's experts in one tensor per kind, the
  /// gate's and up's rows interleaved in `gate_up_proj` (even rows the
  /// gate's), as OCP MXFP4 (`_blocks` and `_scales`: the published
  /// checkpoints) or transposed `[experts, in, out]` floats (transformers'
  /// dequantized save); llm.weight's row_step, scales and transposed.
  /// Granite MoE: every expert's gate and up rows in one `[experts, 2 ffn,
  /// hidden]` tensor (input_linear: each expert's gate rows, then its up
  /// rows; llm.weight's row_step and row_block), the down projections in one
  /// `[experts, hidden, ffn]` (output_linear), the router `router.layer`; its
  /// shared MLP's gate and up as one matrix too (shared_mlp.input_linear).
  enum class HFExperts { PerExpert, GptOssMXFP4, GptOssTransposed, GraniteStacked };
  HFExperts hfExperts = HFExperts::PerExpert;
};

/// The tensors of a mixture-of-experts MLP.
enum class ExpertRole {
  Router, Gate, Up, Down, SelectionBias, SharedGate, SharedUp, SharedDown,
  RouterBias, GateBias, UpBias, DownBias, // gpt-oss's
  SharedExpertGate,                       // Qwen2-MoE's
};
/// The file's name of expert `expert`'s matrix of `role` in `layer` (the
/// router, the selection bias and the shared experts have one per layer:
/// `expert` is ignored).
std::string expertTensorName(const ModelConfig &config, ExpertRole role, int64_t layer,
                             int64_t expert = 0);
/// Hugging Face gpt-oss's MXFP4 scales of the experts' matrix `role` (Gate,
/// Up: gate_up_proj's; Down) in `layer`.
std::string expertScalesName(const ModelConfig &config, ExpertRole role, int64_t layer);

/// The sliding layers of a window pattern where every `n`-th layer is full
/// (transformers' sliding_window_pattern, llama.cpp's swa pattern): layer l
/// slides unless (l + 1) % n == 0; n = 0: every layer slides.
inline std::vector<bool> everyNthLayerFull(int64_t n, int64_t layers) {
  std::vector<bool> sliding;
  for (int64_t l = 0; l < layers; ++l)
    sliding.push_back(n == 0 || (l + 1) % n != 0);
  return sliding;
}

/// The roles of a llama-family decoder's tensors.
enum class TensorRole {
  Embedding, OutputNorm, Output, AttnNorm, AttnQ, AttnK, AttnV, AttnOut,
  FfnNorm, FfnGate, FfnUp, FfnDown, AttnQBias, AttnKBias, AttnVBias, AttnQNorm, AttnKNorm,
  AttnPostNorm, FfnPostNorm, AttnOutBias, AttnSinks, FfnUpBias, FfnDownBias, OutputBias,
};
/// The file's name of the tensor of `role` (per-layer roles use `layer`).
std::string tensorName(const ModelConfig &config, TensorRole role, int64_t layer = 0);
/// The name of a norm's bias: its weight's with `.bias` for `.weight`
/// (GGUF `attn_norm.bias`, Hugging Face `input_layernorm.bias`).
std::string normBiasName(const std::string &weight);
/// Rows of a file's tensor: [begin, end), or with a `step` blocks of `block`
/// rows every `step` rows from begin (llm.weight's rows, row_step, row_block).
struct RowRange {
  int64_t begin = 0, end = 0, step = 0, block = 0;
};
/// The rows of the file's tensor that hold `role` when the file stores it
/// fused with others (ModelConfig::fusedQKV, fusedGateUp, fusedQKVGrouped);
/// none: the whole tensor.
std::optional<RowRange> tensorRows(const ModelConfig &config, TensorRole role);
/// Every tensor the decoder reads, with its [out, in] (or [n]) shape.
std::vector<std::pair<std::string, std::vector<int64_t>>>
expectedTensors(const ModelConfig &config);
/// Checks that no size (hidden, feed-forward, heads, head width) is beyond
/// any model's: an error naming it, `prefix` first (the file's key prefix).
bool checkSizes(const ModelConfig &config, const std::string &prefix, std::string &error);
/// Checks that the configuration names no more blocks than a file of
/// `tensorCount` tensors has tensors (each block needs 9): a layer count of
/// billions is an error, not a list of billions of tensor names. `key`
/// names the layer count in the file (block_count, num_hidden_layers).
bool checkLayerCount(const ModelConfig &config, size_t tensorCount, const std::string &key,
                     std::string &error);

/// The frequency divisors of Llama 3.1's "llama3" RoPE scaling (Hugging
/// Face `rope_type: llama3`; llama.cpp's converter stores the same values as
/// `rope_freqs`): wavelengths shorter than originalContext / highFreqFactor
/// keep their frequency, longer than originalContext / lowFreqFactor are
/// divided by `factor`, and the band between is interpolated smoothly.
std::vector<double> llama3RopeFactors(double theta, int64_t headDim, double factor,
                                      double lowFreqFactor, double highFreqFactor,
                                      double originalContext);

/// YaRN RoPE scaling (Qwen2.5/Qwen3 beyond 32k tokens, as transformers'
/// `rope_type: yarn` computes it) on `config`: frequency j is divided by
/// 1 / (r_j / factor + 1 - r_j), where the ramp r_j rises from 0 (frequencies
/// that turn more than betaFast times over originalContext: kept) to 1 (fewer
/// than betaSlow times: interpolated by `factor`), bounds rounded outwards
/// when `truncate`; the rotated queries and keys are multiplied by
/// `attentionFactor`; the context may reach factor x originalContext. False
/// with `error` when that passes 2^31 positions.
bool applyYarnRopeScaling(ModelConfig &config, double factor, double originalContext,
                          double betaFast, double betaSlow, bool truncate,
                          double attentionFactor, std::string &error);
/// YaRN's attention factor: 0.1 * mscale * ln(factor) + 1 (1 for factor <= 1).
double yarnAttentionFactor(double factor, double mscale = 1.0);

/// Reads and checks the hyper-parameters of a GGUF model (llama family).
bool readGGUFConfig(const rt::GGUFFile &file, ModelConfig &config,
                    std::string &error);

/// Emits the dense llm IR of a decoder described by `config`.
mlir::OwningOpRef<mlir::ModuleOp> buildDecoder(mlir::MLIRContext *context,
                                               const ModelConfig &config,
                                               const ImportOptions &options);

/// Checks one tensor against the shape the architecture needs ([out, in],
/// outermost first) and that lazyc can dequantize its type.
bool checkTensor(const std::string &name, const std::vector<int64_t> &expected,
                 const std::vector<uint64_t> &dims, uint32_t type, std::string &error);

/// Checks the options against the model: the context length against its
/// trained context, Q8_0 weights against its row widths.
bool checkImportOptions(const ModelConfig &config, const ImportOptions &options,
                        std::string &error);

/// buildDecoder, then verification (a failure is an internal error).
mlir::OwningOpRef<mlir::ModuleOp> buildVerifiedDecoder(mlir::MLIRContext *context,
                                                       const ModelConfig &config,
                                                       const ImportOptions &options,
                                                       std::string &error);

/// Reads and checks config.json of a Hugging Face Llama-family checkpoint.
bool readHFConfig(const rt::HFCheckpoint &checkpoint, ModelConfig &config,
                  std::string &error);

/// readHFConfig + tensor-shape checks + buildDecoder.
mlir::OwningOpRef<mlir::ModuleOp> importHF(mlir::MLIRContext *context,
                                           const rt::HFCheckpoint &checkpoint,
                                           const ImportOptions &options,
                                           std::string &error);

/// readGGUFConfig + tensor-shape checks + buildDecoder.
mlir::OwningOpRef<mlir::ModuleOp> importGGUF(mlir::MLIRContext *context,
                                             const rt::GGUFFile &file,
                                             const ImportOptions &options,
                                             std::string &error);

/// A decoder of a named shape with no model file (`synthetic:NAME`); the
/// runtime fills its weights with deterministic random values. Module
/// attribute `llm.synthetic` marks it.
mlir::OwningOpRef<mlir::ModuleOp> importSynthetic(mlir::MLIRContext *context,
                                                  llvm::StringRef name,
                                                  const ImportOptions &options,
                                                  std::string &error);
/// The names importSynthetic knows, comma-separated.
std::string syntheticPresets();

} // namespace lazyc

#endif // LAZYC_COMPILER_IMPORT_IMPORT_H
