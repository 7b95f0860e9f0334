//===- FuseLinearAdd.cpp - residual adds into the GEMM epilogue -----------===//
//
// llm.add %r, (llm.linear %x, %w) -> llm.linear %x, %w acc %r: the runtime's
// GEMM computes r + x W^T with beta = 1 (oneDNN sgemm, cuBLASLt), so the
// residual connections cost no separate pass over the rows.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/llm/LLMOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCFUSELINEARADD
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {
struct FoldAddIntoLinear : OpRewritePattern<llm::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::AddOp add, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(add.getType());
    if (!type.getElementType().isF32())
      return rewriter.notifyMatchFailure(add, "only f32 sums accumulate in the GEMM");
    for (auto [product, residual] :
         {std::pair(add.getRhs(), add.getLhs()), std::pair(add.getLhs(), add.getRhs())}) {
      auto linear = product.getDefiningOp<llm::LinearOp>();
      // The projection must have no other reader (it is no longer
      // materialized), must not already accumulate, and must have the sum's
      // type (so does the residual: llm.add's operands share its type).
      if (!linear || linear.getAccumulate() || !linear->hasOneUse() ||
          linear.getType() != type || residual.getType() != type)
        continue;
      // At the add, every operand of the new op is available.
      rewriter.replaceOpWithNewOp<llm::LinearOp>(add, type, linear.getInput(),
                                                 linear.getWeight(), residual);
      rewriter.eraseOp(linear);
      return success();
    }
    return rewriter.notifyMatchFailure(add, "no single-use f32 llm.linear operand");
  }
};

struct LazycFuseLinearAddPass
    : public lazyc::impl::LazycFuseLinearAddBase<LazycFuseLinearAddPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldAddIntoLinear>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
