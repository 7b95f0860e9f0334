// RUN: lazy-opt %s --lazyc-private-inits | FileCheck %s
// RUN: lazy-opt %s --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF
// RUN: lazy-opt %s --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=SHARED

// Two reductions accumulate into the same (CSE-merged) zero fill: each gets
// its own fill, so both bufferize in place (no copy of a shared buffer).
// CHECK-LABEL: func.func @two_sums
// CHECK:         %[[F0:.*]] = linalg.fill
// CHECK:         linalg.generic {{.*}} outs(%[[F0]] :
// CHECK:         %[[E1:.*]] = tensor.empty
// CHECK:         %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] :
// CHECK:         linalg.generic {{.*}} outs(%[[F1]] :
// BUF-LABEL: func.func @two_sums
// BUF-NOT:     memref.copy
// BUF:         return
// SHARED-LABEL: func.func @two_sums
// SHARED:        memref.copy
func.func @two_sums(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %a, %b : tensor<?xf32>, tensor<?xf32>
}

// A reader in another block (inside scf.if): program order across blocks is
// not defined, so the fill is left shared.
// CHECK-LABEL: func.func @other_block
// CHECK-COUNT-1: linalg.fill
// CHECK-NOT:     linalg.fill
func.func @other_block(%x: tensor<?x64xf32>, %c: i1) -> (tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %b = scf.if %c -> tensor<?xf32> {
    %m = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                         iterator_types = ["parallel", "reduction"]}
        ins(%x : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.maximumf %acc, %in : f32
      linalg.yield %s : f32
    } -> tensor<?xf32>
    scf.yield %m : tensor<?xf32>
  } else {
    scf.yield %init : tensor<?xf32>
  }
  return %a, %b : tensor<?xf32>, tensor<?xf32>
}
