// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazyc-cpu-pipeline | FileCheck %s
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazyc-cpu-pipeline=fuse-projections=0 | FileCheck %s --check-prefix=NOPROJ

// The whole 2-layer model reaches the LLVM dialect: compiler-generated loops
// plus calls of the runtime's kernels, and a C entry point.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.alloc
// CHECK-DAG: llvm.func @lazyc_rt_linear(
// CHECK-DAG: llvm.func @lazyc_rt_linear_ex(
// CHECK-DAG: llvm.func @lazyc_rt_attention(!llvm.ptr,
// CHECK-DAG: llvm.func @malloc(
// CHECK-DAG: llvm.func @free(
// CHECK-LABEL: llvm.func @forward(
// Per layer: Q with K (one GEMM on the stacked weights,
// lazyc-fuse-projections) and V plain GEMMs; the attention output and down
// projections accumulate into the residual stream (lazyc-fuse-linear-add,
// last argument 1); up with gate one GEMM; then the logits.
// CHECK-COUNT-2: llvm.call @lazyc_rt_linear(
// CHECK: llvm.call @lazyc_rt_attention
// CHECK: llvm.call @lazyc_rt_linear_ex({{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK-COUNT-1: llvm.call @lazyc_rt_linear(
// CHECK: llvm.call @lazyc_rt_linear_ex(
// CHECK-COUNT-2: llvm.call @lazyc_rt_linear(
// CHECK: llvm.call @lazyc_rt_attention
// CHECK: llvm.call @lazyc_rt_linear_ex(
// CHECK-COUNT-1: llvm.call @lazyc_rt_linear(
// CHECK: llvm.call @lazyc_rt_linear_ex(
// CHECK: llvm.call @lazyc_rt_linear(
// CHECK-NOT: llvm.call @lazyc_rt_linear
// CHECK: llvm.func @_mlir_ciface_forward(
// Without lazyc-fuse-projections: a GEMM per projection (Q, K, V; gate, up).
// NOPROJ-LABEL: llvm.func @forward(
// NOPROJ-COUNT-3: llvm.call @lazyc_rt_linear(
// NOPROJ: llvm.call @lazyc_rt_attention
// NOPROJ: llvm.call @lazyc_rt_linear_ex(
// NOPROJ-COUNT-2: llvm.call @lazyc_rt_linear(
// NOPROJ: llvm.call @lazyc_rt_linear_ex(
