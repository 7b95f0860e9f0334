//===- LazyOps.h - lazy dialect operations ----------------------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LAZY_LAZYOPS_H
#define LAZYC_DIALECTS_LAZY_LAZYOPS_H

#include "dialects/lazy/LazyDialect.h"
#include "dialects/lazy/LazyTypes.h"
#include "dialects/llm/LLMTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/lazy/LazyOps.h.inc"

#endif // LAZYC_DIALECTS_LAZY_LAZYOPS_H
