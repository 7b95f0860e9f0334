//===- ScoresToLinalg.cpp - lazy.scores as compiler-generated kernels ------===//
//
// LazyLLM's importance scores (`lazy.scores`: the last query row's attention
// over the layer's key set, averaged over heads) as linalg on tensors, so
// the CUDA target computes them in generated kernels next to the fused
// attention instead of the runtime's hand-written ones, and `--gpu-loops`
// checks those loop nests on the CPU. With R query rows (1, or the rows of
// an observation window: the last min(rows, window) rows, those whose
// position lies within the window counting) and C = `chunks`:
//
//   1. dots[i, h, j] = q[rows - R + i, head h] . K[keys[j], group of h]
//      (j padded to a multiple of C), K read in place in the KV cache
//      through `lazy.cache_keys`;
//   2. m[i, h]: the largest dot of each row and head over the keys it sees,
//      as C interleaved partial maxima, then their maximum;
//   3. s[i, h] = sum_j exp(scale * dot - scale * m), partial sums likewise;
//   4. scores[j] = mean over the counted rows i of
//      sum_h exp(scale * dot - scale * m) / (s * H).
//
// Row i of a window sees key j only if keys[j] <= its position (causal) and,
// under the layer's sliding window S, keys[j] > its position - S.
// Equal to the runtime's lazyc_rt_scores / lazyc_rt_window_scores up to the
// order of the floating-point sums.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/KernelBuilder.h"

#include "dialects/lazy/LazyOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace lazyc {
#define GEN_PASS_DEF_LAZYCSCORESTOLINALG
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// Builds the importance scores' IR for one lazy.scores.
class ScoresBuilder : public KernelBuilder {
public:
  ScoresBuilder(OpBuilder &b, lazy::ScoresOp op, int64_t chunks, Type cacheElement)
      : KernelBuilder(b, op.getLoc()), op(op), C(chunks), cacheElement(cacheElement),
        H(static_cast<int64_t>(op.getNumHeads())),
        D(static_cast<int64_t>(op.getHeadDim())),
        group(H / static_cast<int64_t>(op.getNumKvHeads())),
        window(static_cast<int64_t>(op.getWindow())),
        sliding(static_cast<int64_t>(op.getSlidingWindow())),
        scale(op.getScale().convertToDouble()),
        softcap(op.getLogitSoftcap().convertToDouble()) {}

  Value build() {
    Value q = op.getQuery();
    rows = tensor::DimOp::create(b, loc, q, 0);
    n = tensor::DimOp::create(b, loc, op.getKeyPositions(), 0);
    // R query rows, the first at rows - R (a step has at least one row: its
    // last token).
    R = window == 1 ? index(1)
                    : arith::MinSIOp::create(b, loc, rows, index(window)).getResult();
    first = arith::SubIOp::create(b, loc, rows, R);
    padded = arith::MulIOp::create(b, loc, ceilDiv(n, C), index(C));
    const int64_t kvDim = static_cast<int64_t>(op.getNumKvHeads()) * D;
    auto keysType = MemRefType::get({ShapedType::kDynamic, kvDim}, cacheElement);
    Value view = lazy::CacheKeysOp::create(b, loc, keysType, op.getCache(), op.getLayerAttr());
    K = bufferization::ToTensorOp::create(
        b, loc, RankedTensorType::get(keysType.getShape(), cacheElement), view,
        /*restrict=*/true);
    Value dots = computeDots();
    // dots as [R, H, padded / C, C]: step t of partial c is key t * C + c.
    const int64_t dyn = ShapedType::kDynamic;
    laid = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({dyn, H, dyn, C}, b.getF32Type()), dots,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
        SmallVector<OpFoldResult>{R, b.getIndexAttr(H), ceilDiv(n, C), b.getIndexAttr(C)});
    Value m = rowReduce(partialMax(), /*max=*/true);
    Value s = rowReduce(partialSums(m), /*max=*/false);
    return combine(dots, m, s);
  }

