// RUN: lazy-opt %s --split-input-file --lazyc-gpu-fuse-row-norms | FileCheck %s
// RUN: lazy-opt %s --split-input-file --lazyc-gpu-fuse-row-norms=cpu=1 | FileCheck %s --check-prefix=CPU

// The CPU stand-in (cpu=1, lazy-compile --target=cpu --gpu-loops
// --fused-row-norms): the same per-thread code in sequential loops over the
// rows and the 256 threads, the shares summed in thread order.
// CPU-LABEL: func.func @rms_norm
// CPU-NOT:   gpu.launch
// CPU:       %[[ROWS:.*]] = memref.dim %{{.*}}, %c0
// CPU:       %[[COLS:.*]] = memref.dim %{{.*}}, %c1
// CPU:       %[[T:.*]] = arith.constant 256 : index
// CPU:       scf.for %[[ROW:.*]] = %c0{{.*}} to %[[ROWS]] step %c1
// CPU:         %[[SHARES:.*]] = scf.for %[[TID:.*]] = %c0{{.*}} to %[[T]] step %c1{{.*}} iter_args(%[[SUM:.*]] = %{{.*}}) -> (f32) {
// CPU:           %[[MINE:.*]] = scf.for %{{.*}} = %[[TID]] to %[[COLS]] step %[[T]] iter_args
// CPU:           %[[NEXT:.*]] = arith.addf %[[SUM]], %[[MINE]]
// CPU:           scf.yield %[[NEXT]]
// CPU:         %[[TOTAL:.*]] = arith.addf %[[SHARES]], %{{.*}} : f32
// CPU:         scf.for %[[TID2:.*]] = %c0{{.*}} to %[[T]] step %c1
// CPU:           scf.for %[[C:.*]] = %[[TID2]] to %[[COLS]] step %[[T]] {
// CPU:             arith.divf %[[TOTAL]]
// CPU:             memref.store %{{.*}}, %{{.*}}[%[[ROW]], %[[C]]]
// CPU-NOT:   gpu.all_reduce

// RMSNorm after bufferization: a zero fill, the row sum of squares, the
// scaling that reads it per row (and a bf16 output for the next GEMM). One
// block per row: each thread sums a strided share of the row from 0, the
// block adds the shares (gpu.all_reduce), the fill value once, then the same
// threads scale the same elements.
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME:    (%[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64xf32>, %[[Y:.*]]: memref<?x64xbf16>, %[[S:.*]]: memref<?xf32>)
// CHECK-NOT:   linalg.fill
// CHECK-NOT:   linalg.generic
// CHECK:       %[[ROWS:.*]] = memref.dim %[[X]], %c0
// CHECK:       %[[COLS:.*]] = memref.dim %[[X]], %c1
// CHECK:       %[[T:.*]] = arith.constant 256 : index
// CHECK:       gpu.launch blocks(%[[ROW:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ROWS]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TID:.*]], %{{.*}}, %{{.*}}) in (%[[BS:.*]] = %[[T]],
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[MINE:.*]] = scf.for %[[C:.*]] = %[[TID]] to %[[COLS]] step %[[BS]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:           %[[V:.*]] = memref.load %[[X]][%[[ROW]], %[[C]]]
// CHECK:           %[[SQ:.*]] = arith.mulf %[[V]], %[[V]]
// CHECK:           %[[NEXT:.*]] = arith.addf %[[ACC]], %[[SQ]]
// CHECK:           scf.yield %[[NEXT]]
// CHECK:         %[[SHARES:.*]] = gpu.all_reduce add %[[MINE]] uniform
// CHECK:         %[[TOTAL:.*]] = arith.addf %[[SHARES]], %[[INIT:.*]] : f32
// CHECK:         scf.for %[[C2:.*]] = %[[TID]] to %[[COLS]] step %[[BS]] {
// CHECK-DAG:       memref.load %[[X]][%[[ROW]], %[[C2]]]
// CHECK-DAG:       memref.load %[[W]][%[[C2]]]
// CHECK:           arith.divf %[[TOTAL]]
// CHECK:           math.rsqrt
// CHECK:           arith.truncf
// CHECK:           memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[C2]]]
// CHECK:         gpu.terminator
#rc = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
#c = affine_map<(d0, d1) -> (d1)>
func.func @rms_norm(%x: memref<?x64xf32>, %w: memref<64xf32>, %y: memref<?x64xbf16>,
                    %sum: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#rc, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %acc = arith.addf %out, %sq : f32
    linalg.yield %acc : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #c, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %w : memref<?x64xf32>, memref<?xf32>, memref<64xf32>)
      outs(%y : memref<?x64xbf16>) {
  ^bb0(%in: f32, %s: f32, %g: f32, %out: bf16):
    %mean = arith.divf %s, %n : f32
    %e = arith.addf %mean, %eps : f32
    %r = math.rsqrt %e : f32
    %a = arith.mulf %in, %r : f32
    %b = arith.mulf %a, %g : f32
    %t = arith.truncf %b : f32 to bf16
    linalg.yield %t : bf16
  }
  return
}

// -----

// The scaling may write the rows in place (each thread reads, then writes,
// its own elements after the block reduction).
// CHECK-LABEL: func.func @in_place
// CHECK:       gpu.launch
// CHECK:         gpu.all_reduce add
// CHECK:         memref.store %{{.*}}, %arg0[
// CHECK-NOT:   linalg.generic
#rc = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
func.func @in_place(%x: memref<?x64xf32>, %sum: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#rc, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %acc = arith.addf %out, %sq : f32
    linalg.yield %acc : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%x : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = arith.mulf %in, %s : f32
    linalg.yield %a : f32
  }
  return
}

// -----

// Left alone: a sum read by two consumers, a maximum (not a sum), no fill
// before the reduction.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:   gpu.launch
// CHECK-NOT:   gpu.all_reduce
#rc = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
func.func @left_alone(%x: memref<?x64xf32>, %sum: memref<?xf32>, %max: memref<?xf32>,
                      %free: memref<?xf32>, %y: memref<?x64xf32>, %z: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#rc, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %acc = arith.addf %out, %in : f32
    linalg.yield %acc : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = arith.mulf %in, %s : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%z : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = arith.addf %in, %s : f32
    linalg.yield %a : f32
  }
  linalg.fill ins(%zero : f32) outs(%max : memref<?xf32>)
  linalg.generic {indexing_maps = [#rc, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%max : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %out, %in : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = arith.subf %in, %s : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#rc, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%free : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %acc = arith.addf %out, %in : f32
    linalg.yield %acc : f32
  }
  linalg.generic {indexing_maps = [#rc, #r, #rc], iterator_types = ["parallel", "parallel"]}
      ins(%x, %free : memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %a = arith.mulf %in, %s : f32
    linalg.yield %a : f32
  }
  return
}
