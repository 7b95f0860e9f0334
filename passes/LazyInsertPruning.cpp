//===- LazyInsertPruning.cpp - lazy.prune points from a schedule -----------===//

#include "passes/Passes.h"

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYINSERTPRUNING
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// The residual stream entering the layer of `attention`: the input of the
/// RMSNorm (or LayerNorm) that feeds its query projection
/// (rope([head_rms_norm(][clamp(][add_bias(]linear(rms_norm(x))[)][)][)])), or with
/// OLMo 2's norm of the whole projection and none before it, the
/// projection's input
/// (rope(rms_norm(linear(x)))).
Value streamInto(llm::AttentionOp attention) {
  Value q = attention.getQuery();
  if (auto rope = q.getDefiningOp<llm::RoPEOp>())
    q = rope.getInput();
  if (auto norm = q.getDefiningOp<llm::HeadRMSNormOp>())
    q = norm.getInput();
  bool projectionNorm = false;
  if (auto norm = q.getDefiningOp<llm::RMSNormOp>()) {
    q = norm.getInput();
    projectionNorm = true;
  }
  if (auto clamp = q.getDefiningOp<llm::ClampOp>()) // OLMo 1's clip_qkv
    q = clamp.getInput();
  if (auto bias = q.getDefiningOp<llm::AddBiasOp>())
    q = bias.getInput();
  auto linear = q.getDefiningOp<llm::LinearOp>();
  if (!linear)
    return Value();
  if (auto norm = linear.getInput().getDefiningOp<llm::RMSNormOp>())
    return norm.getInput();
  if (auto norm = linear.getInput().getDefiningOp<llm::LayerNormOp>()) // Cohere
    return norm.getInput();
  return projectionNorm ? linear.getInput() : Value();
}

/// Replaces the uses of `from` by ops after `after` in its block (and in
/// regions nested in them) with `to`.
void replaceLaterUses(Value from, Value to, Operation *after) {
  from.replaceUsesWithIf(to, [&](OpOperand &use) {
    Operation *user = after->getBlock()->findAncestorOpInBlock(*use.getOwner());
    return user && user != after && after->isBeforeInBlock(user);
  });
}

