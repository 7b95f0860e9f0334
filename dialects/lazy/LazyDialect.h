//===- LazyDialect.h - lazy dialect -----------------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LAZY_LAZYDIALECT_H
#define LAZYC_DIALECTS_LAZY_LAZYDIALECT_H

#include "dialects/llm/LLMDialect.h"
#include "mlir/IR/Dialect.h"

#include "dialects/lazy/LazyDialect.h.inc"

#endif // LAZYC_DIALECTS_LAZY_LAZYDIALECT_H
