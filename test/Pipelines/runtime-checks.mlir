// lazyc-cpu-pipeline="runtime-checks=1" (lazy-compile --runtime-checks):
// every load and store of the generated loops is bounds-checked; a failed
// check names the access and its location on stderr (through the runtime's
// lazyc_rt_check_failed, after flushing stdout) and exits with status 1.
// RUN: lazy-opt %s --lazyc-cpu-pipeline="runtime-checks=1" | FileCheck %s --check-prefix=IR
// RUN: lazy-opt %s --lazyc-cpu-pipeline | FileCheck %s --check-prefix=NOCHECKS
// RUN: lazy-opt %s --lazyc-cpu-pipeline="runtime-checks=1" | not %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt 2>&1 | FileCheck %s

// IR: llvm.func @lazyc_rt_check_failed(!llvm.ptr)
// IR-LABEL: llvm.func @pick(
// IR: llvm.cond_br
// IR: llvm.call @lazyc_rt_check_failed
// IR-NEXT: llvm.unreachable
// NOCHECKS-NOT: lazyc_rt_check_failed

// The in-bounds read prints, then the out-of-bounds one stops the program.
// CHECK: 3
// CHECK: lazyc: runtime check failed in the compiled model: ERROR: Runtime op verification failed
// CHECK-NEXT: memref.load
// CHECK-NEXT: out-of-bounds access
// CHECK-NEXT: Location: loc({{.*}}runtime-checks.mlir":[[@LINE+3]]:8)
// CHECK-NOT: 7
func.func @pick(%t: tensor<4xf32>, %i: index) -> f32 {
  %v = tensor.extract %t[%i] : tensor<4xf32>
  return %v : f32
}

func.func private @printF32(f32)
func.func private @printNewline()

func.func @main() {
  %t = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c2 = arith.constant 2 : index
  %c7 = arith.constant 7 : index
  %a = call @pick(%t, %c2) : (tensor<4xf32>, index) -> f32
  call @printF32(%a) : (f32) -> ()
  call @printNewline() : () -> ()
  %b = call @pick(%t, %c7) : (tensor<4xf32>, index) -> f32
  call @printF32(%b) : (f32) -> ()
  call @printNewline() : () -> ()
  return
}
