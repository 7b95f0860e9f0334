//===- RowSum.h - recognizing a row sum `out[i] += f(in[i, k])` ------------===//
//
// The 2-D reduction RMSNorm lowers to, which the GPU pipeline either splits
// into partial sums (lazyc-gpu-split-reductions) or fuses with its scaling
// into a block-per-row kernel (lazyc-gpu-fuse-row-norms). On tensors or
// buffers alike.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_PASSES_GPU_ROWSUM_H
#define LAZYC_PASSES_GPU_ROWSUM_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace lazyc {

/// Whether `op` is `out[i] = out[i] + f(in[i, k])` over (parallel i,
/// reduction k): one input read at (i, k), one output at (i), a body whose
/// result is an addf of the accumulator, which nothing else in the body
/// reads (so the sum may start from 0 in pieces and be added up after).
inline bool isRowSum(mlir::linalg::GenericOp op) {
  using namespace mlir;
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || op.getNumLoops() != 2)
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::reduction)
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(2, 0, {d0, d1}, ctx) || maps[1] != AffineMap::get(2, 0, {d0}, ctx))
    return false;
  Block &body = op.getRegion().front();
  auto add =
      cast<linalg::YieldOp>(body.getTerminator()).getOperand(0).getDefiningOp<arith::AddFOp>();
  Value out = body.getArgument(1);
  return add && (add.getLhs() == out || add.getRhs() == out) && out.hasOneUse();
}

} // namespace lazyc

#endif // LAZYC_PASSES_GPU_ROWSUM_H
