// RUN: lazy-opt %s --split-input-file --canonicalize | FileCheck %s

!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>

// A prune that keeps every token folds to its inputs.
// CHECK-LABEL: func.func @prune_keep_one
// CHECK-SAME:    (%[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[POS:[a-z0-9]+]]: tensor<?xi32>, %[[K:[a-z0-9]+]]: tensor<?xi32>
// CHECK-NEXT:    return %[[H]], %[[POS]], %[[K]]
func.func @prune_keep_one(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %q: tensor<?x64xf32>, %c: !cache)
    -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>) {
  %h2, %p2, %k2 = lazy.prune %h, %pos, %keys using %q, %c {layer = 1 : i64, keep = 1.0 : f64, policy = "lazyllm",
      num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x64xf32>, !cache) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
  return %h2, %p2, %k2 : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

// Gathers compose: the row set of a row set is one gather of the original.
// CHECK-LABEL: func.func @gather_of_gather
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[A:[a-z0-9]+]]: tensor<?xi32>, %[[B:[a-z0-9]+]]: tensor<?xi32>)
// CHECK:         %[[AB:.*]] = lazy.gather %[[A]][%[[B]]] : tensor<?xi32>, tensor<?xi32> -> tensor<?xi32>
// CHECK:         %[[R:.*]] = lazy.gather %[[X]][%[[AB]]] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
// CHECK:         return %[[R]]
func.func @gather_of_gather(%x: tensor<?x64xf32>, %a: tensor<?xi32>, %b: tensor<?xi32>) -> tensor<?x64xf32> {
  %1 = lazy.gather %x[%a] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %2 = lazy.gather %1[%b] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %2 : tensor<?x64xf32>
}
