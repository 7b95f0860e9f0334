// lazyc-gpu-map-loops gives each thread of an elementwise loop 4 neighbours;
// for buffers with a static row layout it versions the body on the bases'
// alignment: aligned, one vector load/store per buffer (ld.global.v4 on the
// GPU); otherwise the scalar code. Both run here on the CPU: buffers at
// 16-byte aligned and at misaligned (4 bytes past) addresses compute the same.
// RUN: lazy-opt %s --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=4" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=4" | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s

// IR-LABEL: func.func @scale
// IR-DAG: memref.extract_aligned_pointer_as_index %arg0
// IR-DAG: memref.extract_aligned_pointer_as_index %arg1
// IR: scf.if
// IR: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<?x8xf32>, vector<4xf32>
// IR-COUNT-4: vector.extract
// IR: vector.from_elements
// IR: vector.store {{.*}} {alignment = 16 : i64} : memref<?x8xf32>, vector<4xf32>
// IR: } else {
// IR-COUNT-4: memref.load %arg0
// IR-COUNT-4: memref.store
// The weights broadcast over rows (rank 1, static) are read as a vector too;
// the gathered row index is not.
// IR-LABEL: func.func @scale_rows
// IR: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<8xf32>, vector<4xf32>
// IR: } else {
// Column slices of one array (a stacked GEMM's product, lazyc-fuse-projections):
// static strides and offsets that are multiples of 4 keep the vector accesses.
// IR-LABEL: func.func @sum_slices
// IR: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<?x8xf32, strided<[16, 1]>>, vector<4xf32>
// IR: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<?x8xf32, strided<[16, 1], offset: 8>>, vector<4xf32>
// IR: vector.store {{.*}} : memref<?x8xf32>, vector<4xf32>
// IR: } else {
// An offset of 2 elements: that slice is read element by element.
// IR-LABEL: func.func @sum_odd_slices
// IR-NOT: vector.load %arg1
// IR: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<?x8xf32, strided<[16, 1]>>, vector<4xf32>
// IR-NOT: vector.load %arg1
// IR: } else {

// CHECK: data =
// CHECK-NEXT: {{\[}}[1,   3,   5,   7,   9,   11,   13,   15],
// CHECK-NEXT: [17,   19,   21,   23,   25,   27,   29,   31],
// CHECK-NEXT: [33,   35,   37,   39,   41,   43,   45,   47]]
// CHECK: data =
// CHECK-NEXT: {{\[}}[1,   3,   5,   7,   9,   11,   13,   15],
// CHECK-NEXT: [17,   19,   21,   23,   25,   27,   29,   31],
// CHECK-NEXT: [33,   35,   37,   39,   41,   43,   45,   47]]
// CHECK: data =
// CHECK-NEXT: {{\[}}[0,   2,   4,   6,   8,   10,   12,   14],
// CHECK: data =
// CHECK-NEXT: {{\[}}[0,   2,   4,   6,   8,   10,   12,   14],
// y = a + 10 b over the slices [0, 8) and [8, 16) (then [2, 10)) of
// x[r, c] = 16 r + c: aligned, misaligned base, odd offset.
// CHECK: data =
// CHECK-NEXT: {{\[}}[80,   91,   102,   113,   124,   135,   146,   157],
// CHECK-NEXT: [256,   267,   278,   289,   300,   311,   322,   333],
// CHECK-NEXT: [432,   443,   454,   465,   476,   487,   498,   509]]
// CHECK: data =
// CHECK-NEXT: {{\[}}[80,   91,   102,   113,   124,   135,   146,   157],
// CHECK-NEXT: [256,   267,   278,   289,   300,   311,   322,   333],
// CHECK-NEXT: [432,   443,   454,   465,   476,   487,   498,   509]]
// CHECK: data =
// CHECK-NEXT: {{\[}}[20,   31,   42,   53,   64,   75,   86,   97],
// CHECK-NEXT: [196,   207,   218,   229,   240,   251,   262,   273],
// CHECK-NEXT: [372,   383,   394,   405,   416,   427,   438,   449]]

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @scale(%x: memref<?x8xf32>, %y: memref<?x8xf32>) {
  %two = arith.constant 2.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x8xf32>) outs(%y : memref<?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %two : f32
    %a = arith.addf %m, %one : f32
    linalg.yield %a : f32
  }
  return
}

