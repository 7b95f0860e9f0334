//===- LazySparsify.cpp - lazy.prune -> scores/select/gathers --------------===//

#include "passes/Passes.h"

#include "dialects/lazy/LazyOps.h"

#include "mlir/IR/Builders.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYSPARSIFY
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {
struct LazySparsifyPass : public lazyc::impl::LazySparsifyBase<LazySparsifyPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<lazy::PruneOp> prunes;
    getOperation().walk([&](lazy::PruneOp op) { prunes.push_back(op); });
    for (lazy::PruneOp op : prunes) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      // keep = 1 keeps every row: nothing to compute.
      if (op.getKeep().convertToDouble() == 1.0) {
        op.getKeptHidden().replaceAllUsesWith(op.getHidden());
        op.getKeptPositions().replaceAllUsesWith(op.getPositions());
        op.erase();
        continue;
      }
      if (op.getPolicy() != "lazyllm") {
        op.emitError() << "policy '" << op.getPolicy()
                       << "' has no expansion yet (lazy-sparsify expands 'lazyllm')";
        return signalPassFailure();
      }
      auto positionsType = op.getPositions().getType();
      auto scoresType =
          RankedTensorType::get(positionsType.getShape(), b.getF32Type());
      Value scores = lazy::ScoresOp::create(
          b, loc, scoresType, op.getQuery(), op.getCache(), op.getPositions(),
          op.getLayerAttr(), op.getNumHeadsAttr(), op.getNumKvHeadsAttr(), op.getHeadDimAttr(),
          op.getScaleAttr());
      auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
      Value indices = lazy::SelectOp::create(b, loc, indexType, scores, op.getKeepAttr());
      Value hidden = lazy::GatherOp::create(b, loc, op.getKeptHidden().getType(),
                                            op.getHidden(), indices);
      Value positions = lazy::GatherOp::create(b, loc, op.getKeptPositions().getType(),
                                               op.getPositions(), indices);
      op.getKeptHidden().replaceAllUsesWith(hidden);
      op.getKeptPositions().replaceAllUsesWith(positions);
      op.erase();
    }
  }
};
} // namespace
