//===- FuseRowNorms.cpp - one block per row for a row sum and its consumer -===//
//
// RMSNorm lowers to a row reduction `sum[i] += f(x[i, k])` and an
// elementwise consumer `y[i, k] = g(x[i, k], sum[i], w[k], ...)`. The generic
// GPU mapping runs them as separate kernels (the sum split into partial sums:
// three kernels reading x twice from memory). lazyc-gpu-fuse-row-norms
// (opt-in: fused-row-norms) replaces such a pair, after lazyc-gpu-prepare,
// with one kernel of one block per row: each thread sums a strided share of
// the row, `gpu.all_reduce` combines the shares (lowered after outlining by
// lazyc-gpu-lower-all-reduce to shuffles and shared memory), then the
// threads apply the consumer to the same share, which the block has just
// read (an L1/L2 hit, not a second pass over memory).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/GPU/RowSum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYCGPUFUSEROWNORMS
#define GEN_PASS_DEF_LAZYCGPULOWERALLREDUCE
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {

/// `sum[i] = fill + sum_k f(x[i, k])` on buffers: the reduction's combiner is
/// `out + f(in)`, its init a linalg.fill of a constant.
struct RowSum {
  linalg::GenericOp op;
  linalg::FillOp fill;
  Value input, sum;
};

std::optional<RowSum> matchRowSum(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || !lazyc::isRowSum(op))
    return std::nullopt;
  Value input = op.getDpsInputOperand(0)->get(), sum = op.getDpsInitOperand(0)->get();
  auto sumType = dyn_cast<MemRefType>(sum.getType());
  if (!sumType || !sumType.getElementType().isF32() || !sumType.getLayout().isIdentity())
    return std::nullopt;
  // The fill right before it in the block (no other op in between writes it).
  linalg::FillOp fill;
  for (Operation *p = op->getPrevNode(); p; p = p->getPrevNode()) {
    if (auto f = dyn_cast<linalg::FillOp>(p); f && f.getDpsInitOperand(0)->get() == sum) {
      fill = f;
      break;
    }
    if (llvm::is_contained(p->getOperands(), sum))
      return std::nullopt;
  }
  if (!fill || !fill.getInputs()[0].getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  return RowSum{op, fill, input, sum};
}

/// The consumer: an all-parallel generic reading `sum` per row (the only
/// other reader of it), identity-mapped rows of the same shape, per-column
/// vectors, and writing one identity-mapped output.
linalg::GenericOp matchConsumer(const RowSum &rowSum) {
  linalg::GenericOp consumer;
  for (Operation *user : rowSum.sum.getUsers()) {
    if (user == rowSum.op || user == rowSum.fill ||
        isa<memref::DeallocOp, gpu::DeallocOp, memref::DimOp>(user))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || consumer)
      return nullptr;
    consumer = generic;
  }
  if (!consumer || !consumer.hasPureBufferSemantics() || consumer.getNumDpsInits() != 1 ||
      consumer.getNumLoops() != 2 || consumer.getNumReductionLoops() != 0 ||
      consumer->getBlock() != rowSum.op->getBlock() ||
      !rowSum.op->isBeforeInBlock(consumer) || consumer.hasIndexSemantics())
    return nullptr;
  MLIRContext *ctx = consumer.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  AffineMap rowCol = AffineMap::get(2, 0, {d0, d1}, ctx), row = AffineMap::get(2, 0, {d0}, ctx),
            col = AffineMap::get(2, 0, {d1}, ctx);
  for (OpOperand &operand : consumer->getOpOperands()) {
    AffineMap map = consumer.getMatchingIndexingMap(&operand);
    bool init = consumer.isDpsInit(&operand);
    if (map == rowCol || (!init && map == col) || (!init && map == row && operand.get() == rowSum.sum))
      continue;
    return nullptr;
  }
  // The consumer must not write the sum. It may write the rows in place:
  // each thread reads and writes the same elements, after the block
  // reduction's barriers.
  Value out = consumer.getDpsInitOperand(0)->get();
  if (out == rowSum.sum)
    return nullptr;
  // Nothing between the two writes what the consumer reads.
  for (Operation *p = rowSum.op->getNextNode(); p != consumer; p = p->getNextNode())
    if (!isa<gpu::AllocOp, gpu::WaitOp, memref::AllocOp, memref::DimOp, arith::ConstantOp,
             memref::ViewOp, memref::SubViewOp, arith::IndexCastOp>(p))
      return nullptr;
  return consumer;
}

/// The load of `value` (a buffer of the consumer or the sum) at row `row`,
/// column `col` through `map`.
Value loadAt(OpBuilder &b, Location loc, Value buffer, AffineMap map, Value row, Value col) {
  if (map.getNumResults() == 2)
    return memref::LoadOp::create(b, loc, buffer, ValueRange{row, col});
  auto dim = cast<AffineDimExpr>(map.getResult(0));
  return memref::LoadOp::create(b, loc, buffer, ValueRange{dim.getPosition() == 0 ? row : col});
}

/// A thread's two phases of the fused row, shared by the GPU kernel and its
/// CPU stand-in: its strided share of the row sum, then the consumer on the
/// same elements.
struct RowPhases {
  RowSum rowSum;
  linalg::GenericOp consumer;
  Value cols;

