// RUN: lazy-opt %s | lazy-opt | FileCheck %s
// RUN: lazy-opt %s --mlir-print-op-generic | lazy-opt | FileCheck %s
// RUN: lazy-opt %s --lazy-set-schedule="schedule=0:0.5" | FileCheck %s --check-prefix=SCHED

// A 2-layer Llama-shaped decoder (hidden 64, 4 query / 2 KV heads of 16, FFN 128,
// vocabulary 256, tied embeddings) as the importer emits it: one step function over a
// batch of new tokens with their original positions, returning logits of selected rows.

// SCHED: module attributes {lazy.schedule = #lazy.schedule<layers = 2, [0 : 0.5]>}
// CHECK-LABEL: func.func @forward
func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>,
                   %rows: tensor<?xi32>) -> tensor<?x256xf32> {
  %emb = llm.weight "token_embd.weight" : tensor<256x64xf32>
  %x0 = llm.embedding %emb[%tokens] : tensor<256x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // Layer 0
  // CHECK: llm.attention {{.*}}layer = 0 : i64
  %an0w = llm.weight "blk.0.attn_norm.weight" : tensor<64xf32>
  %an0 = llm.rms_norm %x0, %an0w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wq0 = llm.weight "blk.0.attn_q.weight" : tensor<64x64xf32>
  %q0 = llm.linear %an0, %wq0 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %wk0 = llm.weight "blk.0.attn_k.weight" : tensor<32x64xf32>
  %k0 = llm.linear %an0, %wk0 : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %wv0 = llm.weight "blk.0.attn_v.weight" : tensor<32x64xf32>
  %v0 = llm.linear %an0, %wv0 : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %qr0 = llm.rope %q0, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr0 = llm.rope %k0, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %att0 = llm.attention %qr0, %kr0, %v0, %pos, %cache
      {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 2.500000e-01 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %wo0 = llm.weight "blk.0.attn_output.weight" : tensor<64x64xf32>
  %o0 = llm.linear %att0, %wo0 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %h0 = llm.add %x0, %o0 : tensor<?x64xf32>
  %fn0w = llm.weight "blk.0.ffn_norm.weight" : tensor<64xf32>
  %fn0 = llm.rms_norm %h0, %fn0w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wgate0 = llm.weight "blk.0.ffn_gate.weight" : tensor<128x64xf32>
  %gate0 = llm.linear %fn0, %wgate0 : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
  %wup0 = llm.weight "blk.0.ffn_up.weight" : tensor<128x64xf32>
  %up0 = llm.linear %fn0, %wup0 : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
  %act0 = llm.swiglu %gate0, %up0 : tensor<?x128xf32>
  %wd0 = llm.weight "blk.0.ffn_down.weight" : tensor<64x128xf32>
  %down0 = llm.linear %act0, %wd0 : tensor<?x128xf32>, tensor<64x128xf32> -> tensor<?x64xf32>
  %x1 = llm.add %h0, %down0 : tensor<?x64xf32>
  // Layer 1
  // CHECK: llm.attention {{.*}}layer = 1 : i64
  %an1w = llm.weight "blk.1.attn_norm.weight" : tensor<64xf32>
  %an1 = llm.rms_norm %x1, %an1w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wq1 = llm.weight "blk.1.attn_q.weight" : tensor<64x64xf32>
  %q1 = llm.linear %an1, %wq1 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %wk1 = llm.weight "blk.1.attn_k.weight" : tensor<32x64xf32>
  %k1 = llm.linear %an1, %wk1 : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %wv1 = llm.weight "blk.1.attn_v.weight" : tensor<32x64xf32>
  %v1 = llm.linear %an1, %wv1 : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %qr1 = llm.rope %q1, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr1 = llm.rope %k1, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %att1 = llm.attention %qr1, %kr1, %v1, %pos, %cache
      {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 2.500000e-01 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %wo1 = llm.weight "blk.1.attn_output.weight" : tensor<64x64xf32>
  %o1 = llm.linear %att1, %wo1 : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %h1 = llm.add %x1, %o1 : tensor<?x64xf32>
  %fn1w = llm.weight "blk.1.ffn_norm.weight" : tensor<64xf32>
  %fn1 = llm.rms_norm %h1, %fn1w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wgate1 = llm.weight "blk.1.ffn_gate.weight" : tensor<128x64xf32>
  %gate1 = llm.linear %fn1, %wgate1 : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
  %wup1 = llm.weight "blk.1.ffn_up.weight" : tensor<128x64xf32>
  %up1 = llm.linear %fn1, %wup1 : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
  %act1 = llm.swiglu %gate1, %up1 : tensor<?x128xf32>
  %wd1 = llm.weight "blk.1.ffn_down.weight" : tensor<64x128xf32>
  %down1 = llm.linear %act1, %wd1 : tensor<?x128xf32>, tensor<64x128xf32> -> tensor<?x64xf32>
  %x2 = llm.add %h1, %down1 : tensor<?x64xf32>
  %onw = llm.weight "output_norm.weight" : tensor<64xf32>
  %out = llm.rms_norm %x2, %onw {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // CHECK: llm.logits
  %logits = llm.logits %out[%rows], %emb : tensor<?x64xf32>, tensor<?xi32>, tensor<256x64xf32> -> tensor<?x256xf32>
  return %logits : tensor<?x256xf32>
}
