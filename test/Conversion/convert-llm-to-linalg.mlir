// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg | FileCheck %s
// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg --cse | FileCheck %s --check-prefix=CSE

// Weights become views into one arena appended to the signature; the layout
// (256-byte aligned offsets: what cuBLASLt assumes of a GEMM operand) is
// recorded for the runtime.
// CHECK: module attributes {
// CHECK-SAME: llm.weight_arena_bytes = 768 : i64
// CHECK-SAME: llm.weight_table = [{bytes = 256 : i64, dtype = "f32", name = "norm", offset = 0 : i64, shape = [64]}, {bytes = 64 : i64, dtype = "bf16", name = "small", offset = 256 : i64, shape = [32]}, {bytes = 64 : i64, dtype = "f32", name = "tail", offset = 512 : i64, shape = [16]}]
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[ARENA:[a-z0-9]+]]: memref<?xi8> {llm.name = "weights"}
// CHECK:         %[[V:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<?xi8> to memref<64xf32>
// CHECK:         %[[W:.*]] = bufferization.to_tensor %[[V]] restrict
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x64xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]], %[[W]] : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>)
// CHECK:           math.rsqrt
// CHECK-NOT:     llm.rms_norm
func.func @rms_norm(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<32xbf16>, tensor<16xf32>) {
  %w = llm.weight "norm" : tensor<64xf32>
  %s = llm.weight "small" : tensor<32xbf16>
  %t = llm.weight "tail" : tensor<16xf32>
  %y = llm.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %y, %s, %t : tensor<?x64xf32>, tensor<32xbf16>, tensor<16xf32>
}

// -----

// RoPE: rotate-half pairs (d, d + 32) or interleaved pairs (2i, 2i + 1), with
// Hugging Face's float32 inverse frequencies as a constant.
// A cos/sin table per (row, frequency), then the rotation reads it through
// affine maps: d mod 32 (rotate-half) or (d mod 64) floordiv 2 (interleaved).
// CHECK-DAG: #[[HALF:.*]] = affine_map<(d0, d1) -> (d0, d1 mod 32)>
// CHECK-DAG: #[[PAIR:.*]] = affine_map<(d0, d1) -> (d0, (d1 mod 64) floordiv 2)>
// CHECK-LABEL: func.func @rope
// CHECK:         arith.constant dense<{{.*}}> : tensor<32xf32>
// CHECK:         %[[T:.*]]:2 = linalg.generic
// CHECK:           math.cos
// CHECK:           math.sin
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #[[HALF]], #[[HALF]], #{{.*}}]
// CHECK-SAME:      ins(%{{.*}}, %[[T]]#0, %[[T]]#1
// CHECK:           arith.cmpi ult
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<?x128xf32>
// CHECK:         linalg.generic
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #[[PAIR]], #[[PAIR]], #{{.*}}]
// CHECK:           arith.cmpi eq
func.func @rope(%x: tensor<?x128xf32>, %pos: tensor<?xi32>) -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  %a = llm.rope %x, %pos {head_dim = 64 : i64, theta = 10000.0 : f64} : tensor<?x128xf32>, tensor<?xi32> -> tensor<?x128xf32>
  %b = llm.rope %x, %pos {head_dim = 64 : i64, theta = 10000.0 : f64, interleaved} : tensor<?x128xf32>, tensor<?xi32> -> tensor<?x128xf32>
  return %a, %b : tensor<?x128xf32>, tensor<?x128xf32>
}

// -----

// freq_factors divide the inverse frequencies 1 / 100^(2i / 4) = [1, 0.1]:
// [1 / 2, 0.1 / 8] (llama3-style or linear context scaling).
// CHECK-LABEL: func.func @rope_freq_factors
// CHECK:         arith.constant dense<[5.000000e-01, 1.250000e-02]> : tensor<2xf32>
// CHECK:         math.cos
func.func @rope_freq_factors(%x: tensor<?x8xf32>, %pos: tensor<?xi32>) -> tensor<?x8xf32> {
  %a = llm.rope %x, %pos {head_dim = 4 : i64, theta = 100.0 : f64, freq_factors = array<f64: 2.0, 8.0>} : tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return %a : tensor<?x8xf32>
}

// -----

