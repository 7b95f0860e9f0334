// RUN: lazy-opt %s --lazyc-approximate-exp | FileCheck %s
// RUN: lazy-opt %s --lazyc-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: lazy-opt %s --lazyc-cpu-pipeline="gpu-loops=1" | FileCheck %s --check-prefix=GPULOOPS

// f32 exp becomes arithmetic (a polynomial, the exponent built from integer
// bits); other types keep math.exp.
// CHECK-LABEL: func.func @silu
// CHECK-NOT:     math.exp
// CHECK:         math.floor
// CHECK:         math.fma
// CHECK:         arith.shli
// CHECK:         arith.bitcast
// CHECK-LABEL: func.func @f64
// CHECK:         math.exp %{{.*}} : f64
// The CPU pipeline calls no expf; the CUDA target's stand-in (gpu-loops) does.
// CPU-NOT: expf
// GPULOOPS: llvm.intr.exp
func.func @silu(%x: f32) -> f32 {
  %one = arith.constant 1.0 : f32
  %n = arith.negf %x : f32
  %e = math.exp %n : f32
  %d = arith.addf %one, %e : f32
  %y = arith.divf %x, %d : f32
  return %y : f32
}

func.func @f64(%x: f64) -> f64 {
  %e = math.exp %x : f64
  return %e : f64
}
