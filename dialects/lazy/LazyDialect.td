//===- LazyDialect.td - token-pruning dialect --------------*- tablegen -*-===//
//
// The `lazy` dialect: LazyLLM dynamic token pruning as first-class IR
// (../shared/LAZYLLM.md). Scoring, selection, gathers/scatters of token rows,
// and the Aux Cache that lets a pruned token be revived in a later step.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_DIALECTS_LAZY_LAZYDIALECT_TD
#define LAZYC_DIALECTS_LAZY_LAZYDIALECT_TD

include "mlir/IR/OpBase.td"

def Lazy_Dialect : Dialect {
  let name = "lazy";
  let summary = "LazyLLM dynamic token pruning";
  let description = [{
    Token sets are 1-D tensors of *row indices* or *original positions*,
    always sorted ascending by position, so the step's last token `P` is the
    last row. After a pruning layer `l`, the rows that take part in layer
    `l + 1` are a gathered subset `S_{l+1}` of `S_l`; every row keeps its
    original position id for RoPE and causal masking.

    ```mlir
    %scores = lazy.scores %q, %cache, %pos {layer = 3 : i64, ...}
    %keep = lazy.select %scores {keep = 7.000000e-01 : f64}
    %h2 = lazy.gather %h[%keep] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    ```

    The module-level `lazy.schedule` attribute (`#lazy.schedule<...>`) maps
    pruning layers to keep ratios.
  }];
  let cppNamespace = "::lazyc::lazy";
  let dependentDialects = ["::lazyc::llm::LLMDialect"];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute holding the pruning schedule.
    static constexpr ::llvm::StringLiteral kScheduleAttrName = "lazy.schedule";
    /// The pruning policy of the module's prunes (set by --lazy-insert-pruning).
    static constexpr ::llvm::StringLiteral kPolicyAttrName = "lazy.policy";
    /// Observation window / max-pool width of the attention scores (set by
    /// --lazy-sparsify when not 1).
    static constexpr ::llvm::StringLiteral kScoreWindowAttrName = "lazy.score_window";
    static constexpr ::llvm::StringLiteral kScorePoolAttrName = "lazy.score_pool";
    /// The selection's bias toward tokens the next layer holds (set by
    /// --lazy-sparsify when not 1; lazy.reuse_bias).
    static constexpr ::llvm::StringLiteral kReuseBiasAttrName = "lazy.reuse_bias";
  }];
}

class Lazy_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lazy_Dialect, mnemonic, traits>;

#endif // LAZYC_DIALECTS_LAZY_LAZYDIALECT_TD
