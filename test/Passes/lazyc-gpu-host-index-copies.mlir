// RUN: lazy-opt %s --split-input-file --lazyc-gpu-host-index-copies | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazyc-gpu-host-index-copies=check=1 | FileCheck %s --check-prefix=CHECKMODE

// Check mode (the CPU pipeline's host-index-copies): the same mark as the
// CPU runtime's snapshot, and a comparison before each later runtime read.
// CHECKMODE-LABEL: func.func @kept_set
// CHECKMODE:      call @lazyc_rt_keep_host_copy(%[[A:.*]], %[[B:.*]]) : (i64, i64) -> ()
// CHECKMODE:      call @lazyc_rt_check_host_copy
// CHECKMODE-NEXT: call @read
// CHECKMODE:      call @lazyc_rt_check_host_copy
// CHECKMODE-NEXT: call @read
// CHECKMODE:      call @lazyc_rt_check_host_copy
// CHECKMODE-NEXT: call @read
// CHECKMODE-NEXT: memref.dealloc
// CHECKMODE-NOT:  @lazyc_gpu_keep_host_copy
// CHECKMODE-LABEL: func.func @runtime_written

// An index list a kernel writes, then three runtime calls read (the kept set
// of a pruning layer: aux_save, missing, an attention): the runtime may keep
// its first fetch, so the pass marks it final right after the writer.
// CHECK-LABEL: func.func @kept_set
// CHECK:      linalg.generic
// CHECK-SAME:   outs(%[[KEPT:.*]] : memref<?xi32>)
// CHECK:      %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[KEPT]] : memref<?xi32> -> index {lazyc.read_only}
// CHECK-NEXT: %[[A:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK-NEXT: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[N:.*]] = memref.dim %[[KEPT]], %[[C0]]
// CHECK-NEXT: %[[BYTES:.*]] = arith.muli %[[FOUR]], %[[N]] : index
// CHECK-NEXT: %[[B:.*]] = arith.index_cast %[[BYTES]] : index to i64
// CHECK-NEXT: call @lazyc_gpu_keep_host_copy(%[[A]], %[[B]]) : (i64, i64) -> ()
// CHECK-NEXT: memref.extract_aligned_pointer_as_index %[[KEPT]]
// CHECK-NOT:  call @lazyc_gpu_keep_host_copy
#id = affine_map<(d0) -> (d0)>
func.func private @read(i64, i64)
func.func @kept_set(%src: memref<?xi32>, %n: index) {
  %kept = memref.alloc(%n) : memref<?xi32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%src : memref<?xi32>) outs(%kept : memref<?xi32>) {
  ^bb0(%in: i32, %out: i32):
    linalg.yield %in : i32
  }
  %p = memref.extract_aligned_pointer_as_index %kept : memref<?xi32> -> index {lazyc.read_only}
  %a = arith.index_cast %p : index to i64
  %c = arith.index_cast %n : index to i64
  call @read(%a, %c) : (i64, i64) -> ()
  call @read(%a, %c) : (i64, i64) -> ()
  call @read(%a, %c) : (i64, i64) -> ()
  memref.dealloc %kept : memref<?xi32>
  return
}

// -----

// Written by a runtime call (an address without lazyc.read_only: the missing
// rows' positions), read by two: marked after the writing call. A list
// written again after the first reads is marked after its last writer.
// CHECK-LABEL: func.func @runtime_written
// CHECK:      call @write(%{{.*}}, %{{.*}}) : (i64, i64) -> ()
// CHECK-NEXT: memref.extract_aligned_pointer_as_index %{{.*}} {lazyc.read_only}
// CHECK:      call @lazyc_gpu_keep_host_copy
// CHECK:      call @read
// CHECK:      call @read
// CHECK-LABEL: func.func @rewritten
// CHECK:      call @read
// CHECK-NOT:  call @lazyc_gpu_keep_host_copy
// CHECK:      memref.copy
// CHECK:      call @lazyc_gpu_keep_host_copy
// CHECK:      call @read
// CHECK:      call @read
// The runtime's own upload of a host result (lazyc_gpu_missing): the mark
// right after it says the upload is the host copy.
// CHECK-LABEL: func.func @uploaded
// CHECK:      call @lazyc_gpu_missing(
// CHECK-NEXT: memref.extract_aligned_pointer_as_index %{{.*}} {lazyc.read_only}
// CHECK:      call @lazyc_gpu_keep_uploaded_copy
// CHECK-NOT:  call @lazyc_gpu_keep_host_copy
// CHECK:      call @read
// CHECK:      call @read
func.func private @read(i64, i64)
func.func private @write(i64, i64)
func.func private @lazyc_gpu_missing(!llvm.ptr, i64, i64, i64, i64)
func.func @runtime_written(%n: index) {
  %missing = memref.alloc(%n) : memref<?xi32>
  %c = arith.index_cast %n : index to i64
  %w = memref.extract_aligned_pointer_as_index %missing : memref<?xi32> -> index
  %wa = arith.index_cast %w : index to i64
  call @write(%wa, %c) : (i64, i64) -> ()
  %p = memref.extract_aligned_pointer_as_index %missing : memref<?xi32> -> index {lazyc.read_only}
  %a = arith.index_cast %p : index to i64
  call @read(%a, %c) : (i64, i64) -> ()
  call @read(%a, %c) : (i64, i64) -> ()
  memref.dealloc %missing : memref<?xi32>
  return
}
func.func @rewritten(%src: memref<?xi32>, %n: index) {
  %list = memref.alloc(%n) : memref<?xi32>
  memref.copy %src, %list : memref<?xi32> to memref<?xi32>
  %c = arith.index_cast %n : index to i64
  %p = memref.extract_aligned_pointer_as_index %list : memref<?xi32> -> index {lazyc.read_only}
  %a = arith.index_cast %p : index to i64
  call @read(%a, %c) : (i64, i64) -> ()
  memref.copy %src, %list : memref<?xi32> to memref<?xi32>
  call @read(%a, %c) : (i64, i64) -> ()
  call @read(%a, %c) : (i64, i64) -> ()
  memref.dealloc %list : memref<?xi32>
  return
}
func.func @uploaded(%cache: !llvm.ptr, %keys: i64, %n: index) {
  %missing = memref.alloc(%n) : memref<?xi32>
  %c = arith.index_cast %n : index to i64
  %layer = arith.constant 1 : i64
  %w = memref.extract_aligned_pointer_as_index %missing : memref<?xi32> -> index
  %wa = arith.index_cast %w : index to i64
  call @lazyc_gpu_missing(%cache, %layer, %keys, %c, %wa) : (!llvm.ptr, i64, i64, i64, i64) -> ()
  %p = memref.extract_aligned_pointer_as_index %missing : memref<?xi32> -> index {lazyc.read_only}
  %a = arith.index_cast %p : index to i64
  call @read(%a, %c) : (i64, i64) -> ()
  call @read(%a, %c) : (i64, i64) -> ()
  memref.dealloc %missing : memref<?xi32>
  return
}