// y[r, c] = x[rows[r], c] * w[c]
func.func @scale_rows(%x: memref<?x8xf32>, %w: memref<8xf32>, %rows: memref<?xi32>, %y: memref<?x8xf32>) {
  linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<8xf32>) outs(%y : memref<?x8xf32>) {
  ^bb0(%wc: f32, %out: f32):
    %r = linalg.index 0 : index
    %c = linalg.index 1 : index
    %ri = memref.load %rows[%r] : memref<?xi32>
    %rx = arith.index_cast %ri : i32 to index
    %v = memref.load %x[%rx, %c] : memref<?x8xf32>
    %p = arith.mulf %v, %wc : f32
    linalg.yield %p : f32
  }
  return
}

// y = a + 10 b, a and b column slices of one row-major array.
func.func @sum_slices(%a: memref<?x8xf32, strided<[16, 1]>>, %b: memref<?x8xf32, strided<[16, 1], offset: 8>>, %y: memref<?x8xf32>) {
  %ten = arith.constant 10.0 : f32
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<?x8xf32, strided<[16, 1]>>, memref<?x8xf32, strided<[16, 1], offset: 8>>) outs(%y : memref<?x8xf32>) {
  ^bb0(%u: f32, %v: f32, %out: f32):
    %m = arith.mulf %v, %ten : f32
    %s = arith.addf %u, %m : f32
    linalg.yield %s : f32
  }
  return
}

func.func @sum_odd_slices(%a: memref<?x8xf32, strided<[16, 1]>>, %b: memref<?x8xf32, strided<[16, 1], offset: 2>>, %y: memref<?x8xf32>) {
  %ten = arith.constant 10.0 : f32
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<?x8xf32, strided<[16, 1]>>, memref<?x8xf32, strided<[16, 1], offset: 2>>) outs(%y : memref<?x8xf32>) {
  ^bb0(%u: f32, %v: f32, %out: f32):
    %m = arith.mulf %v, %ten : f32
    %s = arith.addf %u, %m : f32
    linalg.yield %s : f32
  }
  return
}

func.func private @printMemrefF32(memref<*xf32>)

// x[r, c] = 16 r + c (3 x 16) in a view `shift` bytes into a 64-byte aligned
// buffer, y 16-byte aligned; odd = 1: the second slice starts at column 2.
func.func @run_slices(%shift: index, %odd: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %buf = memref.alloc() {alignment = 64 : i64} : memref<512xi8>
  %x = memref.view %buf[%shift][%c3] : memref<512xi8> to memref<?x16xf32>
  %y = memref.view %buf[%c256][%c3] : memref<512xi8> to memref<?x8xf32>
  scf.for %r = %c0 to %c3 step %c1 {
    scf.for %c = %c0 to %c16 step %c1 {
      %r16 = arith.muli %r, %c16 : index
      %v = arith.addi %r16, %c : index
      %vi = arith.index_cast %v : index to i64
      %vf = arith.sitofp %vi : i64 to f32
      memref.store %vf, %x[%r, %c] : memref<?x16xf32>
    }
  }
  %a = memref.subview %x[0, 0] [%c3, 8] [1, 1] : memref<?x16xf32> to memref<?x8xf32, strided<[16, 1]>>
  scf.if %odd {
    %b = memref.subview %x[0, 2] [%c3, 8] [1, 1] : memref<?x16xf32> to memref<?x8xf32, strided<[16, 1], offset: 2>>
    func.call @sum_odd_slices(%a, %b, %y) : (memref<?x8xf32, strided<[16, 1]>>, memref<?x8xf32, strided<[16, 1], offset: 2>>, memref<?x8xf32>) -> ()
  } else {
    %b = memref.subview %x[0, 8] [%c3, 8] [1, 1] : memref<?x16xf32> to memref<?x8xf32, strided<[16, 1], offset: 8>>
    func.call @sum_slices(%a, %b, %y) : (memref<?x8xf32, strided<[16, 1]>>, memref<?x8xf32, strided<[16, 1], offset: 8>>, memref<?x8xf32>) -> ()
  }
  %u = memref.cast %y : memref<?x8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %buf : memref<512xi8>
  return
}

