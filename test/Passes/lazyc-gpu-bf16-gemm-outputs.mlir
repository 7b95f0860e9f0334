// RUN: lazy-opt %s --split-input-file --convert-llm-to-linalg --canonicalize --lazyc-gpu-bf16-gemm-inputs --lazyc-gpu-bf16-gemm-outputs --canonicalize | FileCheck %s

// Gate and up projections read only by SwiGLU: both GEMMs write bf16, the
// SwiGLU kernel widens as it loads (and writes the down GEMM's bf16 input);
// the down projection feeds the return, so it stays f32.
// CHECK-LABEL: func.func @mlp
// CHECK:         %[[G:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<128x64xbf16> -> tensor<?x128xbf16>
// CHECK:         %[[U:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<128x64xbf16> -> tensor<?x128xbf16>
// CHECK:         %[[S:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<?x128xbf16>, tensor<?x128xbf16>)
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:           math.exp
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         } -> tensor<?x128xbf16>
// CHECK:         llm.linear %[[S]], %{{.*}} : tensor<?x128xbf16>, tensor<64x128xbf16> -> tensor<?x64xf32>
func.func @mlp(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %n = llm.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %wg = llm.weight "gate" : tensor<128x64xbf16>
  %g = llm.linear %n, %wg : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  %wu = llm.weight "up" : tensor<128x64xbf16>
  %u = llm.linear %n, %wu : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  %a = llm.swiglu %g, %u : tensor<?x128xf32>
  %wd = llm.weight "down" : tensor<64x128xbf16>
  %d = llm.linear %a, %wd : tensor<?x128xf32>, tensor<64x128xbf16> -> tensor<?x64xf32>
  return %d : tensor<?x64xf32>
}

// -----

// RoPE reads its input twice (the element, and its partner through
// tensor.extract): both reads become bf16 loads widened in the kernel. V goes
// to the attention (a runtime kernel): f32.
// CHECK-LABEL: func.func @rope
// CHECK:         %[[Q:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<64x64xbf16> -> tensor<?x64xbf16>
// CHECK:         %[[V:.*]] = llm.linear %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<64x64xbf16> -> tensor<?x64xf32>
// CHECK:         linalg.generic {{.*}} ins(%[[Q]], %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:           %[[P:.*]] = tensor.extract %[[Q]][%{{.*}}, %{{.*}}] : tensor<?x64xbf16>
// CHECK:           arith.extf %[[P]] : bf16 to f32
// CHECK:         } -> tensor<?x64xf32>
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @rope(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %wq = llm.weight "q" : tensor<64x64xbf16>
  %q = llm.linear %x, %wq : tensor<?x64xbf16>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %wv = llm.weight "v" : tensor<64x64xbf16>
  %v = llm.linear %x, %wv : tensor<?x64xbf16>, tensor<64x64xbf16> -> tensor<?x64xf32>
  %r = llm.rope %q, %pos {head_dim = 64 : i64, theta = 1.0e+04 : f64} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %r, %v : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Accumulating GEMMs (the residual stream) and f32-weight GEMMs stay f32.
// CHECK-LABEL: func.func @kept
// CHECK:         llm.linear %{{.*}}, %{{.*}} acc %{{.*}} : tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK:         llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
func.func @kept(%x: tensor<?x64xbf16>, %r: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %w = llm.weight "o" : tensor<64x64xbf16>
  %h = llm.linear %x, %w acc %r : tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xf32> -> tensor<?x64xf32>
  %wf = llm.weight "f" : tensor<64x64xf32>
  %f = llm.linear %h, %wf : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %s = llm.silu %f : tensor<?x64xf32>
  return %h, %s : tensor<?x64xf32>, tensor<?x64xf32>
}
