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

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
  return isa<llm::RMSNormOp, llm::LayerNormOp, llm::SwiGLUOp, llm::SiLUOp, llm::GeLUOp,
             llm::ScaleOp, llm::SigmoidGateOp, llm::ClampOp, llm::AddOp, llm::AddBiasOp,
             llm::HeadRMSNormOp,
             llm::MoEOp>(op);
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
  if (isa<llm::WeightOp, llm::FusedWeightOp>(op))
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

/// `ops` (of one block) in program order: the order to clone them in.
SmallVector<Operation *> inProgramOrder(const llvm::SetVector<Operation *> &ops) {
  SmallVector<Operation *> ordered(ops.begin(), ops.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
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
    SmallVector<Operation *> ordered = inProgramOrder(chain);
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

/// The logits' rows likewise: `llm.logits (f(a, b, ...))[rows]` with `f`
/// row-wise (the last layer's output projection, residual adds, MLP and the
/// final norm) becomes `llm.logits (f(a[rows], b[rows], ...))[0..k)`. The
/// last layer then computes those rows only past its attention (its K/V,
/// which the cache needs, are unchanged).
bool logitsRowsFirst(llm::LogitsOp logits) {
  // The largest set of row-wise ops that only the logits (through them) read:
  // in reverse program order every user of an op is decided before it.
  // Row counts taken of them (tensor.dim 0, e.g. for the last row's index)
  // are any row input's.
  llvm::SetVector<Operation *> chain;
  SmallVector<tensor::DimOp> rowCounts;
  auto isRowCount = [&](Operation *user) {
    auto dim = dyn_cast<tensor::DimOp>(user);
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    return index && *index == 0 && dim->getBlock() == logits->getBlock();
  };
  auto feeds = [&](Operation *user) {
    return chain.contains(user) || user == logits.getOperation();
  };
  for (Operation *op = logits->getPrevNode(); op; op = op->getPrevNode()) {
    if (!isRowWise(op) || !hasDynamicRows(op))
      continue;
    if (llvm::any_of(op->getUsers(), feeds) &&
        llvm::all_of(op->getUsers(),
                     [&](Operation *user) { return feeds(user) || isRowCount(user); })) {
      chain.insert(op);
      for (Operation *user : op->getUsers())
        if (isRowCount(user))
          rowCounts.push_back(cast<tensor::DimOp>(user));
    }
  }
  Operation *hidden = logits.getHidden().getDefiningOp();
  if (!hidden || !chain.contains(hidden))
    return false;
  // Its inputs: weights stay; row tensors are gathered.
  llvm::SetVector<Value> inputs;
  for (Operation *op : chain)
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if ((def && chain.contains(def)) || (def && isa<llm::WeightOp>(def)))
        continue;
      auto type = dyn_cast<RankedTensorType>(operand.getType());
      if (!type || type.getRank() != 2 || !type.isDynamicDim(0))
        return false;
      inputs.insert(operand);
    }
  // The row counts, of an input defined before them (all have the rows).
  SmallVector<std::pair<tensor::DimOp, Value>> recount;
  for (tensor::DimOp dim : rowCounts) {
    auto before = llvm::find_if(inputs, [&](Value input) {
      Operation *def = input.getDefiningOp();
      return !def || def->isBeforeInBlock(dim);
    });
    if (before == inputs.end())
      return false;
    recount.emplace_back(dim, *before);
  }
  if (inputs.empty())
    return false;
  for (auto [dim, input] : recount)
    dim.getSourceMutable().assign(input);
  SmallVector<Operation *> ordered = inProgramOrder(chain);
  OpBuilder b(logits);
  Location loc = logits.getLoc();
  IRMapping map;
  Value rows = logits.getRows();
  for (Value input : inputs)
    map.map(input, lazy::GatherOp::create(b, loc, input.getType(), input, rows).getResult());
  for (Operation *op : ordered)
    b.clone(*op, map);
  // rows' own order is now 0..k-1.
  auto rowsType = cast<RankedTensorType>(rows.getType());
  Value count = tensor::DimOp::create(b, loc, rows, 0);
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{ShapedType::kDynamic},
                                        rowsType.getElementType(), ValueRange{count});
  auto iota = linalg::GenericOp::create(
      b, loc, TypeRange{empty.getType()}, ValueRange{}, ValueRange{empty},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        linalg::YieldOp::create(
            nb, nl, arith::IndexCastOp::create(nb, nl, rowsType.getElementType(), i).getResult());
      });
  Value sequence = iota.getResult(0);
  if (sequence.getType() != rows.getType())
    sequence = tensor::CastOp::create(b, loc, rows.getType(), sequence);
  logits.getHiddenMutable().assign(map.lookup(logits.getHidden()));
  logits.getRowsMutable().assign(sequence);
  for (Operation *op : llvm::reverse(ordered))
    op->erase();
  return true;
}

struct LazyDeferMLPPass : public lazyc::impl::LazyDeferMLPBase<LazyDeferMLPPass> {
  void runOnOperation() override {
    SmallVector<lazy::PruneOp> prunes;
    getOperation().walk([&](lazy::PruneOp op) { prunes.push_back(op); });
    for (lazy::PruneOp prune : prunes)
      deferTail(prune);
    SmallVector<llm::LogitsOp> logits;
    getOperation().walk([&](llm::LogitsOp op) { logits.push_back(op); });
    for (llm::LogitsOp op : logits)
      logitsRowsFirst(op);
  }
};

} // namespace
