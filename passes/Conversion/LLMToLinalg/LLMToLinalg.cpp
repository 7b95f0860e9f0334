//===- LLMToLinalg.cpp - llm ops to linalg/tensor/arith/math ---------------===//
//
// One populate function per op family (Triton style); the pass assembles them.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/KernelBuilder.h"

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace lazyc {
#define GEN_PASS_DEF_CONVERTLLMTOLINALG
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;
using namespace lazyc;

namespace {

/// tensor.empty shaped like `type`, taking dynamic sizes from `like`.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type, Value like) {
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(b, loc, like, d));
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamic);
}

/// A linalg.generic over the 2-D iteration space of `resultType`. `inputs`
/// are read with `maps` (the output uses the identity); `body` gets the
/// scalar inputs and returns the output scalar.
Value generic2D(OpBuilder &b, Location loc, RankedTensorType resultType, Value like,
                ValueRange inputs, ArrayRef<AffineMap> maps,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value init = emptyLike(b, loc, resultType, like);
  SmallVector<AffineMap> allMaps(maps.begin(), maps.end());
  allMaps.push_back(b.getMultiDimIdentityMap(2));
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, allMaps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value out = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, out);
      });
  return op.getResult(0);
}

/// Converts `v` to `type` (f32 activations from narrower weights).
Value toFloat(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return arith::ExtFOp::create(b, loc, type, v);
}

AffineMap rowsMap(OpBuilder &b) { return b.getMultiDimIdentityMap(2); }
AffineMap perRow(OpBuilder &b) {
  return AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, b.getContext());
}
AffineMap perColumn(OpBuilder &b) {
  return AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
}

//===----------------------------------------------------------------------===//
// Elementwise: add, silu, swiglu
//===----------------------------------------------------------------------===//

Value silu(OpBuilder &b, Location loc, Value x) {
  // x * sigmoid(x) = x / (1 + exp(-x))
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), 1.0));
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, x, arith::AddFOp::create(b, loc, one, e));
}

/// GELU's tanh approximation (PyTorch's approximate="tanh", Gemma's
/// gelu_pytorch_tanh): 0.5 x (1 + tanh(z)) = x sigmoid(2z) = x / (1 + exp(-2z)),
/// z = sqrt(2/pi) (x + 0.044715 x^3).
Value geluTanh(OpBuilder &b, Location loc, Value x) {
  auto c = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), v)).getResult();
  };
  Value cube = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, x, x), x);
  Value inner = arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), cube));
  // -2z = -2 sqrt(2/pi) (x + 0.044715 x^3)
  Value minus2z = arith::MulFOp::create(b, loc, c(-2.0 * 0.7978845608028654), inner);
  Value e = math::ExpOp::create(b, loc, minus2z);
  return arith::DivFOp::create(b, loc, x, arith::AddFOp::create(b, loc, c(1.0), e));
}

/// Exact GELU (PyTorch's nn.GELU(), transformers' "gelu": GPT-NeoX, Pythia),
/// 0.5 x (1 + erf(x / sqrt(2))), from erfc(a), a = |x| / sqrt(2) >= 0: x (1 -
/// erfc(a) / 2) for x >= 0, x erfc(a) / 2 below (erfc(-a) = 2 - erfc(a)).
/// erfc(a) = t exp(-a^2 + P(t)), t = 1 / (1 + a / 2), P Numerical Recipes'
/// Chebyshev fit (relative error under 1.2e-7 for every a >= 0): no erf op to
/// lower, the same arithmetic on every target.
Value geluErf(OpBuilder &b, Location loc, Value x) {
  auto c = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), v)).getResult();
  };
  Value z = arith::MulFOp::create(b, loc, x, c(0.7071067811865476));
  Value negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, z, c(0.0));
  Value a = arith::SelectOp::create(b, loc, negative, arith::NegFOp::create(b, loc, z), z);
  Value t = arith::DivFOp::create(
      b, loc, c(1.0),
      arith::AddFOp::create(b, loc, c(1.0), arith::MulFOp::create(b, loc, a, c(0.5))));
  static constexpr double kP[] = {-1.26551223, 1.00002368, 0.37409196, 0.09678418,
                                  -0.18628806, 0.27886807, -1.13520398, 1.48851587,
                                  -0.82215223, 0.17087277};
  Value p = c(kP[9]);
  for (int i = 8; i >= 0; --i) // Horner: kP[0] + t (kP[1] + t (...))
    p = arith::AddFOp::create(b, loc, c(kP[i]), arith::MulFOp::create(b, loc, t, p));
  Value exponent = arith::SubFOp::create(b, loc, p, arith::MulFOp::create(b, loc, a, a));
  Value half = arith::MulFOp::create(
      b, loc, c(0.5), arith::MulFOp::create(b, loc, t, math::ExpOp::create(b, loc, exponent)));
  Value factor = arith::SelectOp::create(b, loc, negative, half,
                                         arith::SubFOp::create(b, loc, c(1.0), half));
  return arith::MulFOp::create(b, loc, x, factor);
}

