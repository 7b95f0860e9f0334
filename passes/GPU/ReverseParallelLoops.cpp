//===- ReverseParallelLoops.cpp - run parallel loops backwards (a check) ---===//
//
// A GPU runs the iterations of a mapped scf.parallel in no particular order,
// all at once; the CPU stand-in of the CUDA target's loop nests
// (--gpu-loops) runs them one after another, first to last. A kernel whose
// iterations depend on each other (one reads what another writes) can thus
// be right on the CPU and racy on the GPU. This pass makes every
// reduction-free scf.parallel visit its iteration space last to first: a
// model compiled both ways must compute the same values, which the
// end-to-end tests check against the numpy LazyLLM reference.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCREVERSEPARALLELLOOPS
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {

/// Iteration `lb + k * step` of `[lb, ub)` becomes `last - k * step`, with
/// `last = lb + (ceil((ub - lb) / step) - 1) * step`: the same set of values,
/// visited in the opposite order.
void reverse(scf::ParallelOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Block *body = loop.getBody();
  for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
    Value lb = loop.getLowerBound()[d], ub = loop.getUpperBound()[d];
    Value step = loop.getStep()[d];
    b.setInsertionPoint(loop);
    Value trips = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb), step);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value last = arith::AddIOp::create(
        b, loc, lb,
        arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, trips, one), step));
    // iv' = last - (iv - lb) = (last + lb) - iv
    Value mirror = arith::AddIOp::create(b, loc, last, lb);
    Value iv = body->getArgument(d);
    b.setInsertionPointToStart(body);
    auto reversed = arith::SubIOp::create(b, loc, mirror, iv);
    iv.replaceAllUsesExcept(reversed.getResult(), reversed);
  }
}

struct LazycReverseParallelLoopsPass
    : public lazyc::impl::LazycReverseParallelLoopsBase<LazycReverseParallelLoopsPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ParallelOp loop) {
      if (loop.getNumReductions() == 0) // reductions would only reassociate
        reverse(loop);
    });
  }
};

} // namespace
