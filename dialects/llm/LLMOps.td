//===- LLMOps.td - llm dialect operations ------------------*- tablegen -*-===//
//
// Operations of a Llama-family decoder. Activations are 2-D tensors
// `tensor<?xDxT>` whose leading dimension is the number of token rows of the
// step; per-row original position ids travel as `tensor<?xi32>`.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_DIALECTS_LLM_LLMOPS_TD
#define LAZYC_DIALECTS_LLM_LLMOPS_TD

include "dialects/llm/LLMDialect.td"
include "dialects/llm/LLMTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def LLM_Tensor : RankedTensorOf<[AnyFloat]>;
// A weight: floats, or GGML Q8_0 (i8) or MXFP4 (ui8) blocks as raw bytes (see
// `llm.weight`).
def LLM_WeightTensor : RankedTensorOf<[AnyFloat, I8, UI8]>;
def LLM_IdTensor : 1DTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

def LLM_WeightOp : LLM_Op<"weight", [Pure]> {
  let summary = "Reference to a named weight tensor of the model file";
  let description = [{
    Produces the weight tensor called `name` in the model file. The data is
    never inlined in the IR: the runtime binds the name to memory-mapped,
    dequantized weights. The result must be statically shaped.

    A matrix of `i8` elements holds GGML's Q8_0 blocks as raw bytes: each row
    of K values is K / 32 blocks of 34 bytes (an f16 scale `d`, then 32 int8
    `q`; value = d * q), so a `[N, K]` weight has type `tensor<N x (K/32*34)
    x i8>` and the ops that read it (`llm.linear`, `llm.embedding`,
    `llm.logits`) take its K from the byte width. Rows of whole blocks keep
    slicing and stacking by rows exact (`llm.fused_weight`).

    A matrix of `ui8` elements holds MXFP4 blocks (OCP microscaling FP4,
    gpt-oss's experts) as GGUF stores them: each row of K values is K / 32
    blocks of 17 bytes (an E8M0 exponent, then 32 E2M1 values in 16 bytes),
    a `[N, K]` weight `tensor<N x (K/32*17) x ui8>`; `llm.moe` reads them.

    With `rows = [begin, end]` the result is rows begin..end-1 of the file's
    matrix (which may have more rows): the parts of a tensor the file stores
    fused, as Phi-3's query/key/value and gate/up projections. With
    `row_step = s` too, every s-th of them (rows begin, begin + s, ... below
    end): the parts a file stores interleaved row by row (gpt-oss's gate/up
    projections and their biases; a vector's elements count as rows); with
    `row_block = k` as well, blocks of k rows every s rows (rows begin ..
    begin + k - 1, begin + s .. begin + s + k - 1, ...): the parts a file
    stores interleaved by blocks (Granite MoE's experts, each expert's gate
    rows then its up rows in one tensor).

    How the file lays the matrix out, where it differs from `[rows, columns]`
    of the result's element kind (the runtime converts while loading):
    - `transposed`: the file holds `[columns, rows]`, or a stack of such
      matrices `[n, columns, rows]` standing for the `[n * rows, columns]`
      matrix of them all (Hugging Face's gpt-oss experts, `[experts, in,
      out]`); `rows`/`row_step` pick from that matrix's rows.
    - `scales = "..."`: the file holds MXFP4 as OCP's two tensors: `name`,
      bytes `[..., rows, columns / 32, 16]` (two E2M1 codes a byte, the
      first in the low nibble), and the named E8M0 exponents `[..., rows,
      columns / 32]` (gpt-oss's Hugging Face checkpoints).

    ```mlir
    %wq = llm.weight "blk.0.attn_q.weight" : tensor<576x576xf32>
    %wk = llm.weight "blk.0.attn_k.weight" : tensor<192x612xi8>  // Q8_0, K = 576
    %we = llm.weight "blk.0.ffn_up_exps.weight" : tensor<92160x1530xui8>  // MXFP4, K = 2880
    %wv = llm.weight "blk.0.attn_qkv.weight" {rows = array<i64: 768, 960>} : tensor<192x576xf32>
    %wg = llm.weight "model.layers.0.mlp.experts.gate_up_proj_blocks"
        {row_step = 2 : i64, rows = array<i64: 0, 184320>,
         scales = "model.layers.0.mlp.experts.gate_up_proj_scales"} : tensor<92160x1530xui8>
    ```
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<DenseI64ArrayAttr>:$rows,
                       OptionalAttr<I64Attr>:$row_step, OptionalAttr<I64Attr>:$row_block,
                       UnitAttr:$transposed, OptionalAttr<StrAttr>:$scales);
  let results = (outs LLM_WeightTensor:$result);
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::llvm::StringRef":$name), [{
      build($_builder, $_state, result, $_builder.getStringAttr(name), nullptr, nullptr,
            nullptr, nullptr, nullptr);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Whether the file lays the weight out otherwise than as the rows of
    /// one matrix in a row (`row_step`, `transposed`, `scales`): it is no
    /// view of the file that other row ranges of it could extend.
    bool hasFileLayout() { return getRowStep() || getTransposed() || getScales(); }
  }];
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_FusedWeightOp : LLM_Op<"fused_weight", [Pure]> {
  let summary = "Several named weight matrices stacked into one";
  let description = [{
    The row-wise concatenation of the weight matrices `names` of the model
    file (part `i` has `rows[i]` rows; all have the result's columns and
    element type), so that one GEMM computes several projections of the same
    input (`lazyc-fuse-projections`). Like `llm.weight`, it is never inlined:
    the weight arena holds the parts back to back and the result is a view of
    them, so the runtime loads each part by its own name.

    ```mlir
    %wqk = llm.fused_weight ["blk.0.attn_q.weight", "blk.0.attn_k.weight"] rows [576, 192]
        : tensor<768x576xf32>
    ```
  }];
  let arguments = (ins StrArrayAttr:$names, DenseI64ArrayAttr:$rows);
  let results = (outs LLM_WeightTensor:$result);
  let assemblyFormat = "$names `rows` $rows attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_EmbeddingOp : LLM_Op<"embedding", [Pure]> {
  let summary = "Embedding lookup: one table row per token id";
  let description = [{
    `result[i, :] = table[tokens[i], :]`, converted to the result's float type
    (a bf16 table may feed f32 activations). Token ids outside `[0, vocab)`
    are a runtime error reported by the step function.

    ```mlir
    %x = llm.embedding %table[%tokens]
        : tensor<49152x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins LLM_WeightTensor:$table, LLM_IdTensor:$tokens);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization, projections, activations
//===----------------------------------------------------------------------===//

def LLM_RMSNormOp : LLM_Op<"rms_norm", [Pure]> {
  let summary = "Root-mean-square layer normalization of every row";
  let description = [{
    `y[i, j] = x[i, j] / sqrt(mean_j(x[i, :]^2) + epsilon) * (weight[j] + weight_offset)`
    (`weight_offset` 0 by default; Gemma stores its norm weights minus 1 and
    scales by `1 + weight`).

    ```mlir
    %y = llm.rms_norm %x, %w {epsilon = 1.0e-05 : f64}
        : tensor<?x576xf32>, tensor<576xf32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$weight, F64Attr:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_offset);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_LayerNormOp : LLM_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Layer normalization of every row (mean-centred), scaled, biased";
  let description = [{
    `y[i, j] = (x[i, j] - m_i) / sqrt(mean_j((x[i, :] - m_i)^2) + epsilon) * weight[j]`
    `+ bias[j]` with `m_i = mean_j(x[i, :])`: the variance of the centred
    row, as PyTorch's LayerNorm computes it. Without `bias` none is added
    (Cohere's Command R models, whose norms have none; StarCoder2's have one);
    without `weight` (and then without `bias`) the normalized row is the
    result (OLMo 1's non-parametric LayerNorms).

    ```mlir
    %y = llm.layer_norm %x, %w {epsilon = 1.0e-05 : f64}
        : tensor<?x8192xf32>, tensor<8192xf32> -> tensor<?x8192xf32>
    %z = llm.layer_norm %x, %w bias %b {epsilon = 1.0e-05 : f64}
        : tensor<?x3072xf32>, tensor<3072xf32>, tensor<3072xf32> -> tensor<?x3072xf32>
    %n = llm.layer_norm %x {epsilon = 1.0e-05 : f64} : tensor<?x2048xf32> -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, Optional<LLM_Tensor>:$weight,
                       Optional<LLM_Tensor>:$bias, F64Attr:$epsilon);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input (`,` $weight^)? (`bias` $bias^)? attr-dict `:` type($input) (`,` type($weight)^)?
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_HeadRMSNormOp : LLM_Op<"head_rms_norm", [Pure]> {
  let summary = "RMSNorm of every head of every row (Qwen3's query/key norm)";
  let description = [{
    Each row holds heads of `head_dim` columns; each head is normalized on
    its own and scaled by the same `head_dim`-wide weight:
    `y[i, h*d + j] = x[i, h*d + j] / sqrt(mean_j(x[i, h*d : h*d+d]^2) + epsilon) * weight[j]`
    (plus `weight_offset` on the weight, as `llm.rms_norm`).

    ```mlir
    %qn = llm.head_rms_norm %q, %w {head_dim = 128 : i64, epsilon = 1.0e-06 : f64}
        : tensor<?x2048xf32>, tensor<128xf32> -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$weight, I64Attr:$head_dim,
                       F64Attr:$epsilon, DefaultValuedAttr<F64Attr, "0.0">:$weight_offset);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_LinearOp : LLM_Op<"linear", [Pure]> {
  let summary = "Row-wise projection x * W^T (no bias), optionally added to a tensor";
  let description = [{
    `result[i, n] = sum_k input[i, k] * weight[n, k]`: the weight is stored
    `[out_features, in_features]`, as in GGUF and Hugging Face checkpoints.
    The weight may have a narrower float type than the activations (e.g. bf16
    weights, f32 activations) or hold Q8_0 blocks (`i8`, see `llm.weight`). The result has the input's element type,
    except that a GEMM on bf16 data (bf16 input or bf16 weights) may give an
    f32 result (f32 accumulation) or a bf16 one (the CUDA target's bf16
    activations).

    With `acc %r`, the product is added to `%r` (`result = r + x * W^T`, the
    GEMM's epilogue: a residual connection without a separate pass over the
    rows); `%r` has the result's type, f32 or bf16 (a bf16 residual stream:
    the sum is formed in f32 and rounded once, in the epilogue).

    ```mlir
    %q = llm.linear %x, %wq : tensor<?x576xf32>, tensor<576x576xf32> -> tensor<?x576xf32>
    %h = llm.linear %a, %wo acc %x : tensor<?x576xf32>, tensor<576x576xf32>, tensor<?x576xf32>
        -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_WeightTensor:$weight,
                       Optional<LLM_Tensor>:$accumulate);
  let results = (outs LLM_Tensor:$result);
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input, "::mlir::Value":$weight), [{
      build($_builder, $_state, result, input, weight, ::mlir::Value());
    }]>
  ];
  let assemblyFormat = [{
    $input `,` $weight (`acc` $accumulate^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($accumulate)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_RoPEOp : LLM_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding by original position ids";
  let description = [{
    Rotates every `head_dim`-wide head of each row by angles
    `positions[i] * theta^(-2j / head_dim)`. By default element `j` pairs with
    `j + head_dim / 2` (Hugging Face "rotate_half" / NeoX layout); with
    `interleaved` it pairs with its neighbour `2j + 1` (GGML's layout, which
    llama.cpp's converter bakes into GGUF Llama Q/K weights). The row's
    *original* position is used, so gathered (pruned) rows keep their
    positions.

    `freq_factors` (optional, `head_dim / 2` positive values) divides
    frequency `j` by `freq_factors[j]`: context-extension scaling as
    llama.cpp applies its `rope_freqs` tensor (Llama 3.1/3.2's "llama3"
    scaling stretches the low frequencies; "linear" scaling divides all of
    them by one factor).

    `rotary_dim` (optional, even, at most `head_dim`; default `head_dim`)
    rotates only the first `rotary_dim` elements of each head, with angles
    `positions[i] * theta^(-2j / rotary_dim)` and the pairs above formed
    within them (rotate-half pairs `j` with `j + rotary_dim / 2`), and passes
    the others through: partial rotary embeddings (Phi-4-mini's
    `partial_rotary_factor`, GGUF `rope.dimension_count`). `freq_factors`
    then has `rotary_dim / 2` values.

    `scale` (optional, positive; default 1) multiplies the cosines and sines:
    the rotated elements are scaled by it, the passed-through ones are not
    (YaRN's and LongRoPE's attention factor under a partial rotation, as
    transformers and llama.cpp apply it; with a whole-head rotation the
    importer folds its square into `llm.attention`'s scale instead).

    ```mlir
    %qr = llm.rope %q, %pos {head_dim = 64 : i64, theta = 1.0e+05 : f64}
        : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    %kr = llm.rope %k, %pos {head_dim = 4 : i64, theta = 5.0e+05 : f64,
                             freq_factors = array<f64: 1.0, 8.0>}
        : tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
    %pr = llm.rope %k, %pos {head_dim = 8 : i64, theta = 1.0e+04 : f64,
                             rotary_dim = 6 : i64}
        : tensor<?x16xf32>, tensor<?xi32> -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_IdTensor:$positions,
                       I64Attr:$head_dim, F64Attr:$theta,
                       UnitAttr:$interleaved,
                       OptionalAttr<DenseF64ArrayAttr>:$freq_factors,
                       OptionalAttr<I64Attr>:$rotary_dim,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_SiLUOp : LLM_Op<"silu", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise x * sigmoid(x)";
  let description = [{
    ```mlir
    %y = llm.silu %x : tensor<?x1536xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LLM_GeLUOp : LLM_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise GELU: its tanh approximation or the exact erf form";
  let description = [{
    The activation of a non-gated MLP (StarCoder2's `c_fc`, GELU, `c_proj`).
    `approximate = "tanh"` (the default; PyTorch's `gelu_pytorch_tanh`,
    `gelu_new`): `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`;
    `approximate = "none"` (PyTorch's `nn.GELU()`, transformers' `gelu`:
    GPT-NeoX, Pythia): `0.5 x (1 + erf(x / sqrt(2)))`.

    ```mlir
    %y = llm.gelu %x : tensor<?x12288xf32>
    %z = llm.gelu %x {approximate = "none"} : tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input,
                       DefaultValuedStrAttr<StrAttr, "tanh">:$approximate);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_ScaleOp : LLM_Op<"scale", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise multiplication by a constant";
  let description = [{
    `result = factor * input`: Granite's multipliers (the embeddings, each
    attention and MLP output before its residual add, the logits).

    ```mlir
    %y = llm.scale %x {factor = 2.200000e-01 : f64} : tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, F64Attr:$factor);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_SigmoidGateOp : LLM_Op<"sigmoid_gate", [Pure]> {
  let summary = "Rows scaled by the sigmoid of one gate value each";
  let description = [{
    `result[i, j] = input[i, j] * sigmoid(gate[i, 0])`: Qwen2-MoE's gated
    shared expert, whose output each row weighs by the sigmoid of a
    one-column projection of the MLP's input (`shared_expert_gate`). The gate
    has one column and the input's rows; it may be wider (f32) than the input.

    ```mlir
    %y = llm.sigmoid_gate %shared, %g
        : tensor<?x2048xf32>, tensor<?x1xf32> -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_Tensor:$gate);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $gate attr-dict `:` type($input) `,` type($gate) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_SoftcapOp : LLM_Op<"softcap", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise soft-capping cap * tanh(x / cap)";
  let description = [{
    `result = cap * tanh(input / cap)`: Gemma 2's final logits, smoothly
    bounded to (-cap, cap).

    ```mlir
    %y = llm.softcap %logits {cap = 3.000000e+01 : f64} : tensor<?x256000xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, F64Attr:$cap);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_ClampOp : LLM_Op<"clamp", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise clamping to [-limit, limit]";
  let description = [{
    `result = min(max(input, -limit), limit)` (NaN stays NaN, as PyTorch's
    `clamp`): OLMo 1's `clip_qkv` on the query, key and value projections.

    ```mlir
    %y = llm.clamp %q {limit = 8.000000e+00 : f64} : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, F64Attr:$limit);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_SwiGLUOp : LLM_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gated activation act(gate) * up (SwiGLU, GeGLU)";
  let description = [{
    The gate of a Llama MLP: `result = silu(gate) * up`, elementwise. With
    `activation = "gelu_tanh"` (Gemma's GeGLU) the gate's activation is
    GELU's tanh approximation, `0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))`.

    ```mlir
    %h = llm.swiglu %gate, %up : tensor<?x1536xf32>
    %g = llm.swiglu %gate, %up {activation = "gelu_tanh"} : tensor<?x6912xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$gate, LLM_Tensor:$up,
                       DefaultValuedAttr<StrAttr, "\"silu\"">:$activation);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_MoEOp : LLM_Op<"moe", [Pure, AttrSizedOperandSegments]> {
  let summary = "Mixture-of-experts SwiGLU MLP with top-k routing";
  let description = [{
    The sparse MLP of Mixtral, Qwen3-MoE, OLMoE and gpt-oss, row by row: the
    router (`[num_experts, hidden]`, plus `router_bias` when given: gpt-oss)
    gives each row's expert logits, softmax turns them into probabilities,
    the `top_k` most probable experts run their gated MLP on the row
    (`down_e(act(gate_e x) * up_e x)`) and the result is their sum weighted
    by those probabilities — renormalized to sum to 1 over the chosen experts
    with `norm_top_k` (Mixtral, Qwen3-MoE; gpt-oss's softmax over the top
    k logits is the same), as they are without (OLMoE). With `bias %b`
    (ERNIE 4.5's score correction, one value per expert) the experts are
    chosen by probability + bias, their weights still the probabilities;
    `norm_min` bounds the renormalizing sum from below. `scoring = "sigmoid"`
    (GLM-4.5's, DeepSeek-V3's) scores each expert by the sigmoid of its
    logit instead of the softmax; `routed_scale` multiplies the chosen
    experts' weights (after any renormalization).

    The experts' matrices are stacked row-wise: expert `e`'s gate and up
    projections are rows `[e * expert_ffn, (e + 1) * expert_ffn)` of `%gate`
    / `%up` (`[num_experts * expert_ffn, hidden]`) and its down projection
    rows `[e * hidden, (e + 1) * hidden)` of `%down` (`[num_experts * hidden,
    expert_ffn]`): `llm.fused_weight`s of the per-expert tensors, or one
    tensor of the file. With `expert_bias(%gb, %ub, %db)` (gpt-oss) each
    projection adds its expert's bias (f32, stacked the same way:
    `[num_experts * expert_ffn]`, `[num_experts * expert_ffn]`,
    `[num_experts * hidden]`). Weights may be any type `llm.linear` takes;
    activations are f32.

    `activation` is `"silu"` (SwiGLU: `silu(g) * u`) or `"swiglu_oai"`
    (gpt-oss's clamped form: `g' = min(g, L)`, `u' = clamp(u, -L, L)`,
    `g' * sigmoid(1.702 g') * (u' + 1)` with `L = swiglu_limit`).

    ```mlir
    %y = llm.moe %x, %router, %gate, %up, %down {num_experts = 8, top_k = 2, expert_ffn = 14336,
        norm_top_k} : tensor<?x4096xf32>, tensor<8x4096xbf16>, tensor<114688x4096xbf16>,
        tensor<114688x4096xbf16>, tensor<32768x14336xbf16> -> tensor<?x4096xf32>
    %z = llm.moe %x, %router, %gate, %up, %down router_bias(%rb : tensor<32xf32>)
        expert_bias(%gb, %ub, %db : tensor<92160xf32>, tensor<92160xf32>, tensor<92160xf32>)
        {num_experts = 32, top_k = 4, expert_ffn = 2880, norm_top_k,
         activation = "swiglu_oai"} : tensor<?x2880xf32>, tensor<32x2880xbf16>,
        tensor<92160x2880xbf16>, tensor<92160x2880xbf16>, tensor<92160x2880xbf16>
        -> tensor<?x2880xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, LLM_WeightTensor:$router, LLM_WeightTensor:$gate,
                       LLM_WeightTensor:$up, LLM_WeightTensor:$down,
                       Optional<LLM_Tensor>:$selection_bias,
                       Optional<LLM_Tensor>:$router_bias,
                       Optional<LLM_Tensor>:$gate_bias, Optional<LLM_Tensor>:$up_bias,
                       Optional<LLM_Tensor>:$down_bias, I64Attr:$num_experts,
                       I64Attr:$top_k, I64Attr:$expert_ffn, UnitAttr:$norm_top_k,
                       DefaultValuedAttr<F64Attr, "0.0">:$norm_min,
                       DefaultValuedAttr<StrAttr, "\"silu\"">:$activation,
                       DefaultValuedAttr<F64Attr, "7.0">:$swiglu_limit,
                       DefaultValuedAttr<StrAttr, "\"softmax\"">:$scoring,
                       DefaultValuedAttr<F64Attr, "1.0">:$routed_scale);
  let results = (outs LLM_Tensor:$result);
  // (The biases' types inside their groups: a second optional `, type`
  // group after the selection bias's could not be told apart from it.)
  let assemblyFormat = [{
    $input `,` $router `,` $gate `,` $up `,` $down (`bias` $selection_bias^)?
    (`router_bias` `(` $router_bias^ `:` type($router_bias) `)`)?
    (`expert_bias` `(` $gate_bias^ `,` $up_bias `,` $down_bias `:` type($gate_bias) `,`
     type($up_bias) `,` type($down_bias) `)`)? attr-dict `:`
    type($input) `,` type($router) `,` type($gate) `,` type($up) `,` type($down)
    (`,` type($selection_bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_AddOp : LLM_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Elementwise addition (residual connection)";
  let description = [{
    ```mlir
    %h = llm.add %x, %attn : tensor<?x576xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$lhs, LLM_Tensor:$rhs);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def LLM_AddBiasOp : LLM_Op<"add_bias", [Pure]> {
  let summary = "Adds a bias vector to every row (Qwen2's Q/K/V projections)";
  let description = [{
    `result[i, j] = input[i, j] + bias[j]`; the bias has one element per
    column.

    ```mlir
    %qb = llm.add_bias %q, %b : tensor<?x896xf32>, tensor<896xf32> -> tensor<?x896xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$input, 1DTensorOf<[AnyFloat]>:$bias);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $bias attr-dict `:` type($input) `,` type($bias) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def LLM_AttentionOp : LLM_Op<"attention", [AttrSizedOperandSegments]> {
  let summary = "Causal grouped-query attention through a per-layer KV cache";
  let description = [{
    Writes the rows of `key` and `value` into layer `layer` of `cache` at the
    slots given by `positions`, then computes for every query row `i`
    `softmax(scale * q_h . K_g^T) V_g` over the cached slots whose position is
    `<= positions[i]` (causal by original position). Query head `h` uses KV
    group `g = h / (num_heads / num_kv_heads)`. The result has one row per
    query row and `num_heads * head_dim` columns.

    With `keys`, the ascending positions of the layer's token set `S_l`
    (LazyLLM), a query attends only to the cached slots in `keys` with
    position `<= positions[i]`; other slots stay in the cache unread.

    With `sliding_window = W > 0` (sliding-window attention: Mistral 7B
    v0.1, Qwen2's upper layers), a query also ignores the slots whose
    position is `<= positions[i] - W`: it sees the last `W` positions up to
    its own (transformers' `kv_idx > q_idx - sliding_window`). 0: none.

    With `logit_softcap = c > 0` (Gemma 2) every scaled score `s` becomes
    `c * tanh(s / c)` before the softmax. 0: none.

    With `sinks(%s)` (gpt-oss: one learned logit per query head, f32
    `[num_heads]`) each head's softmax has one more term in its denominator,
    `exp(s_h)`, for a key that is not there: the probabilities of a row sum
    to less than 1 (`exp(x_j) / (sum_i exp(x_i) + exp(s_h))`).

    ```mlir
    %o = llm.attention %q, %k, %v, %pos, %cache
        {layer = 0 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64,
         head_dim = 64 : i64, scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>, tensor<?xi32>,
           !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>)
        -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$query, LLM_Tensor:$key, LLM_Tensor:$value,
                       LLM_IdTensor:$positions,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead, MemWrite]>:$cache,
                       Optional<LLM_IdTensor>:$keys, Optional<LLM_Tensor>:$sinks,
                       I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale,
                       DefaultValuedAttr<I64Attr, "0">:$sliding_window,
                       DefaultValuedAttr<F64Attr, "0.0">:$logit_softcap);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $positions `,` $cache (`keys` `(` $keys^ `)`)?
    (`sinks` `(` $sinks^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

def LLM_LogitsOp : LLM_Op<"logits", [Pure]> {
  let summary = "Vocabulary logits of selected rows";
  let description = [{
    `result[r, v] = sum_k hidden[rows[r], k] * lm_head[v, k]`. Generation asks
    for the last row only; tests ask for every row. Apply the final
    `llm.rms_norm` before it.

    ```mlir
    %l = llm.logits %h[%rows], %emb
        : tensor<?x576xf32>, tensor<?xi32>, tensor<49152x576xf32> -> tensor<?x49152xf32>
    ```
  }];
  let arguments = (ins LLM_Tensor:$hidden, LLM_IdTensor:$rows, LLM_WeightTensor:$lm_head);
  let results = (outs LLM_Tensor:$result);
  let assemblyFormat = [{
    $hidden `[` $rows `]` `,` $lm_head attr-dict `:` type($hidden) `,` type($rows) `,`
    type($lm_head) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // LAZYC_DIALECTS_LLM_LLMOPS_TD