struct AddLowering : OpRewritePattern<llm::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::AddOp op, PatternRewriter &rewriter) const override {
    auto type = op.getType();
    if (type.getRank() != 2)
      return failure();
    rewriter.replaceOp(op, generic2D(rewriter, op.getLoc(), type, op.getLhs(),
                                     {op.getLhs(), op.getRhs()},
                                     {rowsMap(rewriter), rowsMap(rewriter)},
                                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       return arith::AddFOp::create(b, l, a[0], a[1]);
                                     }));
    return success();
  }
};

struct AddBiasLowering : OpRewritePattern<llm::AddBiasOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::AddBiasOp op, PatternRewriter &rewriter) const override {
    auto type = op.getType();
    if (type.getRank() != 2)
      return failure();
    Type f = type.getElementType();
    rewriter.replaceOp(op, generic2D(rewriter, op.getLoc(), type, op.getInput(),
                                     {op.getInput(), op.getBias()},
                                     {rowsMap(rewriter), perColumn(rewriter)},
                                     [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       return arith::AddFOp::create(b, l, a[0],
                                                                    toFloat(b, l, a[1], f));
                                     }));
    return success();
  }
};

/// A rank-2 op of one input, elementwise: `body` maps each element.
template <typename OpT>
LogicalResult lowerElementwise(OpT op, PatternRewriter &rewriter,
                               function_ref<Value(OpBuilder &, Location, Value)> body) {
  if (op.getType().getRank() != 2)
    return failure();
  rewriter.replaceOp(op, generic2D(rewriter, op.getLoc(), op.getType(), op.getInput(),
                                   {op.getInput()}, {rowsMap(rewriter)},
                                   [&](OpBuilder &b, Location l, ValueRange a) {
                                     return body(b, l, a[0]);
                                   }));
  return success();
}

struct SiLULowering : OpRewritePattern<llm::SiLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::SiLUOp op, PatternRewriter &rewriter) const override {
    return lowerElementwise(op, rewriter, silu);
  }
};

struct GeLULowering : OpRewritePattern<llm::GeLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::GeLUOp op, PatternRewriter &rewriter) const override {
    return lowerElementwise(op, rewriter, op.getApproximate() == "none" ? geluErf : geluTanh);
  }
};

struct ScaleLowering : OpRewritePattern<llm::ScaleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::ScaleOp op, PatternRewriter &rewriter) const override {
    double factor = op.getFactor().convertToDouble();
    return lowerElementwise(op, rewriter, [&](OpBuilder &b, Location l, Value x) -> Value {
      Value c = arith::ConstantOp::create(b, l, b.getFloatAttr(x.getType(), factor));
      return arith::MulFOp::create(b, l, x, c);
    });
  }
};

struct SoftcapLowering : OpRewritePattern<llm::SoftcapOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::SoftcapOp op, PatternRewriter &rewriter) const override {
    double cap = op.getCap().convertToDouble();
    return lowerElementwise(op, rewriter, [&](OpBuilder &b, Location l, Value x) {
      return softcapOf(b, l, x, cap);
    });
  }
};

/// min(max(x, -limit), limit), NaN kept (arith's minimumf/maximumf).
struct ClampLowering : OpRewritePattern<llm::ClampOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::ClampOp op, PatternRewriter &rewriter) const override {
    double limit = op.getLimit().convertToDouble();
    return lowerElementwise(op, rewriter, [&](OpBuilder &b, Location l, Value x) -> Value {
      auto c = [&](double v) {
        return arith::ConstantOp::create(b, l, b.getFloatAttr(x.getType(), v)).getResult();
      };
      return arith::MinimumFOp::create(b, l, arith::MaximumFOp::create(b, l, x, c(-limit)),
                                       c(limit));
    });
  }
};

/// x * sigmoid(g) = x / (1 + exp(-g)), g read once per row.
struct SigmoidGateLowering : OpRewritePattern<llm::SigmoidGateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::SigmoidGateOp op, PatternRewriter &rewriter) const override {
    auto type = op.getType();
    if (type.getRank() != 2)
      return failure();
    Type f = type.getElementType();
    Type g = op.getGate().getType().getElementType();
    // In the wider of the two types, then the result's.
    Type wide = f.getIntOrFloatBitWidth() >= g.getIntOrFloatBitWidth() ? f : g;
    // (The gate's one column: element (row, 0).)
    AffineMap gateMap = AffineMap::get(
        2, 0, {rewriter.getAffineDimExpr(0), rewriter.getAffineConstantExpr(0)},
        rewriter.getContext());
    rewriter.replaceOp(
        op, generic2D(rewriter, op.getLoc(), type, op.getInput(), {op.getInput(), op.getGate()},
                      {rowsMap(rewriter), gateMap},
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        Value x = toFloat(b, l, a[0], wide), gate = toFloat(b, l, a[1], wide);
                        Value one = arith::ConstantOp::create(b, l, b.getFloatAttr(wide, 1.0));
                        Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, gate));
                        Value y = arith::DivFOp::create(b, l, x,
                                                        arith::AddFOp::create(b, l, one, e));
                        return y.getType() == f ? y : arith::TruncFOp::create(b, l, f, y);
                      }));
    return success();
  }
};

