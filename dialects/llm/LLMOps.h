//===- LLMOps.h - llm dialect operations ------------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LLM_LLMOPS_H
#define LAZYC_DIALECTS_LLM_LLMOPS_H

#include "dialects/llm/LLMDialect.h"
#include "dialects/llm/LLMTypes.h"
#include "mlir/IR/BuiltinTypes.h"
#include <string>
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/llm/LLMOps.h.inc"

namespace lazyc {
/// The shortest decimal text that parses back to exactly `value` ("0.7", not
/// "0.69999999999999996"), for messages and printed attributes.
std::string formatDouble(double value);

/// Shape checks shared by the `llm` and `lazy` verifiers. Each returns failure
/// after emitting an error on `op` that names `what` and the expectation.
mlir::LogicalResult verifyRank(mlir::Operation *op, llvm::StringRef what,
                               mlir::ShapedType type, int64_t rank);
/// Fails if both sizes are static and differ.
mlir::LogicalResult verifyDimMatch(mlir::Operation *op, llvm::StringRef what,
                                   int64_t actual, llvm::StringRef other,
                                   int64_t expected);
/// Checks the attention head configuration shared by `llm.attention`,
/// `lazy.scores` and `lazy.prune`: positive counts, heads % kv_heads == 0,
/// query columns == heads * head_dim, cache matches, layer in range, scale > 0.
mlir::LogicalResult verifyAttentionConfig(mlir::Operation *op, int64_t heads,
                                          int64_t kvHeads, int64_t headDim,
                                          mlir::RankedTensorType query,
                                          llm::KVCacheType cache,
                                          int64_t layer, double scale);
} // namespace lazyc

#endif // LAZYC_DIALECTS_LLM_LLMOPS_H
