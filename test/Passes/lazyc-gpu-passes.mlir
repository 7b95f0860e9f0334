// RUN: lazy-opt %s --split-input-file --lazyc-gpu-split-reductions | FileCheck %s --check-prefix=SPLIT
// RUN: lazy-opt %s --split-input-file --lazyc-gpu-split-reductions="threshold=2048" | FileCheck %s --check-prefix=NOSPLIT
// RUN: lazy-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries" --lazyc-gpu-prepare --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops | FileCheck %s --check-prefix=MAP

// RMSNorm's sum of squares over 1024 columns: 256 partial sums of 4 per
// row (in parallel), then a sum of the 256 partials.
// Interleaved partial sums: partial[i, j] reads in[i, k * 256 + j].
// SPLIT: #[[$PARTIAL_IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// SPLIT-LABEL: func.func @sum_squares
// SPLIT: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 256]
// SPLIT: linalg.generic {indexing_maps = [#[[$PARTIAL_IN]], {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// SPLIT: arith.mulf
// SPLIT: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}}ins(%{{.*}} : tensor<?x256xf32>)
// NOSPLIT-LABEL: func.func @sum_squares
// NOSPLIT-NOT: expand_shape
// After mapping: device buffers, and the reduction accumulates in a register
// inside a 1-D block x thread loop nest.
// The zero fill of the sums is no kernel of its own: the register
// accumulator starts from 0.
// MAP-LABEL: func.func @sum_squares
// MAP-NOT: memref.alloc(
// MAP: gpu.alloc async
// MAP-NOT: memref.store %cst
// MAP: scf.parallel
// MAP: scf.for {{.*}} iter_args(%{{.*}} = %cst)
// MAP: #gpu.loop_dim_map<processor = thread_x
// MAP: #gpu.loop_dim_map<processor = block_x
func.func @sum_squares(%x: tensor<?x1024xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x1024xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x1024xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Static rows (the one row whose logits are wanted, after lazy-defer-mlp):
// the split keeps them static.
// SPLIT-LABEL: func.func @sum_squares_one_row
// SPLIT: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [1, 4, 256] : tensor<1x1024xf32> into tensor<1x4x256xf32>
// SPLIT: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}}ins(%{{.*}} : tensor<1x256xf32>)
func.func @sum_squares_one_row(%x: tensor<1x1024xf32>) -> tensor<1xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1xf32>) -> tensor<1xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x1024xf32>) outs(%init : tensor<1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  return %r : tensor<1xf32>
}

// -----

// A max-reduction is not a sum: left alone.
// SPLIT-LABEL: func.func @row_max
// SPLIT-NOT: expand_shape
func.func @row_max(%x: tensor<?x1024xf32>, %init: tensor<?xf32>) -> tensor<?xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x1024xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %acc, %in : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Something reads the filled buffer before the reduction accumulates into
// it: the fill stays a loop of its own.
// SPLIT-LABEL: func.func @fill_read_first
// MAP-LABEL: func.func @fill_read_first
// MAP:       scf.parallel
// MAP:         memref.store %cst
// MAP:       scf.parallel
// MAP:         memref.load
// MAP:       scf.parallel
// MAP:         scf.for {{.*}} iter_args(%{{.*}} = %{{[0-9]+}})
func.func @fill_read_first(%x: tensor<?x1024xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x1024xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %e2 = tensor.empty(%n) : tensor<?xf32>
  %copy = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                          iterator_types = ["parallel"]}
      ins(%init : tensor<?xf32>) outs(%e2 : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.addf %in, %in : f32
    linalg.yield %d : f32
  } -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x1024xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %copy, %r : tensor<?xf32>, tensor<?xf32>
}

// -----

// Elementwise: each thread adds 4 neighbouring elements, all loads first.
// MAP-LABEL: func.func @add_rows
// MAP:       scf.parallel
// MAP:         scf.parallel
// MAP-COUNT-8: memref.load
// MAP-COUNT-4: arith.addf
// MAP-COUNT-4: memref.store
// MAP:       processor = thread_x
// A size 4 does not divide: 2 per thread.
// MAP-LABEL: func.func @add_odd
// MAP-COUNT-4: memref.load
// MAP-COUNT-2: arith.addf
// MAP-NOT:     arith.addf
// MAP:       processor = thread_x
// SPLIT-LABEL: func.func @add_rows
func.func @add_rows(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = linalg.add ins(%x, %y : tensor<?x64xf32>, tensor<?x64xf32>) outs(%x : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
func.func @add_odd(%x: tensor<?x6xf32>, %y: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %r = linalg.add ins(%x, %y : tensor<?x6xf32>, tensor<?x6xf32>) outs(%x : tensor<?x6xf32>) -> tensor<?x6xf32>
  return %r : tensor<?x6xf32>
}