struct LazyInsertPruningPass
    : public lazyc::impl::LazyInsertPruningBase<LazyInsertPruningPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto attr = module->getAttrOfType<lazy::ScheduleAttr>(lazy::LazyDialect::kScheduleAttrName);
    for (auto fn : module.getOps<func::FuncOp>()) {
      llvm::DenseMap<int64_t, llm::AttentionOp> byLayer;
      fn.walk([&](llm::AttentionOp op) { byLayer[op.getLayer()] = op; });
      if (byLayer.empty())
        continue;
      lazy::ScheduleAttr sched = attr;
      if (schedule.empty() && minKeep != 0) {
        module.emitError() << "min-keep goes with this pass's schedule option (schedule=... "
                              "min-keep=N); the module's lazy.schedule carries its own floor "
                              "(--lazy-set-schedule=\"... min-keep=N\")";
        return signalPassFailure();
      }
      if (!schedule.empty()) {
        std::string error;
        unsigned depth = byLayer.begin()->second.getCache().getType().getNumLayers();
        sched = parseSchedule(&getContext(), schedule, depth, error, minKeep);
        if (!sched) {
          fn.emitError() << error;
          return signalPassFailure();
        }
        module->setAttr(lazy::LazyDialect::kScheduleAttrName, sched);
      }
      if (!sched) {
        module.emitError() << "no pruning schedule: run --lazy-set-schedule first or pass "
                              "--lazy-insert-pruning=\"schedule=...\"";
        return signalPassFailure();
      }
      if (failed(insert(fn, sched, byLayer)))
        return signalPassFailure();
      module->setAttr(lazy::LazyDialect::kPolicyAttrName, StringAttr::get(&getContext(), policy));
    }
  }

  LogicalResult insert(func::FuncOp fn, lazy::ScheduleAttr sched,
                       llvm::DenseMap<int64_t, llm::AttentionOp> &byLayer) {
    if (sched.getLayers().empty())
      return success();
    // The step's positions: the rows every layer computes in a dense step.
    Value stepPositions = byLayer.begin()->second.getPositions();
    if (!llvm::all_of(byLayer, [&](auto &entry) {
          return entry.second.getPositions() == stepPositions && !entry.second.getKeys();
        }))
      return fn.emitError() << "expects every llm.attention of a dense model to read the same "
                               "positions (is the function already pruned?)";
    OpBuilder b(&getContext());
    b.setInsertionPointAfterValue(stepPositions);
    // S_0: the whole context.
    Value keys = lazy::ContextOp::create(b, stepPositions.getLoc(), stepPositions.getType(),
                                         stepPositions);
    Value positions = stepPositions;
    for (auto [layer, keep] : llvm::zip(sched.getLayers(), sched.getKeep().asArrayRef())) {
      auto here = byLayer.lookup(layer), next = byLayer.lookup(layer + 1);
      if (!here || !next)
        return fn.emitError() << "schedule prunes after layer " << layer
                              << " but the model has no attention for layers " << layer
                              << " and " << layer + 1;
      Value stream = streamInto(next);
      if (!stream)
        return next.emitError() << "cannot find the residual stream entering layer "
                                << layer + 1
                                << " (expected rope(linear(rms_norm(x))) or "
                                   "rope(rms_norm(linear(x))))";
      b.setInsertionPointAfterValue(stream);
      if (!isa<BlockArgument>(stream) && !stream.getDefiningOp()->isBeforeInBlock(next))
        return next.emitError() << "residual stream is defined after layer " << layer + 1;
      auto prune = lazy::PruneOp::create(
          b, stream.getLoc(), TypeRange{stream.getType(), positions.getType(), keys.getType()},
          stream, positions, keys, here.getQuery(), here.getCache(), here.getSinks(),
          b.getI64IntegerAttr(layer), b.getF64FloatAttr(keep), b.getStringAttr(policy),
          here.getNumHeadsAttr(), here.getNumKvHeadsAttr(), here.getHeadDimAttr(),
          here.getScaleAttr(), b.getI64IntegerAttr(sched.getMinKeep()),
          here.getSlidingWindowAttr(), here.getLogitSoftcapAttr());
      replaceLaterUses(stream, prune.getNextHidden(), prune);
      replaceLaterUses(positions, prune.getNextPositions(), prune);
      positions = prune.getNextPositions();
      keys = prune.getNextKeys();
      // Every later layer attends over the kept set.
      for (auto &[l, attention] : byLayer)
        if (l > layer)
          attention.getKeysMutable().assign(keys);
    }
    // LazyLLM produces the logits of the step's last token: the last kept row.
    WalkResult result = fn.walk([&](llm::LogitsOp logits) {
      OpBuilder b(logits);
      Location loc = logits.getLoc();
      Value hidden = logits.getHidden();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      Value rowsCount = tensor::DimOp::create(b, loc, hidden, zero);
      Value lastIndex = arith::SubIOp::create(b, loc, rowsCount, one);
      auto rowType = cast<RankedTensorType>(logits.getRows().getType());
      Value last = arith::IndexCastOp::create(b, loc, rowType.getElementType(), lastIndex);
      Value rows = tensor::FromElementsOp::create(
          b, loc, RankedTensorType::get({1}, rowType.getElementType()), ValueRange{last});
      auto type = logits.getType();
      auto newType = RankedTensorType::get({1, type.getDimSize(1)}, type.getElementType());
      auto replacement = llm::LogitsOp::create(b, loc, newType, hidden, rows, logits.getLmHead());
      Value result = replacement.getResult();
      if (newType != type)
        result = tensor::CastOp::create(b, loc, type, result);
      logits.replaceAllUsesWith(result);
      logits.erase();
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }
};
} // namespace
