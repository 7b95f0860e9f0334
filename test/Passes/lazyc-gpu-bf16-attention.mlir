// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg --canonicalize --lazyc-gpu-bf16-attention --canonicalize | FileCheck %s
// With the importance scores generated (the CUDA default), they read the
// query's last row as a slice: the query goes bf16 too.
// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg --lazyc-scores-to-linalg="cache-element-type=bf16" --canonicalize --lazyc-gpu-bf16-attention --canonicalize | FileCheck %s --check-prefix=GEN

// A dense layer's attention: RoPE writes the bf16 query and key (the
// truncation fused into it), V's GEMM writes bf16, and the output projection
// reads the bf16 result.
// CHECK-LABEL: func.func @layer
// CHECK:         %[[V:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xbf16>
// CHECK:           math.cos
// CHECK:         %[[Q:.*]] = linalg.generic
// CHECK:           tensor.extract
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         } -> tensor<?x64xbf16>
// CHECK:           math.cos
// CHECK:         %[[K:.*]] = linalg.generic
// CHECK:           tensor.extract
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         } -> tensor<?x32xbf16>
// CHECK-NOT:     linalg.generic
// CHECK:         %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], {{.*}} : (tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, {{.*}}) -> tensor<?x64xbf16>
// CHECK:         llm.linear %[[A]], %{{.*}} acc %{{.*}} : tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
func.func @layer(%x: tensor<?x64xf32>, %pos: tensor<?xi32>, %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
  %wq = llm.weight "q" : tensor<64x64xbf16>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %wk = llm.weight "k" : tensor<32x64xbf16>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %wv = llm.weight "v" : tensor<32x64xbf16>
  %v = llm.linear %x, %wv : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %qr = llm.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr = llm.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %a = llm.attention %qr, %kr, %v, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %wo = llm.weight "o" : tensor<64x64xbf16>
  %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %h : tensor<?x64xf32>
}

// -----

// A pruning layer: the importance scores read the query too, so it stays
// f32 (key and value still go bf16); an output that something other than a
// GEMM reads stays f32.
// GEN-LABEL: func.func @scored
// GEN:         %[[Q:[0-9]+]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x64xbf16>)
// GEN:           tensor.extract
// GEN:           arith.truncf %{{.*}} : f32 to bf16
// GEN:         llm.attention %[[Q]], {{.*}} : (tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, {{.*}}) -> tensor<?x64xf32>
// GEN:         %[[ROW:.*]] = tensor.extract_slice %[[Q]][%{{.*}}, 0] [1, 64] [1, 1] : tensor<?x64xbf16> to tensor<1x64xbf16>
// GEN:         linalg.generic {{.*}} ins(%[[ROW]] : tensor<1x64xbf16>)
// GEN:           arith.extf %{{.*}} : bf16 to f32
// GEN-NOT:     lazy.scores
// CHECK-LABEL: func.func @scored
// CHECK:         llm.attention {{.*}} : (tensor<?x64xf32>, tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>, {{.*}}) -> tensor<?x64xf32>
// CHECK:         lazy.scores {{.*}} : (tensor<?x64xf32>,
func.func @scored(%x: tensor<?x64xf32>, %pos: tensor<?xi32>, %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xf32>) {
  %wq = llm.weight "q" : tensor<64x64xbf16>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %wk = llm.weight "k" : tensor<32x64xbf16>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %wv = llm.weight "v" : tensor<32x64xbf16>
  %v = llm.linear %x, %wv : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %qr = llm.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr = llm.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %a = llm.attention %qr, %kr, %v, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %s0 = lazy.context %pos : tensor<?xi32> -> tensor<?xi32>
  %sc = lazy.scores %qr, %c, %s0 {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, tensor<?xi32>) -> tensor<?xf32>
  return %a, %sc : tensor<?x64xf32>, tensor<?xf32>
}

// -----

// f32 weights: nothing changes.
// CHECK-LABEL: func.func @f32_model
// CHECK:         llm.attention {{.*}} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, {{.*}}) -> tensor<?x64xf32>
// CHECK-NOT:     arith.truncf
func.func @f32_model(%x: tensor<?x64xf32>, %pos: tensor<?xi32>, %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32> {
  %wq = llm.weight "q" : tensor<64x64xf32>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %wk = llm.weight "k" : tensor<32x64xf32>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %wv = llm.weight "v" : tensor<32x64xf32>
  %v = llm.linear %x, %wv : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  %qr = llm.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %kr = llm.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %a = llm.attention %qr, %kr, %v, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %wo = llm.weight "o" : tensor<64x64xf32>
  %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %h : tensor<?x64xf32>
}
