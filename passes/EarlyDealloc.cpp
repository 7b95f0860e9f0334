//===- EarlyDealloc.cpp - free buffers after their last use ----------------===//

#include "passes/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCEARLYDEALLOC
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {
struct LazycEarlyDeallocPass
    : public lazyc::impl::LazycEarlyDeallocBase<LazycEarlyDeallocPass> {
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation().walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    for (memref::DeallocOp dealloc : deallocs) {
      Value buffer = dealloc.getMemref();
      Block *block = dealloc->getBlock();
      Operation *def = buffer.getDefiningOp();
      // Only buffers allocated in the dealloc's own block.
      if (!def || def->getBlock() != block)
        continue;
      // Everything computed from the buffer: views, casts, its raw address
      // and the kernel calls that receive it.
      SetVector<Operation *> slice;
      ForwardSliceOptions options;
      getForwardSlice(buffer, &slice, options);
      Operation *last = def;
      bool escapes = false;
      for (Operation *user : slice) {
        if (user == dealloc.getOperation())
          continue;
        Operation *inBlock = block->findAncestorOpInBlock(*user);
        if (!inBlock || inBlock->hasTrait<OpTrait::IsTerminator>()) {
          escapes = true; // returned or used elsewhere: leave it
          break;
        }
        if (last->isBeforeInBlock(inBlock))
          last = inBlock;
      }
      if (escapes || !last->isBeforeInBlock(dealloc))
        continue;
      dealloc->moveAfter(last);
    }
  }
};
} // namespace
