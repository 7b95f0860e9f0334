//===- KernelBuilder.h - shared helpers of the generated LazyLLM kernels ---===//
//
// The passes that write LazyLLM's index and score work as linalg on tensors
// (lazyc-select-to-linalg, lazyc-scores-to-linalg) build their generics the
// same way: one result, an init, a body that yields one value.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_KERNELBUILDER_H
#define LAZYC_PASSES_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace lazyc {

/// Soft-capping (Gemma 2), cap * tanh(x / cap), in a kernel body: tanh(t) =
/// 1 - 2 / (exp(2t) + 1), exact at the limits (exp overflows to inf, or goes
/// to 0). Shared by llm.softcap's lowering and the soft-capped scores.
inline mlir::Value softcapOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, double cap) {
  auto c = [&](double v) -> mlir::Value {
    return mlir::arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), v));
  };
  mlir::Value e =
      mlir::math::ExpOp::create(b, loc, mlir::arith::MulFOp::create(b, loc, x, c(2.0 / cap)));
  mlir::Value t = mlir::arith::SubFOp::create(
      b, loc, c(1.0),
      mlir::arith::DivFOp::create(b, loc, c(2.0), mlir::arith::AddFOp::create(b, loc, e, c(1.0))));
  return mlir::arith::MulFOp::create(b, loc, t, c(cap));
}

class KernelBuilder {
public:
  using Iter = mlir::utils::IteratorType;
  using Body = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

  KernelBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

protected:
  mlir::Value index(int64_t v) { return mlir::arith::ConstantIndexOp::create(b, loc, v); }
  /// ceil(a / d) for a >= 0.
  mlir::Value ceilDiv(mlir::Value a, int64_t d) {
    mlir::Value sum = mlir::arith::AddIOp::create(b, loc, a, index(d - 1));
    return mlir::arith::DivUIOp::create(b, loc, sum, index(d));
  }
  mlir::AffineMap map(unsigned dims, llvm::ArrayRef<mlir::AffineExpr> results) {
    return mlir::AffineMap::get(dims, 0, results, b.getContext());
  }
  mlir::Value empty(llvm::ArrayRef<mlir::Value> sizes, llvm::ArrayRef<int64_t> shape,
                    mlir::Type element) {
    return mlir::tensor::EmptyOp::create(b, loc, shape, element, sizes);
  }
  /// A tensor of `shape` (dynamic sizes `sizes`) filled with `value`.
  mlir::Value filled(llvm::ArrayRef<mlir::Value> sizes, llvm::ArrayRef<int64_t> shape,
                     mlir::TypedAttr value) {
    mlir::Value init = empty(sizes, shape, value.getType());
    mlir::Value v = mlir::arith::ConstantOp::create(b, loc, value);
    return mlir::linalg::FillOp::create(b, loc, v, init).getResult(0);
  }
  /// A linalg.generic with one init whose body yields body(args).
  mlir::Value generic(mlir::Type type, mlir::ValueRange inputs, mlir::Value init,
                      llvm::ArrayRef<mlir::AffineMap> maps, llvm::ArrayRef<Iter> iterators,
                      Body body) {
    auto op = mlir::linalg::GenericOp::create(
        b, loc, mlir::TypeRange{type}, inputs, mlir::ValueRange{init}, maps, iterators,
        [&](mlir::OpBuilder &nb, mlir::Location nl, mlir::ValueRange args) {
          mlir::linalg::YieldOp::create(nb, nl, body(nb, nl, args));
        });
    return op.getResult(0);
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace lazyc

#endif // LAZYC_PASSES_KERNELBUILDER_H
