// RUN: lazy-opt %s --split-input-file --lazy-sparsify="window=32 pool=5 reuse-bias=64" --verify-diagnostics | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazy-sparsify | FileCheck %s --check-prefix=PAPER
// RUN: not lazy-opt %s --lazy-sparsify="reuse-bias=0.5" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not lazy-opt %s --lazy-sparsify="reuse-bias=nan" 2>&1 | FileCheck %s --check-prefix=BAD

// reuse-bias (ours): between the (window, pooled) scores and the percentile,
// lazy.reuse_bias multiplies the score of each key that the next layer
// already holds by the bias; the selection reads the biased scores.
// CHECK-LABEL: module attributes {lazy.reuse_bias = 6.400000e+01 : f64, lazy.score_pool = 5 : i64, lazy.score_window = 32 : i64}
// CHECK-LABEL: func.func @lazyllm
// CHECK-SAME:    %[[K:[a-z0-9]+]]: tensor<?xi32>, %{{[a-z0-9]+}}: tensor<?x64xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache
// CHECK:         lazy.scores
// CHECK:         %[[P:.*]] = linalg.generic
// CHECK:         %[[B:.*]] = lazy.reuse_bias %[[P]], %[[K]], %[[C]] {bias = 6.400000e+01 : f64, layer = 1 : i64}
// CHECK:         %[[I:.*]] = lazy.select %[[B]] {keep = 0.69999999999999996 : f64}
// CHECK:         lazy.gather %[[K]][%[[I]]]
// Without the option: the paper's selection, no bias, no attribute.
// PAPER-NOT:     lazy.reuse_bias
// PAPER-NOT:     reuse_bias
// BAD: error: --lazy-sparsify: reuse-bias must be a finite number >= 1, got
func.func @lazyllm(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

// random's hashed scores are biased the same way.
// CHECK-LABEL: func.func @random
// CHECK:         %[[R:.*]] = lazy.random_scores
// CHECK-NEXT:    %[[B:.*]] = lazy.reuse_bias %[[R]], {{.*}} {bias = 6.400000e+01 : f64, layer = 2 : i64}
// CHECK-NEXT:    lazy.select %[[B]]
func.func @random(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 2 : i64, keep = 0.5 : f64, policy = "random",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

// static never revives: a bias is refused.
func.func @static(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  // expected-error @+1 {{--lazy-sparsify: reuse-bias applies to the lazyllm and random policies; static never revives a token}}
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 0.7 : f64, policy = "static",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}
