//===- Passes.td - lazyc passes ----------------------------*- tablegen -*-===//
//
// Passes grouped under banners, alphabetical within a group.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_PASSES_TD
#define LAZYC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Pruning schedule
//===----------------------------------------------------------------------===//

def LazyInsertPruning : Pass<"lazy-insert-pruning", "::mlir::ModuleOp"> {
  let summary = "Insert lazy.prune points into a dense model by its schedule";
  let description = [{
    For every pruning layer `l` of the module's `lazy.schedule` (or of the
    `schedule` option), inserts a `lazy.prune` on the residual stream that
    leaves layer `l`, scored by layer `l`'s queries (post-RoPE) against its KV
    cache, and makes every later layer read the kept rows and their original
    positions. As in LazyLLM, a pruned model produces the logits of the step's
    last token only: the logits op reads the last kept row.

    The pass threads the token sets through the step: `lazy.context` gives
    `S_0` (the whole context), each `lazy.prune` returns the rows the next
    layer computes, their positions and `S_{l+1}`, and every later
    `llm.attention` attends over `S_{l+1}` (its `keys` operand).

    Before (schedule `[0 : 0.5]`):
    ```mlir
    %x1 = llm.add %h0, %down0 : tensor<?x64xf32>
    %n1 = llm.rms_norm %x1, %w : ...
    ```
    After:
    ```mlir
    %s0 = lazy.context %pos : tensor<?xi32> -> tensor<?xi32>
    ...
    %x1 = llm.add %h0, %down0 : tensor<?x64xf32>
    %h1, %p1, %s1 = lazy.prune %x1, %pos, %s0 using %q0, %cache {layer = 0, keep = 0.5, policy = "lazyllm", ...}
    %n1 = llm.rms_norm %h1, %w : ...
    %a1 = llm.attention %q1, %k1, %v1, %p1, %cache keys(%s1) {layer = 1, ...}
    ```
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"\"",
           "layer:keep pairs or a preset; empty = the module's lazy.schedule">,
    Option<"policy", "policy", "std::string", /*default=*/"\"lazyllm\"",
           "Pruning policy recorded on every lazy.prune">,
    Option<"minKeep", "min-keep", "int64_t", /*default=*/"0",
           "With `schedule`: no pruning layer keeps fewer than min(N, |S_l|) "
           "tokens (recorded in the schedule and on every lazy.prune)">,
  ];
  let dependentDialects = ["::lazyc::lazy::LazyDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def LazyDeferMLP : Pass<"lazy-defer-mlp", "::mlir::ModuleOp"> {
  let summary = "Rows a prune drops skip the pruning layer's MLP";
  let description = [{
    For each `lazy.prune` whose hidden rows are `h + f(h)` with `f` row-wise
    (RMSNorm, GEMMs without accumulator, SwiGLU/SiLU, adds: the MLP on the
    layer's mid state `h`) and read nowhere else, prunes `h` instead and
    applies `h + f(h)` to the rows the prune returns. Selection commutes with
    row-wise work, so every row that goes on has the same value; the rows
    dropped in this step skip layer l's MLP (30% of the pruning layers' MLP
    rows with keep = 0.7). The Aux Cache then holds their mid state (ours):
    a revived row gets its layer-l MLP on its way into layer l + 1, so each
    row is still computed at most once per layer. The logits' rows likewise:
    `llm.logits (f(a, b, ...))[rows]` with `f` row-wise and read only there
    (the last layer past its attention: output projection, residual adds,
    MLP, final norm) becomes `llm.logits (f(a[rows], b[rows], ...))[0..k)`,
    so a prefill runs them for the one row it wants logits of (dense models
    too). Run before the policies expand the prunes (`lazy-compile`:
    `--defer-mlp`, on by default).

    ```mlir
    %m = llm.add %x, %o                     // h: after attention
    %y = llm.add %m, (mlp %m)               // the layer's output
    %h2, %p2, %k2 = lazy.prune %y, ...
    ```
    becomes
    ```mlir
    %m = llm.add %x, %o
    %h2, %p2, %k2 = lazy.prune %m, ...
    %y2 = llm.add %h2, (mlp %h2)            // on the kept and revived rows only
    ```
  }];
  let dependentDialects = ["::lazyc::llm::LLMDialect", "::lazyc::lazy::LazyDialect"];
}

def LazySparsify : Pass<"lazy-sparsify", "::mlir::ModuleOp"> {
  let summary = "Expand lazy.prune into scoring, selection and row gathers";
  let description = [{
    Rewrites each `lazy.prune` of a built-in policy into the ops of a
    LazyLLM step (../shared/LAZYLLM.md): scores over the layer's token set
    (`lazyllm`: the last query row's attention, mean over heads; `random`:
    a hash of position, layer and seed; `static`: `lazy.select_once`),
    percentile selection with the last token kept, the next token set,
    Aux Cache saves of dropped rows, the rows the next layer must compute
    (missing from its KV cache) and their inputs, fresh or revived from the
    Aux Cache. A keep ratio of 1 folds away. A prune of any other policy is
    an error: a user policy's own pass must expand it first.

    `window` and `pool` (ours, SnapKV-style; defaults 1 = the paper) change
    the attention scores of `lazyllm` and `static`: the mean over the query
    rows of the last `window` positions (`lazy.scores ... window %pos`), then
    a max over `pool` neighbouring keys of `S_l` (a `linalg.generic`), so a
    kept token brings its neighbours along. Both are recorded as module
    attributes `lazy.score_window` / `lazy.score_pool`. `reuse-bias` (ours;
    default 1 = the paper) puts a `lazy.reuse_bias` between the scores of
    `lazyllm` and `random` and their selection: a token the next layer
    already holds (computed in an earlier step) has its score multiplied by
    it, so a decode step revives a token only if it outscores the computed
    ones by that factor (module attribute `lazy.reuse_bias`).

    Before:
    ```mlir
    %h2, %p2, %s2 = lazy.prune %h, %pos, %s using %q, %cache {layer = 3, keep = 0.7, policy = "lazyllm", ...}
    ```
    After:
    ```mlir
    %sc = lazy.scores %q, %cache, %s {layer = 3, ...}
    %idx = lazy.select %sc {keep = 0.7}
    %s2 = lazy.gather %s[%idx]
    %aux = lazy.aux_cache %cache
    lazy.aux_save %h, %pos except %s2 into %aux {layer = 3}
    %p2 = lazy.missing %s2, %cache {layer = 4}
    %h2 = lazy.aux_load %aux[%p2] fresh %h, %pos {layer = 3}
    ```
  }];
  let options = [
    Option<"seed", "seed", "int64_t", /*default=*/"0",
           "Seed of the random policy's scores">,
    Option<"window", "window", "int64_t", /*default=*/"1",
           "lazyllm/static: average the attention of the query rows within the "
           "last `window` positions (1 = the last token only, as in the paper)">,
    Option<"pool", "pool", "int64_t", /*default=*/"1",
           "lazyllm/static: max-pool the scores over `pool` neighbouring keys "
           "(odd; 1 = none, as in the paper)">,
    Option<"reuseBias", "reuse-bias", "double", /*default=*/"1.0",
           "lazyllm/random: multiply the score of each token the next layer "
           "already holds by this (>= 1; 1 = the paper) before the selection "
           "(lazy.reuse_bias): decode steps revive fewer tokens">,
  ];
  let dependentDialects = ["::lazyc::lazy::LazyDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def LazyStreamingPolicy : Pass<"lazy-streaming-policy", "::mlir::ModuleOp"> {
  let summary = "Pruning policy 'streaming': attention sinks + recent window";
  let description = [{
    The worked example of a user pruning policy (docs/writing-a-pruning-pass.md).
    Expands every `lazy.prune` whose policy is `streaming`, StreamingLLM
    style: the first `sinks` positions (attention sinks) and the most recent
    tokens are kept, as many as the prune's keep ratio allows. Scores are
    computed by a `linalg.generic` over the key positions; selection, Aux
    Cache and revival come from the shared helpers (PruningPolicy.h).
    Run it before `--lazy-sparsify`.
  }];
  let options = [
    Option<"sinks", "sinks", "int64_t", /*default=*/"4",
           "Number of leading positions always kept">,
  ];
  let dependentDialects = ["::lazyc::lazy::LazyDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def LazycPrivateInits : Pass<"lazyc-private-inits", "::mlir::func::FuncOp"> {
  let summary = "Give each linalg op its own copy of a shared fill init";
  let description = [{
    CSE merges identical `linalg.fill`s (every RMSNorm's zeroed sum of
    squares over the same rows becomes one tensor). One-shot bufferization
    then keeps the shared buffer and copies it before each op that
    accumulates into it. This pass clones the fill (and its `tensor.empty`)
    for every linalg op that uses it as an init beyond the first, so each
    accumulates in place into its own freshly filled buffer (on the GPU the
    fill then folds into the reduction: lazyc-gpu-map-loops).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def LazycSelectToLinalg : Pass<"lazyc-select-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Generate LazyLLM's percentile selection (lazy.select) as linalg kernels";
  let description = [{
    Rewrites every `lazy.select` into `linalg.generic`s on tensors that the
    GPU pipeline turns into kernels like any other generated code (the CUDA
    target's default: the scores never leave the device); otherwise
    `lazy.select` bufferizes into the runtime's `lazyc_rt_select`
    (`nth_element` on the host). Same result, row for row:
      1. ranks in a strict total order (higher score first, ties toward the
         later row, NaN lowest), each row's comparisons split into `chunks`
         interleaved partial counts (n x chunks parallel work items; the
         O(n^2) comparisons are what a GPU does cheaply and a sort would not
         be expressible here);
      2. the mask: rank < k with k = clamp(ceil(keep * n - 1e-9), 1, n), the
         last row always kept, displacing the row ranked k - 1;
      3. compaction by a two-level scan over blocks of `block` rows (kept
         rows up to each row of a block, kept rows before each block), then
         per output slot its block and its offset in the block.
    The size k comes from the runtime's `lazyc_rt_select_size(n, keep)`, a
    host call on the size alone: nothing is copied back.

    ```mlir
    %idx = lazy.select %s {keep = 7.000000e-01 : f64} : tensor<?xf32> -> tensor<?xi32>
    ```
    becomes eight `linalg.generic`s (and their fills) ending in
    ```mlir
    %idx = linalg.generic {iterator_types = ["parallel", "reduction"]} ...
        -> tensor<?xi32>
    ```
  }];
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"32",
           "Partial rank counts per row (the parallelism of the O(n^2) step)">,
    Option<"block", "block", "int64_t", /*default=*/"128",
           "Rows per block of the compaction's two-level scan">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"];
}

def LazycScoresToLinalg : Pass<"lazyc-scores-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Generate LazyLLM's importance scores (lazy.scores) as linalg kernels";
  let description = [{
    Rewrites every `lazy.scores` (the last query row's attention over the
    layer's key set, averaged over heads; or its mean over an observation
    window) into `linalg.generic`s on tensors that read the keys in place in
    the KV cache (`lazy.cache_keys`), so the CUDA target computes them in
    generated kernels (its default) and `--gpu-loops` runs the same loop
    nests on the CPU; otherwise `lazy.scores` bufferizes into the runtime's
    `lazyc_rt_scores` / `lazyc_rt_window_scores`. With R query rows (1, or
    the last min(rows, window)) and C = `chunks`:
      1. dots[i, h, j] = q_i,h . K[keys[j]] (GQA: head h reads the keys of
         its group), keys padded to a multiple of C;
      2. per row and head, the largest dot, as C interleaved partial maxima
         (coalesced: neighbouring threads read neighbouring keys);
      3. per row and head, the sum of exp(scale * (dot - max)), likewise;
      4. scores[j] = mean over the window's rows of the head-averaged
         probabilities (a row sees only the keys at or before its position).
    Equal to the runtime's kernels up to the order of the float sums.
    `cache-element-type` is the runtime's KV cache storage: f32 (or bf16 / f16
    with lazy-compile --kv-cache) on the CPU, bf16 on the CUDA target.

    ```mlir
    %s = lazy.scores %q, %cache, %keys {layer = 3 : i64, num_heads = 9 : i64,
        num_kv_heads = 3 : i64, head_dim = 64 : i64, scale = 1.250000e-01 : f64}
        : (tensor<?x576xf32>, !llm.kv_cache<...>, tensor<?xi32>) -> tensor<?xf32>
    ```
    becomes
    ```mlir
    %k = lazy.cache_keys %cache {layer = 3 : i64} : !llm.kv_cache<...> -> memref<?x192xf32>
    %kt = bufferization.to_tensor %k restrict : memref<?x192xf32> to tensor<?x192xf32>
    %dots = linalg.generic ... // then partial maxima, sums, and the scores
    ```
  }];
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"64",
           "Interleaved partial maxima / sums per row and head">,
    Option<"cacheElementType", "cache-element-type", "std::string", /*default=*/"\"f32\"",
           "Element type of the runtime's KV cache: f32 or f16 (CPU), bf16 (CUDA)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def LazycEarlyDealloc : Pass<"lazyc-early-dealloc", "::mlir::func::FuncOp"> {
  let summary = "Free each buffer right after its last use";
  let description = [{
    Ownership-based buffer deallocation frees buffers at the end of their
    block, so a straight-line model step keeps every intermediate of every
    layer alive until it returns (gigabytes at long prompts, all first-touch
    page faults). This pass moves each `memref.dealloc` to just after the last
    op of the block that uses the buffer or anything derived from it (views,
    the raw address passed to a runtime kernel), so later layers reuse the
    memory of earlier ones.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def LazySetSchedule : Pass<"lazy-set-schedule", "::mlir::ModuleOp"> {
  let summary = "Attach a LazyLLM pruning schedule to the module";
  let description = [{
    Sets the module's `lazy.schedule` attribute from an explicit list of
    `layer:keep` pairs or from a named preset scaled to the model's depth.
    The depth is read from the `!llm.kv_cache` type the model uses.

    Presets (for a model of `L` layers; keep ratios are per pruning layer and
    compose multiplicatively):
      * `gentle`:     after layers L/4, L/2, 3L/4 keep 0.85 each
      * `default`:    after layers 0.57 L and 0.74 L keep 0.1, 0.5: late and
                      steep (on SmolLM2-135M, 17:0.1,22:0.5 keeps pass-key
                      retrieval at 4k tokens; earlier layers' last-token
                      attention does not find the key: see the README)
      * `fast`:       after layers L/4, L/2, 3L/4 keep 0.7, 0.7, 0.6
                      (≈ the public 70% / 50% / 30% cumulative schedule)
      * `aggressive`: after layers L/8, L/4, L/2, 3L/4 keep 0.7, 0.6, 0.6, 0.5

    `min-keep=N` records a floor on the kept sets (**ours**, default 0):
    a pruning layer keeps `max(ceil(keep * |S_l|), min(N, |S_l|))` tokens,
    so short prompts are not pruned to a handful of tokens.

    Before (`--lazy-set-schedule="schedule=8:0.7,16:0.5"`):
    ```mlir
    module {
      func.func @step(..., %cache: !llm.kv_cache<layers = 30, kv_heads = 3, head_dim = 64, f32>, ...)
    }
    ```
    After:
    ```mlir
    module attributes {lazy.schedule = #lazy.schedule<layers = 30, [8 : 0.7, 16 : 0.5]>} {
      ...
    }
    ```
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"default\"",
           "Comma-separated layer:keep pairs (e.g. \"8:0.7,16:0.5\") or a "
           "preset name: gentle, default, fast, quarters, aggressive">,
    Option<"minKeep", "min-keep", "int64_t", /*default=*/"0",
           "Floor on every kept set: no pruning layer keeps fewer than "
           "min(N, |S_l|) tokens (0 = none)">,
  ];
  let dependentDialects = ["::lazyc::lazy::LazyDialect"];
}

//===----------------------------------------------------------------------===//
// llm optimizations
//===----------------------------------------------------------------------===//

def LazycFuseLinearAdd : Pass<"lazyc-fuse-linear-add", "::mlir::ModuleOp"> {
  let summary = "Fold a residual add into the GEMM that produces its other operand";
  let description = [{
    `llm.add %r, (llm.linear %x, %w)` (either operand order), where nothing
    else reads the projection, becomes `llm.linear %x, %w acc %r`: the GEMM
    adds its product to `%r` in its epilogue (beta = 1), so the residual
    connections after the attention output and the MLP down projections need
    no kernel of their own and their rows are read and written once less.
    Bufferization writes the sum into `%r`'s buffer when nothing reads `%r`
    afterwards (otherwise into a copy). Only f32 sums (the residual stream).

    Before:
    ```mlir
    %o = llm.linear %a, %wo : tensor<?x64xf32>, tensor<64x64xbf16> -> tensor<?x64xf32>
    %h = llm.add %x, %o : tensor<?x64xf32>
    ```
    After:
    ```mlir
    %h = llm.linear %a, %wo acc %x : tensor<?x64xf32>, tensor<64x64xbf16>, tensor<?x64xf32>
        -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::lazyc::llm::LLMDialect"];
}

def LazycFuseProjections : Pass<"lazyc-fuse-projections", "::mlir::ModuleOp"> {
  let summary = "One GEMM for the projections of the same rows (Q with K, gate with up)";
  let description = [{
    `llm.linear` ops that read the same input, with weights of the same
    element type and input width that nothing else reads, become one
    `llm.linear` on an `llm.fused_weight` (the weights stacked: their rows
    back to back in the weight arena, so nothing is copied), and each former
    result a column slice of the product: fewer and wider GEMMs (for Llama,
    Q with K and gate with up; the stacked layout PyTorch's implementations
    use), each reading its input once. Only projections that nothing but
    compiler-generated kernels read (RoPE, SwiGLU, ...) take part: those read
    the slices with their row stride; the value projection, which the runtime's
    attention reads as a row-major array, stays a GEMM of its own.

    Before:
    ```mlir
    %wq = llm.weight "q" : tensor<64x64xf32>
    %q = llm.linear %h, %wq : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
    %wk = llm.weight "k" : tensor<32x64xf32>
    %k = llm.linear %h, %wk : tensor<?x64xf32>, tensor<32x64xf32> -> tensor<?x32xf32>
    ```
    After:
    ```mlir
    %w = llm.fused_weight ["q", "k"] rows [64, 32] : tensor<96x64xf32>
    %p = llm.linear %h, %w : tensor<?x64xf32>, tensor<96x64xf32> -> tensor<?x96xf32>
    %n = tensor.dim %p, %c0 : tensor<?x96xf32>
    %q = tensor.extract_slice %p[0, 0] [%n, 64] [1, 1] : tensor<?x96xf32> to tensor<?x64xf32>
    %k = tensor.extract_slice %p[0, 64] [%n, 32] [1, 1] : tensor<?x96xf32> to tensor<?x32xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFused", "fused-gemms", "Stacked GEMMs created">,
  ];
  let dependentDialects = ["::lazyc::llm::LLMDialect", "::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

def ConvertLLMToLinalg : Pass<"convert-llm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower llm ops to linalg/tensor/arith/math (compiler-generated code)";
  let description = [{
    Generates the code of the cheap ops as `linalg.generic` on tensors, ready
    for one-shot bufferization and fusion:
      * `llm.rms_norm` (row reduction + scaling), `llm.rope` (both layouts),
        `llm.silu`, `llm.swiglu`, `llm.add` (elementwise chains),
      * `llm.embedding` (row gather, with weight-type conversion),
      * `llm.logits` (gather of the selected rows, then an `llm.linear` with
        the vocabulary matrix),
      * `lazy.gather` (rows or position ids) and `lazy.random_scores` (a
        SplitMix64 hash of seed, layer and position: bit for bit the
        runtime's `lazyc_rt_random_scores`).
    `llm.weight` becomes a view into one weight arena: the step function gets
    a trailing `memref<?xi8>` argument and every weight is a
    `memref.view` at a byte offset the pass assigns (256-byte aligned). The
    layout is recorded as the module attribute `llm.weight_table`
    (a list of name, offset, bytes, shape, dtype), which `lazy-compile` embeds in the
    model so the runtime can fill the arena.

    The heavy ops (`llm.linear`, `llm.attention`) stay: they
    bufferize into calls of the runtime's kernels (see
    `registerLLMBufferizationModels`), as XLA and IREE call vendor GEMMs.

    Before:
    ```mlir
    %w = llm.weight "blk.0.attn_norm.weight" : tensor<576xf32>
    %y = llm.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : ...
    ```
    After:
    ```mlir
    %v = memref.view %arena[%c1024][] : memref<?xi8> to memref<576xf32>
    %w = bufferization.to_tensor %v restrict : memref<576xf32> to tensor<576xf32>
    %ss = linalg.generic {iterator_types = ["parallel", "reduction"]} ...
    %y = linalg.generic {iterator_types = ["parallel", "parallel"]} ...
    ```
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::bufferization::BufferizationDialect",
  ];
}

def ConvertLazycToLLVM : Pass<"convert-lazyc-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the bufferized model to the LLVM dialect";
  let description = [{
    The last CPU step: func/arith/math/cf/memref/index to LLVM, with
    `!llm.kv_cache` values becoming opaque `!llvm.ptr`s (the runtime's cache
    object). Entry points get `llvm.emit_c_interface` wrappers so the runtime
    calls `_mlir_ciface_forward` with memref descriptors.
  }];
  let options = [
    Option<"gpu", "gpu", "bool", /*default=*/"false",
           "Also lower the host side of GPU ops (gpu.launch_func, gpu.alloc, "
           "gpu.memcpy, ...) to the mgpu* runtime calls">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}


//===----------------------------------------------------------------------===//
// CUDA target
//===----------------------------------------------------------------------===//

def LazycGPUPrepare : Pass<"lazyc-gpu-prepare", "::mlir::ModuleOp"> {
  let summary = "Keep a bufferized model's buffers in GPU memory and call the CUDA kernels";
  let description = [{
    After bufferization: `memref.alloc`/`dealloc`/`copy` become `gpu.alloc`/
    `gpu.dealloc`/`gpu.memcpy`, constant globals get a device copy, and the
    runtime kernel calls `lazyc_rt_*` become `lazyc_gpu_*` (the CUDA runtime's
    kernels, same C ABI, device addresses). Linalg ops stay: they become GPU
    kernels later (lazyc-gpu-map-loops, convert-parallel-loops-to-gpu). A
    host-side load or store of a buffer is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def LazycGPUBF16GemmInputs : Pass<"lazyc-gpu-bf16-gemm-inputs", "::mlir::ModuleOp"> {
  let summary = "Feed bf16-weight GEMMs bf16 activations, truncated in the producing kernel";
  let description = [{
    On tensors after convert-llm-to-linalg: every `llm.linear` with f32 input
    and bf16 weight reads a bf16 truncation of its input (one per input
    value), and elementwise fusion moves each truncation into the linalg op
    that produced the input when nothing else reads it (RMSNorm's scaling,
    SwiGLU): those kernels write bf16 and the GEMM reads half the bytes
    (lazyc_rt_linear_ex). Whether the result becomes bf16 too is
    lazyc-gpu-bf16-gemm-outputs' decision.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def LazycGPUBF16GemmOutputs : Pass<"lazyc-gpu-bf16-gemm-outputs", "::mlir::ModuleOp"> {
  let summary = "bf16-weight GEMMs write bf16 where only elementwise kernels read them";
  let description = [{
    On tensors after convert-llm-to-linalg: an `llm.linear` with bf16 weights
    and an f32 result that only linalg.generic ops read (as inputs, or with
    `tensor.extract` in their bodies: RoPE's partner element), directly or
    through column slices (a stacked GEMM of lazyc-fuse-projections), gets a
    bf16 result, and its readers widen each element as they load it (the
    widening is fused into them). The Q/K projections feeding RoPE and the gate/up
    projections feeding SwiGLU then write and read half the bytes (PyTorch's
    bf16 activations); accumulation stays f32 inside the GEMM, and the
    residual stream (accumulating GEMMs) stays f32.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def LazycGPUBF16Residual : Pass<"lazyc-gpu-bf16-residual", "::mlir::ModuleOp"> {
  let summary = "The residual stream in bf16 between the GEMMs that accumulate into it";
  let description = [{
    On tensors after convert-llm-to-linalg and lazyc-fuse-linear-add, before
    the reductions are split: every `llm.linear ... acc %r` with bf16 weights
    and an f32 sum accumulates into bf16 instead (cuBLASLt: C = D bf16,
    beta = 1; the sum is formed in f32 and rounded once), so the residual
    stream between layers is bf16, as in PyTorch's bf16 models: the
    epilogues and the RMSNorms read and write half the bytes. Each other
    reader of a sum (RMSNorm's reduction and scaling, gathers, the Aux Cache)
    gets it widened to f32, the widening fused into it where it is a kernel
    of ours; an accumulator that no such GEMM wrote (the embedding, the rows
    a pruning layer returns) is truncated once.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def LazycGPUBF16Attention : Pass<"lazyc-gpu-bf16-attention", "::mlir::ModuleOp"> {
  let summary = "Attention reads and writes bf16 where its neighbours allow";
  let description = [{
    On tensors after convert-llm-to-linalg, before lazyc-gpu-bf16-gemm-inputs:
    an f32 `llm.attention` gets a bf16 query when a linalg op (RoPE) produces
    it for this attention alone, or for it and row slices (a pruning layer's
    generated importance scores read the last rows: each slice is widened
    where it is read); the truncation is fused into that kernel. It gets bf16
    key and value when RoPE produces the key and a bf16-weight GEMM the value
    for it alone (the GEMM writes bf16), and a bf16 result when only
    bf16-weight GEMMs read it as their input (the output projection). The KV
    cache is bf16 on the GPU and cuDNN's attention works in bf16, so this only
    removes conversion passes over the rows; a query that the runtime's
    score kernels (`lazy.scores`) also read stays f32. Models whose value projection
    has f32 weights are left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def LazycGPUSplitReductions : Pass<"lazyc-gpu-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Split long reductions into parallel partial sums (GPU)";
  let description = [{
    A linalg reduction over `threshold` or more elements (RMSNorm's sum of
    squares over the hidden size) would run as one sequential loop per row on
    the GPU. It is split (linalg::splitReduction) into `ratio` partial sums
    per row, computed in parallel, and a short final reduction.
  }];
  let options = [
    Option<"ratio", "ratio", "int64_t", /*default=*/"256",
           "Largest number of partial sums per output element">,
    Option<"threshold", "threshold", "int64_t", /*default=*/"512",
           "Split reductions over at least this many elements">,
    Option<"skipRowNorms", "skip-row-norms", "bool", /*default=*/"false",
           "Leave a row sum alone when its only reader is an elementwise op over "
           "the same rows (lazyc-gpu-fuse-row-norms fuses the pair)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def LazycGPUFuseRowNorms : Pass<"lazyc-gpu-fuse-row-norms", "::mlir::func::FuncOp"> {
  let summary = "A row sum and its elementwise consumer as one block-per-row kernel (GPU)";
  let description = [{
    After `lazyc-gpu-prepare`: a row reduction `sum[i] = fill + sum_k f(x[i, k])`
    (linalg.generic on buffers whose combiner is `out + f(in)`, initialized by
    a constant linalg.fill) whose only other reader is an all-parallel
    generic over the same rows (`y[i, k] = g(x[i, k], sum[i], w[k], ...)`:
    RMSNorm's scaling) becomes one `gpu.launch` with a block of `threads`
    threads per row: each thread sums a strided share of the row,
    `gpu.all_reduce add` combines the shares, and the threads apply the
    consumer to the same share (just read by the block: cache hits). The
    row is read from memory once instead of twice, in one kernel instead of
    three. Needs `lazyc-gpu-lower-all-reduce` after outlining.

    `cpu=1` (the CPU pipeline's `gpu-loops` with `fused-row-norms`): the
    same per-thread code as a CPU stand-in, in sequential loops over the
    rows, then each thread's share, the shares summed in thread order, then
    each thread's part of the consumer; checks the kernel's indexing without
    a GPU (not the all-reduce's shuffles).
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256", "Threads per row">,
    Option<"cpu", "cpu", "bool", /*default=*/"false",
           "Sequential loops instead of a gpu.launch (a CPU stand-in)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def LazycGPULowerAllReduce : Pass<"lazyc-gpu-lower-all-reduce", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Lower gpu.all_reduce in outlined kernels (shuffles, shared memory)";
  let description = [{
    Applies MLIR's all-reduce rewrite (populateGpuAllReducePatterns) to the
    kernels of a `gpu.module`: a workgroup reduction becomes warp shuffles, a
    shared-memory buffer of per-warp results and barriers.
  }];
  let dependentDialects = ["::mlir::cf::ControlFlowDialect", "::mlir::memref::MemRefDialect"];
}

def LazycGPUNameKernels : Pass<"lazyc-gpu-name-kernels", "::mlir::ModuleOp"> {
  let summary = "Name each GPU kernel after the op it was generated from";
  let description = [{
    Before gpu-kernel-outlining: every `gpu.launch` without a kernel name gets
    `<function>_<kind>_<N>` as its kernel and module name, where `kind` is the
    name in its location (convert-llm-to-linalg puts each llm / lazy op's name
    there: `rms_norm`, `rope`, `swiglu`, `gather`, `scores`, `select`, ...;
    bf16 conversions of their own are `convert`; `kernel` when none) and `N`
    makes it unique. Profilers then tell the kernels apart (the CUDA runtime's
    `LAZYC_CUDA_PROFILE=1` sums the GPU time per kind; nsys lists the names).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def LazycGPUHostIndexCopies
    : Pass<"lazyc-gpu-host-index-copies", "::mlir::ModuleOp"> {
  let summary = "Let the CUDA runtime keep host copies of index lists nothing rewrites";
  let description = [{
    The CUDA runtime's LazyLLM and attention entry points copy their position
    and token lists back to the host, which waits for all queued GPU work. A
    pruned prefill passes the same lists to many calls (aux_save, missing,
    aux_load, every attention of the layers up to the next pruning layer).
    After `lazyc-gpu-prepare`, this pass finds the i32 buffers allocated in a
    function whose writers (linalg outputs, copies, stores in kernels, runtime
    calls through an address not marked `lazyc.read_only`) all come before
    at least two read-only runtime calls, and calls
    `lazyc_gpu_keep_host_copy(address, bytes)` after the last writer: the
    runtime then keeps the copy of the buffer's next fetch for the later
    calls, until the buffer is freed. When the last writer is the runtime's
    upload of a result it computed on the host (`lazyc_gpu_missing`,
    `_select`, `_select_once`), the mark right after it is
    `lazyc_gpu_keep_uploaded_copy`: that upload is the copy, no fetch waits.
    A buffer with a use it cannot classify (a view it does not know, a call
    it is passed to directly) is left alone.

    `check=1` tests that proof on the CPU (the CPU pipeline's
    `host-index-copies`, after the same bufferization): the mark calls
    `lazyc_rt_keep_host_copy` (the CPU runtime keeps a snapshot of the list)
    and every later read-only runtime call of the buffer is preceded by
    `lazyc_rt_check_host_copy`, which stops the run naming the list if it
    changed: there, the GPU would have read a stale host copy.
  }];
  let options = [
    Option<"check", "check", "bool", /*default=*/"false",
           "CPU check of the marks: snapshot at the mark, compare before each later read">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def LazycReverseParallelLoops
    : Pass<"lazyc-reverse-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Run every parallel loop's iterations last to first (a check of GPU loop nests)";
  let description = [{
    A GPU runs a mapped `scf.parallel`'s iterations in no order, all at once;
    the CPU runs them first to last. A loop nest whose iterations depend on
    each other can therefore pass on the CPU and race on the GPU. This pass
    rewrites every `scf.parallel` without reductions so that it visits the
    same induction values in the opposite order (`lb + k * step` becomes
    `last - k * step`). The CPU pipeline runs it after `lazyc-gpu-map-loops`
    with `reverse-parallel-loops` (`lazy-compile --reverse-parallel-loops`),
    and the end-to-end tests compare such a model with the numpy reference:
    a dependence between iterations shows up as different values.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LazycGPUMapLoops : Pass<"lazyc-gpu-map-loops", "::mlir::func::FuncOp"> {
  let summary = "Map parallel loops to GPU blocks and threads";
  let description = [{
    Every outermost `scf.parallel` (a linalg op after
    convert-linalg-to-parallel-loops) is collapsed into one dimension (the
    innermost dimension varying fastest, so neighbouring threads touch
    neighbouring elements), tiled by `block-size` (`reduction-block-size` when
    the body holds a sequential reduction loop, whose accumulator is first
    moved into a register, starting from the value of a fill just before it
    over the same iteration space, which is then dropped) and mapped to
    block_x / thread_x, ready for convert-parallel-loops-to-gpu. Before that,
    each thread of an elementwise loop takes `elements-per-thread`
    neighbouring elements of the innermost dimension (when its static size
    allows), with all of their loads before the first store. Buffers read or
    written there with a static row layout (identity layout, static inner
    dimensions) get a second copy of the body, taken when their base
    addresses are aligned to the group's size (checked in the kernel; at most
    16 bytes): each group is one `vector.load`/`vector.store` with that
    alignment (`ld.global.v4` on the GPU). Misaligned buffers run the scalar
    copy, so the claim is never wrong.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of elementwise kernels">,
    Option<"reductionBlockSize", "reduction-block-size", "int64_t", /*default=*/"64",
           "Threads per block of kernels with a sequential reduction">,
    Option<"elementsPerThread", "elements-per-thread", "int64_t", /*default=*/"4",
           "Neighbouring elements each thread of an elementwise kernel handles (its "
           "loads first: more memory requests in flight); 1 = one">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect"];
}


def LazycApproximateExp : Pass<"lazyc-approximate-exp"> {
  let summary = "f32 math.exp as a polynomial, so the CPU's generated loops vectorize";
  let description = [{
    Rewrites every f32 `math.exp` into MLIR's polynomial approximation
    (`populateMathPolynomialApproximationPatterns`: range reduction by ln 2,
    a polynomial, the exponent set with integer arithmetic; a few ulp).
    Lowered as is, `math.exp` becomes a call of libm's `expf` in every
    iteration, which keeps LLVM from vectorizing the loop around it: SwiGLU's
    sigmoid took ~4% of a 4k-token CPU prefill that way. The CPU pipeline
    runs it before the loops are lowered (not with `gpu-loops`, whose loop
    nests stand in for the CUDA target's, where NVVM has its own `expf`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def LazycCPUParallelLoops : Pass<"lazyc-cpu-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Run the CPU's outermost parallel loops on the runtime's threads";
  let description = [{
    The compiled code's own loops (RMSNorm, RoPE, SwiGLU, gathers: the linalg
    ops after convert-linalg-to-parallel-loops) run on one thread while the
    runtime's kernels use all of them. This pass outlines every outermost
    `scf.parallel` that is not inside another loop (and has no reductions and
    a unit step in its first dimension) into a private function
    `void(ptr context, i64 begin, i64 end)` that runs the loop over
    [begin, end) of its first dimension, and replaces the loop with a call of
    the runtime's `lazyc_rt_parallel_for` (runtime/cpu/Kernels.h), which
    splits the range over its OpenMP threads when the work is large enough.
    The values the loop reads from outside (memref descriptors, scalars) are
    stored into a struct on the caller's stack that the context points to;
    constants are cloned into the function instead. The iterations of such a
    loop are independent (the CUDA target runs the same loops as kernels; see
    lazyc-reverse-parallel-loops), so the split changes no result.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", /*default=*/"2",
           "Loops whose first dimension has a static size below this stay inline">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"];
}

#endif // LAZYC_PASSES_PASSES_TD
