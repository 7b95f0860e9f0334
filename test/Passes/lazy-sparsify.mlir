// RUN: lazy-opt %s --split-input-file --lazy-sparsify="seed=7" --verify-diagnostics | FileCheck %s

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// lazyllm: last-token scores over S_l, percentile selection, S_{l+1}, Aux
// Cache saves of the dropped rows, the rows layer l+1 lacks, their inputs.
// CHECK-LABEL: func.func @lazyllm
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[K:[a-z0-9]+]]: tensor<?xi32>, %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         %[[S:.*]] = lazy.scores %[[Q]], %[[C]], %[[K]] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64}
// CHECK:         %[[I:.*]] = lazy.select %[[S]] {keep = 0.69999999999999996 : f64} : tensor<?xf32> -> tensor<?xi32>
// CHECK:         %[[K2:.*]] = lazy.gather %[[K]][%[[I]]] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
// CHECK:         %[[AUX:.*]] = lazy.aux_cache %[[C]] : {{.*}} -> !lazy.aux_cache<layers = 4, hidden = 64, f32>
// CHECK:         lazy.aux_save %[[H]], %[[POS]] except %[[K2]] into %[[AUX]] {layer = 1 : i64}
// CHECK:         %[[P2:.*]] = lazy.missing %[[K2]], %[[C]] {layer = 2 : i64}
// CHECK:         %[[H2:.*]] = lazy.aux_load %[[AUX]][%[[P2]]] fresh %[[H]], %[[POS]] {layer = 1 : i64}
// CHECK:         return %[[H2]], %[[P2]], %[[K2]]
// CHECK-NOT:     lazy.prune
func.func @lazyllm(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// A keep ratio of 1 disappears, whatever the policy.
// CHECK-LABEL: func.func @keep_all
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[K:[a-z0-9]+]]: tensor<?xi32>
// CHECK-NEXT:    return %[[H]], %[[POS]], %[[K]]
func.func @keep_all(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 1.0 : f64, policy = "random",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// random: hashed scores (the pass's seed), then the same selection (with the
// prune's floor, min_keep) and revival.
// CHECK-LABEL: func.func @random
// CHECK-SAME:    %[[K:[a-z0-9]+]]: tensor<?xi32>, %{{[a-z0-9]+}}: tensor<?x64xf32>
// CHECK:         %[[S:.*]] = lazy.random_scores %[[K]] {layer = 1 : i64, seed = 7 : i64}
// CHECK:         lazy.select %[[S]] {keep = 5.000000e-01 : f64, min_keep = 3 : i64}
// CHECK:         lazy.aux_save
// CHECK:         lazy.missing
// CHECK:         lazy.aux_load
func.func @random(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "random", min_keep = 3 : i64,
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// static: the first step selects by attention; later steps keep what the next
// layer already holds (lazy.select_once), so nothing is ever revived.
// CHECK-LABEL: func.func @static
// CHECK-SAME:    (%{{.*}}: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[K:[a-z0-9]+]]: tensor<?xi32>, %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         %[[S:.*]] = lazy.scores %[[Q]], %[[C]], %[[K]]
// CHECK:         %[[I:.*]] = lazy.select_once %[[S]], %[[K]], %[[POS]], %[[C]] {keep = 5.000000e-01 : f64, layer = 1 : i64, min_keep = 12 : i64}
// CHECK:         lazy.gather %[[K]][%[[I]]]
func.func @static(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "static", min_keep = 12 : i64,
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

func.func @user_policy(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  // expected-error @+1 {{no expansion for pruning policy 'mine': run the pass that implements it before --lazy-sparsify (built in: lazyllm, random, static)}}
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.5 : f64, policy = "mine",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}
