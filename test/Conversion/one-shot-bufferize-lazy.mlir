// RUN: lazy-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// The lazy ops bufferize into runtime kernel calls (runtime/cpu/LazyKernels.cpp):
// results of data-dependent size first ask the kernel for their size.
!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, f32>
!aux = !lazy.aux_cache<layers = 4, hidden = 64, f32>

// CHECK-LABEL: func.func @step
// CHECK:         %[[N:.*]] = call @lazyc_rt_context_size(%{{.*}}, %{{.*}}) : (i64, i64) -> i64
// CHECK:         %[[NI:.*]] = arith.index_cast %[[N]] : i64 to index
// CHECK:         memref.alloc(%[[NI]]) {alignment = 64 : i64} : memref<?xi32>
// CHECK:         call @lazyc_rt_context(
// CHECK:         call @lazyc_rt_scores(%{{.*}}, %{{.*}}) : (!llm.kv_cache<{{.*}}>, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64) -> ()
// CHECK:         call @lazyc_rt_select_size(%{{.*}}, %{{.*}}, %{{.*}}) : (i64, f64, i64) -> i64
// CHECK:         call @lazyc_rt_select(
// CHECK:         call @lazyc_rt_aux_save(%{{.*}}) : (!lazy.aux_cache<{{.*}}>, i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK:         call @lazyc_rt_missing_size(
// CHECK:         call @lazyc_rt_missing(
// CHECK:         call @lazyc_rt_aux_load(
// CHECK:         call @lazyc_rt_attention({{.*}}) : (!llm.kv_cache<{{.*}}>, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64) -> ()
// CHECK-NOT:     lazy.scores
func.func @step(%h: tensor<?x64xf32>, %pos: tensor<?xi32>, %q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %c: !cache) -> tensor<?x64xf32> {
  %keys = lazy.context %pos : tensor<?xi32> -> tensor<?xi32>
  %s = lazy.scores %q, %c, %keys {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, !cache, tensor<?xi32>) -> tensor<?xf32>
  %idx = lazy.select %s {keep = 0.5 : f64} : tensor<?xf32> -> tensor<?xi32>
  %aux = lazy.aux_cache %c : !cache -> !aux
  lazy.aux_save %h, %pos except %idx into %aux {layer = 0 : i64} : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>, !aux
  %rows = lazy.missing %idx, %c {layer = 1 : i64} : tensor<?xi32>, !cache -> tensor<?xi32>
  %h2 = lazy.aux_load %aux[%rows] fresh %h, %pos {layer = 0 : i64} : !aux, tensor<?xi32>, tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %o = llm.attention %h2, %k, %k, %rows, %c keys(%idx) {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !cache, tensor<?xi32>) -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// An observation window calls the window kernel with the rows' positions.
// CHECK-LABEL: func.func @window
// CHECK:         call @lazyc_rt_window_scores(%{{.*}}) : (!llm.kv_cache<{{.*}}>, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, i64, i64, f64) -> ()
// CHECK-NOT:     lazy.scores
func.func @window(%q: tensor<?x64xf32>, %pos: tensor<?xi32>, %keys: tensor<?xi32>, %c: !cache) -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys window %pos {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, window = 8 : i64}
      : (tensor<?x64xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// lazy.reuse_bias: the kernel writes the biased scores into a fresh buffer
// of the scores' size (cache, layer, scores, keys, n, bias, out).
// CHECK-LABEL: func.func @reuse_bias
// CHECK:         memref.dim %{{.*}}, %c0
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK:         %[[B:.*]] = arith.constant 6.400000e+01 : f64
// CHECK:         call @lazyc_rt_reuse_bias(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B]], %{{.*}}) : (!llm.kv_cache<{{.*}}>, i64, i64, i64, i64, f64, i64) -> ()
// CHECK-NOT:     lazy.reuse_bias
func.func @reuse_bias(%s: tensor<?xf32>, %keys: tensor<?xi32>, %c: !cache) -> tensor<?xf32> {
  %b = lazy.reuse_bias %s, %keys, %c {bias = 64.0 : f64, layer = 1 : i64} : tensor<?xf32>, tensor<?xi32>, !cache -> tensor<?xf32>
  return %b : tensor<?xf32>
}
