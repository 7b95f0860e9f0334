// RUN: lazy-opt %s --lazyc-early-dealloc | FileCheck %s

// A buffer is freed right after the last op that uses it or anything derived
// from it (here its raw address, passed to a kernel), not at the block's end.
// CHECK-LABEL: func.func @step
// CHECK:         %[[A:.*]] = memref.alloc
// CHECK:         %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK:         %[[I:.*]] = arith.index_cast %[[P]]
// CHECK:         call @kernel(%[[I]])
// CHECK-NEXT:    memref.dealloc %[[A]]
// CHECK:         %[[B:.*]] = memref.alloc
// CHECK:         call @kernel
// CHECK-NEXT:    memref.dealloc %[[B]]
// CHECK:         return %[[R:.*]] :
// A returned buffer keeps no dealloc to move.
func.func private @kernel(i64)
func.func @step(%n: index) -> memref<?xf32> {
  %a = memref.alloc(%n) : memref<?xf32>
  %p = memref.extract_aligned_pointer_as_index %a : memref<?xf32> -> index
  %i = arith.index_cast %p : index to i64
  call @kernel(%i) : (i64) -> ()
  %b = memref.alloc(%n) : memref<?xf32>
  %q = memref.extract_aligned_pointer_as_index %b : memref<?xf32> -> index
  %j = arith.index_cast %q : index to i64
  call @kernel(%j) : (i64) -> ()
  %r = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  memref.dealloc %b : memref<?xf32>
  return %r : memref<?xf32>
}
