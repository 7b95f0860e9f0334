//===- LazyDeferMLP.cpp - the pruned rows skip the pruning layer's MLP -----===//
//
// A `lazy.prune` after layer l selects which rows of the layer's output go on
// to layer l + 1. When that output is `h + f(h)` with `f` computed row by row
// from the layer's mid state `h` (the MLP: RMSNorm, GEMMs, SwiGLU), selecting
// rows commutes with it: prune `h` instead and apply `h + f(h)` to the rows
// the prune returns. The rows it drops never pay for layer l's MLP in this
// step; the Aux Cache keeps their mid state, and a row revived in a later
// step gets its layer-l MLP then, on its way into layer l + 1 (still at most
// once per layer). Same values for every row that is computed on.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYDEFERMLP
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// Ops that compute each output row from the same row of their row operands.
bool isRowWise(Operation *op) {
  if (auto linear = dyn_cast<llm::LinearOp>(op))
    return !linear.getAccumulate();
  return isa<llm::RMSNormOp, llm::SwiGLUOp, llm::SiLUOp, llm::AddOp>(op);
}

/// Collects into `chain` the ops that compute `value` row by row from
/// `stream` (reading otherwise only weights), in any order; false if
/// `value` depends on anything else.
bool collectRowChain(Value value, Value stream, llvm::SetVector<Operation *> &chain) {
  if (value == stream)
    return true;
  Operation *op = value.getDefiningOp();
  if (!op)
    return false;
  if (isa<llm::WeightOp>(op))
    return true;
  if (!isRowWise(op))
    return false;
  if (chain.contains(op))
    return true;
  for (Value operand : op->getOperands())
    if (!collectRowChain(operand, stream, chain))
      return false;
  chain.insert(op);
  return true;
}

/// Whether every result of `op` has dynamic rows (a prune returns any number).
bool hasDynamicRows(Operation *op) {
  return llvm::all_of(op->getResultTypes(), [](Type t) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    return tensor && tensor.getRank() >= 1 && tensor.isDynamicDim(0);
  });
}

/// Rewrites `prune` if its hidden operand is `h + f(h)` (f row-wise, only
/// used there); returns whether it did.
bool deferTail(lazy::PruneOp prune) {
  auto add = prune.getHidden().getDefiningOp<llm::AddOp>();
  if (!add || !add->hasOneUse())
    return false;
  for (unsigned side = 0; side < 2; ++side) {
    Value stream = add->getOperand(side), branch = add->getOperand(1 - side);
    llvm::SetVector<Operation *> chain;
    if (!collectRowChain(branch, stream, chain) || chain.empty())
      continue;
    chain.insert(add);
    // Nothing else may read an intermediate: those rows would be missing.
    bool closed = llvm::all_of(chain, [&](Operation *op) {
      return hasDynamicRows(op) && llvm::all_of(op->getUsers(), [&](Operation *user) {
               return chain.contains(user) || user == prune.getOperation();
             });
    });
    auto streamType = dyn_cast<RankedTensorType>(stream.getType());
    if (!closed || !streamType || !streamType.isDynamicDim(0))
      continue;
    // The tail again, after the prune, on the rows it returns.
    SmallVector<Operation *> ordered(chain.begin(), chain.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    OpBuilder b(prune->getContext());
    b.setInsertionPointAfter(prune);
    IRMapping map;
    map.map(stream, prune.getNextHidden());
    Operation *tail = nullptr;
    llvm::SmallPtrSet<Operation *, 8> clones;
    for (Operation *op : ordered) {
      tail = b.clone(*op, map);
      clones.insert(tail);
    }
    prune.getNextHidden().replaceAllUsesExcept(tail->getResult(0), clones);
    prune.getHiddenMutable().assign(stream);
    for (Operation *op : llvm::reverse(ordered))
      op->erase();
    return true;
  }
  return false;
}

struct LazyDeferMLPPass : public lazyc::impl::LazyDeferMLPBase<LazyDeferMLPPass> {
  void runOnOperation() override {
    SmallVector<lazy::PruneOp> prunes;
    getOperation().walk([&](lazy::PruneOp op) { prunes.push_back(op); });
    for (lazy::PruneOp prune : prunes)
      deferTail(prune);
  }
};

} // namespace