private:
  static Value f32(OpBuilder &nb, Location nl, double v) {
    return arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(static_cast<float>(v)));
  }
  Value filled(ArrayRef<Value> sizes, ArrayRef<int64_t> shape, double value) {
    return KernelBuilder::filled(sizes, shape, b.getF32FloatAttr(static_cast<float>(value)));
  }
  static Value toF32(OpBuilder &nb, Location nl, Value v) {
    return v.getType().isF32() ? v : arith::ExtFOp::create(nb, nl, nb.getF32Type(), v);
  }
  static Value toIndex(OpBuilder &nb, Location nl, Value v) {
    if (v.getType().isIndex())
      return v;
    return arith::IndexCastOp::create(nb, nl, nb.getIndexType(), v);
  }
  /// The position of query row `first + i` (window > 1 or a sliding window).
  Value rowPosition(OpBuilder &nb, Location nl, Value i) {
    Value row = arith::AddIOp::create(nb, nl, first, i);
    return tensor::ExtractOp::create(nb, nl, op.getQueryPositions(), ValueRange{row});
  }
  /// Whether query row `first + i` sees key j (j < padded): j is a key and,
  /// in a window, the row is in it and keys[j] <= its position; under a
  /// sliding window also keys[j] > its position - sliding.
  Value sees(OpBuilder &nb, Location nl, Value i, Value j) {
    Value isKey = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, n);
    if (window == 1 && sliding == 0)
      return isKey;
    Value at = arith::SelectOp::create(nb, nl, isKey, j, arith::ConstantIndexOp::create(nb, nl, 0));
    Value key = toIndex(
        nb, nl, tensor::ExtractOp::create(nb, nl, op.getKeyPositions(), ValueRange{at}));
    Value pos = toIndex(nb, nl, rowPosition(nb, nl, i));
    Value result = isKey;
    if (window > 1) {
      Value causal = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, key, pos);
      result = arith::AndIOp::create(nb, nl, arith::AndIOp::create(nb, nl, result, causal),
                                     inWindow(nb, nl, pos));
    }
    if (sliding > 0) {
      Value oldest =
          arith::SubIOp::create(nb, nl, pos, arith::ConstantIndexOp::create(nb, nl, sliding));
      Value recent = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, key, oldest);
      result = arith::AndIOp::create(nb, nl, result, recent);
    }
    return result;
  }
  /// A row counts if its position is within the window of the last row's
  /// (the rows before it in the last min(rows, window) may not be).
  Value inWindow(OpBuilder &nb, Location nl, Value pos) {
    Value lastRow = arith::SubIOp::create(nb, nl, rows, arith::ConstantIndexOp::create(nb, nl, 1));
    Value last = tensor::ExtractOp::create(nb, nl, op.getQueryPositions(), ValueRange{lastRow});
    Value start = arith::SubIOp::create(nb, nl, toIndex(nb, nl, last),
                                        arith::ConstantIndexOp::create(nb, nl, window));
    return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, toIndex(nb, nl, pos), start);
  }

  /// dots[i, h, j] = sum_d q[first + i, h * D + d] * K[keys[j], (h / group) * D + d]
  /// over [R, H, padded] (columns j >= n read key 0 and are never used).
  Value computeDots() {
    const int64_t dyn = ShapedType::kDynamic;
    Value q = op.getQuery(), keys = op.getKeyPositions();
    // The R query rows as [R, H, D].
    auto qType = cast<RankedTensorType>(q.getType());
    Value qRows = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({dyn, H * D}, qType.getElementType()), q,
        ArrayRef<OpFoldResult>{first, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{R, b.getIndexAttr(H * D)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    Value heads = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({dyn, H, D}, qType.getElementType()), qRows,
        SmallVector<ReassociationIndices>{{0}, {1, 2}},
        SmallVector<OpFoldResult>{R, b.getIndexAttr(H), b.getIndexAttr(D)});
    Value init = filled({R, padded}, {dyn, H, dyn}, 0.0);
    AffineExpr i, h, j, d;
    bindDims(b.getContext(), i, h, j, d);
    return generic(
        init.getType(), {heads}, init, {map(4, {i, h, d}), map(4, {i, h, j})},
        {Iter::parallel, Iter::parallel, Iter::parallel, Iter::reduction},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value hh = linalg::IndexOp::create(nb, nl, 1);
          Value jj = linalg::IndexOp::create(nb, nl, 2), dd = linalg::IndexOp::create(nb, nl, 3);
          auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, nl, v); };
          Value qv = toF32(nb, nl, args[0]);
          Value isKey = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, jj, n);
          Value at = arith::SelectOp::create(nb, nl, isKey, jj, c(0));
          Value slot = toIndex(nb, nl, tensor::ExtractOp::create(nb, nl, keys, ValueRange{at}));
          Value kvHead = arith::DivUIOp::create(nb, nl, hh, c(group));
          Value kCol =
              arith::AddIOp::create(nb, nl, arith::MulIOp::create(nb, nl, kvHead, c(D)), dd);
          Value kv = toF32(nb, nl, tensor::ExtractOp::create(nb, nl, K, ValueRange{slot, kCol}));
          return arith::AddFOp::create(nb, nl, args[1], arith::MulFOp::create(nb, nl, qv, kv));
        });
  }

  /// The dot of (i, h, chunk c, step t) if row i sees that key, else `otherwise`.
  Value seenDot(OpBuilder &nb, Location nl, Value dot, Value otherwise) {
    Value i = linalg::IndexOp::create(nb, nl, 0);
    Value c = linalg::IndexOp::create(nb, nl, 2), t = linalg::IndexOp::create(nb, nl, 3);
    Value j = arith::AddIOp::create(
        nb, nl, arith::MulIOp::create(nb, nl, t, arith::ConstantIndexOp::create(nb, nl, C)), c);
    return arith::SelectOp::create(nb, nl, sees(nb, nl, i, j), dot, otherwise);
  }

  /// partial[i, h, c] = max over steps t of the seen dots (-inf if none).
  Value partialMax() {
    const int64_t dyn = ShapedType::kDynamic;
    Value init = filled({R}, {dyn, H, C}, -std::numeric_limits<double>::infinity());
    AffineExpr i, h, c, t;
    bindDims(b.getContext(), i, h, c, t);
    return generic(init.getType(), {laid}, init, {map(4, {i, h, t, c}), map(4, {i, h, c})},
                   {Iter::parallel, Iter::parallel, Iter::parallel, Iter::reduction},
                   [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                     Value lowest = f32(nb, nl, -std::numeric_limits<double>::infinity());
                     Value dot = seenDot(nb, nl, args[0], lowest);
                     return arith::MaxNumFOp::create(nb, nl, args[1], dot);
                   });
  }

  /// exp(scale * dot - scale * m): the runtime's logit minus its maximum
  /// (scaling by scale > 0 keeps the maximum, rounding included). Soft-capped
  /// (Gemma 2), each logit is cap * tanh(scale * x / cap), increasing in x:
  /// the capped maximum is the maximum's.
  Value expLogit(OpBuilder &nb, Location nl, Value dot, Value m) {
    Value s = f32(nb, nl, scale);
    auto logit = [&](Value x) -> Value {
      Value y = arith::MulFOp::create(nb, nl, x, s);
      return softcap > 0.0 ? softcapOf(nb, nl, y, softcap) : y;
    };
    return math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, logit(dot), logit(m)));
  }

  /// partial[i, h, c] = sum over steps t of exp(logit - max) of the seen keys.
  Value partialSums(Value m) {
    const int64_t dyn = ShapedType::kDynamic;
    Value init = filled({R}, {dyn, H, C}, 0.0);
    AffineExpr i, h, c, t;
    bindDims(b.getContext(), i, h, c, t);
    return generic(init.getType(), {laid, m}, init,
                   {map(4, {i, h, t, c}), map(4, {i, h}), map(4, {i, h, c})},
                   {Iter::parallel, Iter::parallel, Iter::parallel, Iter::reduction},
                   [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                     Value p = seenDot(nb, nl, expLogit(nb, nl, args[0], args[1]),
                                       f32(nb, nl, 0.0));
                     return arith::AddFOp::create(nb, nl, args[2], p);
                   });
  }

  /// out[i, h] = max or sum over c of partial[i, h, c].
  Value rowReduce(Value partial, bool max) {
    const int64_t dyn = ShapedType::kDynamic;
    Value init = filled({R}, {dyn, H}, max ? -std::numeric_limits<double>::infinity() : 0.0);
    AffineExpr i, h, c;
    bindDims(b.getContext(), i, h, c);
    return generic(init.getType(), {partial}, init, {map(3, {i, h, c}), map(3, {i, h})},
                   {Iter::parallel, Iter::parallel, Iter::reduction},
                   [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                     if (max)
                       return arith::MaxNumFOp::create(nb, nl, args[1], args[0]);
                     return arith::AddFOp::create(nb, nl, args[1], args[0]);
                   });
  }

  /// scores[j] = (1 / counted rows) sum_i sum_h [row i sees key j]
  ///             exp(logit - max) / (s[i, h] * H).
  Value combine(Value dots, Value m, Value s) {
    const int64_t dyn = ShapedType::kDynamic;
    auto resultType = cast<RankedTensorType>(op.getScores().getType());
    Type element = resultType.getElementType();
    // The number of rows that count (1 without a window).
    Value counted;
    if (window > 1) {
      AffineExpr z, i;
      bindDims(b.getContext(), z, i);
      counted = generic(
          RankedTensorType::get({1}, b.getF32Type()), {m}, filled({}, {1}, 0.0),
          {map(2, {i, b.getAffineConstantExpr(0)}), map(2, {z})},
          {Iter::parallel, Iter::reduction},
          [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
            Value pos = rowPosition(nb, nl, linalg::IndexOp::create(nb, nl, 1));
            Value one = arith::SelectOp::create(nb, nl, inWindow(nb, nl, pos), f32(nb, nl, 1.0),
                                                f32(nb, nl, 0.0));
            return arith::AddFOp::create(nb, nl, args[1], one);
          });
    }
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(element, 0.0));
    Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{dyn}, element, ValueRange{n});
    Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    AffineExpr j, i, h;
    bindDims(b.getContext(), j, i, h);
    // The loop over j takes its extent from the keys (dots has padded columns).
    return generic(
        resultType, {op.getKeyPositions(), m, s}, init,
        {map(3, {j}), map(3, {i, h}), map(3, {i, h}), map(3, {j})},
        {Iter::parallel, Iter::reduction, Iter::reduction},
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value jj = linalg::IndexOp::create(nb, nl, 0), ii = linalg::IndexOp::create(nb, nl, 1);
          Value hh = linalg::IndexOp::create(nb, nl, 2);
          Value dot = tensor::ExtractOp::create(nb, nl, dots, ValueRange{ii, hh, jj});
          Value sum = arith::MulFOp::create(nb, nl, args[2], f32(nb, nl, static_cast<double>(H)));
          Value p = arith::DivFOp::create(nb, nl, expLogit(nb, nl, dot, args[1]), sum);
          if (window > 1) {
            Value rowsCounted = tensor::ExtractOp::create(
                nb, nl, counted, ValueRange{arith::ConstantIndexOp::create(nb, nl, 0)});
            p = arith::DivFOp::create(nb, nl, p, rowsCounted);
          }
          if (window > 1 || sliding > 0)
            p = arith::SelectOp::create(nb, nl, sees(nb, nl, ii, jj), p, f32(nb, nl, 0.0));
          if (element != nb.getF32Type())
            p = arith::TruncFOp::create(nb, nl, element, p);
          return arith::AddFOp::create(nb, nl, args[3], p);
        });
  }

  lazy::ScoresOp op;
  int64_t C;
  Type cacheElement;
  int64_t H, D, group, window, sliding;
  double scale, softcap;
  Value rows, n, R, first, padded, K, laid;
};

