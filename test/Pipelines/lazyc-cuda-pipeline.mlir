// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" --lazy-sparsify --lazyc-cuda-pipeline="format=isa" | FileCheck %s
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" --lazy-sparsify --lazyc-cuda-pipeline="format=isa" | FileCheck %s --check-prefix=NAMES
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" --lazy-sparsify="window=8 pool=3" --lazyc-cuda-pipeline="format=isa" | FileCheck %s --check-prefix=WINDOW
// RUN: lazy-opt %lazy_src/test/examples/llama-2layer.mlir --lazy-insert-pruning="schedule=0:0.5" --lazy-sparsify --lazyc-cuda-pipeline="format=isa generated-selection=0 generated-scores=0" | FileCheck %s --check-prefix=RTSELECT

// The pruned 2-layer model reaches PTX for every kind of compiler-generated
// kernel (embedding gather, RMSNorm reduction and scaling, RoPE, SwiGLU,
// the importance scores (lazyc-scores-to-linalg: the last row's dots with the
// keys read in the bf16 KV cache, partial maxima and sums), the percentile
// selection (lazyc-select-to-linalg: ranks, mask, block scan, compaction),
// the gather of kept rows, the one-element last-row index; the residual adds
// are GEMM epilogues: test/Passes/lazyc-fuse-linear-add.mlir),
// embedded as gpu.binary ops; the host side calls the CUDA runtime's kernels
// and the mgpu* entry points. No host buffer is left.
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.
// CHECK-DAG: llvm.func @lazyc_gpu_linear{{(_ex)?}}(
// CHECK-DAG: llvm.func @lazyc_gpu_attention(!llvm.ptr,
// CHECK-DAG: llvm.func @lazyc_gpu_aux_save(
// CHECK-DAG: llvm.func @lazyc_gpu_aux_load(
// CHECK-DAG: llvm.func @lazyc_gpu_missing(
// CHECK-NOT: lazyc_gpu_select(
// CHECK-NOT: lazyc_gpu_scores(
// CHECK-LABEL: llvm.func @forward(
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func @forward_embedding_0::@forward_embedding_0
// CHECK: llvm.call @lazyc_gpu_linear
// CHECK: llvm.call @lazyc_gpu_attention
// The scores read layer 0's keys in the runtime's cache object (k, context).
// CHECK: llvm.getelementptr %[[CACHE:.*]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, ptr, i64)>
// CHECK: llvm.getelementptr %[[CACHE]][0, 2] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, ptr, i64)>
// CHECK: llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, bf16
// CHECK: gpu.launch_func
// CHECK: llvm.call @lazyc_gpu_select_size
// CHECK-NOT: lazyc_gpu_scores
// CHECK: llvm.func @_mlir_ciface_forward(
// Each kernel is PTX for sm_90 with its entry point.
// CHECK: gpu.binary @forward_embedding_0 [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">{{.*}}assembly = "{{.*}}.target sm_90{{.*}}.entry forward_embedding_0(
// CHECK-COUNT-20: gpu.binary @forward_[[KIND:[a-z_]+]]_[[N:[0-9]+]] {{.*}}.entry forward_[[KIND]]_[[N]](

// Kernels are named after the op they come from (lazyc-gpu-name-kernels:
// <function>_<op>_<N>), in the order they run.
// NAMES-LABEL: llvm.func @forward(
// NAMES: gpu.launch_func @forward_embedding_0::@forward_embedding_0
// NAMES: gpu.launch_func @forward_rms_norm_{{[0-9]+}}::@forward_rms_norm_{{[0-9]+}}
// NAMES: llvm.call @lazyc_gpu_linear
// NAMES: gpu.launch_func @forward_rope_{{[0-9]+}}::@forward_rope_{{[0-9]+}}
// NAMES: llvm.call @lazyc_gpu_attention
// NAMES: gpu.launch_func @forward_scores_{{[0-9]+}}
// NAMES: llvm.call @lazyc_gpu_select_size
// NAMES: gpu.launch_func @forward_select_{{[0-9]+}}
// NAMES: gpu.launch_func @forward_gather_{{[0-9]+}}
// NAMES: gpu.launch_func @forward_swiglu_{{[0-9]+}}
// The logits' row index is written by a one-thread kernel.
// NAMES: gpu.launch_func @forward_store_{{[0-9]+}}
// NAMES: gpu.launch_func @forward_logits_{{[0-9]+}}
// NAMES-NOT: gpu.launch_func @forward_kernel

// Observation-window scores are generated too (the window's rows counted on
// the device); the max-pooling over neighbouring keys is one more kernel.
// WINDOW-NOT: memref.alloc
// WINDOW-NOT: lazyc_gpu_window_scores
// WINDOW-LABEL: llvm.func @forward(
// WINDOW: llvm.getelementptr %{{.*}}[0, 2] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, ptr, i64)>
// WINDOW: gpu.launch_func
// WINDOW: gpu.binary {{.*}}max.NaN.f32

// With generated-selection=0 generated-scores=0 the runtime scores on the
// device and selects on the host (the scores are copied back).
// RTSELECT-DAG: llvm.func @lazyc_gpu_select_size(
// RTSELECT-DAG: llvm.func @lazyc_gpu_select(
// RTSELECT-LABEL: llvm.func @forward(
// RTSELECT: llvm.call @lazyc_gpu_scores
// RTSELECT: llvm.call @lazyc_gpu_select_size
// RTSELECT: llvm.call @lazyc_gpu_select(