// x[r, c] = 8 r + c in a view `shift` bytes into a fresh 64-byte aligned
// buffer; y = scale(x) in a view at 8 (shift + 16) bytes (16-byte aligned);
// printed. shift = 4: x misaligned, so the scalar copy runs.
func.func @run(%shift: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %buf = memref.alloc() {alignment = 64 : i64} : memref<512xi8>
  %ys = arith.addi %shift, %c8 : index
  %yshift = arith.addi %ys, %c8 : index
  %yoff = arith.muli %yshift, %c8 : index
  %x = memref.view %buf[%shift][%c3] : memref<512xi8> to memref<?x8xf32>
  %y = memref.view %buf[%yoff][%c3] : memref<512xi8> to memref<?x8xf32>
  scf.for %r = %c0 to %c3 step %c1 {
    scf.for %c = %c0 to %c8 step %c1 {
      %r8 = arith.muli %r, %c8 : index
      %v = arith.addi %r8, %c : index
      %vi = arith.index_cast %v : index to i64
      %vf = arith.sitofp %vi : i64 to f32
      memref.store %vf, %x[%r, %c] : memref<?x8xf32>
    }
  }
  call @scale(%x, %y) : (memref<?x8xf32>, memref<?x8xf32>) -> ()
  %u = memref.cast %y : memref<?x8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %buf : memref<512xi8>
  return
}

// y[r] = x[2 - r] * 2: rows gathered in reverse, weights all 2; the weights'
// view is `shift` bytes into the buffer (y and x 16-byte aligned).
func.func @run_rows(%shift: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  %buf = memref.alloc() {alignment = 64 : i64} : memref<512xi8>
  %wshift = arith.addi %shift, %c0 : index
  %yoff = arith.addi %shift, %c8 : index
  %yoff2 = arith.muli %yoff, %c8 : index
  %c256 = arith.constant 256 : index
  %xoff = arith.addi %yoff2, %c256 : index
  %w = memref.view %buf[%wshift][] : memref<512xi8> to memref<8xf32>
  %y = memref.view %buf[%yoff2][%c3] : memref<512xi8> to memref<?x8xf32>
  %x = memref.view %buf[%xoff][%c3] : memref<512xi8> to memref<?x8xf32>
  %rows = memref.alloc(%c3) : memref<?xi32>
  scf.for %r = %c0 to %c3 step %c1 {
    %back = arith.subi %c2, %r : index
    %bi = arith.index_cast %back : index to i32
    memref.store %bi, %rows[%r] : memref<?xi32>
    scf.for %c = %c0 to %c8 step %c1 {
      memref.store %two, %w[%c] : memref<8xf32>
      %src = arith.subi %c2, %r : index
      %r8 = arith.muli %src, %c8 : index
      %v = arith.addi %r8, %c : index
      %vi = arith.index_cast %v : index to i64
      %vf = arith.sitofp %vi : i64 to f32
      memref.store %vf, %x[%r, %c] : memref<?x8xf32>
    }
  }
  call @scale_rows(%x, %w, %rows, %y) : (memref<?x8xf32>, memref<8xf32>, memref<?xi32>, memref<?x8xf32>) -> ()
  %u = memref.cast %y : memref<?x8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %rows : memref<?xi32>
  memref.dealloc %buf : memref<512xi8>
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  call @run(%c0) : (index) -> ()
  call @run(%c4) : (index) -> ()
  call @run_rows(%c0) : (index) -> ()
  call @run_rows(%c4) : (index) -> ()
  %false = arith.constant false
  %true = arith.constant true
  call @run_slices(%c0, %false) : (index, i1) -> ()
  call @run_slices(%c4, %false) : (index, i1) -> ()
  call @run_slices(%c0, %true) : (index, i1) -> ()
  return
}
