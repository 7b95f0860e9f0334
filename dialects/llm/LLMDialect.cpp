//===- LLMDialect.cpp - llm dialect registration --------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "dialects/llm/LLMOps.h"
#include "dialects/llm/LLMTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lazyc::llm;

#include "dialects/llm/LLMDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/LLMTypes.cpp.inc"

void LLMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/llm/LLMOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/llm/LLMTypes.cpp.inc"
      >();
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  unsigned numLayers, unsigned numKVHeads,
                                  unsigned headDim, Type elementType) {
  if (numLayers == 0)
    return emitError() << "kv_cache must have at least one layer";
  if (numKVHeads == 0)
    return emitError() << "kv_cache must have at least one kv head";
  if (headDim == 0)
    return emitError() << "kv_cache head_dim must be positive";
  if (!isa<FloatType>(elementType))
    return emitError() << "kv_cache element type must be a float type, got "
                       << elementType;
  return success();
}
