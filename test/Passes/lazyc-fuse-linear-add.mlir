// RUN: lazy-opt %s --split-input-file --lazyc-fuse-linear-add | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazyc-fuse-linear-add --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF
// RUN: lazy-opt %s --split-input-file --lazyc-cuda-pipeline="format=isa fuse-residual=1 bf16-activations=all" | FileCheck %s --check-prefix=GPU
// RUN: lazy-opt %s --split-input-file --lazyc-cuda-pipeline="format=isa" | FileCheck %s --check-prefix=GPUDEFAULT

// The residual add of a projection, either operand order, becomes the
// GEMM's accumulation.
// CHECK-LABEL: func.func @residual
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[A:[a-z0-9]+]]: tensor<?x64xf32>)
// CHECK:         %[[H:.*]] = llm.linear %[[A]], %{{.*}} acc %[[X]] : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK:         %[[Y:.*]] = llm.linear %[[H]], %{{.*}} acc %[[H]] : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK-NOT:     llm.add
// CHECK:         return %[[Y]]
// The residual is written in place: nothing reads %x after the GEMM.
// BUF-LABEL: func.func @residual
// BUF-SAME:    (%[[X:[a-z0-9]+]]: memref<?x64xf32>
// BUF-NOT:     memref.alloc
// BUF:         %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// BUF:         call @lazyc_rt_linear_ex(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// The second GEMM reads and accumulates into the same tensor: the analysis
// copies it first.
// BUF:         memref.alloc
// BUF:         memref.copy
// BUF:         call @lazyc_rt_linear_ex
// On the GPU (with fuse-residual=1, not the CUDA default until it has run on
// a GPU) both adds are cuBLASLt epilogues: the only kernels left are the
// truncations of the GEMM inputs to bf16 (no f32 add). By default the adds
// are kernels of their own.
// GPUDEFAULT-LABEL: llvm.func @residual
// GPUDEFAULT:       gpu.binary @residual_add_{{[0-9]+}}{{.*}}add.rn.f32
// GPU-LABEL: llvm.func @residual
// GPU-COUNT-2: llvm.call @lazyc_gpu_linear_ex
// GPU:       gpu.binary @residual_convert_{{[0-9]+}} {{.*}}cvt.rn.bf16{{(x2)?}}.f32
// GPU-NOT:   add.rn.f32
func.func @residual(%x: tensor<?x64xf32>, %a: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = llm.weight "o" : tensor<64x64xbf16>
  %o = llm.linear %a, %w : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %h = llm.add %x, %o : tensor<?x64xf32>
  %p = llm.linear %h, %w : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %y = llm.add %p, %h : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// A projection read elsewhere too stays a GEMM of its own, and so does a
// sum that is not f32.
// CHECK-LABEL: func.func @kept
// CHECK:         %[[O:.*]] = llm.linear
// CHECK-NOT:     acc
// CHECK:         llm.add %{{.*}}, %[[O]]
// CHECK:         llm.linear
// CHECK-NOT:     acc
// CHECK:         llm.add
// The adds left are compiler-generated kernels (PTX).
// GPU-LABEL: llvm.func @kept
// GPU:       gpu.binary @kept_add_{{[0-9]+}} {{.*}}add.rn.f32
func.func @kept(%x: tensor<?x64xf32>, %a: tensor<?x64xf32>, %b: tensor<?x64xbf16>, %c: tensor<?x32xbf16>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x32xbf16>) {
  %w = llm.weight "o" : tensor<64x64xf32>
  %o = llm.linear %a, %w : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %h = llm.add %x, %o : tensor<?x64xf32>
  %w2 = llm.weight "p" : tensor<32x64xbf16>
  %q = llm.linear %b, %w2 : tensor<?x64xbf16>, tensor<32x64xbf16> -> tensor<?x32xbf16>
  %s = llm.add %q, %c : tensor<?x32xbf16>
  return %h, %o, %s : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x32xbf16>
}
