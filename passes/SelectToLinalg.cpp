//===- SelectToLinalg.cpp - lazy.select as compiler-generated kernels ------===//
//
// The percentile selection of LazyLLM (`lazy.select`) as linalg on tensors,
// so the CUDA target runs it as generated GPU kernels on the device, where
// the scores are, instead of copying them to the host:
//
//   1. ranks: rank[i] = #{j : j beats i} (a strict total order: higher score,
//      ties toward the later position, NaN lowest), split into `chunks`
//      interleaved partial counts per row so n x chunks threads share the
//      O(n^2) comparisons;
//   2. the mask: row i is kept if rank[i] < k, where k = ceil(keep * n),
//      at least min(min_keep, n) (the runtime's lazyc_rt_select_size, a
//      host call on n), the last
//      row always, displacing the row ranked k - 1 when it is not among the
//      first k;
//   3. compaction, as a two-level scan over blocks of `block` rows: the
//      inclusive count of kept rows within each block, the kept rows before
//      each block, then for each output slot c its block (the last block
//      starting at or before c) and its offset in it.
//
// Every step is a linalg.generic (tensor.extract for the data-dependent
// reads), so the GPU pipeline maps them onto threads like any other
// generated kernel and `--gpu-loops` checks them on the CPU.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/KernelBuilder.h"
#include "passes/RuntimeCall.h"

#include "dialects/lazy/LazyOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <functional>
#include <limits>

namespace lazyc {
#define GEN_PASS_DEF_LAZYCSELECTTOLINALG
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// Builds the selection's IR for one lazy.select.
class SelectionBuilder : public KernelBuilder {
public:
  SelectionBuilder(OpBuilder &b, Location loc, int64_t chunks, int64_t block)
      : KernelBuilder(b, loc), chunks(chunks), block(block) {}

  Value build(Value scores, double keep, int64_t minKeep, RankedTensorType resultType) {
    n = tensor::DimOp::create(b, loc, scores, 0);
    Value k = selectSize(keep, minKeep);
    Value ranks = computeRanks(scores);
    Value kept = keptMask(ranks, k);
    return compact(kept, k, resultType);
  }

private:
  static Value constI32(OpBuilder &nb, Location nl, int64_t v) {
    return arith::ConstantIntOp::create(nb, nl, nb.getI32Type(), v);
  }
  /// outer * size + inner (the flat row of a chunked or blocked layout).
  static Value flatIndex(OpBuilder &nb, Location nl, Value outer, int64_t size, Value inner) {
    Value scaled =
        arith::MulIOp::create(nb, nl, outer, arith::ConstantIndexOp::create(nb, nl, size));
    return arith::AddIOp::create(nb, nl, scaled, inner);
  }
  Value filled(ArrayRef<Value> sizes, ArrayRef<int64_t> shape, Type element, int64_t value) {
    return KernelBuilder::filled(sizes, shape, b.getIntegerAttr(element, value));
  }

