//===- InitAll.h - register everything lazyc uses ---------------*- C++ -*-===//
#ifndef LAZYC_COMPILER_INITALL_H
#define LAZYC_COMPILER_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace lazyc {
/// Adds the project's dialects and the upstream dialects its pipelines use.
void registerAllDialects(mlir::DialectRegistry &registry);
/// Registers the project's passes and the upstream passes its pipelines use.
void registerAllPasses();
} // namespace lazyc

#endif // LAZYC_COMPILER_INITALL_H