struct SwiGLULowering : OpRewritePattern<llm::SwiGLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::SwiGLUOp op, PatternRewriter &rewriter) const override {
    if (op.getType().getRank() != 2)
      return failure();
    rewriter.replaceOp(op, generic2D(rewriter, op.getLoc(), op.getType(), op.getGate(),
                                     {op.getGate(), op.getUp()},
                                     {rowsMap(rewriter), rowsMap(rewriter)},
                                     [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       Value gate = op.getActivation() == "gelu_tanh"
                                                        ? geluTanh(b, l, a[0])
                                                        : silu(b, l, a[0]);
                                       return arith::MulFOp::create(b, l, gate, a[1]);
                                     }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// RMSNorm: a row reduction, then one fused scaling pass
//===----------------------------------------------------------------------===//

/// RMSNorm's scaling of one element: `a` = (x, sum of squares of its
/// `n`-wide group, weight), x / sqrt(sum / n + eps) * weight.
Value rmsScale(OpBuilder &b, Location l, ValueRange a, int64_t n, double eps, Type f,
               double weightOffset) {
  Value count = arith::ConstantOp::create(b, l, b.getFloatAttr(f, static_cast<double>(n)));
  Value e = arith::ConstantOp::create(b, l, b.getFloatAttr(f, eps));
  Value mean = arith::DivFOp::create(b, l, a[1], count);
  Value r = math::RsqrtOp::create(b, l, arith::AddFOp::create(b, l, mean, e));
  Value scaled = arith::MulFOp::create(b, l, a[0], r);
  if (a.size() < 3) // (no weight: OLMo 1's LayerNorms)
    return scaled;
  Value weight = toFloat(b, l, a[2], f);
  if (weightOffset != 0.0) // Gemma's 1 + w
    weight = arith::AddFOp::create(
        b, l, weight, arith::ConstantOp::create(b, l, b.getFloatAttr(f, weightOffset)));
  return arith::MulFOp::create(b, l, scaled, weight);
}

/// The sums of squares of `input` into a zero-filled tensor of `sumType`
/// (dynamic sizes from `input`): a linalg.generic with `maps` (input, then
/// sums) over `iterators`, the summed dimensions marked reduction.
Value sumOfSquares(OpBuilder &b, Location loc, Value input, RankedTensorType sumType,
                   ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators) {
  Value acc = emptyLike(b, loc, sumType, input);
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(sumType.getElementType(), 0.0));
  acc = linalg::FillOp::create(b, loc, zero, acc).getResult(0);
  auto sum = linalg::GenericOp::create(
      b, loc, TypeRange{sumType}, ValueRange{input}, ValueRange{acc}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value sq = arith::MulFOp::create(nb, l, a[0], a[0]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], sq)});
      });
  return sum.getResult(0);
}

