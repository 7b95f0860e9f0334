// lazy.select as generated loops (lazyc-select-to-linalg), executed on the
// CPU and compared with the runtime's selection (lazyc_rt_select, the
// nth_element the CPU target calls) on the same scores: ties (toward the
// later row), the last row displacing the lowest kept one, NaN, one row,
// keep = 1, a floor (min_keep) above the ratio, several blocks and chunks
// (small ones here), equal scores.
// RUN: lazy-opt %s --lazyc-select-to-linalg="chunks=4 block=8" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --lazyc-select-to-linalg="chunks=4 block=8" | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// The defaults (one block, one chunk row for the small cases):
// RUN: lazy-opt %s --lazyc-select-to-linalg | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// The GPU loop mapping of the CUDA target (folded fills, register
// accumulators, flat block x thread loops), run as CPU loops:
// RUN: lazy-opt %s --lazyc-select-to-linalg="chunks=4 block=8" --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=16 reduction-block-size=4" | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s

// IR: affine_map<(d0, d1) -> (0, d1)>
// IR-LABEL: func.func @select_half
// IR-NOT: lazy.select
// IR: call @lazyc_rt_select_size
// IR: tensor.empty(%{{.*}}) : tensor<?x4xf32>
// IR: iterator_types = ["parallel", "parallel", "reduction"]{{.*}}tensor<?x4xi32>
// IR: tensor.empty(%{{.*}}) : tensor<?x8xi32>
// IR-LABEL: func.func @select_30

