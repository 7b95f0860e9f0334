//===- PrivateInits.cpp - one fill per accumulating linalg op --------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCPRIVATEINITS
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {
struct LazycPrivateInitsPass
    : public lazyc::impl::LazycPrivateInitsBase<LazycPrivateInitsPass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      Value shared = fill.getResult(0);
      // The init operands (DPS outputs) of linalg ops that read the fill.
      SmallVector<OpOperand *> inits;
      for (OpOperand &use : shared.getUses())
        if (auto op = dyn_cast<linalg::LinalgOp>(use.getOwner()))
          if (op.isDpsInit(&use))
            inits.push_back(&use);
      if (inits.empty())
        continue;
      // Each accumulating op gets its own fill, built right before it; the
      // first (in program order) keeps the original unless other ops read it.
      const bool otherReaders =
          inits.size() != static_cast<size_t>(llvm::range_size(shared.getUses()));
      if (!otherReaders && inits.size() < 2)
        continue;
      // Program order is only defined within the fill's block.
      bool sameBlock = llvm::all_of(inits, [&](OpOperand *use) {
        return use->getOwner()->getBlock() == fill->getBlock();
      });
      if (!sameBlock)
        continue;
      llvm::sort(inits, [](OpOperand *a, OpOperand *b) {
        return a->getOwner()->isBeforeInBlock(b->getOwner());
      });
      for (OpOperand *use : llvm::drop_begin(inits, otherReaders ? 0 : 1)) {
        OpBuilder b(use->getOwner());
        Value dest = fill.getOutputs()[0];
        if (auto empty = dest.getDefiningOp<tensor::EmptyOp>())
          dest = b.clone(*empty)->getResult(0);
        auto copy = linalg::FillOp::create(b, fill.getLoc(), fill.getInputs(), ValueRange{dest});
        use->set(copy.getResult(0));
      }
    }
  }
};
} // namespace
