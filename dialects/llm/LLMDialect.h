//===- LLMDialect.h - llm dialect -------------------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LLM_LLMDIALECT_H
#define LAZYC_DIALECTS_LLM_LLMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/llm/LLMDialect.h.inc"

#endif // LAZYC_DIALECTS_LLM_LLMDIALECT_H