struct RMSNormLowering : OpRewritePattern<llm::RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::RMSNormOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Type f = type.getElementType();
    Value x = op.getInput();
    int64_t cols = type.getDimSize(1);
    if (ShapedType::isDynamic(cols))
      return rewriter.notifyMatchFailure(op, "needs a static hidden size");
    // sum of squares per row
    Value sum = sumOfSquares(rewriter, loc, x, RankedTensorType::get({type.getDimSize(0)}, f),
                             {rowsMap(rewriter), perRow(rewriter)},
                             {utils::IteratorType::parallel, utils::IteratorType::reduction});
    Value y = generic2D(rewriter, loc, type, x, {x, sum, op.getWeight()},
                        {rowsMap(rewriter), perRow(rewriter), perColumn(rewriter)},
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return rmsScale(b, l, a, cols, op.getEpsilon().convertToDouble(), f,
                                          op.getWeightOffset().convertToDouble());
                        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// LayerNorm (plus its bias, if any), in f32 whatever the rows' type (as
/// PyTorch's Cohere models compute it): the row sums, the rows centred on their means,
/// the sums of squares of those, then the scaling pass. Both reductions are
/// plain row sums (the GPU pipeline splits or fuses them as RMSNorm's).
struct LayerNormLowering : OpRewritePattern<llm::LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::LayerNormOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Value x = op.getInput();
    const int64_t cols = type.getDimSize(1);
    if (ShapedType::isDynamic(cols))
      return rewriter.notifyMatchFailure(op, "needs a static hidden size");
    Type f32 = rewriter.getF32Type();
    auto sumType = RankedTensorType::get({type.getDimSize(0)}, f32);
    auto wideType = RankedTensorType::get(type.getShape(), f32);
    SmallVector<AffineMap> reduceMaps = {rowsMap(rewriter), perRow(rewriter)};
    SmallVector<utils::IteratorType> reduce = {utils::IteratorType::parallel,
                                               utils::IteratorType::reduction};
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0.0f));
    Value acc = linalg::FillOp::create(rewriter, loc, zero, emptyLike(rewriter, loc, sumType, x))
                    .getResult(0);
    Value sum = linalg::GenericOp::create(
                    rewriter, loc, TypeRange{sumType}, ValueRange{x}, ValueRange{acc},
                    reduceMaps, reduce,
                    [&](OpBuilder &b, Location l, ValueRange a) {
                      linalg::YieldOp::create(
                          b, l, ValueRange{arith::AddFOp::create(b, l, a[1],
                                                                 toFloat(b, l, a[0], f32))});
                    })
                    .getResult(0);
    auto constant = [&](OpBuilder &b, Location l, double v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF32FloatAttr(static_cast<float>(v)));
    };
    Value centred = generic2D(rewriter, loc, wideType, x, {x, sum},
                              {rowsMap(rewriter), perRow(rewriter)},
                              [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                Value mean = arith::DivFOp::create(
                                    b, l, a[1], constant(b, l, static_cast<double>(cols)));
                                return arith::SubFOp::create(b, l, toFloat(b, l, a[0], f32),
                                                             mean);
                              });
    Value squares = sumOfSquares(rewriter, loc, centred, sumType, reduceMaps, reduce);
    const double eps = op.getEpsilon().convertToDouble();
    SmallVector<Value> inputs = {centred, squares};
    SmallVector<AffineMap> maps = {rowsMap(rewriter), perRow(rewriter)};
    const size_t scaling = op.getWeight() ? 3 : 2; // (OLMo 1's: no weight, no bias)
    if (Value weight = op.getWeight()) {
      inputs.push_back(weight);
      maps.push_back(perColumn(rewriter));
    }
    if (Value bias = op.getBias()) {
      inputs.push_back(bias);
      maps.push_back(perColumn(rewriter));
    }
    Value y = generic2D(rewriter, loc, type, x, inputs, maps,
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Value v = rmsScale(b, l, a.take_front(scaling), cols, eps, f32,
                                             /*weightOffset=*/0.0);
                          if (a.size() > scaling)
                            v = arith::AddFOp::create(b, l, v, toFloat(b, l, a[scaling], f32));
                          Type out = type.getElementType();
                          return out == f32 ? v : arith::TruncFOp::create(b, l, out, v);
                        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Per-head RMSNorm: the sums of squares of every (row, head) in a
/// reduction over the head's columns, then the scaling pass over the rows.
struct HeadRMSNormLowering : OpRewritePattern<llm::HeadRMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::HeadRMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Type f = type.getElementType();
    Value x = op.getInput();
    int64_t cols = type.getDimSize(1), headDim = op.getHeadDim();
    if (ShapedType::isDynamic(cols))
      return rewriter.notifyMatchFailure(op, "needs a static width");
    int64_t heads = cols / headDim;
    // The reduction reads the rows as [rows, heads, head_dim] (a view).
    AffineExpr r = rewriter.getAffineDimExpr(0), h = rewriter.getAffineDimExpr(1);
    MLIRContext *ctx = rewriter.getContext();
    auto headsType = RankedTensorType::get({type.getDimSize(0), heads, headDim}, f);
    SmallVector<OpFoldResult> shape = {tensor::getMixedSize(rewriter, loc, x, 0),
                                       rewriter.getIndexAttr(heads),
                                       rewriter.getIndexAttr(headDim)};
    Value byHead = tensor::ExpandShapeOp::create(
        rewriter, loc, headsType, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}}, shape);
    Value sum = sumOfSquares(
        rewriter, loc, byHead, RankedTensorType::get({type.getDimSize(0), heads}, f),
        {rewriter.getMultiDimIdentityMap(3), AffineMap::get(3, 0, {r, h}, ctx)},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction});
    AffineExpr i = rewriter.getAffineDimExpr(0), j = rewriter.getAffineDimExpr(1);
    Value y = generic2D(rewriter, loc, type, x, {x, sum, op.getWeight()},
                        {rowsMap(rewriter), AffineMap::get(2, 0, {i, j.floorDiv(headDim)}, ctx),
                         AffineMap::get(2, 0, {j % headDim}, ctx)},
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return rmsScale(b, l, a, headDim, op.getEpsilon().convertToDouble(), f,
                                          op.getWeightOffset().convertToDouble());
                        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// RoPE: rotate pairs by position * inverse frequency
//===----------------------------------------------------------------------===//

struct RoPELowering : OpRewritePattern<llm::RoPEOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::RoPEOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Type f = type.getElementType();
    if (!f.isF32())
      return rewriter.notifyMatchFailure(op, "RoPE lowering computes in f32");
    int64_t headDim = op.getHeadDim();
    // Partial rotary embeddings rotate the first `rotary` elements of each
    // head and pass the others through.
    int64_t rotary = static_cast<int64_t>(op.getRotaryDim().value_or(headDim));
    int64_t half = rotary / 2;
    std::optional<float> scale;
    if (std::optional<APFloat> s = op.getScale())
      scale = static_cast<float>(s->convertToDouble());
    // Inverse frequencies as Hugging Face computes them, in float32:
    // 1 / theta^(2i / rotary_dim), divided by the scaling factors if any.
    SmallVector<float> invFreq;
    auto theta = static_cast<float>(op.getTheta().convertToDouble());
    std::optional<ArrayRef<double>> factors = op.getFreqFactors();
    for (int64_t i = 0; i < half; ++i) {
      float f = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(rotary));
      if (factors)
        f = static_cast<float>(static_cast<double>(f) / (*factors)[i]);
      invFreq.push_back(f);
    }
    auto freqType = RankedTensorType::get({half}, f);
    Value freqs = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(freqType, ArrayRef<float>(invFreq)));
    Value x = op.getInput();
    bool interleaved = op.getInterleaved();
    // cos/sin of every (row, frequency) once: rows x head_dim/2 table entries
    // instead of a sine and cosine per element. Sized by the positions, so
    // CSE leaves one table per position set (Q and K, and every layer that
    // sees the same rows, share it).
    auto tableType = RankedTensorType::get({type.getDimSize(0), half}, f);
    Value positions = op.getPositions();
    Value cosInit = emptyLike(rewriter, loc, tableType, positions);
    Value sinInit = emptyLike(rewriter, loc, tableType, positions);
    auto table = linalg::GenericOp::create(
        rewriter, loc, TypeRange{tableType, tableType}, ValueRange{op.getPositions(), freqs},
        ValueRange{cosInit, sinInit},
        ArrayRef<AffineMap>{perRow(rewriter), perColumn(rewriter), rowsMap(rewriter),
                            rowsMap(rewriter)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value pos = arith::SIToFPOp::create(b, l, f, a[0]);
          Value angle = arith::MulFOp::create(b, l, pos, a[1]);
          Value cos = math::CosOp::create(b, l, angle), sin = math::SinOp::create(b, l, angle);
          if (scale) { // (transformers: cos * attention_scaling, in float32)
            Value factor = arith::ConstantOp::create(b, l, b.getF32FloatAttr(*scale));
            cos = arith::MulFOp::create(b, l, cos, factor);
            sin = arith::MulFOp::create(b, l, sin, factor);
          }
          linalg::YieldOp::create(b, l, ValueRange{cos, sin});
        });
    // Column j of head element d = j mod head_dim uses frequency
    // d mod half (rotate-half) or d floordiv 2 (interleaved). Under a partial
    // rotation both are taken modulo half of it, so that the elements it
    // passes through (d >= rotary) index the table in bounds too.
    AffineExpr i = rewriter.getAffineDimExpr(0), j = rewriter.getAffineDimExpr(1);
    AffineExpr freqExpr = interleaved ? (j % headDim).floorDiv(2) : j % half;
    if (rotary != headDim)
      freqExpr = interleaved ? freqExpr % half : (j % headDim) % half;
    AffineMap freqMap = AffineMap::get(2, 0, {i, freqExpr}, rewriter.getContext());
    Value y = generic2D(
        rewriter, loc, type, x, {x, table.getResult(0), table.getResult(1)},
        {rowsMap(rewriter), freqMap, freqMap},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value col = linalg::IndexOp::create(b, l, 1);
          auto cst = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
          Value d = arith::RemUIOp::create(b, l, col, cst(headDim));
          Value first, partner;
          if (interleaved) { // pairs (2i, 2i + 1)
            Value odd = arith::RemUIOp::create(b, l, d, cst(2));
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, odd, cst(0));
            partner = arith::SelectOp::create(b, l, first, arith::AddIOp::create(b, l, col, cst(1)),
                                              arith::SubIOp::create(b, l, col, cst(1)));
          } else { // pairs (i, i + head_dim / 2)
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, d, cst(half));
            partner = arith::SelectOp::create(b, l, first,
                                              arith::AddIOp::create(b, l, col, cst(half)),
                                              arith::SubIOp::create(b, l, col, cst(half)));
          }
          Value other = tensor::ExtractOp::create(b, l, x, ValueRange{row, partner});
          Value xc = arith::MulFOp::create(b, l, a[0], a[1]);
          Value os = arith::MulFOp::create(b, l, other, a[2]);
          // first: x*cos - partner*sin; second: x*cos + partner*sin
          Value rotated = arith::SelectOp::create(
              b, l, first, arith::SubFOp::create(b, l, xc, os), arith::AddFOp::create(b, l, xc, os));
          if (rotary == headDim)
            return rotated;
          // (The partner of a passed-through element is in bounds: d - half
          // for rotate-half, d + 1 for an even d interleaved.)
          Value inside = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, d, cst(rotary));
          return arith::SelectOp::create(b, l, inside, rotated, a[0]);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Embedding: a row gather
