//===- LazySparsify.cpp - lazy.prune -> the ops of a LazyLLM step ----------===//
//
// Expands the built-in policies (lazyllm, random, static) with the helpers of
// PruningPolicy.h, which every policy pass shares.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/PruningPolicy.h"

#include "dialects/lazy/LazyOps.h"

#include "mlir/IR/Builders.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYSPARSIFY
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

RankedTensorType lazyc::scoresTypeFor(lazy::PruneOp prune) {
  return RankedTensorType::get(prune.getKeys().getType().getShape(),
                               Float32Type::get(prune.getContext()));
}

void lazyc::expandPruneWithSelection(OpBuilder &b, lazy::PruneOp op, Value indices) {
  Location loc = op.getLoc();
  auto idsType = op.getKeys().getType();
  // S_{l+1}.
  Value keys = lazy::GatherOp::create(b, loc, idsType, op.getKeys(), indices);
  // Rows computed at `layer` and dropped wait in the Aux Cache of `layer`.
  auto hiddenType = op.getHidden().getType();
  auto cacheType = op.getCache().getType();
  auto auxType = lazy::AuxCacheType::get(
      b.getContext(), cacheType.getNumLayers(),
      static_cast<unsigned>(hiddenType.getDimSize(1)), cacheType.getElementType());
  Value aux = lazy::AuxCacheOp::create(b, loc, auxType, op.getCache());
  lazy::AuxSaveOp::create(b, loc, op.getHidden(), op.getPositions(), keys, aux,
                          op.getLayerAttr());
  // Layer + 1 computes the tokens of S_{l+1} it has no K/V for: this step's
  // fresh rows, and tokens revived from the Aux Cache.
  Value rows = lazy::MissingOp::create(b, loc, idsType, keys, op.getCache(),
                                       b.getI64IntegerAttr(op.getLayer() + 1));
  Value hidden = lazy::AuxLoadOp::create(b, loc, hiddenType, aux, rows, op.getHidden(),
                                         op.getPositions(), op.getLayerAttr());
  op.getNextHidden().replaceAllUsesWith(hidden);
  op.getNextPositions().replaceAllUsesWith(rows);
  op.getNextKeys().replaceAllUsesWith(keys);
  op.erase();
}

void lazyc::expandPruneWithScores(OpBuilder &b, lazy::PruneOp op, Value scores) {
  auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  Value indices = lazy::SelectOp::create(b, op.getLoc(), indexType, scores, op.getKeepAttr());
  expandPruneWithSelection(b, op, indices);
}

namespace {

Value lastTokenScores(OpBuilder &b, lazy::PruneOp op) {
  return lazy::ScoresOp::create(b, op.getLoc(), scoresTypeFor(op), op.getQuery(), op.getCache(),
                                op.getKeys(), op.getLayerAttr(), op.getNumHeadsAttr(),
                                op.getNumKvHeadsAttr(), op.getHeadDimAttr(), op.getScaleAttr());
}

struct LazySparsifyPass : public lazyc::impl::LazySparsifyBase<LazySparsifyPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<lazy::PruneOp> prunes;
    getOperation().walk([&](lazy::PruneOp op) { prunes.push_back(op); });
    for (lazy::PruneOp op : prunes) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      // keep = 1 keeps every token: nothing to compute.
      if (op.getKeep().convertToDouble() == 1.0) {
        op.getNextHidden().replaceAllUsesWith(op.getHidden());
        op.getNextPositions().replaceAllUsesWith(op.getPositions());
        op.getNextKeys().replaceAllUsesWith(op.getKeys());
        op.erase();
        continue;
      }
      StringRef policy = op.getPolicy();
      if (policy == "lazyllm") {
        expandPruneWithScores(b, op, lastTokenScores(b, op));
      } else if (policy == "random") {
        Value scores = lazy::RandomScoresOp::create(b, loc, scoresTypeFor(op), op.getKeys(),
                                                    op.getLayerAttr(), b.getI64IntegerAttr(seed));
        expandPruneWithScores(b, op, scores);
      } else if (policy == "static") {
        auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
        Value indices = lazy::SelectOnceOp::create(b, loc, indexType, lastTokenScores(b, op),
                                                   op.getKeys(), op.getPositions(),
                                                   op.getCache(), op.getKeepAttr(),
                                                   op.getLayerAttr());
        expandPruneWithSelection(b, op, indices);
      } else {
        op.emitError() << "no expansion for pruning policy '" << policy
                       << "': run the pass that implements it before --lazy-sparsify "
                          "(built in: lazyllm, random, static)";
        return signalPassFailure();
      }
    }
  }
};
} // namespace
