//===- LazyOps.td - lazy dialect operations ----------------*- tablegen -*-===//

#ifndef LAZYC_DIALECTS_LAZY_LAZYOPS_TD
#define LAZYC_DIALECTS_LAZY_LAZYOPS_TD

include "dialects/lazy/LazyDialect.td"
include "dialects/lazy/LazyTypes.td"
include "dialects/llm/LLMTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Lazy_Tensor : RankedTensorOf<[AnyFloat]>;
def Lazy_IdTensor : 1DTensorOf<[I32, I64]>;
def Lazy_ScoreTensor : 1DTensorOf<[AnyFloat]>;
def Lazy_RowsTensor : RankedTensorOf<[AnyFloat, I32, I64]>;

def Lazy_ContextOp : Lazy_Op<"context", [Pure]> {
  let summary = "The step's whole context S_0: every position up to the last row";
  let description = [{
    Returns `[0, 1, ..., positions[n - 1]]`: the positions of the prompt and
    of every token generated so far, the key set `S_0` of the first layer of a
    step (the rows of a step are in ascending position order, the last one is
    the step's token `P`).

    ```mlir
    %s0 = lazy.context %pos : tensor<?xi32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_IdTensor:$positions);
  let results = (outs Lazy_IdTensor:$keys);
  let assemblyFormat = "$positions attr-dict `:` type($positions) `->` type($keys)";
  let hasVerifier = 1;
}

def Lazy_AuxCacheOp : Lazy_Op<"aux_cache", [Pure]> {
  let summary = "The Aux Cache that the runtime keeps next to a KV cache";
  let description = [{
    The runtime owns one Aux Cache per KV cache (hidden states of tokens
    dropped at a pruning boundary, per layer and position); this op names it.

    ```mlir
    %aux = lazy.aux_cache %cache : !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>
        -> !lazy.aux_cache<layers = 30, hidden = 576, f32>
    ```
  }];
  let arguments = (ins LLM_KVCacheType:$cache);
  let results = (outs Lazy_AuxCacheType:$aux);
  let assemblyFormat = "$cache attr-dict `:` qualified(type($cache)) `->` qualified(type($aux))";
  let hasVerifier = 1;
}

def Lazy_RandomScoresOp : Lazy_Op<"random_scores", [Pure]> {
  let summary = "Uniform pseudo-random scores (the random-drop baseline)";
  let description = [{
    `scores[i]` is a hash of `(keys[i], layer, seed)` mapped to [0, 1):
    reproducible, independent of the model's activations. The last key (the
    step's token) is still kept by `lazy.select`.

    ```mlir
    %s = lazy.random_scores %keys {layer = 3 : i64, seed = 0 : i64}
        : tensor<?xi32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Lazy_IdTensor:$keys, I64Attr:$layer, I64Attr:$seed);
  let results = (outs Lazy_ScoreTensor:$scores);
  let assemblyFormat = "$keys attr-dict `:` type($keys) `->` type($scores)";
  let hasVerifier = 1;
}

def Lazy_MissingOp : Lazy_Op<"missing"> {
  let summary = "Positions of a token set that a layer's KV cache lacks";
  let description = [{
    Returns, in ascending order, the positions of `keys` that layer `layer`
    of `cache` holds no K/V for: the rows that layer computes in this step
    (tokens already cached only supply K/V).

    ```mlir
    %rows = lazy.missing %keys, %cache {layer = 4 : i64}
        : tensor<?xi32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>
        -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_IdTensor:$keys,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       I64Attr:$layer);
  let results = (outs Lazy_IdTensor:$positions);
  let assemblyFormat = [{
    $keys `,` $cache attr-dict `:` type($keys) `,` qualified(type($cache)) `->` type($positions)
  }];
  let hasVerifier = 1;
}

def Lazy_SelectOnceOp : Lazy_Op<"select_once"> {
  let summary = "Static pruning: select at the first step, never revive";
  let description = [{
    The static-pruning baseline. At the first step that reaches this boundary
    (layer `layer + 1` of `cache` holds none of `keys`) it selects like
    `lazy.select`. In later steps it keeps exactly the keys that layer
    `layer + 1` already holds plus the step's computed rows `positions`: a
    token pruned once is never computed again. Returns ascending indices
    into `keys`.

    ```mlir
    %idx = lazy.select_once %s, %keys, %pos, %cache {keep = 5.000000e-01 : f64, layer = 3 : i64}
        : tensor<?xf32>, tensor<?xi32>, tensor<?xi32>,
          !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_ScoreTensor:$scores, Lazy_IdTensor:$keys,
                       Lazy_IdTensor:$positions,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       F64Attr:$keep, I64Attr:$layer,
                       DefaultValuedAttr<I64Attr, "0">:$min_keep);
  let results = (outs Lazy_IdTensor:$indices);
  let assemblyFormat = [{
    $scores `,` $keys `,` $positions `,` $cache attr-dict `:` type($scores) `,` type($keys) `,`
    type($positions) `,` qualified(type($cache)) `->` type($indices)
  }];
  let hasVerifier = 1;
}

def Lazy_ReuseBiasOp : Lazy_Op<"reuse_bias"> {
  let summary = "Favour the tokens the next layer already holds (ours)";
  let description = [{
    Returns `scores` with the score of every key that layer `layer + 1` of
    `cache` already holds K/V for multiplied by `bias` (>= 1). Placed before
    the percentile selection after layer `layer`, it makes a decode step keep
    the tokens earlier steps computed there unless one it would have to
    revive from the Aux Cache scores `bias` times higher: fewer revivals,
    hence cheaper decode steps. Where the next layer holds none of the keys
    (the prefill) the scores are unchanged; `bias = 1` is LazyLLM itself.
    Only a step of one new token (a decode step) is biased: in a step of
    several (a prefill, a follow-up question) the runtime leaves the scores
    as they are, so a new question selects as freely as a prompt.
    Not in the LazyLLM paper (`lazy-compile --reuse-bias`).

    ```mlir
    %b = lazy.reuse_bias %s, %keys, %cache {bias = 6.400000e+01 : f64, layer = 3 : i64}
        : tensor<?xf32>, tensor<?xi32>,
          !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Lazy_ScoreTensor:$scores, Lazy_IdTensor:$keys,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       I64Attr:$layer, F64Attr:$bias);
  let results = (outs Lazy_ScoreTensor:$result);
  let assemblyFormat = [{
    $scores `,` $keys `,` $cache attr-dict `:` type($scores) `,` type($keys) `,`
    qualified(type($cache)) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lazy_ScoresOp : Lazy_Op<"scores", [AttrSizedOperandSegments]> {
  let summary = "Importance of each token: the last token's attention row";
  let description = [{
    For the key set `key_positions` (the slots of `S_l` in layer `layer` of
    `cache`), computes `s_i = (1/H) sum_h softmax_h(scale * q_P,h . K_i)`
    where `q_P` is the *last* row of `query` and query head `h` reads the
    keys of its KV group `h / (num_heads / num_kv_heads)` (GQA-aware). Only
    this one row is computed, so the main attention stays fused.

    With `window = W > 1` (an observation window, as in SnapKV; **not** in
    the LazyLLM paper) the scores are the mean of that row over every query
    row whose position (`query_positions`, required then) lies within the
    last `W` positions, `pos > P - W`; each row attends causally, only to
    keys at or before its own position. In a decode step the rows of the
    window that were computed in earlier steps are not there, so the window
    shrinks to the rows the step computes.

    With `sliding_window = S > 0` (the layer's sliding-window attention, see
    `llm.attention`) a row also ignores the keys at or before its position
    minus `S`; those score 0. It needs `query_positions` too. With
    `logit_softcap = c > 0` the scaled scores are soft-capped as the layer's
    attention caps them (`c * tanh(s / c)`). With `sinks(%s)` (gpt-oss: the
    layer's `llm.attention` sinks, one logit per query head) each head's
    probabilities are its attention's: the sink's term in the denominator,
    so they sum to less than 1 and a head that attends mostly to its sink
    weighs little in the mean.

    ```mlir
    %s = lazy.scores %q, %cache, %pos
        {layer = 3 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64,
         head_dim = 64 : i64, scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>,
           tensor<?xi32>) -> tensor<?xf32>
    %w = lazy.scores %q, %cache, %pos window %rows
        {layer = 3 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64,
         head_dim = 64 : i64, scale = 1.250000e-01 : f64, window = 32 : i64}
        : (tensor<?x576xf32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>,
           tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Lazy_Tensor:$query,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       Lazy_IdTensor:$key_positions,
                       Optional<Lazy_IdTensor>:$query_positions,
                       Optional<Lazy_Tensor>:$sinks,
                       I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale,
                       DefaultValuedAttr<I64Attr, "1">:$window,
                       DefaultValuedAttr<I64Attr, "0">:$sliding_window,
                       DefaultValuedAttr<F64Attr, "0.0">:$logit_softcap);
  let results = (outs Lazy_ScoreTensor:$scores);
  let assemblyFormat = [{
    $query `,` $cache `,` $key_positions (`window` $query_positions^)?
    (`sinks` `(` $sinks^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lazy_CacheKeysOp : Lazy_Op<"cache_keys"> {
  let summary = "One layer's keys in the KV cache, as a buffer";
  let description = [{
    A view of the keys that layer `layer` of `cache` holds: row `p` is the
    key of the token at position `p` (`kv_heads * head_dim` elements, head
    after head), for every slot of the runtime's allocation (its context
    length, known at run time). The element type is the runtime's storage
    type: f32 on the CPU (f16 with lazy-compile --kv-cache=f16), bf16 on the
    CUDA target (whatever the cache type's element type). Compiler-generated code reads keys through it, e.g. the
    importance scores of `lazyc-scores-to-linalg`; nothing writes through it.
    Rows are valid for the positions the layer has cached so far, so a reader
    must come after the attention that writes them (the op reads the cache).

    ```mlir
    %k = lazy.cache_keys %cache {layer = 3 : i64}
        : !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> memref<?x192xf32>
    ```
  }];
  let arguments = (ins Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       I64Attr:$layer);
  let results = (outs MemRefRankOf<[F32, F16, BF16], [2]>:$keys);
  let assemblyFormat = "$cache attr-dict `:` qualified(type($cache)) `->` type($keys)";
  let hasVerifier = 1;
}

def Lazy_SelectOp : Lazy_Op<"select", [Pure]> {
  let summary = "Percentile selection of a token set (last token kept)";
  let description = [{
    Returns the ascending row indices `i` with `scores[i]` at or above the
    `(1 - keep)` quantile of `scores`: `ceil(keep * n)` rows, but at least
    `min(min_keep, n)` (a floor for short token sets, default 0), ties broken
    toward later positions, NaN below every number. The last row (the step's
    token `P`) is always selected, displacing the lowest-scored row if needed.
    Lowered to the runtime's `lazyc_rt_select` or, by
    `--lazyc-select-to-linalg`, to compiler-generated loops (same rows).

    ```mlir
    %idx = lazy.select %s {keep = 7.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
    %idx2 = lazy.select %s {keep = 1.000000e-01 : f64, min_keep = 32 : i64}
        : tensor<?xf32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_ScoreTensor:$scores, F64Attr:$keep,
                       DefaultValuedAttr<I64Attr, "0">:$min_keep);
  let results = (outs Lazy_IdTensor:$indices);
  let assemblyFormat = "$scores attr-dict `:` type($scores) `->` type($indices)";
  let hasVerifier = 1;
}

def Lazy_GatherOp : Lazy_Op<"gather", [Pure]> {
  let summary = "Gather rows (or position ids) of a token set";
  let description = [{
    `result[r, ...] = source[indices[r], ...]`. On a 2-D tensor it gathers
    hidden-state rows; on a 1-D tensor of position ids it gathers the
    original positions of the kept rows (the position-id gather).

    ```mlir
    %h2 = lazy.gather %h[%idx] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    %p2 = lazy.gather %pos[%idx] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_RowsTensor:$source, Lazy_IdTensor:$indices);
  let results = (outs Lazy_RowsTensor:$result);
  let assemblyFormat = [{
    $source `[` $indices `]` attr-dict `:` type($source) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
  // gather(gather(x, a), b) = gather(x, gather(a, b)): row sets compose.
  let hasCanonicalizer = 1;
}

def Lazy_ScatterOp : Lazy_Op<"scatter", [Pure, AllTypesMatch<["dest", "result"]>]> {
  let summary = "Scatter rows of a token set back into a full tensor";
  let description = [{
    Returns `dest` with `result[indices[r], ...] = source[r, ...]`. Indices
    must be distinct (token sets are).

    ```mlir
    %full = lazy.scatter %h2 into %h[%idx]
        : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Lazy_RowsTensor:$source, Lazy_RowsTensor:$dest,
                       Lazy_IdTensor:$indices);
  let results = (outs Lazy_RowsTensor:$result);
  let assemblyFormat = [{
    $source `into` $dest `[` $indices `]` attr-dict `:` type($source) `,` type($indices)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lazy_AuxSaveOp : Lazy_Op<"aux_save"> {
  let summary = "Save hidden states of dropped tokens in the Aux Cache";
  let description = [{
    For every row `r` of `hidden` (computed at layer `layer` in this step,
    its output) whose position `positions[r]` is not in `kept` (the next
    layer's token set `S_{layer+1}`), stores the row at slot `positions[r]`
    of layer `layer` of the Aux Cache, so that a later step can revive the
    token from layer `layer + 1` on without recomputing earlier layers.

    ```mlir
    lazy.aux_save %h, %pos except %kept into %aux {layer = 8 : i64}
        : tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>,
          !lazy.aux_cache<layers = 30, hidden = 576, f32>
    ```
  }];
  let arguments = (ins Lazy_Tensor:$hidden, Lazy_IdTensor:$positions, Lazy_IdTensor:$kept,
                       Arg<Lazy_AuxCacheType, "the Aux Cache", [MemWrite]>:$aux,
                       I64Attr:$layer);
  let assemblyFormat = [{
    $hidden `,` $positions `except` $kept `into` $aux attr-dict `:` type($hidden) `,`
    type($positions) `,` type($kept) `,` qualified(type($aux))
  }];
  let hasVerifier = 1;
}

def Lazy_AuxLoadOp : Lazy_Op<"aux_load"> {
  let summary = "Inputs of the next layer's rows: fresh rows or revived ones";
  let description = [{
    `result[r, :]` is the input of layer `layer + 1` for the token at
    `wanted[r]`: row `i` of `fresh` if `fresh_positions[i] == wanted[r]`
    (computed at `layer` in this step), else the hidden state that an earlier
    step saved at slot `wanted[r]` of layer `layer` of the Aux Cache (a
    revived token). Both position lists are ascending.

    ```mlir
    %h2 = lazy.aux_load %aux[%wanted] fresh %h, %pos {layer = 8 : i64}
        : !lazy.aux_cache<layers = 30, hidden = 576, f32>, tensor<?xi32>,
          tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Arg<Lazy_AuxCacheType, "the Aux Cache", [MemRead]>:$aux,
                       Lazy_IdTensor:$wanted, Lazy_Tensor:$fresh,
                       Lazy_IdTensor:$fresh_positions, I64Attr:$layer);
  let results = (outs Lazy_Tensor:$result);
  let assemblyFormat = [{
    $aux `[` $wanted `]` `fresh` $fresh `,` $fresh_positions attr-dict `:`
    qualified(type($aux)) `,` type($wanted) `,` type($fresh) `,` type($fresh_positions)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lazy_PruneOp : Lazy_Op<"prune"> {
  let summary = "Prune the token set after a layer with a named policy";
  let description = [{
    High-level pruning point after layer `layer`. `hidden` / `positions` are
    the rows computed at `layer` in this step (their outputs, or the layer's
    mid state when `--lazy-defer-mlp` moved its MLP after the prune), `keys` the
    layer's token set `S_layer` (original positions, ascending). Returns the
    rows layer `layer + 1` computes (`S_{layer+1}` minus the tokens that layer
    has cached: fresh rows or tokens revived from the Aux Cache), their
    positions, and `S_{layer+1}` itself: a fraction `keep` of `S_layer` but
    at least `min(min_keep, |S_layer|)` tokens (default 0: no floor), the
    last token always kept. `policy` names how tokens are chosen: `lazyllm`
    (last-token attention of layer `layer`, read from the last query row and
    `cache`), `random` (uniform random drop), `static` (prune once at the
    first step, never revive), or a user policy expanded by the user's pass
    (see docs/writing-a-pruning-pass.md). `--lazy-sparsify` expands the
    built-in policies. `sliding_window` and `logit_softcap` are layer
    `layer`'s attention's (`llm.attention`'s; 0: none), which its scores
    respect, as they do its `sinks` (gpt-oss).

    ```mlir
    %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %cache
        {layer = 8 : i64, keep = 7.000000e-01 : f64, policy = "lazyllm",
         num_heads = 9 : i64, num_kv_heads = 3 : i64, head_dim = 64 : i64,
         scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x576xf32>,
           !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>)
        -> (tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>)
    ```
  }];
  let arguments = (ins Lazy_Tensor:$hidden, Lazy_IdTensor:$positions,
                       Lazy_IdTensor:$keys, Lazy_Tensor:$query,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       Optional<Lazy_Tensor>:$sinks,
                       I64Attr:$layer, F64Attr:$keep, StrAttr:$policy,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale,
                       DefaultValuedAttr<I64Attr, "0">:$min_keep,
                       DefaultValuedAttr<I64Attr, "0">:$sliding_window,
                       DefaultValuedAttr<F64Attr, "0.0">:$logit_softcap);
  let results = (outs Lazy_Tensor:$next_hidden, Lazy_IdTensor:$next_positions,
                      Lazy_IdTensor:$next_keys);
  let assemblyFormat = [{
    $hidden `,` $positions `,` $keys `using` $query `,` $cache (`sinks` `(` $sinks^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  // keep = 1 keeps every token: the op folds to its inputs.
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The policies the project itself implements.
    static ::llvm::ArrayRef<::llvm::StringRef> getBuiltinPolicies();
  }];
}

#endif // LAZYC_DIALECTS_LAZY_LAZYOPS_TD
