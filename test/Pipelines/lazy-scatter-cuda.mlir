// A user policy's lazy.scatter through the CUDA pipeline: the row loop is a
// generated kernel (PTX), reading 4 columns per thread as one vector when the
// buffers are aligned; no host access to device memory.
// RUN: lazy-opt %s --lazyc-cuda-pipeline="format=isa" | FileCheck %s

// CHECK-LABEL: llvm.func @scatter_rows(
// CHECK: gpu.launch_func @scatter_rows_scatter_0::@scatter_rows_scatter_0
// CHECK: gpu.binary @scatter_rows_scatter_0 {{.*}}.entry scatter_rows_scatter_0({{.*}}ld.global.v4.b32{{.*}}st.global.v4.b32
func.func @scatter_rows(%src: tensor<?x64xf32>, %dst: tensor<?x64xf32>, %idx: tensor<?xi32>) -> tensor<?x64xf32> {
  %r = lazy.scatter %src into %dst[%idx] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
