// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// llm.linear / llm.attention bufferize into a result allocation
// and a call of the runtime kernel, passing raw addresses and sizes.
// CHECK-DAG: func.func private @lazyc_rt_linear(i64, i64, i64, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lazyc_rt_attention(!llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64)
// CHECK-LABEL: func.func @forward
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<?x64xf32>
// CHECK:         %[[WV:.*]] = memref.view %{{.*}} : memref<?xi8> to memref<32x64xbf16>
// CHECK:         %[[K:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x32xf32>
// CHECK:         %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:         %[[WP:.*]] = memref.extract_aligned_pointer_as_index %[[WV]]
// CHECK:         call @lazyc_rt_linear({{.*}}) : (i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xf32>
// CHECK:         call @lazyc_rt_attention(%{{.*}}) : (!llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64) -> ()
// The logits: a compiler-generated gather of the selected rows, then a GEMM.
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xf32>
// CHECK:         memref.load
// CHECK:         call @lazyc_rt_linear
// CHECK-NOT:     llm.
func.func @forward(%x: tensor<?x64xf32>, %pos: tensor<?xi32>, %rows: tensor<?xi32>,
                   %c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x10xf32> {
  %w = llm.weight "w" : tensor<32x64xbf16>
  %k = llm.linear %x, %w : tensor<?x64xf32>, tensor<32x64xbf16> -> tensor<?x32xf32>
  %o = llm.attention %x, %k, %k, %pos, %c {layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64}
      : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xi32>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>) -> tensor<?x64xf32>
  %head = llm.weight "head" : tensor<10x64xf32>
  %l = llm.logits %o[%rows], %head : tensor<?x64xf32>, tensor<?xi32>, tensor<10x64xf32> -> tensor<?x10xf32>
  return %l : tensor<?x10xf32>
}
