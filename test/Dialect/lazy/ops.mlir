// RUN: lazy-opt %s --split-input-file | lazy-opt --split-input-file | FileCheck %s
// RUN: lazy-opt %s --split-input-file --mlir-print-op-generic | lazy-opt --split-input-file | FileCheck %s

// CHECK: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5, 24 : 0.35]>}
module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5, 24 : 3.5e-1]>} {
}

// -----

// A floor on the kept sets; 0 (the default) is not printed.
// CHECK: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1, 22 : 0.5], min_keep = 32>}
module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1, 22 : 0.5], min_keep = 32>} {
}

// -----

// CHECK: module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1]>}
module attributes {lazy.schedule = #lazy.schedule<layers = 30, [17 : 0.1], min_keep = 0>} {
}

// -----

!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: func.func @select_and_gather
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x576xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[Q:[a-z0-9]+]]: tensor<?x576xf32>, %[[C:[a-z0-9]+]]: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>)
func.func @select_and_gather(%h: tensor<?x576xf32>, %pos: tensor<?xi32>, %q: tensor<?x576xf32>, %cache: !cache)
    -> (tensor<?x576xf32>, tensor<?xi32>, tensor<?x576xf32>) {
  // CHECK: %[[S:.*]] = lazy.scores %[[Q]], %[[C]], %[[POS]] {head_dim = 64 : i64, layer = 8 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, scale = 1.250000e-01 : f64}
  // CHECK-SAME: -> tensor<?xf32>
  %s = lazy.scores %q, %cache, %pos
      {layer = 8 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, head_dim = 64 : i64, scale = 0.125 : f64}
      : (tensor<?x576xf32>, !cache, tensor<?xi32>) -> tensor<?xf32>
  // CHECK: lazy.scores %[[Q]], %[[C]], %[[POS]] window %[[POS]] {head_dim = 64 : i64, layer = 8 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, scale = 1.250000e-01 : f64, window = 16 : i64}
  %sw = lazy.scores %q, %cache, %pos window %pos
      {layer = 8 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, head_dim = 64 : i64, scale = 0.125 : f64, window = 16 : i64}
      : (tensor<?x576xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  // CHECK: %[[I:.*]] = lazy.select %[[S]] {keep = 0.69999999999999996 : f64} : tensor<?xf32> -> tensor<?xi32>
  %idx = lazy.select %s {keep = 0.7 : f64} : tensor<?xf32> -> tensor<?xi32>
  // CHECK: lazy.select %[[S]] {keep = 1.000000e-01 : f64, min_keep = 32 : i64} : tensor<?xf32> -> tensor<?xi32>
  %floored = lazy.select %s {keep = 0.1 : f64, min_keep = 32 : i64} : tensor<?xf32> -> tensor<?xi32>
  // CHECK: %[[H2:.*]] = lazy.gather %[[H]][%[[I]]] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  %h2 = lazy.gather %h[%idx] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  // CHECK: %[[P2:.*]] = lazy.gather %[[POS]][%[[I]]] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
  %p2 = lazy.gather %pos[%idx] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
  // CHECK: lazy.scatter %[[H2]] into %[[H]][%[[I]]] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  %full = lazy.scatter %h2 into %h[%idx] : tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  return %h2, %p2, %full : tensor<?x576xf32>, tensor<?xi32>, tensor<?x576xf32>
}

// -----

!aux = !lazy.aux_cache<layers = 30, hidden = 576, f32>
!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: func.func @aux_cache
func.func @aux_cache(%h: tensor<?x576xf32>, %pos: tensor<?xi32>, %kept: tensor<?xi32>, %cache: !cache) -> tensor<?x576xf32> {
  // CHECK: %[[AUX:.*]] = lazy.aux_cache %{{.*}} : !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> !lazy.aux_cache<layers = 30, hidden = 576, f32>
  %aux = lazy.aux_cache %cache : !cache -> !aux
  // CHECK: lazy.aux_save %{{.*}}, %{{.*}} except %{{.*}} into %[[AUX]] {layer = 8 : i64} : tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>, !lazy.aux_cache<layers = 30, hidden = 576, f32>
  lazy.aux_save %h, %pos except %kept into %aux {layer = 8 : i64} : tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>, !aux
  // CHECK: %[[M:.*]] = lazy.missing %{{.*}}, %{{.*}} {layer = 9 : i64} : tensor<?xi32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> tensor<?xi32>
  %rows = lazy.missing %kept, %cache {layer = 9 : i64} : tensor<?xi32>, !cache -> tensor<?xi32>
  // CHECK: lazy.aux_load %[[AUX]][%[[M]]] fresh %{{.*}}, %{{.*}} {layer = 8 : i64} : !lazy.aux_cache<layers = 30, hidden = 576, f32>, tensor<?xi32>, tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  %r = lazy.aux_load %aux[%rows] fresh %h, %pos {layer = 8 : i64} : !aux, tensor<?xi32>, tensor<?x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
  return %r : tensor<?x576xf32>
}

// -----

!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: func.func @sets
func.func @sets(%pos: tensor<?xi32>, %s: tensor<?xf32>, %cache: !cache) -> (tensor<?xi32>, tensor<?xf32>, tensor<?xi32>) {
  // CHECK: %[[K:.*]] = lazy.context %{{.*}} : tensor<?xi32> -> tensor<?xi32>
  %keys = lazy.context %pos : tensor<?xi32> -> tensor<?xi32>
  // CHECK: lazy.random_scores %[[K]] {layer = 3 : i64, seed = 7 : i64} : tensor<?xi32> -> tensor<?xf32>
  %r = lazy.random_scores %keys {layer = 3 : i64, seed = 7 : i64} : tensor<?xi32> -> tensor<?xf32>
  // CHECK: lazy.select_once %{{.*}}, %[[K]], %{{.*}}, %{{.*}} {keep = 5.000000e-01 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, tensor<?xi32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> tensor<?xi32>
  %i = lazy.select_once %s, %keys, %pos, %cache {keep = 0.5 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, tensor<?xi32>, !cache -> tensor<?xi32>
  return %keys, %r, %i : tensor<?xi32>, tensor<?xf32>, tensor<?xi32>
}

// -----

!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: module attributes {lazy.reuse_bias = 6.400000e+01 : f64}
module attributes {lazy.reuse_bias = 64.0 : f64} {
// CHECK-LABEL: func.func @reuse_bias
func.func @reuse_bias(%s: tensor<?xf32>, %keys: tensor<?xi32>, %cache: !cache) -> tensor<?xf32> {
  // CHECK: lazy.reuse_bias %{{.*}}, %{{.*}}, %{{.*}} {bias = 6.400000e+01 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> tensor<?xf32>
  %b = lazy.reuse_bias %s, %keys, %cache {bias = 64.0 : f64, layer = 3 : i64} : tensor<?xf32>, tensor<?xi32>, !cache -> tensor<?xf32>
  return %b : tensor<?xf32>
}
}

// -----

!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: func.func @cache_keys
func.func @cache_keys(%cache: !cache) -> (memref<?x192xf32>, memref<?x192xbf16>) {
  // CHECK: lazy.cache_keys %{{.*}} {layer = 29 : i64} : !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> memref<?x192xf32>
  %k = lazy.cache_keys %cache {layer = 29 : i64} : !cache -> memref<?x192xf32>
  // The CUDA runtime's storage: bf16.
  // CHECK: lazy.cache_keys %{{.*}} {layer = 0 : i64} : !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32> -> memref<?x192xbf16>
  %b = lazy.cache_keys %cache {layer = 0 : i64} : !cache -> memref<?x192xbf16>
  return %k, %b : memref<?x192xf32>, memref<?x192xbf16>
}

// -----

!cache = !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>

// CHECK-LABEL: func.func @prune
func.func @prune(%h: tensor<?x576xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x576xf32>, %cache: !cache)
    -> (tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>) {
  // CHECK: lazy.prune %{{.*}}, %{{.*}}, %{{.*}} using %{{.*}}, %{{.*}} {head_dim = 64 : i64, keep = 5.000000e-01 : f64, layer = 8 : i64, num_heads = 9 : i64, num_kv_heads = 3 : i64, policy = "random", scale = 1.250000e-01 : f64}
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %cache
      {layer = 8 : i64, keep = 0.5 : f64, policy = "random", num_heads = 9 : i64,
       num_kv_heads = 3 : i64, head_dim = 64 : i64, scale = 0.125 : f64}
      : (tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x576xf32>, !cache) -> (tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x576xf32>, tensor<?xi32>, tensor<?xi32>
}
