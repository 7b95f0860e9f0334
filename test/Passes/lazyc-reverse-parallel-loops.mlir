// lazyc-reverse-parallel-loops: every reduction-free scf.parallel visits the
// same induction values last to first (iv -> last + lb - iv, last = lb +
// (ceil((ub - lb) / step) - 1) * step).
// RUN: lazy-opt %s --lazyc-reverse-parallel-loops | FileCheck %s --check-prefix=IR
// Executed: an independent loop computes the same either way; a loop whose
// iterations depend on each other (a prefix sum written as a parallel loop,
// a race on a GPU) computes something else when reversed: what the
// end-to-end tests rely on to find such loops in the GPU loop nests.
// RUN: mlir-opt %s --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s --check-prefix=FORWARD
// RUN: lazy-opt %s --lazyc-reverse-parallel-loops | mlir-opt --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s --check-prefix=REVERSED

// IR-LABEL: func.func @squares
// IR-SAME: (%[[OUT:.*]]: memref<?xi64>, %[[LB:.*]]: index, %[[UB:.*]]: index, %[[STEP:.*]]: index)
// IR: %[[SPAN:.*]] = arith.subi %[[UB]], %[[LB]]
// IR: %[[TRIPS:.*]] = arith.ceildivsi %[[SPAN]], %[[STEP]]
// IR: %[[M1:.*]] = arith.subi %[[TRIPS]], %c1
// IR: %[[OFF:.*]] = arith.muli %[[M1]], %[[STEP]]
// IR: %[[LAST:.*]] = arith.addi %[[LB]], %[[OFF]]
// IR: %[[MIRROR:.*]] = arith.addi %[[LAST]], %[[LB]]
// IR: scf.parallel (%[[IV:.*]]) = (%[[LB]]) to (%[[UB]]) step (%[[STEP]])
// IR-NEXT: %[[REV:.*]] = arith.subi %[[MIRROR]], %[[IV]]
// IR: arith.index_cast %[[REV]]
// IR: memref.store %{{.*}}, %[[OUT]][%[[REV]]]
func.func @squares(%out: memref<?xi64>, %lb: index, %ub: index, %step: index) {
  scf.parallel (%i) = (%lb) to (%ub) step (%step) {
    %v = arith.index_cast %i : index to i64
    %sq = arith.muli %v, %v : i64
    memref.store %sq, %out[%i] : memref<?xi64>
    scf.reduce
  }
  return
}

// Iteration i reads what iteration i - 1 wrote.
func.func @prefix(%out: memref<?xi64>, %n: index) {
  %c1 = arith.constant 1 : index
  %one = arith.constant 1 : i64
  scf.parallel (%i) = (%c1) to (%n) step (%c1) {
    %prev = arith.subi %i, %c1 : index
    %p = memref.load %out[%prev] : memref<?xi64>
    %s = arith.addi %p, %one : i64
    memref.store %s, %out[%i] : memref<?xi64>
    scf.reduce
  }
  return
}

// A reduction is left alone (reversing it would only reassociate).
// IR-LABEL: func.func @total
// IR-NOT: arith.ceildivsi
// IR: scf.parallel
func.func @total(%in: memref<?xi64>, %n: index) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i64
  %t = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> i64 {
    %v = memref.load %in[%i] : memref<?xi64>
    scf.reduce(%v : i64) {
    ^bb0(%a: i64, %b: i64):
      %s = arith.addi %a, %b : i64
      scf.reduce.return %s : i64
    }
  }
  return %t : i64
}

func.func private @printMemrefI64(memref<*xi64>)

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c9 = arith.constant 9 : index
  %zero = arith.constant 0 : i64
  %buf = memref.alloc(%c9) : memref<?xi64>
  %all = memref.cast %buf : memref<?xi64> to memref<*xi64>
  // Odd indices 1, 3, 5, 7 of [1, 9) with step 2 (a partial last step too).
  scf.for %i = %c0 to %c9 step %c1 {
    memref.store %zero, %buf[%i] : memref<?xi64>
  }
  func.call @squares(%buf, %c1, %c8, %c2) : (memref<?xi64>, index, index, index) -> ()
  // FORWARD: [0,  1,  0,  9,  0,  25,  0,  49,  0]
  // REVERSED: [0,  1,  0,  9,  0,  25,  0,  49,  0]
  call @printMemrefI64(%all) : (memref<*xi64>) -> ()
  scf.for %i = %c0 to %c9 step %c1 {
    memref.store %zero, %buf[%i] : memref<?xi64>
  }
  func.call @prefix(%buf, %c9) : (memref<?xi64>, index) -> ()
  // FORWARD: [0,  1,  2,  3,  4,  5,  6,  7,  8]
  // REVERSED: [0,  1,  1,  1,  1,  1,  1,  1,  1]
  call @printMemrefI64(%all) : (memref<*xi64>) -> ()
  memref.dealloc %buf : memref<?xi64>
  return
}