  /// k from the runtime's lazyc_rt_select_size(n, keep, minKeep): a host
  /// call on the size alone (nothing is read from the device), and one
  /// definition of the rounding rule and the floor for both lowerings.
  Value selectSize(double keep, int64_t minKeep) {
    auto module = b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
    Value ni = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
    Value ratio = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(keep));
    Value floor = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(minKeep));
    Value k = callRuntime(b, loc, module, "lazyc_rt_select_size", {ni, ratio, floor},
                          /*returnsI64=*/true);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), k);
  }

  /// NaN sorts lowest (as -inf): the order stays total on any input.
  static Value orderKey(OpBuilder &nb, Location nl, Value x) {
    auto type = cast<FloatType>(x.getType());
    Value isNaN = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO, x, x);
    Value lowest = arith::ConstantOp::create(
        nb, nl, nb.getFloatAttr(type, -std::numeric_limits<double>::infinity()));
    return arith::SelectOp::create(nb, nl, isNaN, lowest, x);
  }

  /// rank[i] = #{j : key[j] > key[i] or (key[j] == key[i] and j > i)}.
  Value computeRanks(Value scores) {
    Type f = cast<RankedTensorType>(scores.getType()).getElementType();
    Type i32 = b.getI32Type();
    const int64_t dyn = ShapedType::kDynamic;
    // Scores as (ceil(n / chunks), chunks): chunk c of row i compares with
    // the scores j = t * chunks + c (neighbouring threads, neighbouring j).
    Value rowsOfChunks = ceilDiv(n, chunks);
    Value cn = n;
    const int64_t C = chunks;
    Value laid = generic(
        RankedTensorType::get({dyn, C}, f), {}, empty({rowsOfChunks}, {dyn, C}, f),
        {b.getMultiDimIdentityMap(2)}, {Iter::parallel, Iter::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
          Value t = linalg::IndexOp::create(nb, nl, 0), c = linalg::IndexOp::create(nb, nl, 1);
          Value j = flatIndex(nb, nl, t, C, c);
          Value valid = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, cn);
          Value at = arith::SelectOp::create(nb, nl, valid, j,
                                             arith::ConstantIndexOp::create(nb, nl, 0));
          return orderKey(nb, nl, tensor::ExtractOp::create(nb, nl, scores, ValueRange{at}));
        });
    AffineExpr i, c, t;
    bindDims(b.getContext(), i, c, t);
    Value partial = generic(
        RankedTensorType::get({dyn, C}, i32), {scores, laid}, filled({n}, {dyn, C}, i32, 0),
        {map(3, {i}), map(3, {t, c}), map(3, {i, c})},
        {Iter::parallel, Iter::parallel, Iter::reduction},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value row = linalg::IndexOp::create(nb, nl, 0);
          Value chunk = linalg::IndexOp::create(nb, nl, 1);
          Value step = linalg::IndexOp::create(nb, nl, 2);
          Value j = flatIndex(nb, nl, step, C, chunk);
          Value ki = orderKey(nb, nl, args[0]), kj = args[1];
          Value differ = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, kj, ki);
          Value higher = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, kj, ki);
          Value later = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, j, row);
          Value beats = arith::SelectOp::create(nb, nl, differ, higher, later);
          Value valid = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, cn);
          Value hit = arith::AndIOp::create(nb, nl, valid, beats);
          return arith::AddIOp::create(nb, nl, args[2],
                                       arith::ExtUIOp::create(nb, nl, nb.getI32Type(), hit));
        });
    AffineExpr r, q;
    bindDims(b.getContext(), r, q);
    return generic(RankedTensorType::get({dyn}, i32), {partial}, filled({n}, {dyn}, i32, 0),
                   {map(2, {r, q}), map(2, {r})}, {Iter::parallel, Iter::reduction},
                   [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                     return arith::AddIOp::create(nb, nl, args[1], args[0]);
                   });
  }

  /// kept[bk, u] = 1 if row bk * block + u is selected (0 past the end).
  Value keptMask(Value ranks, Value k) {
    Type i32 = b.getI32Type();
    const int64_t dyn = ShapedType::kDynamic, B = block;
    numBlocks = ceilDiv(n, block);
    Value cn = n;
    Value k32 = arith::IndexCastOp::create(b, loc, i32, k);
    return generic(
        RankedTensorType::get({dyn, B}, i32), {}, empty({numBlocks}, {dyn, B}, i32),
        {b.getMultiDimIdentityMap(2)}, {Iter::parallel, Iter::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
          Value bk = linalg::IndexOp::create(nb, nl, 0), u = linalg::IndexOp::create(nb, nl, 1);
          Value one = arith::ConstantIndexOp::create(nb, nl, 1);
          Value j = flatIndex(nb, nl, bk, B, u);
          Value valid = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, cn);
          Value at = arith::SelectOp::create(nb, nl, valid, j,
                                             arith::ConstantIndexOp::create(nb, nl, 0));
          Value lastRow = arith::SubIOp::create(nb, nl, cn, one);
          Value rank = tensor::ExtractOp::create(nb, nl, ranks, ValueRange{at});
          Value lastRank = tensor::ExtractOp::create(nb, nl, ranks, ValueRange{lastRow});
          // The last row always stays: outside the first k it displaces the
          // row ranked k - 1.
          Value displaces =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, lastRank, k32);
          Value limit = arith::SubIOp::create(nb, nl, k32,
                                              arith::ExtUIOp::create(nb, nl, nb.getI32Type(), displaces));
          Value inTop = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, rank, limit);
          Value isLast = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, j, lastRow);
          Value keep = arith::AndIOp::create(nb, nl, valid,
                                             arith::OrIOp::create(nb, nl, inTop, isLast));
          return arith::ExtUIOp::create(nb, nl, nb.getI32Type(), keep);
        });
  }

  /// The body of a masked sum: acc + (index(a) `pred` index(b) ? in : 0).
  static std::function<Value(OpBuilder &, Location, ValueRange)>
  maskedSum(unsigned a, arith::CmpIPredicate pred, unsigned b) {
    return [=](OpBuilder &nb, Location nl, ValueRange args) -> Value {
      Value ia = linalg::IndexOp::create(nb, nl, a), ib = linalg::IndexOp::create(nb, nl, b);
      Value in = arith::CmpIOp::create(nb, nl, pred, ia, ib);
      Value add = arith::SelectOp::create(nb, nl, in, args[0], constI32(nb, nl, 0));
      return arith::AddIOp::create(nb, nl, args[1], add);
    };
  }

  /// Ascending indices of the kept rows: k output slots.
  Value compact(Value kept, Value k, RankedTensorType resultType) {
    Type i32 = b.getI32Type();
    const int64_t dyn = ShapedType::kDynamic, B = block;
    // within[bk, u] = kept rows among bk * block .. bk * block + u.
    AffineExpr bk, u, v;
    bindDims(b.getContext(), bk, u, v);
    Value within = generic(
        RankedTensorType::get({dyn, B}, i32), {kept}, filled({numBlocks}, {dyn, B}, i32, 0),
        {map(3, {bk, v}), map(3, {bk, u})}, {Iter::parallel, Iter::parallel, Iter::reduction},
        maskedSum(2, arith::CmpIPredicate::ule, 1));
    // before[bk] = kept rows in the blocks before bk: the sum of their
    // totals, within[*, block - 1].
    AffineExpr x, y;
    bindDims(b.getContext(), x, y);
    Value before = generic(
        RankedTensorType::get({dyn}, i32), {within}, filled({numBlocks}, {dyn}, i32, 0),
        {map(2, {y, b.getAffineConstantExpr(B - 1)}), map(2, {x})},
        {Iter::parallel, Iter::reduction},
        maskedSum(1, arith::CmpIPredicate::ult, 0));
    // slotBlock[s] = the last block whose first kept row is at or before
    // slot s: the block that holds it (an empty block starts where the next
    // one does, so it is never the last).
    AffineExpr s, w;
    bindDims(b.getContext(), s, w);
    Value slotBlock = generic(
        RankedTensorType::get({dyn}, i32), {before}, filled({k}, {dyn}, i32, -1),
        {map(2, {w}), map(2, {s})}, {Iter::parallel, Iter::reduction},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value slot = arith::IndexCastOp::create(nb, nl, nb.getI32Type(),
                                                  linalg::IndexOp::create(nb, nl, 0));
          Value starts = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, args[0], slot);
          return arith::AddIOp::create(nb, nl, args[1],
                                       arith::ExtUIOp::create(nb, nl, nb.getI32Type(), starts));
        });
    // result[s] = block * B + #{u : before[block] + within[block, u] <= s}
    // (within is nondecreasing: the count is the offset of the kept row).
    // `within` is also read at row 0 to give the loop over u its extent; a
    // slot exists only if a row does.
    Type element = resultType.getElementType();
    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(element, 0));
    Value init = linalg::FillOp::create(b, loc, zero, empty({k}, {dyn}, element)).getResult(0);
    return generic(
        resultType, {slotBlock, within}, init,
        {map(2, {s}), map(2, {b.getAffineConstantExpr(0), w}), map(2, {s})},
        {Iter::parallel, Iter::reduction},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value slot = arith::IndexCastOp::create(nb, nl, nb.getI32Type(),
                                                  linalg::IndexOp::create(nb, nl, 0));
          Value col = linalg::IndexOp::create(nb, nl, 1);
          Value blockOf = args[0];
          Value at = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), blockOf);
          Value start = tensor::ExtractOp::create(nb, nl, before, ValueRange{at});
          Value count = tensor::ExtractOp::create(nb, nl, within, ValueRange{at, col});
          Value passed = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::sle, arith::AddIOp::create(nb, nl, start, count), slot);
          Value first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, col,
                                              arith::ConstantIndexOp::create(nb, nl, 0));
          Value base = arith::SelectOp::create(
              nb, nl, first, arith::MulIOp::create(nb, nl, blockOf, constI32(nb, nl, B)),
              constI32(nb, nl, 0));
          Value add = arith::AddIOp::create(
              nb, nl, base, arith::ExtUIOp::create(nb, nl, nb.getI32Type(), passed));
          if (element != nb.getI32Type())
            add = arith::ExtUIOp::create(nb, nl, element, add);
          return arith::AddIOp::create(nb, nl, args[2], add);
        });
  }

  int64_t chunks, block;
  Value n, numBlocks;
};

struct SelectToLinalg : OpRewritePattern<lazy::SelectOp> {
  SelectToLinalg(MLIRContext *ctx, int64_t chunks, int64_t block)
      : OpRewritePattern(ctx), chunks(chunks), block(block) {}
  LogicalResult matchAndRewrite(lazy::SelectOp op, PatternRewriter &rewriter) const override {
    SelectionBuilder builder(rewriter, op.getLoc(), chunks, block);
    rewriter.replaceOp(op, builder.build(op.getScores(), op.getKeep().convertToDouble(),
                                         op.getMinKeepAttr().getInt(), op.getType()));
    return success();
  }
  int64_t chunks, block;
};

struct LazycSelectToLinalgPass
    : public lazyc::impl::LazycSelectToLinalgBase<LazycSelectToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    if (chunks < 1 || block < 1) {
      getOperation().emitError() << "lazyc-select-to-linalg: chunks and block must be >= 1";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<SelectToLinalg>(&getContext(), chunks, block);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