// A bias is read per column: the same vector for every row.
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_bias
// CHECK:         linalg.generic {indexing_maps = [#[[ROWS]], #[[COL]], #[[ROWS]]]
// CHECK:           arith.addf
func.func @add_bias(%x: tensor<?x8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = llm.add_bias %x, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A constant factor (Granite's multipliers): one elementwise multiplication.
// CHECK-LABEL: func.func @scale
// CHECK:         %[[C:.*]] = arith.constant 1.200000e+01 : f32
// CHECK:         linalg.generic
// CHECK:           arith.mulf %{{.*}}, %[[C]] : f32
func.func @scale(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = llm.scale %x {factor = 12.0 : f64} : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Per-head RMSNorm: sums of squares per (row, head) over a [rows, heads,
// head_dim] view, then the scaling reads its head's sum and the shared weight.
// LayerNorm (Cohere): in f32 for bf16 rows, two row sums (of the row, then
// of the centred row's squares), then the scaling, rounded back to bf16.
// CHECK-LABEL: func.func @layer_norm
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X:.*]] : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:           arith.extf
// CHECK:           arith.addf
// CHECK:         %[[C:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[SUM]] : tensor<?x64xbf16>, tensor<?xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:           arith.divf
// CHECK:           arith.subf
// CHECK:         %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[C]] : tensor<?x64xf32>)
// CHECK:         linalg.generic {{.*}} ins(%[[C]], %[[SQ]], %{{.*}} : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK:           math.rsqrt
// CHECK:           arith.truncf
func.func @layer_norm(%x: tensor<?x64xbf16>, %w: tensor<64xf32>) -> tensor<?x64xbf16> {
  %y = llm.layer_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x64xbf16>, tensor<64xf32> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// With a bias (StarCoder2): added last, by column; GELU's tanh form elementwise.
// CHECK-LABEL: func.func @layer_norm_bias_gelu
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[B:.*]] : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>, tensor<64xf32>)
// CHECK:           math.rsqrt
// CHECK:           arith.mulf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK-NEXT:      linalg.yield
// CHECK:         linalg.generic
// CHECK:           math.exp
func.func @layer_norm_bias_gelu(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = llm.layer_norm %x, %w bias %b {epsilon = 1.0e-5 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %g = llm.gelu %y : tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}

// -----

// GELU's exact form (GPT-NeoX): x (1 - erfc(|x| / sqrt 2) / 2), or x erfc / 2
// for x < 0, erfc from one exp of a polynomial (no math.erf to lower).
// CHECK-LABEL: func.func @gelu_exact
// CHECK:         linalg.generic
// CHECK:           arith.cmpf olt
// CHECK:           arith.select
// CHECK:           arith.divf
// CHECK:           math.exp
// CHECK-NOT:       math.erf
// CHECK:           arith.select
// CHECK:           arith.mulf
// CHECK-NEXT:      linalg.yield
func.func @gelu_exact(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %g = llm.gelu %x {approximate = "none"} : tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}

// -----

// OLMo 1's LayerNorm without weight: the scaling pass reads the centred rows
// and their sums of squares only; the clamp is max then min.
// CHECK-LABEL: func.func @layer_norm_no_weight_clamp
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<?xf32>)
// CHECK:           math.rsqrt
// CHECK-NEXT:      arith.mulf
// CHECK-NEXT:      linalg.yield
// CHECK:         linalg.generic
// CHECK:           arith.maximumf
// CHECK-NEXT:      arith.minimumf
func.func @layer_norm_no_weight_clamp(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = llm.layer_norm %x {epsilon = 1.0e-5 : f64} : tensor<?x64xf32> -> tensor<?x64xf32>
  %c = llm.clamp %y {limit = 8.0 : f64} : tensor<?x64xf32>
  return %c : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @head_rms_norm
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 8] : tensor<?x32xf32> into tensor<?x4x8xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         linalg.generic
// CHECK:           math.rsqrt
func.func @head_rms_norm(%x: tensor<?x32xf32>, %w: tensor<8xf32>) -> tensor<?x32xf32> {
  %y = llm.head_rms_norm %x, %w {head_dim = 8 : i64, epsilon = 1.0e-6 : f64} : tensor<?x32xf32>, tensor<8xf32> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// The table is sized by the positions: Q and K (and every layer) over the
// same positions share one table after CSE.
// CSE-LABEL: func.func @rope_shared_table
// CSE:         math.cos
// CSE-NOT:     math.cos
// CSE:         return
func.func @rope_shared_table(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %pos: tensor<?xi32>) -> (tensor<?x128xf32>, tensor<?x64xf32>) {
  %a = llm.rope %q, %pos {head_dim = 64 : i64, theta = 10000.0 : f64} : tensor<?x128xf32>, tensor<?xi32> -> tensor<?x128xf32>
  %b = llm.rope %k, %pos {head_dim = 64 : i64, theta = 10000.0 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %a, %b : tensor<?x128xf32>, tensor<?x64xf32>
}

// -----

// SwiGLU and residual adds are elementwise linalg.generic ops; the embedding
// is a row gather that widens bf16 rows.
// CHECK-LABEL: func.func @mlp_and_embedding
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:           arith.divf
// CHECK:           arith.mulf
// CHECK:         linalg.generic
// CHECK:           arith.addf
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<?xi32>)
// CHECK:           arith.index_cast
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<100x128xbf16>
// CHECK:           arith.extf
func.func @mlp_and_embedding(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>, %ids: tensor<?xi32>)
    -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  %h = llm.swiglu %g, %u : tensor<?x128xf32>
  %r = llm.add %h, %g : tensor<?x128xf32>
  %t = llm.weight "emb" : tensor<100x128xbf16>
  %e = llm.embedding %t[%ids] : tensor<100x128xbf16>, tensor<?xi32> -> tensor<?x128xf32>
  return %r, %e : tensor<?x128xf32>, tensor<?x128xf32>
}

// -----

// The heavy ops stay for bufferization into runtime calls.
// CHECK-LABEL: func.func @heavy
// CHECK:         llm.linear
// CHECK:         llm.attention
func.func @heavy(%x: tensor<?x64xf32>, %pos: tensor<?xi32>,
                 %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
  %w = llm.weight "w" : tensor<32x64xf32>
  %k = llm.linear %x, %w : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %o = llm.attention %x, %k, %k, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

// Logits of selected rows: a gather of those rows, then the projection.
// CHECK-LABEL: func.func @logits
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[R:[a-z0-9]+]]: tensor<?xi32>
// CHECK:         %[[G:.*]] = linalg.generic {{.*}} ins(%[[R]] : tensor<?xi32>)
// CHECK:           tensor.extract %[[H]][%{{.*}}, %{{.*}}] : tensor<?x64xf32>
// CHECK:         llm.linear %[[G]], %{{.*}} : tensor<?x64xf32>, tensor<100x64xf32> -> tensor<?x100xf32>
func.func @logits(%h: tensor<?x64xf32>, %rows: tensor<?xi32>) -> tensor<?x100xf32> {
  %w = llm.weight "head" : tensor<100x64xf32>
  %l = llm.logits %h[%rows], %w : tensor<?x64xf32>, tensor<?xi32>, tensor<100x64xf32> -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}
