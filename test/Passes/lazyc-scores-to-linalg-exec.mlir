// lazy.scores as generated loops (lazyc-scores-to-linalg), executed on the
// CPU and compared with the runtime's kernels (lazyc_rt_scores,
// lazyc_rt_window_scores) on the same KV cache: GQA (4 query heads on 2 KV
// heads), layer 1 of 2 (the layer's offset in the cache), 9 keys with gaps
// (padded to the chunks), the last of 4 query rows; a window of 3 rows whose
// first row lies outside it (positions 5, 9, 12, 13: 12 and 13 count; 12 sees
// 8 of the keys); both again under a sliding window of 6 positions (13 sees
// keys 9 .. 13, 12 keys 9 .. 12), and the last with Gemma 2's soft-capped
// scores (cap 0.5). The keys are bf16 values, so the bf16 cache of the CUDA
// target (the second and fourth runs: the same cache as bf16 storage) and the
// CPU's f16 cache (--kv-cache=f16: the third run) must give the f32 runtime's
// scores too.
//
// RUN: lazy-opt %s --lazyc-scores-to-linalg="chunks=4" --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: sed -e 's/false \/\/ BF16-STORAGE/true/' %s | lazy-opt --lazyc-scores-to-linalg="chunks=4 cache-element-type=bf16" --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: sed -e 's/false \/\/ F16-STORAGE/true/' %s | lazy-opt --lazyc-scores-to-linalg="chunks=4 cache-element-type=f16" --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// The GPU loop mapping of the CUDA target, run as CPU loops (the defaults:
// one chunk row of 64 partial maxima / sums):
// RUN: lazy-opt %s --lazyc-scores-to-linalg --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=16 reduction-block-size=4" --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: sed -e 's/false \/\/ BF16-STORAGE/true/' %s | lazy-opt --lazyc-scores-to-linalg="cache-element-type=bf16" --lazyc-private-inits --one-shot-bufferize="bufferize-function-boundaries" --convert-linalg-to-parallel-loops --lazyc-gpu-map-loops="block-size=16 reduction-block-size=4" --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-lazyc-to-llvm --reconcile-unrealized-casts | %mlir_runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs,%lazyc_rt | FileCheck %s
// RUN: lazy-opt %s --lazyc-scores-to-linalg="chunks=4" | FileCheck %s --check-prefix=IR
// RUN: not lazy-opt %s --lazyc-scores-to-linalg="cache-element-type=f8" 2>&1 | FileCheck %s --check-prefix=BAD

// IR-LABEL: func.func @last_row
// IR-NOT: lazy.scores
// IR: lazy.cache_keys %{{.*}} {layer = 1 : i64} : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, f32> -> memref<?x8xf32>
// IR: bufferization.to_tensor %{{.*}} restrict : memref<?x8xf32> to tensor<?x8xf32>
// IR: tensor.expand_shape {{.*}} : tensor<?x4x?xf32> into tensor<?x4x?x4xf32>
// IR: arith.maxnumf
// IR: math.exp
// IR-LABEL: func.func @window
// IR-NOT: lazy.scores
// IR-LABEL: func.func @sliding
// IR-NOT: lazy.scores
// IR-LABEL: func.func @capped
// IR-NOT: lazy.scores
// IR: math.exp
// BAD: cache-element-type must be f32, bf16 or f16 (the CPU runtime's KV cache; the CUDA runtime's is bf16), got 'f8'

!cache = !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 4, f32>

