// lazy.random_scores is a generated elementwise kernel (convert-llm-to-linalg):
// SplitMix64 of (seed, layer, position), bit for bit the runtime's
// lazyc_rt_random_scores, which compiled models of earlier versions call.
// Executed on the CPU, plain and with the CUDA target's loop mapping.
// RUN: lazy-opt %s --convert-llm-to-linalg | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mlir-opt --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops | mlir-opt --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s

// IR-LABEL: func.func @scores
// IR-NOT: lazy.random_scores
// IR: linalg.generic
// IR: arith.shrui
// IR: arith.uitofp

// 1000 positions, seed 7, layer 3: no score differs from the runtime's in any
// bit; the mean is about 0.5; seed 8 gives other scores.
// CHECK: {{^0 *$}}
// CHECK-NEXT: {{^0\.(4[5-9]|5[0-4])[0-9]* *$}}
// CHECK-NEXT: {{^[1-9][0-9]* *$}}
func.func @scores(%keys: tensor<?xi32>) -> tensor<?xf32> {
  %s = lazy.random_scores %keys {layer = 3 : i64, seed = 7 : i64} : tensor<?xi32> -> tensor<?xf32>
  return %s : tensor<?xf32>
}
func.func @scores_seed8(%keys: tensor<?xi32>) -> tensor<?xf32> {
  %s = lazy.random_scores %keys {layer = 3 : i64, seed = 8 : i64} : tensor<?xi32> -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func private @lazyc_rt_random_scores(i64, i64, i64, i64, i64)
func.func private @printI64(i64)
func.func private @printF32(f32)
func.func private @printNewline()

// Positions whose scores differ in any bit.
func.func @differ(%a: tensor<?xf32>, %b: tensor<?xf32>) -> i64 {
  %zero = arith.constant 0 : i64
  %e = tensor.empty() : tensor<i64>
  %init = linalg.fill ins(%zero : i64) outs(%e : tensor<i64>) -> tensor<i64>
  %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                       iterator_types = ["reduction"]}
      ins(%a, %b : tensor<?xf32>, tensor<?xf32>) outs(%init : tensor<i64>) {
  ^bb0(%x: f32, %y: f32, %acc: i64):
    %xi = arith.bitcast %x : f32 to i32
    %yi = arith.bitcast %y : f32 to i32
    %ne = arith.cmpi ne, %xi, %yi : i32
    %one = arith.extui %ne : i1 to i64
    %sum = arith.addi %acc, %one : i64
    linalg.yield %sum : i64
  } -> tensor<i64>
  %r = tensor.extract %n[] : tensor<i64>
  return %r : i64
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1000 = arith.constant 1000 : index
  %e = tensor.empty(%c1000) : tensor<?xi32>
  %keys = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%e : tensor<?xi32>) {
  ^bb0(%out: i32):
    %i = linalg.index 0 : index
    %v = arith.index_cast %i : index to i32
    linalg.yield %v : i32
  } -> tensor<?xi32>
  %gen = call @scores(%keys) : (tensor<?xi32>) -> tensor<?xf32>
  %other = call @scores_seed8(%keys) : (tensor<?xi32>) -> tensor<?xf32>
  // The runtime's on the same positions.
  %km = bufferization.to_buffer %keys : tensor<?xi32> to memref<?xi32>
  %out = memref.alloc(%c1000) : memref<?xf32>
  %kp = memref.extract_aligned_pointer_as_index %km : memref<?xi32> -> index
  %op = memref.extract_aligned_pointer_as_index %out : memref<?xf32> -> index
  %kp64 = arith.index_cast %kp : index to i64
  %op64 = arith.index_cast %op : index to i64
  %n64 = arith.constant 1000 : i64
  %layer = arith.constant 3 : i64
  %seed = arith.constant 7 : i64
  call @lazyc_rt_random_scores(%kp64, %n64, %layer, %seed, %op64) : (i64, i64, i64, i64, i64) -> ()
  %rt = bufferization.to_tensor %out restrict : memref<?xf32> to tensor<?xf32>
  %d = call @differ(%gen, %rt) : (tensor<?xf32>, tensor<?xf32>) -> i64
  call @printI64(%d) : (i64) -> ()
  call @printNewline() : () -> ()
  // Mean of the generated scores.
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%es : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%gen : tensor<?xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %total = tensor.extract %sum[] : tensor<f32>
  %thousand = arith.constant 1000.0 : f32
  %mean = arith.divf %total, %thousand : f32
  call @printF32(%mean) : (f32) -> ()
  call @printNewline() : () -> ()
  %d8 = call @differ(%gen, %other) : (tensor<?xf32>, tensor<?xf32>) -> i64
  call @printI64(%d8) : (i64) -> ()
  call @printNewline() : () -> ()
  return
}
