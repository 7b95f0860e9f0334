//===- Passes.h - lazyc passes ----------------------------------*- C++ -*-===//
#ifndef LAZYC_PASSES_PASSES_H
#define LAZYC_PASSES_PASSES_H

#include "dialects/lazy/LazyDialect.h"
#include "dialects/lazy/LazyTypes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace lazyc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Builds the schedule described by `spec` (a preset name or `layer:keep`
/// pairs) for a model of `numLayers` layers. On a malformed spec, returns a
/// null attribute and sets `error`.
lazy::ScheduleAttr parseSchedule(mlir::MLIRContext *context,
                                 llvm::StringRef spec, unsigned numLayers,
                                 std::string &error);

} // namespace lazyc

#endif // LAZYC_PASSES_PASSES_H