func.func @select_half(%s: tensor<?xf32>) -> tensor<?xi32> {
  %idx = lazy.select %s {keep = 5.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
  return %idx : tensor<?xi32>
}
func.func @select_30(%s: tensor<?xf32>) -> tensor<?xi32> {
  %idx = lazy.select %s {keep = 3.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
  return %idx : tensor<?xi32>
}
func.func @select_all(%s: tensor<?xf32>) -> tensor<?xi32> {
  %idx = lazy.select %s {keep = 1.000000e+00 : f64} : tensor<?xf32> -> tensor<?xi32>
  return %idx : tensor<?xi32>
}
func.func @select_floor(%s: tensor<?xf32>) -> tensor<?xi32> {
  %idx = lazy.select %s {keep = 1.000000e-01 : f64, min_keep = 4 : i64} : tensor<?xf32> -> tensor<?xi32>
  return %idx : tensor<?xi32>
}
func.func @select_quarter(%s: tensor<?xf32>) -> tensor<?xi32> {
  %idx = lazy.select %s {keep = 2.500000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
  return %idx : tensor<?xi32>
}

func.func private @printMemrefI32(memref<*xi32>)
func.func private @lazyc_rt_select_size(i64, f64, i64) -> i64
func.func private @lazyc_rt_select(i64, i64, f64, i64, i64)

// Prints the generated selection, then the runtime's.
func.func @both(%s: tensor<?xf32>, %generated: tensor<?xi32>, %keep: f64, %min: i64) {
  %g = bufferization.to_buffer %generated : tensor<?xi32> to memref<?xi32>
  %gu = memref.cast %g : memref<?xi32> to memref<*xi32>
  call @printMemrefI32(%gu) : (memref<*xi32>) -> ()
  %c0 = arith.constant 0 : index
  %m = bufferization.to_buffer %s : tensor<?xf32> to memref<?xf32>
  %n = memref.dim %m, %c0 : memref<?xf32>
  %n64 = arith.index_cast %n : index to i64
  %k64 = call @lazyc_rt_select_size(%n64, %keep, %min) : (i64, f64, i64) -> i64
  %k = arith.index_cast %k64 : i64 to index
  %out = memref.alloc(%k) : memref<?xi32>
  %sp = memref.extract_aligned_pointer_as_index %m : memref<?xf32> -> index
  %op = memref.extract_aligned_pointer_as_index %out : memref<?xi32> -> index
  %sp64 = arith.index_cast %sp : index to i64
  %op64 = arith.index_cast %op : index to i64
  call @lazyc_rt_select(%sp64, %n64, %keep, %min, %op64) : (i64, i64, f64, i64, i64) -> ()
  %ou = memref.cast %out : memref<?xi32> to memref<*xi32>
  call @printMemrefI32(%ou) : (memref<*xi32>) -> ()
  memref.dealloc %out : memref<?xi32>
  return
}

// scores[i] = (i * mul) mod m: many ties.
func.func @hashed(%n: index, %mul: index, %m: index) -> tensor<?xf32> {
  %e = tensor.empty(%n) : tensor<?xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%e : tensor<?xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %p = arith.muli %i, %mul : index
    %r = arith.remui %p, %m : index
    %r64 = arith.index_cast %r : index to i64
    %f = arith.sitofp %r64 : i64 to f32
    linalg.yield %f : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func @main() {
  %half = arith.constant 5.000000e-01 : f64
  %p30 = arith.constant 3.000000e-01 : f64
  %all = arith.constant 1.000000e+00 : f64
  %quarter = arith.constant 2.500000e-01 : f64
  %tenth = arith.constant 1.000000e-01 : f64
  %none = arith.constant 0 : i64
  %four = arith.constant 4 : i64

  // Ties go to the later row (8, 5, 2 before 1); the last row (9, ranked 8)
  // displaces row 1.
  // CHECK: sizes = [5]
  // CHECK-NEXT: [2,  4,  5,  8,  9]
  // CHECK: sizes = [5]
  // CHECK-NEXT: [2,  4,  5,  8,  9]
  %a = arith.constant dense<[0.1, 0.5, 0.5, 0.2, 0.9, 0.5, 0.0, 0.3, 0.5, 0.05]> : tensor<10xf32>
  %ad = tensor.cast %a : tensor<10xf32> to tensor<?xf32>
  %ra = call @select_half(%ad) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%ad, %ra, %half, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // NaN ranks lowest.
  // CHECK: sizes = [2]
  // CHECK-NEXT: [2,  3]
  // CHECK: sizes = [2]
  // CHECK-NEXT: [2,  3]
  %b = arith.constant dense<[0x7FC00000, 1.0, 2.0, 3.0]> : tensor<4xf32>
  %bd = tensor.cast %b : tensor<4xf32> to tensor<?xf32>
  %rb = call @select_half(%bd) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%bd, %rb, %half, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // NaNs in the middle: below every number, the later NaN first; the last
  // row displaces row 0.
  // CHECK: sizes = [3]
  // CHECK-NEXT: [2,  4,  5]
  // CHECK: sizes = [3]
  // CHECK-NEXT: [2,  4,  5]
  %h = arith.constant dense<[1.0, 0x7FC00000, 3.0, 0x7FC00000, 2.0, 0.5]> : tensor<6xf32>
  %hd = tensor.cast %h : tensor<6xf32> to tensor<?xf32>
  %rh = call @select_half(%hd) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%hd, %rh, %half, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // One row.
  // CHECK: sizes = [1]
  // CHECK-NEXT: [0]
  // CHECK: sizes = [1]
  // CHECK-NEXT: [0]
  %c = arith.constant dense<[7.0]> : tensor<1xf32>
  %cd = tensor.cast %c : tensor<1xf32> to tensor<?xf32>
  %rc = call @select_half(%cd) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%cd, %rc, %half, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // keep = 1: every row.
  // CHECK: sizes = [10]
  // CHECK-NEXT: [0,  1,  2,  3,  4,  5,  6,  7,  8,  9]
  // CHECK: sizes = [10]
  // CHECK-NEXT: [0,  1,  2,  3,  4,  5,  6,  7,  8,  9]
  %rd = call @select_all(%ad) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%ad, %rd, %all, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // keep 0.1 of 10 rows is 1, the floor 4: the best rows 4, 8, 5 (ties to
  // the later row) and the last row 9 displacing 2.
  // CHECK: sizes = [4]
  // CHECK-NEXT: [4,  5,  8,  9]
  // CHECK: sizes = [4]
  // CHECK-NEXT: [4,  5,  8,  9]
  %rfl = call @select_floor(%ad) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%ad, %rfl, %tenth, %four) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // 300 rows, 11 distinct scores (38 blocks of 8): 90 kept.
  // CHECK: sizes = [90]
  // CHECK-NEXT: [2,  5,  8,  13,  16,  19,  24,  27,  30,  35,  38,  41,  46,  49,  52,  57,  60,  63,  68,  71,  74,  79,  82,  85,  90,  93,  96,  101,  104,  107,  112,  115,  118,  123,  126,  129,  134,  137,  140,  145,  148,  151,  156,  159,  162,  167,  170,  173,  178,  181,  184,  189,  192,  195,  200,  203,  206,  211,  214,  217,  219,  222,  225,  228,  230,  233,  236,  239,  241,  244,  247,  250,  252,  255,  258,  261,  263,  266,  269,  272,  274,  277,  280,  283,  285,  288,  291,  294,  296,  299]
  // CHECK: sizes = [90]
  // CHECK-NEXT: [2,  5,  8,  13,  16,  19,  24,  27,  30,  35,  38,  41,  46,  49,  52,  57,  60,  63,  68,  71,  74,  79,  82,  85,  90,  93,  96,  101,  104,  107,  112,  115,  118,  123,  126,  129,  134,  137,  140,  145,  148,  151,  156,  159,  162,  167,  170,  173,  178,  181,  184,  189,  192,  195,  200,  203,  206,  211,  214,  217,  219,  222,  225,  228,  230,  233,  236,  239,  241,  244,  247,  250,  252,  255,  258,  261,  263,  266,  269,  272,  274,  277,  280,  283,  285,  288,  291,  294,  296,  299]
  %n300 = arith.constant 300 : index
  %m37 = arith.constant 37 : index
  %m11 = arith.constant 11 : index
  %e = call @hashed(%n300, %m37, %m11) : (index, index, index) -> tensor<?xf32>
  %re = call @select_30(%e) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%e, %re, %p30, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // 45 rows, scores mod 97.
  // CHECK: sizes = [14]
  // CHECK-NEXT: [3,  6,  9,  14,  17,  20,  23,  25,  28,  31,  34,  39,  42,  44]
  // CHECK: sizes = [14]
  // CHECK-NEXT: [3,  6,  9,  14,  17,  20,  23,  25,  28,  31,  34,  39,  42,  44]
  %n45 = arith.constant 45 : index
  %m7919 = arith.constant 7919 : index
  %m97 = arith.constant 97 : index
  %f = call @hashed(%n45, %m7919, %m97) : (index, index, index) -> tensor<?xf32>
  %rf = call @select_30(%f) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%f, %rf, %p30, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()

  // Equal scores: the latest rows (20 rows, keep 5).
  // CHECK: sizes = [5]
  // CHECK-NEXT: [15,  16,  17,  18,  19]
  // CHECK: sizes = [5]
  // CHECK-NEXT: [15,  16,  17,  18,  19]
  %n20 = arith.constant 20 : index
  %one = arith.constant 1 : index
  %g = call @hashed(%n20, %m97, %one) : (index, index, index) -> tensor<?xf32>
  %rg = call @select_quarter(%g) : (tensor<?xf32>) -> tensor<?xi32>
  call @both(%g, %rg, %quarter, %none) : (tensor<?xf32>, tensor<?xi32>, f64, i64) -> ()
  return
}
