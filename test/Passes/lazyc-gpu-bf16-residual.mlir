// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg --canonicalize --lazyc-gpu-bf16-residual --canonicalize | FileCheck %s
// Through the CUDA pipeline: cuBLASLt accumulates into bf16 (ytype 1,
// accumulate 1), RMSNorm's kernels read bf16.
// RUN: lazy-opt %s --split-input-file --lazyc-cuda-pipeline="format=isa fuse-residual=1 bf16-activations=residual" | FileCheck %s --check-prefix=GPU

// Two residual GEMMs: the first accumulates into a truncation of the layer's
// input, the second into the first's bf16 sum; RMSNorm's reduction and
// scaling read the bf16 sum, widening each element (the widening fused into
// them); the function result is widened.
// CHECK-LABEL: func.func @layer
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[A:[a-z0-9]+]]: tensor<?x64xf32>,
// CHECK:         %[[XB:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK:           arith.truncf
// CHECK:         %[[H:.*]] = llm.linear %[[A]], %{{.*}} acc %[[XB]] : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>
// CHECK:         linalg.generic {{.*}} ins(%[[H]] : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:           arith.extf
// CHECK:         %[[N:.*]] = linalg.generic {{.*}} ins(%[[H]], %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<?xf32>, tensor<64xf32>)
// CHECK:           arith.extf
// CHECK:         %[[Y:.*]] = llm.linear %[[N]], %{{.*}} acc %[[H]] : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:           arith.extf
// CHECK:         return %[[R]]
// GPU-LABEL: llvm.func @layer
// GPU:         llvm.call @lazyc_gpu_linear_ex({{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// GPU:         llvm.call @lazyc_gpu_linear_ex
// GPU:         gpu.binary @layer_rms_norm_{{[0-9]+}} {{.*}}cvt.f32.bf16
func.func @layer(%x: tensor<?x64xf32>, %a: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %wo = llm.weight "o" : tensor<64x64xbf16>
  %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  %wn = llm.weight "n" : tensor<64xf32>
  %n = llm.rms_norm %h, %wn {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wd = llm.weight "d" : tensor<64x64xbf16>
  %y = llm.linear %n, %wd acc %h : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Left alone: GEMMs with f32 weights, and GEMMs that do not accumulate.
// CHECK-LABEL: func.func @f32_weights
// CHECK-NOT:     bf16
// CHECK:         return
func.func @f32_weights(%x: tensor<?x64xf32>, %a: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %wo = llm.weight "o" : tensor<64x64xf32>
  %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %p = llm.linear %a, %wo : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  return %h, %p : tensor<?x64xf32>, tensor<?x64xf32>
}
