//===- ApproximateExp.cpp - f32 math.exp as a polynomial -------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCAPPROXIMATEEXP
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {
struct LazycApproximateExpPass
    : public lazyc::impl::LazycApproximateExpBase<LazycApproximateExpPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == math::ExpOp::getOperationName();
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
