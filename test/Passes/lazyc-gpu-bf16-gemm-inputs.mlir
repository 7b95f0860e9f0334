// RUN: lazy-opt %s --lazyc-gpu-bf16-gemm-inputs | FileCheck %s

// Two projections of one elementwise result with bf16 weights: the
// truncation to bf16 is fused into the producing generic (which now yields
// bf16), both GEMMs read it, and their results stay f32.
// CHECK-LABEL: func.func @fused
// CHECK: %[[P:.*]] = linalg.generic
// CHECK: arith.addf
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: } -> tensor<?x64xbf16>
// CHECK-NOT: linalg.generic
// CHECK: llm.linear %[[P]], %{{.*}} : tensor<?x64xbf16>, tensor<32x64xbf16> -> tensor<?x32xf32>
// CHECK: llm.linear %[[P]], %{{.*}} : tensor<?x64xbf16>, tensor<16x64xbf16> -> tensor<?x16xf32>
func.func @fused(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<?x64xf32>
  %w1 = llm.weight "w1" : tensor<32x64xbf16>
  %p1 = llm.linear %s, %w1 : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %w2 = llm.weight "w2" : tensor<16x64xbf16>
  %p2 = llm.linear %s, %w2 : tensor<?x64xf32>, tensor<16x64xbf16> -> tensor<?x16xf32>
  return %p1, %p2 : tensor<?x32xf32>, tensor<?x16xf32>
}


// f32 weights: nothing changes.
// CHECK-LABEL: func.func @f32_weights
// CHECK-NOT: truncf
// CHECK: llm.linear %arg0, %{{.*}} : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
func.func @f32_weights(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = llm.weight "w" : tensor<32x64xf32>
  %p = llm.linear %x, %w : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  return %p : tensor<?x32xf32>
}
