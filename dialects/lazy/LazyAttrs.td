//===- LazyAttrs.td - lazy dialect attributes --------------*- tablegen -*-===//

#ifndef LAZYC_DIALECTS_LAZY_LAZYATTRS_TD
#define LAZYC_DIALECTS_LAZY_LAZYATTRS_TD

include "dialects/lazy/LazyDialect.td"
include "mlir/IR/AttrTypeBase.td"

def Lazy_ScheduleAttr : AttrDef<Lazy_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "Pruning schedule: pruning layer -> keep ratio";
  let description = [{
    For a model of `layers` decoder layers, each entry `l : k` prunes after
    layer `l`: `S_{l+1}` keeps the tokens of `S_l` whose importance is at or
    above the `(1 - k)` quantile, i.e. a fraction `k` of `S_l` (the last token
    is always kept). Ratios compose: `[8 : 0.7, 16 : 0.7]` keeps 49% of the
    prompt from layer 17 on. Layers are strictly increasing and in
    `[0, layers - 1)` (pruning after the last layer would be pointless); keep
    ratios lie in `(0, 1]`.

    `min_keep = N` (optional, default 0, elided when 0) is a floor **(ours)**:
    no pruning layer leaves fewer than `min(N, |S_l|)` tokens, so a short
    prompt is pruned little or not at all (the `default` preset keeps 1 of a
    5-token prompt after its second pruning layer without one).

    ```mlir
    module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5]>} {}
    module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5], min_keep = 32>} {}
    ```
  }];
  let parameters = (ins "unsigned":$numLayers,
                        ArrayRefParameter<"int64_t">:$layers,
                        "::mlir::DenseF64ArrayAttr":$keep,
                        "int64_t":$minKeep);
  let builders = [
    AttrBuilder<(ins "unsigned":$numLayers, "::llvm::ArrayRef<int64_t>":$layers,
                     "::llvm::ArrayRef<double>":$keep, CArg<"int64_t", "0">:$minKeep), [{
      return $_get($_ctxt, numLayers, layers,
                   ::mlir::DenseF64ArrayAttr::get($_ctxt, keep), minKeep);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Keep ratio after `layer`, or 1.0 when the layer does not prune.
    double getKeepAfter(int64_t layer) const;
    /// Fraction of the prompt's token-layers computed under this schedule if
    /// every pruning layer keeps exactly its ratio (the paper's Table 2
    /// measure, ignoring rounding and the always-kept last token).
    double getComputedShare() const;
  }];
}

#endif // LAZYC_DIALECTS_LAZY_LAZYATTRS_TD
