// Executes RMSNorm's sum of squares on the CPU with and without
// lazyc-gpu-split-reductions (here 8 interleaved partial sums of 4 per row):
// the split computes the same sums. x[r, k] = k + r over 32 columns, so row r
// sums to 10416 + 992 r + 32 r^2.
// RUN: lazy-opt %s --lazyc-gpu-split-reductions="ratio=8 threshold=16" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --lazyc-gpu-split-reductions="ratio=8 threshold=16" | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s
// The GPU loop mapping too (collapsed, tiled loops with register accumulators
// starting from the folded zero fills), run as plain loops on the CPU:
// RUN: lazy-opt %s --lazyc-gpu-split-reductions="ratio=8 threshold=16" --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=16 reduction-block-size=4" | FileCheck %s --check-prefix=MAPPED
// RUN: lazy-opt %s --lazyc-gpu-split-reductions="ratio=8 threshold=16" --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=16 reduction-block-size=4" | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s

// IR: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 8]
// IR: iterator_types = ["parallel", "parallel", "reduction"]
// MAPPED-LABEL: func.func @sum_squares
// MAPPED-NOT: memref.store %cst
// MAPPED: iter_args(%{{.*}} = %cst)
// MAPPED: iter_args(%{{.*}} = %cst)
// MAPPED-LABEL: func.func @main
// CHECK: [10416,  11440,  12528]

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @sum_squares(%x: tensor<?x32xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%rows) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x32xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %e = tensor.empty() : tensor<3x32xf32>
  // x[r, k] = k + r
  %x = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<3x32xf32>) {
  ^bb0(%out: f32):
    %r = linalg.index 0 : index
    %k = linalg.index 1 : index
    %v = arith.addi %r, %k : index
    %i = arith.index_cast %v : index to i64
    %f = arith.sitofp %i : i64 to f32
    linalg.yield %f : f32
  } -> tensor<3x32xf32>
  %xd = tensor.cast %x : tensor<3x32xf32> to tensor<?x32xf32>
  %s = call @sum_squares(%xd) : (tensor<?x32xf32>) -> tensor<?xf32>
  %m = bufferization.to_buffer %s : tensor<?xf32> to memref<?xf32>
  %u = memref.cast %m : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
