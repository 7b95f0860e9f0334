//===- LLMDialect.td - dense transformer dialect -----------*- tablegen -*-===//
//
// The `llm` dialect: dense transformer IR on tensors with a dynamic sequence
// dimension. An importer produces it from real model files (GGUF, safetensors);
// the `lazy` dialect's passes rewrite it into gathered sparse-token computation.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_DIALECTS_LLM_LLMDIALECT_TD
#define LAZYC_DIALECTS_LLM_LLMDIALECT_TD

include "mlir/IR/OpBase.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let summary = "Dense transformer (decoder-only LLM) operations on tensors";
  let description = [{
    The `llm` dialect expresses a Llama-family decoder on ranked tensors whose
    leading dimension is the (dynamic) number of token rows processed in one
    step. Weights are never inlined: `llm.weight` names a tensor that lives in
    the model file. Attention reads and writes a per-layer KV cache that is an
    SSA value of type `!llm.kv_cache`; every row carries its original position
    id, so the same ops describe prefill, decode, and (after token pruning)
    computation over a gathered subset of rows.

    A step function of a 1-layer model looks like:

    ```mlir
    func.func @step(%tokens: tensor<?xi32>, %pos: tensor<?xi32>,
                    %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>,
                    %rows: tensor<?xi32>) -> tensor<?x256xf32> {
      %emb = llm.weight "token_embd.weight" : tensor<256x64xf32>
      %x = llm.embedding %emb[%tokens] : tensor<256x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
      ...
    }
    ```
  }];
  let cppNamespace = "::lazyc::llm";
  let useDefaultTypePrinterParser = 1;
}

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

#endif // LAZYC_DIALECTS_LLM_LLMDIALECT_TD
