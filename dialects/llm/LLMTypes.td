//===- LLMTypes.td - llm dialect types ---------------------*- tablegen -*-===//

#ifndef LAZYC_DIALECTS_LLM_LLMTYPES_TD
#define LAZYC_DIALECTS_LLM_LLMTYPES_TD

include "dialects/llm/LLMDialect.td"
include "mlir/IR/AttrTypeBase.td"

class LLM_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<LLM_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def LLM_KVCacheType : LLM_Type<"KVCache", "kv_cache"> {
  let summary = "Key/value cache of every attention layer of a decoder";
  let description = [{
    An opaque handle to the per-layer key and value caches. Each layer holds,
    for every context slot (= original token position), `kv_heads * head_dim`
    keys and as many values of the element type. The context length is a
    property of the runtime allocation, not of the type.

    ```mlir
    !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>
    ```
  }];
  let parameters = (ins "unsigned":$numLayers, "unsigned":$numKVHeads,
                        "unsigned":$headDim, "::mlir::Type":$elementType);
  let assemblyFormat = [{
    `<` `layers` `=` $numLayers `,` `kv_heads` `=` $numKVHeads `,`
        `head_dim` `=` $headDim `,` $elementType `>`
  }];
  let genVerifyDecl = 1;
}

#endif // LAZYC_DIALECTS_LLM_LLMTYPES_TD
