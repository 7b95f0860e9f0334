//===- LazyTypes.td - lazy dialect types -------------------*- tablegen -*-===//

#ifndef LAZYC_DIALECTS_LAZY_LAZYTYPES_TD
#define LAZYC_DIALECTS_LAZY_LAZYTYPES_TD

include "dialects/lazy/LazyDialect.td"
include "mlir/IR/AttrTypeBase.td"

def Lazy_AuxCacheType : TypeDef<Lazy_Dialect, "AuxCache"> {
  let mnemonic = "aux_cache";
  let summary = "Hidden states of pruned tokens, per pruning layer";
  let description = [{
    For each layer `l` and context slot, the hidden state of a token computed
    at `l` and dropped from `S_{l+1}`: what its prune selected from, the
    output of layer `l` (= input of layer `l + 1`), or with
    `--lazy-defer-mlp` the layer's mid state before its MLP (which a revived
    token then runs on its way into layer `l + 1`). Only pruning layers ever
    hold entries, so the runtime
    allocates `(pruning layers) x (context) x hidden` elements.

    ```mlir
    !lazy.aux_cache<layers = 30, hidden = 576, f32>
    ```
  }];
  let parameters = (ins "unsigned":$numLayers, "unsigned":$hidden,
                        "::mlir::Type":$elementType);
  let assemblyFormat = [{
    `<` `layers` `=` $numLayers `,` `hidden` `=` $hidden `,` $elementType `>`
  }];
  let genVerifyDecl = 1;
}

#endif // LAZYC_DIALECTS_LAZY_LAZYTYPES_TD
