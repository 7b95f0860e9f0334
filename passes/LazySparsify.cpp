//===- LazySparsify.cpp - lazy.prune -> the ops of a LazyLLM step ----------===//
//
// Expands the built-in policies (lazyllm, random, static) with the helpers of
// PruningPolicy.h, which every policy pass shares.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/PruningPolicy.h"

#include "dialects/lazy/LazyDialect.h"
#include "dialects/lazy/LazyOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <cmath>

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
  Value indices = lazy::SelectOp::create(b, op.getLoc(), indexType, scores, op.getKeepAttr(),
                                         op.getMinKeepAttr());
  expandPruneWithSelection(b, op, indices);
}

Value lazyc::maxPoolScores(OpBuilder &b, Location loc, Value scores, int64_t width) {
  auto type = cast<RankedTensorType>(scores.getType());
  const int64_t radius = width / 2;
  if (radius <= 0)
    return scores;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = tensor::DimOp::create(b, loc, scores, zero);
  Value lastIndex = arith::SubIOp::create(b, loc, count, one);
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(count);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                       dynamicSizes);
  AffineMap id = b.getMultiDimIdentityMap(1);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{scores}, ValueRange{init}, ArrayRef<AffineMap>{id, id},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value j = linalg::IndexOp::create(nb, nloc, 0);
        Value best = args[0];
        // Indices clamped to [0, n): a clamped neighbour is a key already in
        // the window, so the maximum is that of the in-bounds neighbours.
        for (int64_t d = 1; d <= radius; ++d) {
          Value offset = arith::ConstantIndexOp::create(nb, nloc, d);
          Value below = arith::MaxSIOp::create(
              nb, nloc, arith::SubIOp::create(nb, nloc, j, offset), zero);
          Value above = arith::MinSIOp::create(
              nb, nloc, arith::AddIOp::create(nb, nloc, j, offset), lastIndex);
          for (Value index : {below, above}) {
            Value neighbour = tensor::ExtractOp::create(nb, nloc, scores, index);
            best = arith::MaximumFOp::create(nb, nloc, best, neighbour);
          }
        }
        linalg::YieldOp::create(nb, nloc, best);
      });
  return generic.getResult(0);
}

namespace {

/// The attention-based importance of `prune`'s keys: the last token's
/// attention row (window 1), or the mean over the observation window, then
/// max-pooled over `pool` keys.
Value attentionScores(OpBuilder &b, lazy::PruneOp op, int64_t window, int64_t pool) {
  Location loc = op.getLoc();
  // (A sliding window needs the rows' positions too.)
  const bool positioned =
      window > 1 || op.getSlidingWindow() > 0 || op.getLogitSoftcap().convertToDouble() > 0.0;
  Value scores = lazy::ScoresOp::create(
      b, loc, scoresTypeFor(op), op.getQuery(), op.getCache(), op.getKeys(),
      positioned ? op.getPositions() : Value(), op.getSinks(), op.getLayerAttr(),
      op.getNumHeadsAttr(),
      op.getNumKvHeadsAttr(), op.getHeadDimAttr(), op.getScaleAttr(),
      b.getI64IntegerAttr(window), op.getSlidingWindowAttr(), op.getLogitSoftcapAttr());
  return maxPoolScores(b, loc, scores, pool);
}

struct LazySparsifyPass : public lazyc::impl::LazySparsifyBase<LazySparsifyPass> {
  using Base::Base;

  void runOnOperation() override {
    if (!std::isfinite(static_cast<double>(reuseBias)) || reuseBias < 1.0) {
      getOperation().emitError() << "--lazy-sparsify: reuse-bias must be a finite number >= 1, got "
                                 << static_cast<double>(reuseBias);
      return signalPassFailure();
    }
    if (window < 1 || pool < 1 || pool % 2 == 0 || pool > kMaxScorePool) {
      getOperation().emitError()
          << "--lazy-sparsify: window must be >= 1 and pool odd in [1, " << kMaxScorePool
          << "], got window="
          << static_cast<int64_t>(window) << " pool=" << static_cast<int64_t>(pool);
      return signalPassFailure();
    }
    bool attentionScored = false, biased = false;
    // lazyllm/random: the scores, then (reuse-bias) the bias toward the
    // tokens the next layer holds, then the percentile.
    auto withReuseBias = [&](OpBuilder &b, lazy::PruneOp op, Value scores) -> Value {
      if (reuseBias == 1.0)
        return scores;
      biased = true;
      return lazy::ReuseBiasOp::create(b, op.getLoc(), scores.getType(), scores, op.getKeys(),
                                       op.getCache(), op.getLayerAttr(),
                                       b.getF64FloatAttr(reuseBias));
    };
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
        expandPruneWithScores(b, op, withReuseBias(b, op, attentionScores(b, op, window, pool)));
        attentionScored = true;
      } else if (policy == "random") {
        Value scores = lazy::RandomScoresOp::create(b, loc, scoresTypeFor(op), op.getKeys(),
                                                    op.getLayerAttr(), b.getI64IntegerAttr(seed));
        expandPruneWithScores(b, op, withReuseBias(b, op, scores));
      } else if (policy == "static") {
        if (reuseBias != 1.0) {
          op.emitError() << "--lazy-sparsify: reuse-bias applies to the lazyllm and random "
                            "policies; static never revives a token";
          return signalPassFailure();
        }
        auto indexType = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
        attentionScored = true;
        Value indices = lazy::SelectOnceOp::create(b, loc, indexType,
                                                   attentionScores(b, op, window, pool),
                                                   op.getKeys(), op.getPositions(),
                                                   op.getCache(), op.getKeepAttr(),
                                                   op.getLayerAttr(), op.getMinKeepAttr());
        expandPruneWithSelection(b, op, indices);
      } else {
        op.emitError() << "no expansion for pruning policy '" << policy
                       << "': run the pass that implements it before --lazy-sparsify "
                          "(built in: lazyllm, random, static)";
        return signalPassFailure();
      }
    }
    ModuleOp module = getOperation();
    Builder b(module.getContext());
    if (attentionScored && window > 1)
      module->setAttr(lazy::LazyDialect::kScoreWindowAttrName, b.getI64IntegerAttr(window));
    if (attentionScored && pool > 1)
      module->setAttr(lazy::LazyDialect::kScorePoolAttrName, b.getI64IntegerAttr(pool));
    if (biased)
      module->setAttr(lazy::LazyDialect::kReuseBiasAttrName, b.getF64FloatAttr(reuseBias));
  }
};
} // namespace