func.func @last_row(%q: tensor<?x16xf32>, %c: !cache, %keys: tensor<?xi32>) -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64,
                                  head_dim = 4 : i64, scale = 5.000000e-01 : f64}
      : (tensor<?x16xf32>, !cache, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func @window(%q: tensor<?x16xf32>, %c: !cache, %keys: tensor<?xi32>, %pos: tensor<?xi32>)
    -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys window %pos
      {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64,
       scale = 5.000000e-01 : f64, window = 3 : i64}
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func @sliding(%q: tensor<?x16xf32>, %c: !cache, %keys: tensor<?xi32>, %pos: tensor<?xi32>)
    -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys window %pos
      {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64,
       scale = 5.000000e-01 : f64, sliding_window = 6 : i64}
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func @capped(%q: tensor<?x16xf32>, %c: !cache, %keys: tensor<?xi32>, %pos: tensor<?xi32>)
    -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys window %pos
      {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64,
       scale = 5.000000e-01 : f64, window = 3 : i64, sliding_window = 6 : i64,
       logit_softcap = 5.000000e-01 : f64}
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func @window_sliding(%q: tensor<?x16xf32>, %c: !cache, %keys: tensor<?xi32>,
                          %pos: tensor<?xi32>) -> tensor<?xf32> {
  %s = lazy.scores %q, %c, %keys window %pos
      {layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64,
       scale = 5.000000e-01 : f64, window = 3 : i64, sliding_window = 6 : i64}
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

func.func private @lazyc_rt_scores(!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64)
func.func private @lazyc_rt_window_scores(!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64,
                                          f64, i64, i64, i64, f64)

func.func @address(%m: memref<?xi32>) -> i64 {
  %p = memref.extract_aligned_pointer_as_index %m : memref<?xi32> -> index
  %a = arith.index_cast %p : index to i64
  return %a : i64
}

// A LazycKVCache (runtime/cpu/Kernels.h: 12 words) whose keys are at `k`.
func.func @cache_object(%k: i64) -> (memref<13xi64>, !llvm.ptr) {
  %obj = memref.alloc() : memref<13xi64>
  %zero = arith.constant 0 : i64
  linalg.fill ins(%zero : i64) outs(%obj : memref<13xi64>)
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %context = arith.constant 16 : i64
  %layers = arith.constant 2 : i64
  %kvdim = arith.constant 8 : i64
  memref.store %k, %obj[%c0] : memref<13xi64>
  memref.store %context, %obj[%c2] : memref<13xi64>
  memref.store %layers, %obj[%c3] : memref<13xi64>
  memref.store %kvdim, %obj[%c4] : memref<13xi64>
  // kv_type (field 12) stays 0: the runtime's kernels read the f32 keys.
  %p = memref.extract_aligned_pointer_as_index %obj : memref<13xi64> -> index
  %a = arith.index_cast %p : index to i64
  %ptr = llvm.inttoptr %a : i64 to !llvm.ptr
  return %obj, %ptr : memref<13xi64>, !llvm.ptr
}

// Prints max |generated - runtime| < 1e-6 and |sum of the scores - 1| < 1e-5.
func.func @compare(%g: tensor<?xf32>, %r: memref<?xf32>) {
  %gm = bufferization.to_buffer %g : tensor<?xf32> to memref<?xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %r, %c0 : memref<?xf32>
  %zero = arith.constant 0.0 : f32
  %diff, %sum = scf.for %j = %c0 to %n step %c1 iter_args(%d = %zero, %s = %zero) -> (f32, f32) {
    %a = memref.load %gm[%j] : memref<?xf32>
    %b = memref.load %r[%j] : memref<?xf32>
    %e = arith.subf %a, %b : f32
    %ae = math.absf %e : f32
    %m = arith.maximumf %d, %ae : f32
    %t = arith.addf %s, %a : f32
    scf.yield %m, %t : f32, f32
  }
  %one = arith.constant 1.0 : f32
  %tol = arith.constant 1.0e-6 : f32
  %close = arith.cmpf olt, %diff, %tol : f32
  vector.print %close : i1
  %off = arith.subf %sum, %one : f32
  %aoff = math.absf %off : f32
  %tol2 = arith.constant 1.0e-5 : f32
  %norm = arith.cmpf olt, %aoff, %tol2 : f32
  vector.print %norm : i1
  return
}

// CHECK: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
// CHECK-NEXT: 1
func.func @main() {
  %bf16storage = arith.constant false // BF16-STORAGE
  %f16storage = arith.constant false // F16-STORAGE
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c9 = arith.constant 9 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  // Keys of both layers, bf16 values: k[i] = 2 sin(0.37 i), as f32 and bf16.
  %kf = memref.alloc() : memref<256xf32>
  %kb = memref.alloc() : memref<256xbf16>
  %kh = memref.alloc() : memref<256xf16>
  %f037 = arith.constant 0.37 : f32
  %f2 = arith.constant 2.0 : f32
  scf.for %i = %c0 to %c256 step %c1 {
    %i64 = arith.index_cast %i : index to i64
    %fi = arith.sitofp %i64 : i64 to f32
    %x = arith.mulf %fi, %f037 : f32
    %s = math.sin %x : f32
    %v = arith.mulf %s, %f2 : f32
    %vb = arith.truncf %v : f32 to bf16
    %vf = arith.extf %vb : bf16 to f32
    memref.store %vf, %kf[%i] : memref<256xf32>
    memref.store %vb, %kb[%i] : memref<256xbf16>
    %vh = arith.truncf %vf : f32 to f16
    memref.store %vh, %kh[%i] : memref<256xf16>
  }
  %kfp = memref.extract_aligned_pointer_as_index %kf : memref<256xf32> -> index
  %kbp = memref.extract_aligned_pointer_as_index %kb : memref<256xbf16> -> index
  %kfa = arith.index_cast %kfp : index to i64
  %kba = arith.index_cast %kbp : index to i64
  %khp = memref.extract_aligned_pointer_as_index %kh : memref<256xf16> -> index
  %kha = arith.index_cast %khp : index to i64
  %knarrow = arith.select %bf16storage, %kba, %kha : i64
  %isnarrow = arith.ori %bf16storage, %f16storage : i1
  %ka = arith.select %isnarrow, %knarrow, %kfa : i64
  %gobj, %gcache = call @cache_object(%ka) : (i64) -> (memref<13xi64>, !llvm.ptr)
  %robj, %rcache = call @cache_object(%kfa) : (i64) -> (memref<13xi64>, !llvm.ptr)
  %cache = builtin.unrealized_conversion_cast %gcache : !llvm.ptr to !cache
  // q[r, c] = 1.5 cos(0.23 (16 r + c)), 4 rows.
  %qm = memref.alloc(%c4) : memref<?x16xf32>
  %f023 = arith.constant 0.23 : f32
  %f15 = arith.constant 1.5 : f32
  scf.for %r = %c0 to %c4 step %c1 {
    scf.for %c = %c0 to %c16 step %c1 {
      %rr = arith.muli %r, %c16 : index
      %i = arith.addi %rr, %c : index
      %i64 = arith.index_cast %i : index to i64
      %fi = arith.sitofp %i64 : i64 to f32
      %x = arith.mulf %fi, %f023 : f32
      %cs = math.cos %x : f32
      %v = arith.mulf %cs, %f15 : f32
      memref.store %v, %qm[%r, %c] : memref<?x16xf32>
    }
  }
  %keys = memref.alloc(%c9) : memref<?xi32>
  %pos = memref.alloc(%c4) : memref<?xi32>
  %kv = arith.constant dense<[0, 2, 3, 5, 6, 9, 11, 12, 13]> : vector<9xi32>
  %pv = arith.constant dense<[5, 9, 12, 13]> : vector<4xi32>
  vector.store %kv, %keys[%c0] : memref<?xi32>, vector<9xi32>
  vector.store %pv, %pos[%c0] : memref<?xi32>, vector<4xi32>
  %q = bufferization.to_tensor %qm restrict : memref<?x16xf32> to tensor<?x16xf32>
  %kt = bufferization.to_tensor %keys restrict : memref<?xi32> to tensor<?xi32>
  %pt = bufferization.to_tensor %pos restrict : memref<?xi32> to tensor<?xi32>

  %qp = memref.extract_aligned_pointer_as_index %qm : memref<?x16xf32> -> index
  %qa = arith.index_cast %qp : index to i64
  %keysa = call @address(%keys) : (memref<?xi32>) -> i64
  %posa = call @address(%pos) : (memref<?xi32>) -> i64
  %layer = arith.constant 1 : i64
  %rows = arith.constant 4 : i64
  %n = arith.constant 9 : i64
  %heads = arith.constant 4 : i64
  %kvheads = arith.constant 2 : i64
  %hd = arith.constant 4 : i64
  %scale = arith.constant 0.5 : f64
  %w = arith.constant 3 : i64

  %g1 = call @last_row(%q, %cache, %kt) : (tensor<?x16xf32>, !cache, tensor<?xi32>) -> tensor<?xf32>
  %r1 = memref.alloc(%c9) : memref<?xf32>
  %r1p = memref.extract_aligned_pointer_as_index %r1 : memref<?xf32> -> index
  %r1a = arith.index_cast %r1p : index to i64
  call @lazyc_rt_scores(%rcache, %layer, %qa, %rows, %keysa, %n, %heads, %kvheads, %hd, %scale,
                        %r1a) : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64) -> ()
  call @compare(%g1, %r1) : (tensor<?xf32>, memref<?xf32>) -> ()

  %g2 = call @window(%q, %cache, %kt, %pt)
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  %r2 = memref.alloc(%c9) : memref<?xf32>
  %r2p = memref.extract_aligned_pointer_as_index %r2 : memref<?xf32> -> index
  %r2a = arith.index_cast %r2p : index to i64
  %nosliding = arith.constant 0 : i64
  %nocap = arith.constant 0.0 : f64
  call @lazyc_rt_window_scores(%rcache, %layer, %qa, %posa, %rows, %keysa, %n, %heads, %kvheads,
                               %hd, %scale, %w, %r2a, %nosliding, %nocap)
      : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, i64, i64, f64) -> ()
  call @compare(%g2, %r2) : (tensor<?xf32>, memref<?xf32>) -> ()

  // A sliding window of 6 positions: the last row, then the window of rows.
  %sliding = arith.constant 6 : i64
  %w1 = arith.constant 1 : i64
  %g3 = call @sliding(%q, %cache, %kt, %pt)
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  %r3 = memref.alloc(%c9) : memref<?xf32>
  %r3p = memref.extract_aligned_pointer_as_index %r3 : memref<?xf32> -> index
  %r3a = arith.index_cast %r3p : index to i64
  call @lazyc_rt_window_scores(%rcache, %layer, %qa, %posa, %rows, %keysa, %n, %heads, %kvheads,
                               %hd, %scale, %w1, %r3a, %sliding, %nocap)
      : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, i64, i64, f64) -> ()
  call @compare(%g3, %r3) : (tensor<?xf32>, memref<?xf32>) -> ()
  %g4 = call @window_sliding(%q, %cache, %kt, %pt)
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  %r4 = memref.alloc(%c9) : memref<?xf32>
  %r4p = memref.extract_aligned_pointer_as_index %r4 : memref<?xf32> -> index
  %r4a = arith.index_cast %r4p : index to i64
  call @lazyc_rt_window_scores(%rcache, %layer, %qa, %posa, %rows, %keysa, %n, %heads, %kvheads,
                               %hd, %scale, %w, %r4a, %sliding, %nocap)
      : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, i64, i64, f64) -> ()
  call @compare(%g4, %r4) : (tensor<?xf32>, memref<?xf32>) -> ()
  // ... soft-capped at 0.5.
  %cap = arith.constant 0.5 : f64
  %g5 = call @capped(%q, %cache, %kt, %pt)
      : (tensor<?x16xf32>, !cache, tensor<?xi32>, tensor<?xi32>) -> tensor<?xf32>
  %r5 = memref.alloc(%c9) : memref<?xf32>
  %r5p = memref.extract_aligned_pointer_as_index %r5 : memref<?xf32> -> index
  %r5a = arith.index_cast %r5p : index to i64
  call @lazyc_rt_window_scores(%rcache, %layer, %qa, %posa, %rows, %keysa, %n, %heads, %kvheads,
                               %hd, %scale, %w, %r5a, %sliding, %cap)
      : (!llvm.ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, i64, i64, f64) -> ()
  call @compare(%g5, %r5) : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}
