//===- LLMTypes.h - llm dialect types ---------------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LLM_LLMTYPES_H
#define LAZYC_DIALECTS_LLM_LLMTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/LLMTypes.h.inc"

#endif // LAZYC_DIALECTS_LLM_LLMTYPES_H
