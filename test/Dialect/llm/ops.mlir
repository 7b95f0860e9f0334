// RUN: lazy-opt %s --split-input-file | lazy-opt --split-input-file | FileCheck %s
// Round trip through the generic form as well.
// RUN: lazy-opt %s --split-input-file --mlir-print-op-generic | lazy-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @embed_norm
// CHECK-SAME:    (%[[TOK:[a-z0-9]+]]: tensor<?xi32>)
func.func @embed_norm(%tokens: tensor<?xi32>) -> tensor<?x64xf32> {
  // CHECK: %[[E:.*]] = llm.weight "token_embd.weight" : tensor<256x64xf32>
  %emb = llm.weight "token_embd.weight" : tensor<256x64xf32>
  // CHECK: %[[X:.*]] = llm.embedding %[[E]][%[[TOK]]] : tensor<256x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %x = llm.embedding %emb[%tokens] : tensor<256x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %w = llm.weight "blk.0.attn_norm.weight" : tensor<64xf32>
  // CHECK: llm.rms_norm %[[X]], %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %n = llm.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %n : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @layer_norm
func.func @layer_norm(%x: tensor<?x64xbf16>, %w: tensor<64xf32>) -> tensor<?x64xbf16> {
  // CHECK: llm.layer_norm %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x64xbf16>, tensor<64xf32> -> tensor<?x64xbf16>
  %n = llm.layer_norm %x, %w {epsilon = 1.0e-05 : f64} : tensor<?x64xbf16>, tensor<64xf32> -> tensor<?x64xbf16>
  return %n : tensor<?x64xbf16>
}

// -----

// CHECK-LABEL: func.func @layer_norm_bias_gelu
func.func @layer_norm_bias_gelu(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  // CHECK: %[[N:.*]] = llm.layer_norm %{{.*}}, %{{.*}} bias %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %n = llm.layer_norm %x, %w bias %b {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // CHECK: %[[G:.*]] = llm.gelu %[[N]] : tensor<?x64xf32>
  %g = llm.gelu %n : tensor<?x64xf32>
  // The default, tanh, is not printed; the exact form is.
  // CHECK: llm.gelu %[[G]] : tensor<?x64xf32>
  %t = llm.gelu %g {approximate = "tanh"} : tensor<?x64xf32>
  // CHECK: llm.gelu %{{.*}} {approximate = "none"} : tensor<?x64xf32>
  %e = llm.gelu %t {approximate = "none"} : tensor<?x64xf32>
  return %e : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @mixed_precision_linear
func.func @mixed_precision_linear(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %w = llm.weight "blk.0.ffn_up.weight" : tensor<128x64xbf16>
  // CHECK: llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  %y = llm.linear %x, %w : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// Two projections of one input stacked into one weight (lazyc-fuse-projections).
// CHECK-LABEL: func.func @fused_weight
func.func @fused_weight(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  // CHECK: llm.fused_weight ["blk.0.attn_q.weight", "blk.0.attn_k.weight"] rows [64, 32] : tensor<96x64xbf16>
  %w = llm.fused_weight ["blk.0.attn_q.weight", "blk.0.attn_k.weight"] rows [64, 32] : tensor<96x64xbf16>
  %y = llm.linear %x, %w : tensor<?x64xf32>, tensor<96x64xbf16> -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

// -----

// A residual add in the GEMM's epilogue, and bf16 GEMM outputs.
// CHECK-LABEL: func.func @accumulating_linear
func.func @accumulating_linear(%x: tensor<?x64xf32>, %r: tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x128xbf16>) {
  %w = llm.weight "blk.0.ffn_up.weight" : tensor<128x64xbf16>
  // CHECK: llm.linear %{{.*}}, %{{.*}} acc %{{.*}} : tensor<?x64xf32>, tensor<128x64xbf16>, tensor<?x128xf32> -> tensor<?x128xf32>
  %y = llm.linear %x, %w acc %r : tensor<?x64xf32>, tensor<128x64xbf16>, tensor<?x128xf32> -> tensor<?x128xf32>
  // CHECK: llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xbf16>
  %b = llm.linear %x, %w : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xbf16>
  return %y, %b : tensor<?x128xf32>, tensor<?x128xbf16>
}

// -----

// bf16 query/key/value and result around an f32 cache (the CUDA target's
// bf16 activations).
// CHECK-LABEL: func.func @bf16_attention
// CHECK: llm.attention {{.*}} : (tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xbf16>
func.func @bf16_attention(%q: tensor<?x64xbf16>, %k: tensor<?x32xbf16>, %v: tensor<?x32xbf16>, %pos: tensor<?xi32>,
                          %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xbf16> {
  %o = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// CHECK-LABEL: func.func @mlp
func.func @mlp(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>, %x: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // CHECK: %[[S:.*]] = llm.silu %{{.*}} : tensor<?x128xf32>
  %s = llm.silu %g : tensor<?x128xf32>
  // CHECK: %[[H:.*]] = llm.swiglu %[[S]], %{{.*}} : tensor<?x128xf32>
  %h = llm.swiglu %s, %u : tensor<?x128xf32>
  // CHECK: %[[M:.*]] = llm.scale %[[H]] {factor = 2.200000e-01 : f64} : tensor<?x128xf32>
  %m = llm.scale %h {factor = 0.22 : f64} : tensor<?x128xf32>
  // CHECK: llm.add %[[M]], %{{.*}} : tensor<?x128xf32>
  %r = llm.add %m, %x : tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// CHECK-LABEL: func.func @sigmoid_gate
func.func @sigmoid_gate(%y: tensor<?x64xbf16>, %g: tensor<?x1xf32>) -> tensor<?x64xbf16> {
  // CHECK: llm.sigmoid_gate %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<?x1xf32> -> tensor<?x64xbf16>
  %r = llm.sigmoid_gate %y, %g : tensor<?x64xbf16>, tensor<?x1xf32> -> tensor<?x64xbf16>
  return %r : tensor<?x64xbf16>
}

// -----

// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = llm.weight "router" : tensor<4x64xbf16>
  %g = llm.fused_weight ["g0", "g1", "g2", "g3"] rows [96, 96, 96, 96] : tensor<384x64xbf16>
  %u = llm.fused_weight ["u0", "u1", "u2", "u3"] rows [96, 96, 96, 96] : tensor<384x64xbf16>
  %d = llm.fused_weight ["d0", "d1", "d2", "d3"] rows [64, 64, 64, 64] : tensor<256x96xbf16>
  // CHECK: llm.moe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {expert_ffn = 96 : i64, norm_top_k, num_experts = 4 : i64, top_k = 2 : i64}
  %y = llm.moe %x, %r, %g, %u, %d {num_experts = 4, top_k = 2, expert_ffn = 96, norm_top_k}
      : tensor<?x64xf32>, tensor<4x64xbf16>, tensor<384x64xbf16>, tensor<384x64xbf16>, tensor<256x96xbf16> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// gpt-oss's MoE: router and expert biases, the clamped SwiGLU.
// CHECK-LABEL: func.func @moe_gptoss
func.func @moe_gptoss(%x: tensor<?x64xf32>, %rb: tensor<4xf32>, %gb: tensor<128xf32>,
                      %db: tensor<256xf32>) -> tensor<?x64xf32> {
  %r = llm.weight "router" : tensor<4x64xf32>
  %g = llm.weight "g" : tensor<128x64xf32>
  %u = llm.weight "u" : tensor<128x64xf32>
  %d = llm.weight "d" : tensor<256x32xf32>
  // CHECK: llm.moe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} router_bias(%{{.*}} : tensor<4xf32>) expert_bias(%{{.*}}, %{{.*}}, %{{.*}} : tensor<128xf32>, tensor<128xf32>, tensor<256xf32>) {activation = "swiglu_oai", expert_ffn = 32 : i64, norm_top_k, num_experts = 4 : i64, swiglu_limit = 5.000000e+00 : f64, top_k = 2 : i64} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  %y = llm.moe %x, %r, %g, %u, %d router_bias(%rb : tensor<4xf32>)
      expert_bias(%gb, %gb, %db : tensor<128xf32>, tensor<128xf32>, tensor<256xf32>)
      {num_experts = 4, top_k = 2, expert_ffn = 32, norm_top_k, activation = "swiglu_oai",
       swiglu_limit = 5.0}
      : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// GLM-4.5's router: sigmoid scores, a selection bias, a routed scale.
// CHECK-LABEL: func.func @moe_glm
func.func @moe_glm(%x: tensor<?x64xf32>, %sb: tensor<4xf32>) -> tensor<?x64xf32> {
  %r = llm.weight "router" : tensor<4x64xf32>
  %g = llm.weight "g" : tensor<128x64xf32>
  %d = llm.weight "d" : tensor<256x32xf32>
  // CHECK: llm.moe {{.*}} bias %{{.*}} {expert_ffn = 32 : i64, norm_top_k, num_experts = 4 : i64, routed_scale = 2.500000e+00 : f64, scoring = "sigmoid", top_k = 2 : i64}
  %y = llm.moe %x, %r, %g, %g, %d bias %sb
      {num_experts = 4, top_k = 2, expert_ffn = 32, norm_top_k, scoring = "sigmoid",
       routed_scale = 2.5}
      : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<256x32xf32>, tensor<4xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// MXFP4 experts (ui8: 17 bytes per 32 values).
// CHECK-LABEL: func.func @moe_mxfp4
func.func @moe_mxfp4(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = llm.weight "router" : tensor<4x64xf32>
  // CHECK: llm.weight "g" : tensor<128x34xui8>
  %g = llm.weight "g" : tensor<128x34xui8>
  %d = llm.weight "d" : tensor<256x17xui8>
  // CHECK: llm.moe {{.*}} : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x34xui8>, tensor<128x34xui8>, tensor<256x17xui8> -> tensor<?x64xf32>
  %y = llm.moe %x, %r, %g, %g, %d {num_experts = 4, top_k = 2, expert_ffn = 32, norm_top_k}
      : tensor<?x64xf32>, tensor<4x64xf32>, tensor<128x34xui8>, tensor<128x34xui8>, tensor<256x17xui8> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// How a file lays weights out: interleaved rows, transposed stacks, OCP MXFP4
// blocks with their scales apart (gpt-oss's Hugging Face experts), blocks of
// rows (Granite MoE's experts: each one's gate rows, then its up rows).
// CHECK-LABEL: func.func @weight_layouts
func.func @weight_layouts() -> (tensor<128x34xui8>, tensor<128x64xbf16>, tensor<128xf32>) {
  // CHECK: llm.weight "input_linear" {row_block = 32 : i64, row_step = 64 : i64, rows = array<i64: 32, 256>} : tensor<128x64xf32>
  %x = llm.weight "input_linear" {rows = array<i64: 32, 256>, row_step = 64 : i64,
                                  row_block = 32 : i64} : tensor<128x64xf32>
  // CHECK: llm.weight "gate_up_blocks" {row_step = 2 : i64, rows = array<i64: 0, 256>, scales = "gate_up_scales"} : tensor<128x34xui8>
  %g = llm.weight "gate_up_blocks" {rows = array<i64: 0, 256>, row_step = 2 : i64,
                                    scales = "gate_up_scales"} : tensor<128x34xui8>
  // CHECK: llm.weight "gate_up" {row_step = 2 : i64, rows = array<i64: 1, 256>, transposed} : tensor<128x64xbf16>
  %u = llm.weight "gate_up" {rows = array<i64: 1, 256>, row_step = 2 : i64, transposed}
      : tensor<128x64xbf16>
  // CHECK: llm.weight "gate_up_bias" {row_step = 2 : i64, rows = array<i64: 0, 256>} : tensor<128xf32>
  %b = llm.weight "gate_up_bias" {rows = array<i64: 0, 256>, row_step = 2 : i64} : tensor<128xf32>
  return %g, %u, %b : tensor<128x34xui8>, tensor<128x64xbf16>, tensor<128xf32>
}

// -----

// gpt-oss's attention sinks.
// CHECK-LABEL: func.func @attention_sinks
func.func @attention_sinks(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                           %pos: tensor<?xi32>, %s: tensor<4xf32>,
                           %cache: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} sinks(%{{.*}}) {head_dim = 16 : i64
  // CHECK-SAME: tensor<4xf32>) -> tensor<?x64xf32>
  %o = llm.attention %q, %k, %v, %pos, %cache sinks(%s) {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, sliding_window = 8 : i64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, tensor<4xf32>) -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @attention
// CHECK-SAME:    %{{.*}}: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>
func.func @attention(%q: tensor<?x576xf32>, %k: tensor<?x192xf32>, %v: tensor<?x192xf32>,
                     %pos: tensor<?xi32>,
                     %cache: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>) -> tensor<?x576xf32> {
  // CHECK: llm.rope %{{.*}}, %{{.*}} {head_dim = 64 : i64, theta = 1.000000e+05 : f64} : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  %qr = llm.rope %q, %pos {head_dim = 64 : i64, theta = 100000.0 : f64} : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  %kr = llm.rope %k, %pos {head_dim = 64 : i64, theta = 100000.0 : f64} : tensor<?x192xf32>, tensor<?xi32> -> tensor<?x192xf32>
  // CHECK: llm.attention %{{.*}} {head_dim = 64 : i64, layer = 29 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, scale = 1.250000e-01 : f64}
  // CHECK-SAME: (tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>, tensor<?xi32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>) -> tensor<?x576xf32>
  %o = llm.attention %qr, %kr, %v, %pos, %cache
      {layer = 29 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, head_dim = 64 : i64, scale = 0.125 : f64}
      : (tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>, tensor<?xi32>,
         !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>) -> tensor<?x576xf32>
  return %o : tensor<?x576xf32>
}

// -----

// CHECK-LABEL: func.func @gguf_rope_and_bf16_table
func.func @gguf_rope_and_bf16_table(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x64xf32> {
  %emb = llm.weight "token_embd.weight" : tensor<256x64xbf16>
  // CHECK: llm.embedding %{{.*}} : tensor<256x64xbf16>, tensor<?xi32> -> tensor<?x64xf32>
  %x = llm.embedding %emb[%tokens] : tensor<256x64xbf16>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: llm.rope %{{.*}} {head_dim = 16 : i64, interleaved, theta = 1.000000e+04 : f64}
  %r = llm.rope %x, %pos {head_dim = 16 : i64, theta = 10000.0 : f64, interleaved} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: llm.rope %{{.*}} {freq_factors = array<f64: 1.000000e+00, 1.500000e+00, 8.000000e+00, 8.000000e+00, 8.000000e+00, 8.000000e+00, 8.000000e+00, 8.000000e+00>, head_dim = 16 : i64, interleaved, theta = 5.000000e+05 : f64}
  %s = llm.rope %r, %pos {head_dim = 16 : i64, theta = 500000.0 : f64, interleaved, freq_factors = array<f64: 1.0, 1.5, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0>} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %s : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @logits
func.func @logits(%h: tensor<?x576xf32>, %rows: tensor<1xi32>) -> tensor<1x49152xf32> {
  %w = llm.weight "token_embd.weight" : tensor<49152x576xf32>
  // CHECK: llm.logits %{{.*}}[%{{.*}}], %{{.*}} : tensor<?x576xf32>, tensor<1xi32>, tensor<49152x576xf32> -> tensor<1x49152xf32>
  %l = llm.logits %h[%rows], %w : tensor<?x576xf32>, tensor<1xi32>, tensor<49152x576xf32> -> tensor<1x49152xf32>
  return %l : tensor<1x49152xf32>
}

// -----

// Q8_0 weights (i8 rows of 34-byte blocks): 576 values per row are 612 bytes.
// CHECK-LABEL: func.func @q8_0_weights
func.func @q8_0_weights(%tokens: tensor<?xi32>, %rows: tensor<1xi32>) -> tensor<1x49152xf32> {
  %emb = llm.weight "token_embd.weight" : tensor<49152x612xi8>
  // CHECK: llm.embedding %{{.*}} : tensor<49152x612xi8>, tensor<?xi32> -> tensor<?x576xf32>
  %x = llm.embedding %emb[%tokens] : tensor<49152x612xi8>, tensor<?xi32> -> tensor<?x576xf32>
  %wk = llm.weight "blk.0.attn_k.weight" : tensor<192x612xi8>
  // CHECK: llm.linear %{{.*}} : tensor<?x576xf32>, tensor<192x612xi8> -> tensor<?x192xf32>
  %k = llm.linear %x, %wk : tensor<?x576xf32>, tensor<192x612xi8> -> tensor<?x192xf32>
  // CHECK: llm.fused_weight ["a", "b"] rows [2, 2] : tensor<4x612xi8>
  %f = llm.fused_weight ["a", "b"] rows [2, 2] : tensor<4x612xi8>
  // CHECK: llm.logits %{{.*}} : tensor<?x576xf32>, tensor<1xi32>, tensor<49152x612xi8> -> tensor<1x49152xf32>
  %l = llm.logits %x[%rows], %emb : tensor<?x576xf32>, tensor<1xi32>, tensor<49152x612xi8> -> tensor<1x49152xf32>
  return %l : tensor<1x49152xf32>
}

// -----

// OLMo 1: a LayerNorm without weight or bias, and the projections' clamp.
// CHECK-LABEL: func.func @layer_norm_no_weight_clamp
func.func @layer_norm_no_weight_clamp(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK: %[[N:.*]] = llm.layer_norm %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  %n = llm.layer_norm %x {epsilon = 1.0e-05 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  // CHECK: llm.clamp %[[N]] {limit = 8.000000e+00 : f64} : tensor<?x64xf32>
  %c = llm.clamp %n {limit = 8.0 : f64} : tensor<?x64xf32>
  return %c : tensor<?x64xf32>
}
