// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazyc-cpu-pipeline | FileCheck %s

// The whole 2-layer model reaches the LLVM dialect: compiler-generated loops
// plus calls of the runtime's kernels, and a C entry point.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.alloc
// CHECK-DAG: llvm.func @lazyc_rt_linear(
// CHECK-DAG: llvm.func @lazyc_rt_attention(!llvm.ptr,
// CHECK-DAG: llvm.func @malloc(
// CHECK-DAG: llvm.func @free(
// CHECK-LABEL: llvm.func @forward(
// CHECK-COUNT-15: llvm.call @lazyc_rt_linear
// CHECK: llvm.func @_mlir_ciface_forward(
