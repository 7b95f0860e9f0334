//===- Compile.h - compile llm IR to a loadable model -----------*- C++ -*-===//
//
// The compiled model ABI (version 6), read by runtime/Runtime.cpp:
//   * `const char lazyc_model_description[]`: JSON describing the model
//     (abi_version, arch, name, context_length, vocab_size, layers, kv_heads,
//     head_dim, weight_arena_bytes, weights: [{name, offset, bytes, dtype,
//     shape}], and for a pruned model lazy: {policy, schedule: [[layer,
//     keep], ...], min_keep, score_window?, score_pool?}).
//   * `void _mlir_ciface_forward(Memref2D *logits, Memref1D *tokens,
//     Memref1D *positions, void *kv_cache, Memref1D *logit_rows,
//     Memref1D *weights)`: one step over a batch of new tokens with their
//     positions; returns a freshly malloc'ed [rows x vocab] f32 array. The
//     kv_cache is a LazycKVCache (runtime/cpu/Kernels.h), which also holds
//     the LazyLLM state (cached-slot flags, Aux Cache, counters). A pruned
//     model's step returns the logits of the step's last token only.
//   Version 2: llm.attention passes a key list; the lazyc_rt_* LazyLLM
//   kernels. Version 3: the selection kernels (lazyc_rt_select*) take the
//   schedule's floor min_keep. Version 4: lazyc_rt_attention_ex and
//   lazyc_rt_window_scores take a sliding window and a soft-cap (their last
//   two arguments). Version 5: lazyc_rt_moe takes a router bias, the
//   experts' biases, an activation and its limit (gpt-oss). Version 6: and
//   its scoring (0 softmax, 1 sigmoid) and routed scale (GLM-4.5).
//   * undefined `lazyc_rt_*` kernels, resolved from the runtime at load time.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_COMPILER_COMPILE_H
#define LAZYC_COMPILER_COMPILE_H

#include "mlir/IR/BuiltinOps.h"
#include "passes/Passes.h"

#include <string>

namespace llvm {
class raw_pwrite_stream;
} // namespace llvm

namespace lazyc {

constexpr int kModelABIVersion = 6;

struct CompileOptions {
  /// Tune for this machine's CPU (default) or for portable x86-64-v3.
  bool portable = false;
  int optLevel = 3;
};

/// The model description JSON for a module lowered by convert-llm-to-linalg.
std::string describeModel(mlir::ModuleOp module);

/// LazyLLM options of lazy-compile.
struct PruneOptions {
  /// `layer:keep` pairs or a preset (gentle/default/aggressive); empty = the
  /// module's own lazy.prune ops (if any) are compiled as they are.
  std::string schedule;
  /// lazyllm, random, static, or streaming (the example user policy).
  std::string policy = "lazyllm";
  /// Floor on every kept set: a pruning layer keeps at least
  /// min(minKeep, |S_l|) tokens (ours; 0 = the paper's plain percentile).
  int64_t minKeep = 0;
  int64_t seed = 0;   // random policy
  int64_t sinks = 4;  // streaming policy
  /// lazyllm/static scores (ours; 1 = the paper): mean attention of the
  /// query rows within the last `scoreWindow` positions, max-pooled over
  /// `scorePool` (odd) neighbouring keys.
  int64_t scoreWindow = 1;
  int64_t scorePool = 1;
  /// lazyllm/random (ours; 1 = the paper): the score of each token the next
  /// layer already holds is multiplied by this before the selection.
  double reuseBias = 1.0;
  /// lazy-defer-mlp: the rows a prune drops skip the pruning layer's MLP.
  bool deferMLP = true;
};

/// Inserts pruning per `options` (if a schedule is given) and expands every
/// lazy.prune (built-in policies and the streaming example).
mlir::LogicalResult applyPruning(mlir::ModuleOp module, const PruneOptions &options);

/// Runs lazyc-cpu-pipeline on `module` (llm IR) in place.
mlir::LogicalResult lowerToLLVMDialect(mlir::ModuleOp module,
                                       const CPUPipelineOptions &options = {});
/// Runs lazyc-cuda-pipeline on `module` in place: host code in the LLVM
/// dialect, kernels as gpu.binary ops (embedded by emitLLVM).
mlir::LogicalResult lowerToLLVMDialectForCUDA(mlir::ModuleOp module,
                                              const CUDAPipelineOptions &options);

/// Translates an LLVM-dialect module to optimized LLVM IR text or an object
/// file (with the description embedded). `emitObject` selects the output.
bool emitLLVM(mlir::ModuleOp module, const std::string &description,
              const CompileOptions &options, bool emitObject,
              llvm::raw_pwrite_stream &os, std::string &error);

/// Links an object file into a shared library with the system C compiler.
bool linkSharedLibrary(const std::string &object, const std::string &output,
                       std::string &error);

} // namespace lazyc

#endif // LAZYC_COMPILER_COMPILE_H
