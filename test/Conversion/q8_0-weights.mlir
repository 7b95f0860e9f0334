// RUN: lazy-opt %s --convert-llm-to-linalg | FileCheck %s
// RUN: lazy-opt %s --convert-llm-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=CALL

// Q8_0 weights (i8: 34-byte blocks of 32 values per row, see llm.weight).
// The arena table gives the runtime the values per row (what the model file
// holds) and the block bytes; a 64-value row is 2 blocks, 68 bytes.
// CHECK: llm.weight_table = [{bytes = 6800 : i64, dtype = "q8_0", name = "emb", offset = 0 : i64, shape = [100, 64]}, {bytes = 2176 : i64, dtype = "q8_0", name = "w", offset = 6912 : i64, shape = [32, 64]}]
// CHECK-LABEL: func.func @q8_0
// CHECK:         memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<100x68xi8>
// The embedding gather dequantizes: the int8 at byte 2 + j % 32 of block
// j / 32, times the block's f16 scale (bytes 0 and 1, little-endian).
// CHECK:         linalg.generic
// CHECK-DAG:       arith.divui %{{.*}}, %c32
// CHECK-DAG:       arith.remui %{{.*}}, %c32
// CHECK-DAG:       arith.muli %{{.*}}, %c34
// CHECK:           arith.shli
// CHECK:           arith.bitcast %{{.*}} : i16 to f16
// CHECK:           arith.sitofp %{{.*}} : i8 to f32
// CHECK:           arith.mulf
// CHECK:         llm.linear %{{.*}} : tensor<?x64xf32>, tensor<32x68xi8> -> tensor<?x32xf32>
// The GEMM: in = 64 values (not 68 bytes), weight type code 3.
// CALL-LABEL: func.func @q8_0
// CALL:         %[[IN:.*]] = arith.constant 64 : i64
// CALL:         %[[TYPE:.*]] = arith.constant 3 : i64
// CALL:         %[[OUT:.*]] = arith.constant 32 : i64
// CALL:         call @lazyc_rt_linear(%{{.*}}, %{{.*}}, %[[IN]], %{{.*}}, %[[TYPE]], %[[OUT]], %{{.*}})
func.func @q8_0(%ids: tensor<?xi32>) -> tensor<?x32xf32> {
  %t = llm.weight "emb" : tensor<100x68xi8>
  %e = llm.embedding %t[%ids] : tensor<100x68xi8>, tensor<?xi32> -> tensor<?x64xf32>
  %w = llm.weight "w" : tensor<32x68xi8>
  %y = llm.linear %e, %w : tensor<?x64xf32>, tensor<32x68xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
