//===- LLMOps.h - llm dialect operations ------------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LLM_LLMOPS_H
#define LAZYC_DIALECTS_LLM_LLMOPS_H

#include "dialects/llm/LLMDialect.h"
#include "dialects/llm/LLMTypes.h"
#include "mlir/IR/BuiltinTypes.h"
#include <algorithm>
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

namespace llm {
/// GGML's Q8_0 blocks (see `llm.weight`): 32 values in 34 bytes, an f16
/// scale then 32 int8.
constexpr int64_t kQ8_0BlockValues = 32;
constexpr int64_t kQ8_0BlockBytes = 34;
/// MXFP4 blocks (gpt-oss's experts): 32 values in 17 bytes, an E8M0
/// exponent then 16 bytes of E2M1 pairs.
constexpr int64_t kMXFP4BlockValues = 32;
constexpr int64_t kMXFP4BlockBytes = 17;
/// True for a weight type holding Q8_0 blocks (signless i8 elements).
inline bool isQ8_0(mlir::ShapedType weight) {
  return weight.getElementType().isSignlessInteger(8);
}
/// True for a weight type holding MXFP4 blocks (ui8 elements).
inline bool isMXFP4(mlir::ShapedType weight) {
  return weight.getElementType().isUnsignedInteger(8);
}
/// The values per row of a 2-D weight: its columns, or for Q8_0 / MXFP4
/// the values its row bytes hold (dynamic stays dynamic).
inline int64_t weightColumns(mlir::ShapedType weight) {
  int64_t cols = weight.getDimSize(1);
  if (mlir::ShapedType::isDynamic(cols))
    return cols;
  if (isQ8_0(weight))
    return cols / kQ8_0BlockBytes * kQ8_0BlockValues;
  if (isMXFP4(weight))
    return cols / kMXFP4BlockBytes * kMXFP4BlockValues;
  return cols;
}
/// The type of an `[rows, cols]` Q8_0 weight (cols a multiple of 32).
mlir::RankedTensorType getQ8_0WeightType(mlir::MLIRContext *context, int64_t rows,
                                         int64_t cols);
/// The type of an `[rows, cols]` MXFP4 weight (cols a multiple of 32).
mlir::RankedTensorType getMXFP4WeightType(mlir::MLIRContext *context, int64_t rows,
                                          int64_t cols);
/// How many of `span` consecutive rows a weight takes `block` at a time
/// every `step` rows (llm.weight's row_step and row_block; the runtime's
/// WeightLayout reads them alike).
inline int64_t steppedRowCount(int64_t span, int64_t step, int64_t block) {
  return span / step * block + std::min(span % step, block);
}
} // namespace llm
} // namespace lazyc

#endif // LAZYC_DIALECTS_LLM_LLMOPS_H
