// lazy.scatter bufferizes into a compiler-generated parallel loop that writes
// the source rows at their indices into the destination's buffer: in place
// when nothing reads the destination afterwards, else into a copy. Executed
// on the CPU as plain loops and with the CUDA target's loop mapping (flat
// block x thread loops, 4 columns per thread as one vector when aligned).
// RUN: lazy-opt %s --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mlir-opt --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s
// RUN: lazy-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=8" | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s
// (test/Pipelines/lazy-scatter-cuda.mlir: the CUDA pipeline reaches PTX for it.)

// IR-LABEL: func.func @scatter_rows
// IR-NOT: memref.alloc
// IR: scf.parallel (%[[R:.*]], %[[C:.*]]) =
// IR:   %[[ID:.*]] = memref.load %arg2[%[[R]]]
// IR:   %[[I:.*]] = arith.index_cast %[[ID]] : i32 to index
// IR:   %[[V:.*]] = memref.load %arg0[%[[R]], %[[C]]]
// IR:   memref.store %[[V]], %arg1[%[[I]], %[[C]]]
// IR: return %arg1
// The destination is returned too: the scatter writes a copy.
// IR-LABEL: func.func @scatter_copy
// IR: memref.alloc
// IR: memref.copy %arg1
// IR: scf.parallel

func.func @scatter_rows(%src: tensor<?x8xf32>, %dst: tensor<?x8xf32>, %idx: tensor<?xi32>) -> tensor<?x8xf32> {
  %r = lazy.scatter %src into %dst[%idx] : tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

func.func @scatter_copy(%src: tensor<?x8xf32>, %dst: tensor<?x8xf32>, %idx: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %r = lazy.scatter %src into %dst[%idx] : tensor<?x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  return %r, %dst : tensor<?x8xf32>, tensor<?x8xf32>
}

func.func private @printMemrefF32(memref<*xf32>)

func.func @print(%t: tensor<?x8xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x8xf32> to memref<?x8xf32>
  %u = memref.cast %m : memref<?x8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// CHECK: data =
// CHECK-NEXT: {{\[}}[-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1],
// CHECK-NEXT: [8,   9,   10,   11,   12,   13,   14,   15],
// CHECK-NEXT: [-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1],
// CHECK-NEXT: [0,   1,   2,   3,   4,   5,   6,   7],
// CHECK-NEXT: [-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1]]
// The copy's source is untouched:
// CHECK: data =
// CHECK-NEXT: {{\[}}[-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1],
// CHECK-NEXT: [8,   9,   10,   11,   12,   13,   14,   15],
// CHECK: data =
// CHECK-NEXT: {{\[}}[-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1],
// CHECK-NEXT: [-1,   -1,   -1,   -1,   -1,   -1,   -1,   -1],
func.func @main() {
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %e = tensor.empty(%c2) : tensor<?x8xf32>
  // src[r, c] = 8 r + c
  %src = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<?x8xf32>) {
  ^bb0(%out: f32):
    %r = linalg.index 0 : index
    %c = linalg.index 1 : index
    %c8 = arith.constant 8 : index
    %r8 = arith.muli %r, %c8 : index
    %v = arith.addi %r8, %c : index
    %vi = arith.index_cast %v : index to i64
    %vf = arith.sitofp %vi : i64 to f32
    linalg.yield %vf : f32
  } -> tensor<?x8xf32>
  %minus = arith.constant -1.0 : f32
  %d0 = tensor.empty(%c5) : tensor<?x8xf32>
  %dst = linalg.fill ins(%minus : f32) outs(%d0 : tensor<?x8xf32>) -> tensor<?x8xf32>
  %idx0 = arith.constant dense<[3, 1]> : tensor<2xi32>
  %idx = tensor.cast %idx0 : tensor<2xi32> to tensor<?xi32>
  %r = call @scatter_rows(%src, %dst, %idx) : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  call @print(%r) : (tensor<?x8xf32>) -> ()
  %dst2 = linalg.fill ins(%minus : f32) outs(%d0 : tensor<?x8xf32>) -> tensor<?x8xf32>
  %r2, %orig = call @scatter_copy(%src, %dst2, %idx) : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?x8xf32>)
  call @print(%r2) : (tensor<?x8xf32>) -> ()
  call @print(%orig) : (tensor<?x8xf32>) -> ()
  return
}
