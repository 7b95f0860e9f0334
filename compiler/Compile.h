//===- Compile.h - compile llm IR to a loadable model -----------*- C++ -*-===//
//
// The compiled model ABI (version 1), read by runtime/Runtime.cpp:
//   * `const char lazyc_model_description[]`: JSON describing the model
//     (abi_version, arch, name, context_length, vocab_size, layers, kv_heads,
//     head_dim, hidden, weight_arena_bytes, weights: [{name, offset, bytes,
//     dtype, shape}]).
//   * `void _mlir_ciface_forward(Memref2D *logits, Memref1D *tokens,
//     Memref1D *positions, void *kv_cache, Memref1D *logit_rows,
//     Memref1D *weights)`: one step over a batch of new tokens with their
//     positions; returns a freshly malloc'ed [rows x vocab] f32 array.
//   * undefined `lazyc_rt_*` kernels, resolved from the runtime at load time.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_COMPILER_COMPILE_H
#define LAZYC_COMPILER_COMPILE_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace llvm {
class raw_pwrite_stream;
} // namespace llvm

namespace lazyc {

constexpr int kModelABIVersion = 1;

struct CompileOptions {
  /// Tune for this machine's CPU (default) or for portable x86-64-v3.
  bool portable = false;
  int optLevel = 3;
};

/// The model description JSON for a module lowered by convert-llm-to-linalg.
std::string describeModel(mlir::ModuleOp module);

/// Runs lazyc-cpu-pipeline on `module` (llm IR) in place.
mlir::LogicalResult lowerToLLVMDialect(mlir::ModuleOp module);

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