// -----

// Left alone: one read after the last write (nothing to gain), a store in a
// kernel after the reads, f32 rows, a buffer the function returns, a buffer
// passed to a call as a memref (the callee may write it).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: call @lazyc_gpu_keep_host_copy
#id = affine_map<(d0) -> (d0)>
func.func private @read(i64, i64)
func.func private @take(memref<?xi32>)
func.func @left_alone(%src: memref<?xi32>, %rows: memref<?xf32>, %n: index, %v: i32)
    -> memref<?xi32> {
  %c = arith.index_cast %n : index to i64
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // One read after the writer.
  %once = memref.alloc(%n) : memref<?xi32>
  memref.copy %src, %once : memref<?xi32> to memref<?xi32>
  %p1 = memref.extract_aligned_pointer_as_index %once : memref<?xi32> -> index {lazyc.read_only}
  %a1 = arith.index_cast %p1 : index to i64
  call @read(%a1, %c) : (i64, i64) -> ()
  memref.dealloc %once : memref<?xi32>
  // A kernel stores into it after the reads.
  %late = memref.alloc(%n) : memref<?xi32>
  memref.copy %src, %late : memref<?xi32> to memref<?xi32>
  %p2 = memref.extract_aligned_pointer_as_index %late : memref<?xi32> -> index {lazyc.read_only}
  %a2 = arith.index_cast %p2 : index to i64
  call @read(%a2, %c) : (i64, i64) -> ()
  call @read(%a2, %c) : (i64, i64) -> ()
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %v, %late[%c0] : memref<?xi32>
    gpu.terminator
  }
  memref.dealloc %late : memref<?xi32>
  // f32 rows.
  %f = memref.alloc(%n) : memref<?xf32>
  memref.copy %rows, %f : memref<?xf32> to memref<?xf32>
  %p3 = memref.extract_aligned_pointer_as_index %f : memref<?xf32> -> index {lazyc.read_only}
  %a3 = arith.index_cast %p3 : index to i64
  call @read(%a3, %c) : (i64, i64) -> ()
  call @read(%a3, %c) : (i64, i64) -> ()
  memref.dealloc %f : memref<?xf32>
  // Passed as a memref.
  %passed = memref.alloc(%n) : memref<?xi32>
  memref.copy %src, %passed : memref<?xi32> to memref<?xi32>
  %p5 = memref.extract_aligned_pointer_as_index %passed : memref<?xi32> -> index {lazyc.read_only}
  %a5 = arith.index_cast %p5 : index to i64
  call @read(%a5, %c) : (i64, i64) -> ()
  call @take(%passed) : (memref<?xi32>) -> ()
  call @read(%a5, %c) : (i64, i64) -> ()
  memref.dealloc %passed : memref<?xi32>
  // Returned.
  %out = memref.alloc(%n) : memref<?xi32>
  memref.copy %src, %out : memref<?xi32> to memref<?xi32>
  %p4 = memref.extract_aligned_pointer_as_index %out : memref<?xi32> -> index {lazyc.read_only}
  %a4 = arith.index_cast %p4 : index to i64
  call @read(%a4, %c) : (i64, i64) -> ()
  call @read(%a4, %c) : (i64, i64) -> ()
  return %out : memref<?xi32>
}
