//===- LazyStreamingPolicy.cpp - a user pruning policy, worked example -----===//
//
// Policy "streaming" (StreamingLLM-like): keep the attention sinks (the first
// `sinks` positions) and the most recent tokens. This file is the example of
// docs/writing-a-pruning-pass.md: a policy only computes one score per key
// of S_l; lazyc::expandPruneWithScores emits the selection, the Aux Cache
// saves and the revival of the LazyLLM step.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/PruningPolicy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace lazyc {
#define GEN_PASS_DEF_LAZYSTREAMINGPOLICY
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// score(p) = p < sinks ? 2^30 : p, as a linalg.generic over the keys.
Value streamingScores(OpBuilder &b, lazy::PruneOp prune, int64_t sinks) {
  Location loc = prune.getLoc();
  Value keys = prune.getKeys();
  RankedTensorType type = scoresTypeFor(prune);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value count = tensor::DimOp::create(b, loc, keys, zero);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                       ValueRange{count});
  AffineMap id = b.getMultiDimIdentityMap(1);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{keys}, ValueRange{init}, ArrayRef<AffineMap>{id, id},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Type keyType = args[0].getType();
        Value limit = arith::ConstantOp::create(nb, nloc, nb.getIntegerAttr(keyType, sinks));
        Value isSink =
            arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::slt, args[0], limit);
        Value recency = arith::SIToFPOp::create(nb, nloc, nb.getF32Type(), args[0]);
        Value high = arith::ConstantOp::create(nb, nloc, nb.getF32FloatAttr(1073741824.0f));
        Value score = arith::SelectOp::create(nb, nloc, isSink, high, recency);
        linalg::YieldOp::create(nb, nloc, score);
      });
  return generic.getResult(0);
}

struct LazyStreamingPolicyPass
    : public lazyc::impl::LazyStreamingPolicyBase<LazyStreamingPolicyPass> {
  using Base::Base;

  void runOnOperation() override {
    if (static_cast<int64_t>(sinks) < 0) {
      getOperation().emitError() << "--lazy-streaming-policy: sinks must be >= 0, got "
                                 << static_cast<int64_t>(sinks);
      return signalPassFailure();
    }
    SmallVector<lazy::PruneOp> prunes;
    getOperation().walk([&](lazy::PruneOp op) {
      if (op.getPolicy() == "streaming")
        prunes.push_back(op);
    });
    for (lazy::PruneOp op : prunes) {
      OpBuilder b(op);
      expandPruneWithScores(b, op, streamingScores(b, op, sinks));
    }
  }
};
} // namespace
