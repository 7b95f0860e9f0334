// RUN: lazy-opt %s --convert-lazyc-to-llvm --reconcile-unrealized-casts | FileCheck %s

// The KV cache becomes an opaque pointer; public functions get C wrappers.
// CHECK: llvm.func @lazyc_rt_attention(!llvm.ptr, i64)
// CHECK-LABEL: llvm.func @step(%{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK:         llvm.call @lazyc_rt_attention(%{{.*}}, %{{.*}}) : (!llvm.ptr, i64) -> ()
// CHECK: llvm.func @_mlir_ciface_step(%{{.*}}: !llvm.ptr, %{{.*}}: i64)
func.func private @lazyc_rt_attention(!llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, i64)
func.func @step(%c: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, %n: i64) {
  call @lazyc_rt_attention(%c, %n) : (!llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 16, f32>, i64) -> ()
  return
}
