// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" --lazy-defer-mlp | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazy-defer-mlp | FileCheck %s --check-prefix=KEEP
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-defer-mlp | FileCheck %s --check-prefix=DENSE

// The prune after layer 0 selects from the layer's mid state (after the
// attention's residual add); layer 0's MLP runs after it, on the rows it
// returns, and layer 1 reads that.
// CHECK-LABEL: func.func @forward
// CHECK: %[[ATT:.*]] = llm.attention
// CHECK: %[[O:.*]] = llm.linear %[[ATT]]
// CHECK: %[[MID:.*]] = llm.add %{{.*}}, %[[O]]
// CHECK-NOT: llm.rms_norm %[[MID]]
// CHECK: %[[H:.*]], %[[P:.*]], %[[K:.*]] = lazy.prune %[[MID]], %{{.*}}, %{{.*}} using
// CHECK: %[[N:.*]] = llm.rms_norm %[[H]]
// CHECK: %[[G:.*]] = llm.linear %[[N]]
// CHECK: %[[U:.*]] = llm.linear %[[N]]
// CHECK: %[[S:.*]] = llm.swiglu %[[G]], %[[U]]
// CHECK: %[[D:.*]] = llm.linear %[[S]]
// CHECK: %[[OUT:.*]] = llm.add %[[H]], %[[D]]
// CHECK: llm.rms_norm %[[OUT]]
// CHECK: %[[ATT1:.*]] = llm.attention {{.*}} keys(%[[K]])
// The last layer past its attention (output projection, residual, MLP,
// final norm) runs on the logits' row only: its residual input and attention
// output are gathered first, and the logits read row 0..k-1 of the result.
// CHECK: %[[ROWS:.*]] = tensor.from_elements
// CHECK: %[[X:.*]] = lazy.gather %[[OUT]][%[[ROWS]]]
// CHECK: %[[A:.*]] = lazy.gather %[[ATT1]][%[[ROWS]]]
// CHECK: %[[O1:.*]] = llm.linear %[[A]]
// CHECK: llm.add %[[X]], %[[O1]]
// CHECK: llm.swiglu
// CHECK: llm.add
// CHECK: %[[FINAL:.*]] = llm.rms_norm
// CHECK: %[[IOTA:.*]] = linalg.generic
// CHECK: linalg.index 0
// CHECK: %[[SEQ:.*]] = tensor.cast %[[IOTA]] : tensor<?xi32> to tensor<1xi32>
// CHECK: llm.logits %[[FINAL]][%[[SEQ]]]

// The dense model: the same for the rows it is asked logits of (%arg3).
// DENSE-LABEL: func.func @forward
// DENSE: %[[ATT1:.*]] = llm.attention {{.*}} layer = 1
// DENSE: lazy.gather %{{.*}}[%arg3]
// DENSE: lazy.gather %[[ATT1]][%arg3]
// DENSE: llm.logits

// -----

// The MLP's output is also read elsewhere (all rows of it): left as it is.
!cache = !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 4, f32>
// KEEP-LABEL: func.func @read_elsewhere
// KEEP: %[[Y:.*]] = llm.add %{{.*}}, %{{.*}} : tensor<?x4xf32>
// KEEP: lazy.prune %[[Y]]
func.func @read_elsewhere(%m: tensor<?x4xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>,
                          %q: tensor<?x4xf32>, %c: !cache) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %w = llm.weight "w" : tensor<4x4xf32>
  %f = llm.linear %m, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %y = llm.add %m, %f : tensor<?x4xf32>
  %h, %p, %k = lazy.prune %y, %pos, %keys using %q, %c
      {layer = 0 : i64, keep = 5.000000e-01 : f64, policy = "lazyllm", num_heads = 1 : i64,
       num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 5.000000e-01 : f64}
      : (tensor<?x4xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xf32>, !cache)
      -> (tensor<?x4xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h, %f : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// The branch reads something that is not computed row by row from the mid
// state (here another tensor): left as it is.
!cache = !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 4, f32>
// KEEP-LABEL: func.func @not_from_the_stream
// KEEP: %[[Y:.*]] = llm.add %{{.*}}, %{{.*}} : tensor<?x4xf32>
// KEEP: lazy.prune %[[Y]]
func.func @not_from_the_stream(%m: tensor<?x4xf32>, %other: tensor<?x4xf32>, %pos: tensor<?xi32>,
                               %keys: tensor<?xi32>, %q: tensor<?x4xf32>, %c: !cache)
    -> tensor<?x4xf32> {
  %w = llm.weight "w" : tensor<4x4xf32>
  %f = llm.linear %other, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %y = llm.add %m, %f : tensor<?x4xf32>
  %h, %p, %k = lazy.prune %y, %pos, %keys using %q, %c
      {layer = 0 : i64, keep = 5.000000e-01 : f64, policy = "lazyllm", num_heads = 1 : i64,
       num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 5.000000e-01 : f64}
      : (tensor<?x4xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xf32>, !cache)
      -> (tensor<?x4xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h : tensor<?x4xf32>
}