//===----------------------------------------------------------------------===//

/// result[i, j] = source[ids[i], j], widened to the result's element type:
/// the embedding lookup and the gather of the rows whose logits are wanted.
Value gatherRows(OpBuilder &b, Location loc, RankedTensorType type, Value source, Value ids) {
  return generic2D(b, loc, type, ids, {ids}, {perRow(b)},
                   [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     Value row = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
                     Value col = linalg::IndexOp::create(nb, l, 1);
                     Value v = tensor::ExtractOp::create(nb, l, source, ValueRange{row, col});
                     return toFloat(nb, l, v, type.getElementType());
                   });
}

/// gatherRows of a Q8_0 table (llm.weight): value j of row r is the int8 at
/// byte 2 + j % 32 of block j / 32, times the block's f16 scale (its first
/// two bytes, little-endian).
Value gatherQ8_0Rows(OpBuilder &b, Location loc, RankedTensorType type, Value table,
                     Value ids) {
  return generic2D(b, loc, type, ids, {ids}, {perRow(b)},
                   [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     Value row = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
                     Value col = linalg::IndexOp::create(nb, l, 1);
                     auto index = [&](int64_t v) {
                       return arith::ConstantIndexOp::create(nb, l, v).getResult();
                     };
                     Value block = arith::DivUIOp::create(
                         nb, l, col, index(llm::kQ8_0BlockValues));
                     Value within = arith::RemUIOp::create(
                         nb, l, col, index(llm::kQ8_0BlockValues));
                     Value blockStart = arith::MulIOp::create(
                         nb, l, block, index(llm::kQ8_0BlockBytes));
                     auto byteAt = [&](Value at) {
                       return tensor::ExtractOp::create(nb, l, table, ValueRange{row, at})
                           .getResult();
                     };
                     Value q = byteAt(arith::AddIOp::create(
                         nb, l, arith::AddIOp::create(nb, l, blockStart, index(2)), within));
                     Type i16 = nb.getI16Type();
                     Value lo = arith::ExtUIOp::create(nb, l, i16, byteAt(blockStart));
                     Value hi = arith::ExtUIOp::create(
                         nb, l, i16,
                         byteAt(arith::AddIOp::create(nb, l, blockStart, index(1))));
                     Value bits = arith::OrIOp::create(
                         nb, l,
                         arith::ShLIOp::create(
                             nb, l, hi, arith::ConstantIntOp::create(nb, l, i16, 8)),
                         lo);
                     Type f32 = nb.getF32Type();
                     Value scale = arith::ExtFOp::create(
                         nb, l, f32,
                         arith::BitcastOp::create(nb, l, nb.getF16Type(), bits).getResult());
                     Value value = arith::MulFOp::create(
                         nb, l, arith::SIToFPOp::create(nb, l, f32, q), scale);
                     return toFloat(nb, l, value, type.getElementType());
                   });
}

