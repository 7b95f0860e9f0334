// The runtime's kernels read their operands as row-major arrays from an
// address. A slice (an offset, strides) reaches them as a row-major copy: a
// GEMM on a column slice, one accumulating into a column slice, a selection
// over every other score from the second on. Without the copy the kernels
// would read the slice's base instead (y = [[0, 1], [2, 5], [4, 9]],
// selection [1, 3]).
// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s

// IR-LABEL: func.func @linear_on_columns
// IR: %[[S:.*]] = memref.subview
// IR: %[[C:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x2xf32>
// IR: linalg.copy ins(%[[S]] : memref<?x2xf32, strided<[?, ?], offset: ?>>) outs(%[[C]] : memref<?x2xf32>)
// IR: memref.extract_aligned_pointer_as_index %[[C]]
// IR: call @lazyc_rt_linear(
func.func @linear_on_columns(%x: tensor<?x4xf32>, %w: tensor<2x2xf32>) -> tensor<?x2xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %s = tensor.extract_slice %x[0, 1] [%n, 2] [1, 1] : tensor<?x4xf32> to tensor<?x2xf32>
  %y = llm.linear %s, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// r[:, 2:4] += x[:, 0:2] w^T: the accumulator is a slice too (added to in a
// row-major copy, copied back).
// IR-LABEL: func.func @accumulate_into_columns
// IR: call @lazyc_rt_linear_ex(
// IR: linalg.copy ins(%{{.*}} : memref<?x2xf32>) outs(%{{.*}} : memref<?x2xf32, strided<[?, ?], offset: ?>>)
func.func @accumulate_into_columns(%x: tensor<?x4xf32>, %w: tensor<2x2xf32>, %r: tensor<?x4xf32>)
    -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %a = tensor.extract_slice %x[0, 0] [%n, 2] [1, 1] : tensor<?x4xf32> to tensor<?x2xf32>
  %acc = tensor.extract_slice %r[0, 2] [%n, 2] [1, 1] : tensor<?x4xf32> to tensor<?x2xf32>
  %y = llm.linear %a, %w acc %acc : tensor<?x2xf32>, tensor<2x2xf32>, tensor<?x2xf32> -> tensor<?x2xf32>
  %out = tensor.insert_slice %y into %r[0, 2] [%n, 2] [1, 1] : tensor<?x2xf32> into tensor<?x4xf32>
  return %out : tensor<?x4xf32>
}

func.func @select_every_other(%s: tensor<8xf32>) -> tensor<?xi32> {
  %odd = tensor.extract_slice %s[1] [4] [2] : tensor<8xf32> to tensor<4xf32>
  %d = tensor.cast %odd : tensor<4xf32> to tensor<?xf32>
  %i = lazy.select %d {keep = 5.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
  return %i : tensor<?xi32>
}

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

// CHECK: [1,   3]
// CHECK-NEXT: [5,   11]
// CHECK-NEXT: [9,   19]
// CHECK: [0,   1,   2,   4]
// CHECK-NEXT: [4,   5,   10,   16]
// CHECK-NEXT: [8,   9,   18,   28]
// CHECK: [2,  3]
func.func @main() {
  %x = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]> : tensor<3x4xf32>
  %xd = tensor.cast %x : tensor<3x4xf32> to tensor<?x4xf32>
  %w = arith.constant dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %y = call @linear_on_columns(%xd, %w) : (tensor<?x4xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %yb = bufferization.to_buffer %y : tensor<?x2xf32> to memref<?x2xf32>
  %yu = memref.cast %yb : memref<?x2xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()
  // r[:, 2] += x0, r[:, 3] += x0 + x1.
  %r = call @accumulate_into_columns(%xd, %w, %xd)
      : (tensor<?x4xf32>, tensor<2x2xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %rb = bufferization.to_buffer %r : tensor<?x4xf32> to memref<?x4xf32>
  %ru = memref.cast %rb : memref<?x4xf32> to memref<*xf32>
  call @printMemrefF32(%ru) : (memref<*xf32>) -> ()
  %s = arith.constant dense<[0.0, 5.0, 0.0, 1.0, 0.0, 9.0, 0.0, 2.0]> : tensor<8xf32>
  %i = call @select_every_other(%s) : (tensor<8xf32>) -> tensor<?xi32>
  %ib = bufferization.to_buffer %i : tensor<?xi32> to memref<?xi32>
  %iu = memref.cast %ib : memref<?xi32> to memref<*xi32>
  call @printMemrefI32(%iu) : (memref<*xi32>) -> ()
  return
}
