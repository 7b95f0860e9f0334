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

def Lazy_ScoresOp : Lazy_Op<"scores"> {
  let summary = "Importance of each token: the last token's attention row";
  let description = [{
    For the key set `key_positions` (the slots of `S_l` in layer `layer` of
    `cache`), computes `s_i = (1/H) sum_h softmax_h(scale * q_P,h . K_i)`
    where `q_P` is the *last* row of `query` and query head `h` reads the
    keys of its KV group `h / (num_heads / num_kv_heads)` (GQA-aware). Only
    this one row is computed, so the main attention stays fused.

    ```mlir
    %s = lazy.scores %q, %cache, %pos
        {layer = 3 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64,
         head_dim = 64 : i64, scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>,
           tensor<?xi32>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Lazy_Tensor:$query,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       Lazy_IdTensor:$key_positions,
                       I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale);
  let results = (outs Lazy_ScoreTensor:$scores);
  let assemblyFormat = [{
    $query `,` $cache `,` $key_positions attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Lazy_SelectOp : Lazy_Op<"select", [Pure]> {
  let summary = "Percentile selection of a token set (last token kept)";
  let description = [{
    Returns the ascending row indices `i` with `scores[i]` at or above the
    `(1 - keep)` quantile of `scores`: `ceil(keep * n)` rows, ties broken
    toward later positions. The last row (the step's token `P`) is always
    selected, displacing the lowest-scored row if needed.

    ```mlir
    %idx = lazy.select %s {keep = 7.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Lazy_ScoreTensor:$scores, F64Attr:$keep);
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
    Stores row `r` of `hidden` (the output of layer `layer`) at slot
    `positions[r]` of layer `layer` of the Aux Cache, for tokens computed at
    `layer` and dropped from `S_{layer+1}`.

    ```mlir
    lazy.aux_save %dropped, %dpos into %aux {layer = 8 : i64}
        : tensor<?x576xf32>, tensor<?xi32>, !lazy.aux_cache<layers = 30, hidden = 576, f32>
    ```
  }];
  let arguments = (ins Lazy_Tensor:$hidden, Lazy_IdTensor:$positions,
                       Arg<Lazy_AuxCacheType, "the Aux Cache", [MemWrite]>:$aux,
                       I64Attr:$layer);
  let assemblyFormat = [{
    $hidden `,` $positions `into` $aux attr-dict `:` type($hidden) `,` type($positions)
    `,` qualified(type($aux))
  }];
  let hasVerifier = 1;
}

def Lazy_AuxLoadOp : Lazy_Op<"aux_load"> {
  let summary = "Read revived tokens' hidden states from the Aux Cache";
  let description = [{
    `result[r, :]` = the hidden state saved at slot `positions[r]` of layer
    `layer`: the input of layer `layer + 1` for a revived token.

    ```mlir
    %h = lazy.aux_load %aux[%pos] {layer = 8 : i64}
        : !lazy.aux_cache<layers = 30, hidden = 576, f32>, tensor<?xi32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Arg<Lazy_AuxCacheType, "the Aux Cache", [MemRead]>:$aux,
                       Lazy_IdTensor:$positions, I64Attr:$layer);
  let results = (outs Lazy_Tensor:$result);
  let assemblyFormat = [{
    $aux `[` $positions `]` attr-dict `:` qualified(type($aux)) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Lazy_PruneOp : Lazy_Op<"prune"> {
  let summary = "Prune the token set after a layer with a named policy";
  let description = [{
    High-level pruning point after layer `layer`: returns the hidden states
    and original positions of the kept rows `S_{layer+1}` (a fraction `keep`
    of the input rows, last row always kept). `policy` names how rows are
    chosen: `lazyllm` (last-token attention of layer `layer`, read from the
    query rows and `cache`), `random` (uniform random drop), `static` (prune
    once at prefill, never revive), or a user policy registered by a pass.
    `--lazy-sparsify` expands it into `lazy.scores` / `lazy.select` /
    `lazy.gather` (+ Aux Cache saves).

    ```mlir
    %h2, %p2 = lazy.prune %h, %pos using %q, %cache
        {layer = 8 : i64, keep = 7.000000e-01 : f64, policy = "lazyllm",
         num_heads = 9 : i64, num_kv_heads = 3 : i64, head_dim = 64 : i64,
         scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, tensor<?xi32>, tensor<?x576xf32>,
           !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>)
        -> (tensor<?x576xf32>, tensor<?xi32>)
    ```
  }];
  let arguments = (ins Lazy_Tensor:$hidden, Lazy_IdTensor:$positions,
                       Lazy_Tensor:$query,
                       Arg<LLM_KVCacheType, "the KV cache", [MemRead]>:$cache,
                       I64Attr:$layer, F64Attr:$keep, StrAttr:$policy,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, F64Attr:$scale);
  let results = (outs Lazy_Tensor:$kept_hidden, Lazy_IdTensor:$kept_positions);
  let assemblyFormat = [{
    $hidden `,` $positions `using` $query `,` $cache attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  // keep = 1 keeps every row: the op folds to its inputs.
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The policies the project itself implements.
    static ::llvm::ArrayRef<::llvm::StringRef> getBuiltinPolicies();
  }];
}

#endif // LAZYC_DIALECTS_LAZY_LAZYOPS_TD