struct EmbeddingLowering : OpRewritePattern<llm::EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::EmbeddingOp op, PatternRewriter &rewriter) const override {
    auto gather = llm::isQ8_0(op.getTable().getType()) ? gatherQ8_0Rows : gatherRows;
    rewriter.replaceOp(op, gather(rewriter, op.getLoc(), op.getType(), op.getTable(),
                                  op.getTokens()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Logits of selected rows: a row gather, then the vocabulary projection
//===----------------------------------------------------------------------===//

struct LogitsLowering : OpRewritePattern<llm::LogitsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(llm::LogitsOp op, PatternRewriter &rewriter) const override {
    auto hidden = op.getHidden().getType();
    auto gatheredType = RankedTensorType::get({op.getType().getDimSize(0), hidden.getDimSize(1)},
                                              hidden.getElementType());
    Value gathered =
        gatherRows(rewriter, op.getLoc(), gatheredType, op.getHidden(), op.getRows());
    rewriter.replaceOpWithNewOp<llm::LinearOp>(op, op.getType(), gathered, op.getLmHead());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lazy.gather: hidden-state rows (2-D) or position ids (1-D)
//===----------------------------------------------------------------------===//

struct LazyGatherLowering : OpRewritePattern<lazy::GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(lazy::GatherOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    if (type.getRank() == 2) {
      rewriter.replaceOp(op, gatherRows(rewriter, loc, type, op.getSource(), op.getIndices()));
      return success();
    }
    if (type.getRank() != 1)
      return rewriter.notifyMatchFailure(op, "gathers of rank > 2 are not lowered");
    Value init = emptyLike(rewriter, loc, type, op.getIndices());
    AffineMap id = rewriter.getMultiDimIdentityMap(1);
    Value source = op.getSource();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{op.getIndices()}, ValueRange{init},
        ArrayRef<AffineMap>{id, id},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), args[0]);
          Value v = tensor::ExtractOp::create(nb, nl, source, ValueRange{i});
          linalg::YieldOp::create(nb, nl, v);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// lazy.random_scores: a hash of (seed, layer, position), elementwise
//===----------------------------------------------------------------------===//

/// SplitMix64 of (seed, layer, position) -> a uniform score in [0, 1), bit
/// for bit the runtime's lazyc_rt_random_scores (which compiled models of
/// earlier versions call), as a generated elementwise kernel.
struct LazyRandomScoresLowering : OpRewritePattern<lazy::RandomScoresOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(lazy::RandomScoresOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    if (!type.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "random scores are f32");
    constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
    const uint64_t base = static_cast<uint64_t>(op.getSeed()) * kGolden ^
                          static_cast<uint64_t>(op.getLayer()) << 32;
    Value init = emptyLike(rewriter, loc, type, op.getKeys());
    AffineMap id = rewriter.getMultiDimIdentityMap(1);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{op.getKeys()}, ValueRange{init},
        ArrayRef<AffineMap>{id, id},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Type i64 = nb.getI64Type();
          auto c = [&](uint64_t v) {
            return arith::ConstantIntOp::create(nb, nl, i64, static_cast<int64_t>(v));
          };
          auto mix = [&](Value x, int64_t shift, uint64_t factor) {
            Value shifted = arith::ShRUIOp::create(nb, nl, x, c(shift));
            return arith::MulIOp::create(nb, nl, arith::XOrIOp::create(nb, nl, x, shifted),
                                         c(factor))
                .getResult();
          };
          // The position's 32 bits, zero-extended (static_cast<uint32_t>).
          Value key = args[0];
          if (key.getType() != nb.getI32Type())
            key = arith::TruncIOp::create(nb, nl, nb.getI32Type(), key);
          Value x = arith::XOrIOp::create(nb, nl, c(base), arith::ExtUIOp::create(nb, nl, i64, key));
          x = arith::AddIOp::create(nb, nl, x, c(kGolden));
          x = mix(x, 30, 0xBF58476D1CE4E5B9ull);
          x = mix(x, 27, 0x94D049BB133111EBull);
          x = arith::XOrIOp::create(nb, nl, x, arith::ShRUIOp::create(nb, nl, x, c(31)));
          // The top 24 bits over 2^24: exact in f32.
          Value top = arith::UIToFPOp::create(nb, nl, nb.getF32Type(),
                                              arith::ShRUIOp::create(nb, nl, x, c(40)));
          Value scale = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1.0f / 16777216.0f));
          linalg::YieldOp::create(nb, nl, ValueRange{arith::MulFOp::create(nb, nl, top, scale)});
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// Weights: views into one arena
//===----------------------------------------------------------------------===//

/// Byte alignment of each weight (or stack of weights) in the arena: what
/// cuBLASLt's heuristic assumes of a GEMM operand unless told otherwise, and
/// a multiple of every vector width the generated code uses.
static constexpr int64_t kWeightAlignment = 256;

/// The weight table's key of a weight: its name, and its row range when it is
/// a part of a fused tensor ("name[begin:end]").
/// A weight's arena entry: its name, and where the file lays it out otherwise
/// (a row range, interleaved rows, a transposition, MXFP4 scales apart).
static std::string weightKey(StringRef name, llm::WeightOp w = {}) {
  std::string key = name.str();
  if (!w)
    return key;
  if (std::optional<ArrayRef<int64_t>> rows = w.getRows())
    key += "[" + std::to_string((*rows)[0]) + ":" + std::to_string((*rows)[1]) + "]";
  if (std::optional<int64_t> step = w.getRowStep())
    key += "/" + std::to_string(*step);
  if (std::optional<int64_t> block = w.getRowBlock())
    key += "x" + std::to_string(*block);
  if (w.getTransposed())
    key += "^T";
  if (std::optional<StringRef> scales = w.getScales())
    key += "&" + scales->str();
  return key;
}

static int64_t alignWeightOffset(int64_t offset) {
  return (offset + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
}

static LogicalResult lowerWeights(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  SmallVector<Attribute> table;
  int64_t offset = 0;
  llvm::StringMap<int64_t> placed; // byte offset of each weight (weightKey)
  for (auto fn : module.getOps<func::FuncOp>()) {
    // Record the KV cache geometry for the runtime (describeModel).
    for (Type t : fn.getArgumentTypes())
      if (auto cache = dyn_cast<llm::KVCacheType>(t)) {
        Builder b(ctx);
        module->setAttr("llm.layers", b.getI64IntegerAttr(cache.getNumLayers()));
        module->setAttr("llm.kv_heads", b.getI64IntegerAttr(cache.getNumKVHeads()));
        module->setAttr("llm.head_dim", b.getI64IntegerAttr(cache.getHeadDim()));
      }
    // And the Aux Cache's row size (LazyLLM), which a session file's rows
    // must have (runtime/Session.cpp).
    fn.walk([&](Operation *op) {
      for (Type t : op->getOperandTypes())
        if (auto aux = dyn_cast<lazy::AuxCacheType>(t))
          module->setAttr("lazyc.aux_hidden", Builder(ctx).getI64IntegerAttr(aux.getHidden()));
    });
    SmallVector<Operation *> weights; // llm.weight and llm.fused_weight
    fn.walk([&](Operation *op) {
      if (isa<llm::WeightOp, llm::FusedWeightOp>(op))
        weights.push_back(op);
    });
    if (weights.empty())
      continue;
    // The arena is the last argument of every function that reads weights.
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    if (failed(fn.insertArgument(fn.getNumArguments(), arenaType,
                                 DictionaryAttr::get(ctx, {NamedAttribute(
                                     StringAttr::get(ctx, "llm.name"),
                                     StringAttr::get(ctx, "weights"))}),
                                 fn.getLoc())))
      return failure();
    Value arena = fn.getArgument(fn.getNumArguments() - 1);
    // One table entry per distinct weight (a name, or a name's row range),
    // at its byte offset.
    auto place = [&](StringAttr name, ArrayRef<int64_t> shape, Type element, int64_t at,
                     llm::WeightOp w = {}) {
      Builder b(ctx);
      SmallVector<Attribute> dims;
      std::string dtype;
      llvm::raw_string_ostream(dtype) << element;
      int64_t bytes = ShapedType::getNumElements(shape) * (element.getIntOrFloatBitWidth() / 8);
      // The runtime checks a Q8_0 or MXFP4 matrix against the file by its
      // values per row.
      SmallVector<int64_t> values(shape);
      if (llm::isQ8_0(RankedTensorType::get(shape, element))) {
        dtype = "q8_0";
        values.back() = values.back() / llm::kQ8_0BlockBytes * llm::kQ8_0BlockValues;
      } else if (llm::isMXFP4(RankedTensorType::get(shape, element))) {
        dtype = "mxfp4";
        values.back() = values.back() / llm::kMXFP4BlockBytes * llm::kMXFP4BlockValues;
      }
      for (int64_t d : values)
        dims.push_back(b.getI64IntegerAttr(d));
      SmallVector<NamedAttribute> entry = {
          b.getNamedAttr("name", name),
          b.getNamedAttr("offset", b.getI64IntegerAttr(at)),
          b.getNamedAttr("bytes", b.getI64IntegerAttr(bytes)),
          b.getNamedAttr("dtype", b.getStringAttr(dtype)),
          b.getNamedAttr("shape", b.getArrayAttr(dims)),
      };
      if (w && w.getRows())
        entry.push_back(b.getNamedAttr("rows", b.getI64ArrayAttr(*w.getRows())));
      if (w && w.getRowStep())
        entry.push_back(b.getNamedAttr("row_step", w.getRowStepAttr()));
      if (w && w.getRowBlock())
        entry.push_back(b.getNamedAttr("row_block", w.getRowBlockAttr()));
      if (w && w.getTransposed())
        entry.push_back(b.getNamedAttr("transposed", b.getBoolAttr(true)));
      if (w && w.getScales())
        entry.push_back(b.getNamedAttr("scales", w.getScalesAttr()));
      table.push_back(b.getDictionaryAttr(entry));
      placed[weightKey(name.getValue(), w)] = at;
      return bytes;
    };
    for (Operation *op : weights) {
      auto type = cast<RankedTensorType>(op->getResult(0).getType());
      Type element = type.getElementType();
      int64_t at;
      if (auto w = dyn_cast<llm::WeightOp>(op)) {
        auto it = placed.find(weightKey(w.getName(), w));
        at = it != placed.end() ? it->second : offset;
        if (it == placed.end())
          offset = alignWeightOffset(
              offset + place(w.getNameAttr(), type.getShape(), element, offset, w));
      } else {
        // The parts back to back: the stacked matrix is a view of them all.
        auto fused = cast<llm::FusedWeightOp>(op);
        int64_t rowBytes = type.getDimSize(1) * (element.getIntOrFloatBitWidth() / 8);
        auto names = fused.getNames().getAsRange<StringAttr>();
        bool anyPlaced = llvm::any_of(names, [&](StringAttr n) { return placed.count(n); });
        if (!anyPlaced) {
          at = offset;
          for (auto [name, rows] : llvm::zip(names, fused.getRows()))
            offset += place(name, {rows, type.getDimSize(1)}, element, offset);
          offset = alignWeightOffset(offset);
        } else {
          // Already placed (another view of the same stack): contiguous, in order.
          at = placed.lookup(cast<StringAttr>(fused.getNames()[0]).getValue());
          int64_t expected = at;
          for (auto [name, rows] : llvm::zip(names, fused.getRows())) {
            auto it = placed.find(name.getValue());
            if (it == placed.end() || it->second != expected)
              return fused.emitOpError()
                     << "weight '" << name.getValue()
                     << "' is also used on its own or in another stack: the parts of a "
                        "stacked weight must lie back to back in the weight arena";
            expected += rows * rowBytes;
          }
        }
      }
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value byteOffset = arith::ConstantIndexOp::create(b, loc, at);
      auto viewType = MemRefType::get(type.getShape(), element);
      Value view = memref::ViewOp::create(b, loc, viewType, arena, byteOffset, ValueRange{});
      Value tensor = bufferization::ToTensorOp::create(b, loc, type, view, /*restrict=*/true,
                                                       /*writable=*/false);
      op->getResult(0).replaceAllUsesWith(tensor);
      op->erase();
    }
  }
  Builder b(ctx);
  module->setAttr("llm.weight_table", b.getArrayAttr(table));
  module->setAttr("llm.weight_arena_bytes", b.getI64IntegerAttr(offset));
  return success();
}

namespace {
struct ConvertLLMToLinalgPass
    : public lazyc::impl::ConvertLLMToLinalgBase<ConvertLLMToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(lowerWeights(module)))
      return signalPassFailure();
    // Each llm / lazy op's name goes into its location (`"rms_norm"(loc)`),
    // so the code lowered from it says where it came from: runtime-check
    // messages, and the GPU kernels named after it (lazyc-gpu-name-kernels).
    // (The importer names every op's location after the model: that name
    // is kept inside.)
    module.walk([&](Operation *op) {
      StringRef dialect = op->getName().getDialectNamespace();
      if (dialect != llm::LLMDialect::getDialectNamespace() &&
          dialect != lazy::LazyDialect::getDialectNamespace())
        return;
      StringAttr name = StringAttr::get(&getContext(), op->getName().stripDialect());
      auto named = dyn_cast<NameLoc>(op->getLoc());
      if (!named || named.getName() != name)
        op->setLoc(NameLoc::get(name, op->getLoc()));
    });
    RewritePatternSet patterns(&getContext());
    patterns.add<AddLowering, AddBiasLowering, HeadRMSNormLowering, ScaleLowering,
                 SoftcapLowering, ClampLowering, SigmoidGateLowering, SiLULowering, GeLULowering,
                 SwiGLULowering, RMSNormLowering, LayerNormLowering, RoPELowering,
                 EmbeddingLowering, LogitsLowering, LazyGatherLowering,
                 LazyRandomScoresLowering>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
