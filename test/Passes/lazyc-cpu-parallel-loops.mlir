// The outermost parallel loops of the CPU's generated code become functions
// over a range of their first dimension, called through the runtime's
// lazyc_rt_parallel_for with the loop's outside values in a stack struct.
// Executed with the runtime (one OpenMP thread under mlir-runner: the
// runtime's unit test ParallelForSplitsTheRange checks the split itself).
// RUN: lazy-opt %s --convert-linalg-to-parallel-loops --lazyc-cpu-parallel-loops | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --convert-linalg-to-parallel-loops --lazyc-cpu-parallel-loops | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: lazy-opt %s --lazyc-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: lazy-opt %s --lazyc-cpu-pipeline="parallel-loops=0" | FileCheck %s --check-prefix=SEQ

// IR-LABEL: func.func private @lazyc_rt_parallel_for((!llvm.ptr, i64, i64) -> (), !llvm.ptr, i64, i64, i64)
// The row loop: a strided output, a scalar and an index from outside; the
// constants are the function's own.
// IR-LABEL: func.func private @rows_parallel_0(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// IR-DAG:     arith.constant 4 : index
// IR-DAG:     llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// IR-DAG:     builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<{{.*}}> to memref<?x4xf32, strided<[8, 1], offset: 2>>
// IR-DAG:     llvm.load %{{.*}} : !llvm.ptr -> f32
// IR-DAG:     llvm.load %{{.*}} : !llvm.ptr -> i64
// IR:         %[[B:.*]] = arith.index_cast %arg1 : i64 to index
// IR:         %[[E:.*]] = arith.index_cast %arg2 : i64 to index
// IR:         scf.parallel (%{{.*}}, %{{.*}}) = (%[[B]], %{{.*}}) to (%[[E]], %{{.*}})
// IR:         return
// The row sum: its reduction loop inside, 4 iterations per row.
// IR-LABEL: func.func private @rows_parallel_1
// IR:         scf.parallel
// IR:           scf.for
// IR-LABEL: func.func @rows
// IR:         llvm.alloca
// IR:         llvm.alloca
// IR:         %[[F0:.*]] = constant @rows_parallel_0
// IR:         %[[W0:.*]] = arith.constant 4 : i64
// IR:         call @lazyc_rt_parallel_for(%[[F0]], %{{.*}}, %{{.*}}, %{{.*}}, %[[W0]])
// IR:         %[[F1:.*]] = constant @rows_parallel_1
// IR:         call @lazyc_rt_parallel_for(%[[F1]], {{.*}}, %c4_i64{{.*}})
// A loop inside another stays (a call per iteration of that one would cost
// more), and so does one over a single row.
// IR:         scf.for
// IR:           scf.parallel
// IR:         scf.parallel
// IR-NOT:     lazyc_rt_parallel_for
// IR:         return

// The whole CPU pipeline calls the runtime; without the option it does not.
// CPU: llvm.call @lazyc_rt_parallel_for
// SEQ-NOT: lazyc_rt_parallel_for

// CHECK: [2,   4,   6,   8]
// CHECK: [19,   21,   23,   25]
// CHECK: [36,   38,   40,   42]
// CHECK: [10,   26,   42]
// CHECK: [6,   7,   8,   9]
// The strided output's row stride and offset: columns 0-1 and 6-7 untouched.
// CHECK: [-1,   -1,   2,   4,   6,   8,   -1,   -1]
// CHECK: [-1,   -1,   19,   21,   23,   25,   -1,   -1]

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rows(%a: memref<?x4xf32>, %out: memref<?x4xf32, strided<[8, 1], offset: 2>>,
                %sums: memref<?xf32>, %one: memref<1x4xf32>, %s: f32, %n: index) {
  // out[i][j] = a[i][j] * s + i * n
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x4xf32>) outs(%out : memref<?x4xf32, strided<[8, 1], offset: 2>>) {
  ^bb0(%x: f32, %o: f32):
    %i = linalg.index 0 : index
    %in = arith.muli %i, %n : index
    %ii = arith.index_cast %in : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %y = arith.mulf %x, %s : f32
    %z = arith.addf %y, %fi : f32
    linalg.yield %z : f32
  }
  // sums[i] += sum_j a[i][j]
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x4xf32>) outs(%sums : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %y = arith.addf %x, %acc : f32
    linalg.yield %y : f32
  }
  // one[0][j] += 5, twice.
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %five = arith.constant 5.0 : f32
  scf.for %k = %c0 to %c2 step %c1 {
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
        outs(%one : memref<1x4xf32>) {
    ^bb0(%o: f32):
      %y = arith.addf %o, %five : f32
      linalg.yield %y : f32
    }
  }
  // one[0][j] -= 4: a single row.
  %four = arith.constant 4.0 : f32
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%one : memref<1x4xf32>) {
  ^bb0(%o: f32):
    %y = arith.subf %o, %four : f32
    linalg.yield %y : f32
  }
  return
}

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c9 = arith.constant 9 : index
  %zero = arith.constant 0.0 : f32
  %minus = arith.constant -1.0 : f32
  %a = memref.alloc(%c3) : memref<?x4xf32>
  scf.for %i = %c0 to %c3 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      %k = arith.muli %i, %c4 : index
      %l = arith.addi %k, %j : index
      %m = arith.addi %l, %c1 : index
      %mi = arith.index_cast %m : index to i64
      %f = arith.sitofp %mi : i64 to f32
      memref.store %f, %a[%i, %j] : memref<?x4xf32>
    }
  }
  // Rows of 8 floats, the output in columns 2..5; the rest stays -1.
  %wide = memref.alloc(%c3) : memref<?x8xf32>
  linalg.fill ins(%minus : f32) outs(%wide : memref<?x8xf32>)
  %out = memref.subview %wide[0, 2] [%c3, 4] [1, 1]
      : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1], offset: 2>>
  %sums = memref.alloc(%c3) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sums : memref<?xf32>)
  %one = memref.alloc() : memref<1x4xf32>
  scf.for %j = %c0 to %c4 step %c1 {
    %ji = arith.index_cast %j : index to i64
    %f = arith.sitofp %ji : i64 to f32
    memref.store %f, %one[%c0, %j] : memref<1x4xf32>
  }
  %two = arith.constant 2.0 : f32
  call @rows(%a, %out, %sums, %one, %two, %c9)
      : (memref<?x4xf32>, memref<?x4xf32, strided<[8, 1], offset: 2>>, memref<?xf32>,
         memref<1x4xf32>, f32, index) -> ()
  %o = memref.cast %out : memref<?x4xf32, strided<[8, 1], offset: 2>> to memref<*xf32>
  call @printMemrefF32(%o) : (memref<*xf32>) -> ()
  %s = memref.cast %sums : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%s) : (memref<*xf32>) -> ()
  %u = memref.cast %one : memref<1x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  %w = memref.cast %wide : memref<?x8xf32> to memref<*xf32>
  call @printMemrefF32(%w) : (memref<*xf32>) -> ()
  return
}
