// RUN: lazy-opt %s --split-input-file --lazy-sparsify --verify-diagnostics | FileCheck %s

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// CHECK-LABEL: func.func @lazyllm
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         %[[S:.*]] = lazy.scores %[[Q]], %[[C]], %[[POS]] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64}
// CHECK:         %[[I:.*]] = lazy.select %[[S]] {keep = 0.69999999999999996 : f64} : tensor<?xf32> -> tensor<?xi32>
// CHECK:         %[[H2:.*]] = lazy.gather %[[H]][%[[I]]] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
// CHECK:         %[[P2:.*]] = lazy.gather %[[POS]][%[[I]]] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
// CHECK:         return %[[H2]], %[[P2]]
// CHECK-NOT:     lazy.prune
func.func @lazyllm(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>) {
  %h2, %p2 = lazy.prune %h, %pos using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>)
  return %h2, %p2 : tensor<?x64xf32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// A keep ratio of 1 disappears, whatever the policy.
// CHECK-LABEL: func.func @keep_all
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>
// CHECK-NEXT:    return %[[H]], %[[POS]]
func.func @keep_all(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>) {
  %h2, %p2 = lazy.prune %h, %pos using %q, %c {layer = 1 : i64, keep = 1.0 : f64, policy = "random",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>)
  return %h2, %p2 : tensor<?x64xf32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

func.func @random(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>) {
  // expected-error @+1 {{policy 'random' has no expansion yet (lazy-sparsify expands 'lazyllm')}}
  %h2, %p2 = lazy.prune %h, %pos using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "random",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>)
  return %h2, %p2 : tensor<?x64xf32>, tensor<?xi32>
}
