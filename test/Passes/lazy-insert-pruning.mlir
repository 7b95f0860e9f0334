// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" | FileCheck %s
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-set-schedule="schedule=0:0.25" --lazy-insert-pruning="policy=random" | FileCheck %s --check-prefix=FROMATTR
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5 min-keep=16" | FileCheck %s --check-prefix=FLOOR
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-set-schedule="schedule=0:0.25 min-keep=8" --lazy-insert-pruning | FileCheck %s --check-prefix=FLOORATTR
// RUN: not lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-set-schedule="schedule=0:0.25" --lazy-insert-pruning="min-keep=8" 2>&1 | FileCheck %s --check-prefix=FLOORNOSCHED
// RUN: not lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning 2>&1 | FileCheck %s --check-prefix=NOSCHED
// RUN: not lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=1:0.5" 2>&1 | FileCheck %s --check-prefix=FINALLAYER
// RUN: not lazy-opt %s --lazy-insert-pruning="schedule=0:0.5" 2>&1 | FileCheck %s --check-prefix=NOSTREAM

// S_0 is the whole context. The prune sits on the residual stream leaving
// layer 0, scored by layer 0's post-RoPE queries over S_0; layer 1 computes
// the rows the prune returns, at their original positions, attending over
// S_1; the logits come from the last row (the step's token).
// CHECK: module attributes {lazy.policy = "lazyllm", lazy.schedule = #lazy.schedule<layers = 2, [0 : 0.5]>}
// CHECK-LABEL: func.func @forward
// CHECK-SAME:    %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[CACHE:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         %[[S0:.*]] = lazy.context %[[POS]]
// CHECK:         %[[Q0:.*]] = llm.rope %{{.*}}, %[[POS]]
// CHECK:         llm.attention %[[Q0]], %{{.*}}, %{{.*}}, %[[POS]], %[[CACHE]] {{{.*}}layer = 0 : i64
// CHECK:         llm.add
// CHECK:         %[[X1:.*]] = llm.add
// CHECK:         %[[H:.*]], %[[P:.*]], %[[S1:.*]] = lazy.prune %[[X1]], %[[POS]], %[[S0]] using %[[Q0]], %[[CACHE]] {{{.*}}keep = 5.000000e-01 : f64, layer = 0 : i64{{.*}}policy = "lazyllm"
// CHECK:         llm.rms_norm %[[H]]
// CHECK:         llm.rope %{{.*}}, %[[P]]
// CHECK:         llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[P]], %[[CACHE]] keys(%[[S1]]) {{{.*}}layer = 1 : i64
// CHECK:         llm.add %[[H]]
// CHECK:         %[[N:.*]] = tensor.dim %[[OUT:.*]], %{{.*}} : tensor<?x64xf32>
// CHECK:         %[[ROW:.*]] = tensor.from_elements %{{.*}} : tensor<1xi32>
// CHECK:         llm.logits %[[OUT]][%[[ROW]]], %{{.*}} -> tensor<1x256xf32>
// CHECK-NOT:     lazy.prune

// FROMATTR: lazy.prune {{.*}}keep = 2.500000e-01 : f64, layer = 0 : i64{{.*}}policy = "random"
// The schedule's floor goes on every prune.
// FLOOR: lazy.schedule = #lazy.schedule<layers = 2, [0 : 0.5], min_keep = 16>
// FLOOR: lazy.prune {{.*}}keep = 5.000000e-01 : f64, layer = 0 : i64, min_keep = 16 : i64
// FLOORATTR: lazy.prune {{.*}}keep = 2.500000e-01 : f64, layer = 0 : i64, min_keep = 8 : i64
// FLOORNOSCHED: error: min-keep goes with this pass's schedule option (schedule=... min-keep=N); the module's lazy.schedule carries its own floor (--lazy-set-schedule="... min-keep=N")
// NOSCHED: error: no pruning schedule: run --lazy-set-schedule first or pass --lazy-insert-pruning="schedule=..."
// FINALLAYER: error: invalid schedule '1:0.5': schedule prunes after layer 1, out of range [0, 1) for a model of 2 layers

// A query that no projection of the residual stream computes (neither
// rope(linear(rms_norm(x))) nor OLMo 2's rope(rms_norm(linear(x)))): there is
// no stream to prune.
// NOSTREAM: error: cannot find the residual stream entering layer 1 (expected rope(linear(rms_norm(x))) or rope(rms_norm(linear(x))))
func.func @forward(%pos: tensor<?xi32>, %cache: !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 8, f32>,
                   %q: tensor<?x8xf32>, %k: tensor<?x8xf32>, %v: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %a0 = llm.attention %q, %k, %v, %pos, %cache {layer = 0 : i64, num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 8 : i64, scale = 0.25 : f64}
      : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 8, f32>) -> tensor<?x8xf32>
  %a1 = llm.attention %a0, %k, %v, %pos, %cache {layer = 1 : i64, num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 8 : i64, scale = 0.25 : f64}
      : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>, !llm.kv_cache<layers = 2, kv_heads = 1, head_dim = 8, f32>) -> tensor<?x8xf32>
  return %a1 : tensor<?x8xf32>
}
