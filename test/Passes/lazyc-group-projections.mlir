// RUN: lazy-opt %s --lazyc-group-projections | FileCheck %s

// Q and K read the same input; RoPE of Q sat between them. After the pass the
// two projections are adjacent (their weights before them), so the CUDA
// runtime converts %x to bf16 once.
// CHECK-LABEL: func.func @qk
// CHECK: %[[WQ:.*]] = llm.weight "wq"
// CHECK: %[[WK:.*]] = llm.weight "wk"
// CHECK: %[[Q:.*]] = llm.linear %arg0, %[[WQ]]
// CHECK-NEXT: llm.linear %arg0, %[[WK]]
// CHECK-NEXT: llm.rope %[[Q]]
func.func @qk(%x: tensor<?x64xf32>, %pos: tensor<?xi32>) -> (tensor<?x64xf32>, tensor<?x32xf32>) {
  %wq = llm.weight "wq" : tensor<64x64xf32>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %qr = llm.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %wk = llm.weight "wk" : tensor<32x64xf32>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
  return %qr, %k : tensor<?x64xf32>, tensor<?x32xf32>
}