struct ScoresToLinalg : OpRewritePattern<lazy::ScoresOp> {
  ScoresToLinalg(MLIRContext *ctx, int64_t chunks, Type cacheElement)
      : OpRewritePattern(ctx), chunks(chunks), cacheElement(cacheElement) {}
  LogicalResult matchAndRewrite(lazy::ScoresOp op, PatternRewriter &rewriter) const override {
    ScoresBuilder builder(rewriter, op, chunks, cacheElement);
    rewriter.replaceOp(op, builder.build());
    return success();
  }
  int64_t chunks;
  Type cacheElement;
};

struct LazycScoresToLinalgPass
    : public lazyc::impl::LazycScoresToLinalgBase<LazycScoresToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    if (chunks < 1) {
      getOperation().emitError() << "lazyc-scores-to-linalg: chunks must be >= 1";
      return signalPassFailure();
    }
    Type element;
    if (cacheElementType == "f32")
      element = Float32Type::get(&getContext());
    else if (cacheElementType == "bf16")
      element = BFloat16Type::get(&getContext());
    else if (cacheElementType == "f16")
      element = Float16Type::get(&getContext());
    else {
      getOperation().emitError() << "lazyc-scores-to-linalg: cache-element-type must be f32, "
                                    "bf16 or f16 (the CPU runtime's KV cache; the CUDA "
                                    "runtime's is bf16), got '"
                                 << cacheElementType << "'";
      return signalPassFailure();
    }
    // Attention sinks (gpt-oss) have no generated kernel.
    WalkResult sinks = getOperation()->walk([](lazy::ScoresOp op) {
      if (!op.getSinks())
        return WalkResult::advance();
      op.emitOpError("with attention sinks (gpt-oss) has no generated kernel; its scores are "
                     "the runtime's (lazy-compile --generated-scores=false, the CPU target's "
                     "default)");
      return WalkResult::interrupt();
    });
    if (sinks.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<ScoresToLinalg>(&getContext(), chunks, element);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