  /// sum over c = tid, tid + step, ... < cols of f(x[row, c]), from 0 (the
  /// fill's value is added once, to the total).
  Value partial(OpBuilder &b, Location loc, Value row, Value tid, Value step) {
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    Block &sumBody = rowSum.op.getRegion().front();
    auto loop = scf::ForOp::create(
        b, loc, tid, cols, step, ValueRange{zero},
        [&](OpBuilder &fb, Location fl, Value c, ValueRange acc) {
          IRMapping map;
          map.map(sumBody.getArgument(0),
                  memref::LoadOp::create(fb, fl, rowSum.input, ValueRange{row, c}).getResult());
          map.map(sumBody.getArgument(1), acc[0]);
          for (Operation &op : sumBody.without_terminator())
            fb.clone(op, map);
          scf::YieldOp::create(
              fb, fl, map.lookup(cast<linalg::YieldOp>(sumBody.getTerminator()).getOperand(0)));
        });
    return loop.getResult(0);
  }

  /// y[row, c] = g(..., total, ...) for the same c as partial().
  void apply(OpBuilder &b, Location loc, Value row, Value tid, Value step, Value total) {
    Block &body = consumer.getRegion().front();
    Value output = consumer.getDpsInitOperand(0)->get();
    scf::ForOp::create(b, loc, tid, cols, step, ValueRange{},
                       [&](OpBuilder &fb, Location fl, Value c, ValueRange) {
                         IRMapping map;
                         for (OpOperand &operand : consumer->getOpOperands()) {
                           BlockArgument arg = body.getArgument(operand.getOperandNumber());
                           if (arg.use_empty())
                             continue;
                           if (operand.get() == rowSum.sum && !consumer.isDpsInit(&operand)) {
                             map.map(arg, total);
                             continue;
                           }
                           map.map(arg, loadAt(fb, fl, operand.get(),
                                               consumer.getMatchingIndexingMap(&operand), row, c));
                         }
                         for (Operation &op : body.without_terminator())
                           fb.clone(op, map);
                         Value y = map.lookup(
                             cast<linalg::YieldOp>(body.getTerminator()).getOperand(0));
                         memref::StoreOp::create(fb, fl, y, output, ValueRange{row, c});
                         scf::YieldOp::create(fb, fl);
                       });
  }
};

/// Replaces the row sum and its consumer with one block of `threads` threads
/// per row: on the GPU a gpu.launch whose threads combine their shares with
/// gpu.all_reduce; with `cpu`, its stand-in of sequential loops (rows, then
/// each thread's share, the shares summed in thread order, then each
/// thread's part of the consumer): the same per-thread code, run on the CPU.
void fuse(RowSum rowSum, linalg::GenericOp consumer, int64_t threads, bool cpu) {
  OpBuilder b(consumer);
  Location loc = rowSum.op.getLoc();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value rows = memref::DimOp::create(b, loc, rowSum.input, 0);
  Value cols = memref::DimOp::create(b, loc, rowSum.input, 1);
  Value blockSize = arith::ConstantIndexOp::create(b, loc, threads);
  Value init = rowSum.fill.getInputs()[0];
  RowPhases phases{rowSum, consumer, cols};
  if (cpu) {
    scf::ForOp::create(b, loc, c0, rows, c1, ValueRange{},
                       [&](OpBuilder &rb, Location rl, Value row, ValueRange) {
                         Value zero =
                             arith::ConstantOp::create(rb, rl, rb.getF32FloatAttr(0.0f));
                         auto shares = scf::ForOp::create(
                             rb, rl, c0, blockSize, c1, ValueRange{zero},
                             [&](OpBuilder &tb, Location tl, Value tid, ValueRange acc) {
                               Value share = phases.partial(tb, tl, row, tid, blockSize);
                               scf::YieldOp::create(
                                   tb, tl, arith::AddFOp::create(tb, tl, acc[0], share).getResult());
                             });
                         Value total = arith::AddFOp::create(rb, rl, shares.getResult(0), init);
                         scf::ForOp::create(rb, rl, c0, blockSize, c1, ValueRange{},
                                            [&](OpBuilder &tb, Location tl, Value tid, ValueRange) {
                                              phases.apply(tb, tl, row, tid, blockSize, total);
                                              scf::YieldOp::create(tb, tl);
                                            });
                         scf::YieldOp::create(rb, rl);
                       });
  } else {
    auto launch = gpu::LaunchOp::create(b, loc, rows, c1, c1, blockSize, c1, c1);
    OpBuilder k = OpBuilder::atBlockBegin(&launch.getBody().front());
    Value row = launch.getBlockIds().x, tid = launch.getThreadIds().x;
    Value step = launch.getBlockSize().x;
    Value share = phases.partial(k, loc, row, tid, step);
    Value shares =
        gpu::AllReduceOp::create(
            k, loc, share,
            gpu::AllReduceOperationAttr::get(k.getContext(), gpu::AllReduceOperation::ADD),
            /*uniform=*/true)
            .getResult();
    phases.apply(k, loc, row, tid, step, arith::AddFOp::create(k, loc, shares, init));
    gpu::TerminatorOp::create(k, loc);
  }
  consumer.erase();
  rowSum.op.erase();
  rowSum.fill.erase();
}

struct LazycGPUFuseRowNormsPass
    : public lazyc::impl::LazycGPUFuseRowNormsBase<LazycGPUFuseRowNormsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<RowSum, linalg::GenericOp>> pairs;
    getOperation().walk([&](linalg::GenericOp op) {
      if (auto rowSum = matchRowSum(op))
        if (linalg::GenericOp consumer = matchConsumer(*rowSum))
          pairs.emplace_back(*rowSum, consumer);
    });
    for (auto &[rowSum, consumer] : pairs)
      fuse(rowSum, consumer, threads, cpu);
  }
};

/// gpu.all_reduce in the outlined kernels -> shuffles and shared memory.
struct LazycGPULowerAllReducePass
    : public lazyc::impl::LazycGPULowerAllReduceBase<LazycGPULowerAllReducePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGpuAllReducePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
