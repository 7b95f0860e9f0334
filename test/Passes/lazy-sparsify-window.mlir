// RUN: lazy-opt %s --split-input-file --lazy-sparsify="window=32 pool=5" --verify-diagnostics | FileCheck %s
// RUN: not lazy-opt %s --lazy-sparsify="window=0" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not lazy-opt %s --lazy-sparsify="pool=4" 2>&1 | FileCheck %s --check-prefix=BAD

// Observation window + max-pooling (ours; SnapKV-style): the scores average
// the query rows of the last 32 positions (their positions: the prune's rows),
// then every key takes the maximum over its 5 neighbours in S_l: a linalg.generic
// reading keys j-2..j+2, clamped to [0, n).
// CHECK-LABEL: module attributes {lazy.score_pool = 5 : i64, lazy.score_window = 32 : i64}
// CHECK-LABEL: func.func @lazyllm
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[K:[a-z0-9]+]]: tensor<?xi32>, %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         %[[S:.*]] = lazy.scores %[[Q]], %[[C]], %[[K]] window %[[POS]] {{{.*}}window = 32 : i64}
// CHECK:         %[[N:.*]] = tensor.dim %[[S]], %c0
// CHECK:         %[[LAST:.*]] = arith.subi %[[N]], %c1
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<?xf32>)
// CHECK:           %[[J:.*]] = linalg.index 0
// CHECK-COUNT-4:   tensor.extract %[[S]]
// CHECK:           linalg.yield
// CHECK:         %[[I:.*]] = lazy.select %[[P]] {keep = 0.69999999999999996 : f64}
// CHECK:         lazy.gather %[[K]][%[[I]]]
func.func @lazyllm(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}
// BAD: error: --lazy-sparsify: window must be >= 1 and pool odd in [1, 65]

// -----

// static uses the same scores; random ignores window and pool.
// CHECK-LABEL: func.func @static_and_random
// CHECK:         %[[S:.*]] = lazy.scores {{.*}} window {{.*}}window = 32 : i64}
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<?xf32>)
// CHECK:         lazy.select_once %[[P]]
// CHECK:         %[[R:.*]] = lazy.random_scores
// CHECK-NEXT:    lazy.select %[[R]]
func.func @static_and_random(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "static",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  %h3, %p3, %k3 = lazy.prune %h2, %p2, %k2 using %q, %c {layer = 2 : i64, keep = 0.5 : f64, policy = "random",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h3, %p3, %k3 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}
