//===- RuntimeCall.h - calls of the runtime's C entry points ---------------===//
//
// Lowerings that call a runtime kernel (runtime/cpu/Kernels.h: addresses and
// sizes as i64) declare it once in the module and call it.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_RUNTIMECALL_H
#define LAZYC_PASSES_RUNTIMECALL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace lazyc {

/// Marks a `memref.extract_aligned_pointer_as_index` whose address a runtime
/// kernel only reads (an address without it may be written through).
inline constexpr llvm::StringLiteral kReadOnlyAddressAttr = "lazyc.read_only";

/// Calls runtime function `name` at `b`'s insertion point inside `module`,
/// declaring it (private) on first use; returns the call's i64 result if
/// `returnsI64`, else a null value.
inline mlir::Value callRuntime(mlir::OpBuilder &b, mlir::Location loc, mlir::ModuleOp module,
                               llvm::StringRef name, mlir::ValueRange args,
                               bool returnsI64 = false) {
  llvm::SmallVector<mlir::Type> results;
  if (returnsI64)
    results.push_back(b.getI64Type());
  if (!module.lookupSymbol<mlir::func::FuncOp>(name)) {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    mlir::func::FuncOp::create(b, loc, name, b.getFunctionType(mlir::TypeRange(args), results))
        .setPrivate();
  }
  auto call = mlir::func::CallOp::create(b, loc, name, results, args);
  return returnsI64 ? call.getResult(0) : mlir::Value();
}

} // namespace lazyc

#endif // LAZYC_PASSES_RUNTIMECALL_H
