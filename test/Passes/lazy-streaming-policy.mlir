// RUN: lazy-opt %s --lazy-streaming-policy="sinks=2" | FileCheck %s
// RUN: lazy-opt %s --lazy-streaming-policy --lazy-sparsify --convert-llm-to-linalg | FileCheck %s --check-prefix=LOWERED
// RUN: not lazy-opt %s --lazy-streaming-policy="sinks=-1" 2>&1 | FileCheck %s --check-prefix=BAD

// The worked example of a user pruning policy (docs/writing-a-pruning-pass.md):
// scores = sink ? 2^30 : position, computed by a linalg.generic; the shared
// helpers emit the selection, the Aux Cache and the revival.
!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// CHECK-LABEL: func.func @streaming
// CHECK-SAME:    %[[K:[a-z0-9]+]]: tensor<?xi32>, %{{[a-z0-9]+}}: tensor<?x64xf32>
// CHECK:         %[[S:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<?xi32>)
// CHECK:           %[[TWO:.*]] = arith.constant 2 : i32
// CHECK:           arith.cmpi slt, %{{.*}}, %[[TWO]] : i32
// CHECK:           arith.sitofp
// CHECK:           arith.select
// CHECK:         lazy.select %[[S]] {keep = 2.500000e-01 : f64}
// CHECK:         lazy.aux_save
// CHECK:         lazy.missing
// CHECK:         lazy.aux_load
// CHECK:         lazy.prune {{.*}}policy = "lazyllm"
func.func @streaming(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.25 : f64, policy = "streaming",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  // Other policies are left to their own passes.
  %h3, %p3, %k3 = lazy.prune %h2, %p2, %k2 using %q, %c {layer = 2 : i64, keep = 0.5 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h3, %p3, %k3 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// After lazy-sparsify and the linalg conversion only kernel-backed lazy ops
// remain; the key-set gather became a linalg.generic.
// LOWERED-NOT: lazy.prune
// LOWERED-NOT: lazy.gather
// LOWERED:     lazy.select
// BAD: error: --lazy-streaming-policy: sinks must be >= 0, got -1
