//===- LazyOps.cpp - lazy dialect operations -------------------------------===//
//
// Verifiers; each rule has an `expected-error` case in
// test/Dialect/lazy/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace lazyc::lazy;

static LogicalResult verifyKeepRatio(Operation *op, double keep) {
  if (!(keep > 0.0 && keep <= 1.0))
    return op->emitOpError() << "expects keep ratio in (0, 1], got "
                             << lazyc::formatDouble(keep);
  return success();
}

/// The keep ratio and the floor on the kept count (min_keep, in tokens; the
/// runtime takes it as an int32 count).
static LogicalResult verifyKeep(Operation *op, double keep, IntegerAttr minKeep) {
  if (failed(verifyKeepRatio(op, keep)))
    return failure();
  if (minKeep && (minKeep.getInt() < 0 || minKeep.getInt() > INT32_MAX))
    return op->emitOpError() << "expects min_keep in [0, 2^31), got " << minKeep.getInt();
  return success();
}

static LogicalResult verifyAuxLayer(Operation *op, int64_t layer,
                                    AuxCacheType aux) {
  if (layer < 0 || layer >= aux.getNumLayers())
    return op->emitOpError() << "layer " << layer
                             << " is out of range for an aux cache of "
                             << aux.getNumLayers() << " layers";
  return success();
}

/// `hidden` is a 2-D tensor of rows matching the Aux Cache's hidden size and
/// element type, with one row per position.
static LogicalResult verifyAuxRows(Operation *op, RankedTensorType hidden,
                                   RankedTensorType positions,
                                   AuxCacheType aux) {
  if (failed(lazyc::verifyRank(op, "hidden", hidden, 2)))
    return failure();
  if (hidden.getElementType() != aux.getElementType())
    return op->emitOpError() << "expects hidden element type "
                             << hidden.getElementType()
                             << " to match aux cache element type "
                             << aux.getElementType();
  if (failed(lazyc::verifyDimMatch(op, "hidden columns",
                                   hidden.getDimSize(1), "aux cache hidden",
                                   aux.getHidden())))
    return failure();
  return lazyc::verifyDimMatch(op, "hidden rows", hidden.getDimSize(0),
                               "position count", positions.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// ScoresOp
//===----------------------------------------------------------------------===//

/// Attention sinks (gpt-oss): one f32 logit per query head.
static LogicalResult verifySinks(Operation *op, Value sinks, int64_t heads) {
  if (!sinks)
    return success();
  auto type = cast<RankedTensorType>(sinks.getType());
  if (!type.getElementType().isF32() || type.getRank() != 1 || type.getDimSize(0) != heads)
    return op->emitOpError() << "expects the sinks to be tensor<" << heads
                             << "xf32> (one per query head), got " << type;
  return success();
}

LogicalResult ScoresOp::verify() {
  if (failed(lazyc::verifyAttentionConfig(
          *this, getNumHeads(), getNumKvHeads(), getHeadDim(),
          getQuery().getType(), getCache().getType(), getLayer(),
          getScale().convertToDouble())) ||
      failed(verifySinks(*this, getSinks(), getNumHeads())))
    return failure();
  int64_t window = static_cast<int64_t>(getWindow());
  if (window < 1)
    return emitOpError() << "expects a window of at least 1 query row, got " << window;
  if (window > 1 && !getQueryPositions())
    return emitOpError() << "with window = " << window
                         << " needs the query rows' positions (`window %positions`)";
  const int64_t sliding = static_cast<int64_t>(getSlidingWindow());
  if (sliding < 0)
    return emitOpError() << "expects a non-negative sliding_window, got " << sliding;
  if (sliding > 0 && !getQueryPositions())
    return emitOpError() << "with sliding_window = " << sliding
                         << " needs the query rows' positions (`window %positions`)";
  if (double cap = getLogitSoftcap().convertToDouble(); !(cap >= 0.0) || !std::isfinite(cap))
    return emitOpError() << "expects a finite logit_softcap >= 0 (0: none)";
  if (getLogitSoftcap().convertToDouble() > 0.0 && !getQueryPositions())
    return emitOpError() << "with a logit_softcap needs the query rows' positions "
                            "(`window %positions`)";
  if (getQueryPositions() &&
      failed(lazyc::verifyDimMatch(*this, "query position count",
                                   getQueryPositions().getType().getDimSize(0),
                                   "query row count",
                                   getQuery().getType().getDimSize(0))))
    return failure();
  return lazyc::verifyDimMatch(*this, "score count",
                               getScores().getType().getDimSize(0),
                               "key position count",
                               getKeyPositions().getType().getDimSize(0));
}

//===----------------------------------------------------------------------===//
// CacheKeysOp
//===----------------------------------------------------------------------===//

LogicalResult CacheKeysOp::verify() {
  auto cache = getCache().getType();
  const int64_t layer = static_cast<int64_t>(getLayer());
  if (layer < 0 || layer >= cache.getNumLayers())
    return emitOpError() << "layer " << layer << " is out of range for a KV cache of "
                         << cache.getNumLayers() << " layers";
  MemRefType keys = getKeys().getType();
  if (!keys.getLayout().isIdentity())
    return emitOpError() << "expects a row-major buffer (identity layout), got " << keys;
  if (!keys.isDynamicDim(0))
    return emitOpError() << "expects a dynamic row count (the runtime's context length), got "
                         << keys.getDimSize(0) << " rows";
  return lazyc::verifyDimMatch(*this, "key columns", keys.getDimSize(1),
                               "kv_heads * head_dim",
                               static_cast<int64_t>(cache.getNumKVHeads()) * cache.getHeadDim());
}

//===----------------------------------------------------------------------===//
// SelectOp
//===----------------------------------------------------------------------===//

LogicalResult SelectOp::verify() {
  return verifyKeep(*this, getKeep().convertToDouble(), getMinKeepAttr());
}

//===----------------------------------------------------------------------===//
// GatherOp / ScatterOp
//===----------------------------------------------------------------------===//

/// `rows` (one per index) and `full` agree on element type and on every
/// dimension but the first.
static LogicalResult verifyRowShapes(Operation *op, StringRef rowsName,
                                     RankedTensorType rows,
                                     StringRef fullName,
                                     RankedTensorType full,
                                     RankedTensorType indices) {
  if (rows.getElementType() != full.getElementType())
    return op->emitOpError() << "expects " << rowsName << " element type "
                             << rows.getElementType() << " to match "
                             << fullName << " element type "
                             << full.getElementType();
  if (rows.getRank() != full.getRank())
    return op->emitOpError() << "expects " << rowsName << " and " << fullName
                             << " of the same rank, got " << rows << " and "
                             << full;
  for (int64_t d = 1; d < rows.getRank(); ++d)
    if (failed(lazyc::verifyDimMatch(
            op, (rowsName + " dim " + Twine(d)).str(), rows.getDimSize(d),
            (fullName + " dim " + Twine(d)).str(), full.getDimSize(d))))
      return failure();
  return lazyc::verifyDimMatch(op, (rowsName + " rows").str(),
                               rows.getDimSize(0), "index count",
                               indices.getDimSize(0));
}

LogicalResult GatherOp::verify() {
  return verifyRowShapes(*this, "result", getResult().getType(), "source",
                         getSource().getType(), getIndices().getType());
}

LogicalResult ScatterOp::verify() {
  return verifyRowShapes(*this, "source", getSource().getType(), "dest",
                         getDest().getType(), getIndices().getType());
}

//===----------------------------------------------------------------------===//
// AuxSaveOp / AuxLoadOp / AuxCacheOp
//===----------------------------------------------------------------------===//

LogicalResult AuxSaveOp::verify() {
  if (failed(verifyAuxLayer(*this, getLayer(), getAux().getType())))
    return failure();
  return verifyAuxRows(*this, getHidden().getType(), getPositions().getType(),
                       getAux().getType());
}

LogicalResult AuxLoadOp::verify() {
  if (failed(verifyAuxLayer(*this, getLayer(), getAux().getType())))
    return failure();
  if (getFresh().getType() != getResult().getType() &&
      (getFresh().getType().getElementType() != getResult().getType().getElementType() ||
       getFresh().getType().getRank() != 2 ||
       getFresh().getType().getDimSize(1) != getResult().getType().getDimSize(1)))
    return emitOpError() << "expects fresh rows " << getFresh().getType()
                         << " of the result's row type " << getResult().getType();
  if (failed(verifyAuxRows(*this, getFresh().getType(), getFreshPositions().getType(),
                           getAux().getType())))
    return failure();
  return verifyAuxRows(*this, getResult().getType(), getWanted().getType(),
                       getAux().getType());
}

LogicalResult AuxCacheOp::verify() {
  auto cache = getCache().getType();
  auto aux = getAux().getType();
  if (cache.getNumLayers() != aux.getNumLayers())
    return emitOpError() << "expects an aux cache of " << cache.getNumLayers()
                         << " layers like its KV cache, got " << aux.getNumLayers();
  if (cache.getElementType() != aux.getElementType())
    return emitOpError() << "expects aux cache element type " << aux.getElementType()
                         << " to match KV cache element type " << cache.getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// ContextOp / RandomScoresOp / MissingOp / SelectOnceOp
//===----------------------------------------------------------------------===//

LogicalResult ContextOp::verify() {
  if (getKeys().getType().getElementType() != getPositions().getType().getElementType())
    return emitOpError() << "expects keys of the positions' element type "
                         << getPositions().getType().getElementType();
  return success();
}

LogicalResult RandomScoresOp::verify() {
  if (static_cast<int64_t>(getLayer()) < 0)
    return emitOpError() << "expects a non-negative layer, got "
                         << static_cast<int64_t>(getLayer());
  return lazyc::verifyDimMatch(*this, "score count", getScores().getType().getDimSize(0),
                               "key count", getKeys().getType().getDimSize(0));
}

static LogicalResult verifyCacheLayer(Operation *op, int64_t layer,
                                      lazyc::llm::KVCacheType cache) {
  if (layer < 0 || layer >= cache.getNumLayers())
    return op->emitOpError() << "layer " << layer << " is out of range for a KV cache of "
                             << cache.getNumLayers() << " layers";
  return success();
}

LogicalResult MissingOp::verify() {
  if (getKeys().getType().getElementType() != getPositions().getType().getElementType())
    return emitOpError() << "expects result positions of the keys' element type "
                         << getKeys().getType().getElementType();
  return verifyCacheLayer(*this, static_cast<int64_t>(getLayer()), getCache().getType());
}

LogicalResult SelectOnceOp::verify() {
  if (failed(verifyKeep(*this, getKeep().convertToDouble(), getMinKeepAttr())))
    return failure();
  int64_t layer = static_cast<int64_t>(getLayer());
  if (layer < 0 || layer + 1 >= static_cast<int64_t>(getCache().getType().getNumLayers()))
    return emitOpError() << "cannot select after layer " << layer << " of a "
                         << getCache().getType().getNumLayers() << "-layer KV cache";
  return lazyc::verifyDimMatch(*this, "score count", getScores().getType().getDimSize(0),
                               "key count", getKeys().getType().getDimSize(0));
}

LogicalResult ReuseBiasOp::verify() {
  const double bias = getBias().convertToDouble();
  if (!std::isfinite(bias) || bias < 1.0)
    return emitOpError() << "expects a finite bias >= 1, got " << lazyc::formatDouble(bias);
  int64_t layer = static_cast<int64_t>(getLayer());
  if (layer < 0 || layer + 1 >= static_cast<int64_t>(getCache().getType().getNumLayers()))
    return emitOpError() << "cannot bias the selection after layer " << layer << " of a "
                         << getCache().getType().getNumLayers() << "-layer KV cache";
  if (getResult().getType().getElementType() != getScores().getType().getElementType())
    return emitOpError() << "expects a result of the scores' element type "
                         << getScores().getType().getElementType();
  if (failed(lazyc::verifyDimMatch(*this, "score count", getScores().getType().getDimSize(0),
                                   "key count", getKeys().getType().getDimSize(0))))
    return failure();
  return lazyc::verifyDimMatch(*this, "result size", getResult().getType().getDimSize(0),
                               "score count", getScores().getType().getDimSize(0));
}

//===----------------------------------------------------------------------===//
// PruneOp
//===----------------------------------------------------------------------===//

ArrayRef<StringRef> PruneOp::getBuiltinPolicies() {
  static const StringRef policies[] = {"lazyllm", "random", "static"};
  return policies;
}

LogicalResult PruneOp::verify() {
  if (failed(verifyKeep(*this, getKeep().convertToDouble(), getMinKeepAttr())))
    return failure();
  StringRef policy = getPolicy();
  // Built-in policies and user policies share one namespace of identifiers.
  if (policy.empty() || !llvm::isAlpha(policy.front()) ||
      !llvm::all_of(policy, [](char c) {
        return llvm::isAlnum(c) || c == '_' || c == '-';
      }))
    return emitOpError() << "expects policy to be an identifier (e.g. "
                            "\"lazyllm\"), got \""
                         << policy << "\"";
  auto hidden = getHidden().getType();
  if (failed(lazyc::verifyAttentionConfig(
          *this, getNumHeads(), getNumKvHeads(), getHeadDim(),
          getQuery().getType(), getCache().getType(), getLayer(),
          getScale().convertToDouble())) ||
      failed(verifySinks(*this, getSinks(), getNumHeads())))
    return failure();
  if (failed(lazyc::verifyRank(*this, "hidden", hidden, 2)))
    return failure();
  if (static_cast<int64_t>(getSlidingWindow()) < 0)
    return emitOpError() << "expects a non-negative sliding_window, got "
                         << static_cast<int64_t>(getSlidingWindow());
  if (getLayer() + 1 >= getCache().getType().getNumLayers())
    return emitOpError() << "cannot prune after the last layer ("
                         << getLayer() << ")";
  if (getNextHidden().getType() != hidden)
    return emitOpError() << "expects next hidden type "
                         << getNextHidden().getType()
                         << " to equal hidden type " << hidden;
  for (Value v : {getNextPositions(), getNextKeys(), getKeys()})
    if (v.getType() != getPositions().getType())
      return emitOpError() << "expects every position list of type "
                           << getPositions().getType() << ", got " << v.getType();
  if (failed(lazyc::verifyDimMatch(*this, "position count",
                                   getPositions().getType().getDimSize(0),
                                   "hidden rows", hidden.getDimSize(0))))
    return failure();
  return lazyc::verifyDimMatch(*this, "query rows",
                               getQuery().getType().getDimSize(0),
                               "hidden rows", hidden.getDimSize(0));
}

LogicalResult PruneOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &results) {
  if (getKeep().convertToDouble() != 1.0)
    return failure();
  results.push_back(getHidden());
  results.push_back(getPositions());
  results.push_back(getKeys());
  return success();
}

namespace {
/// gather(gather(x, a), b) -> gather(x, gather(a, b)).
struct ComposeGathers : public OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getSource().getDefiningOp<GatherOp>();
    if (!inner || inner.getIndices().getType().getElementType() !=
                      op.getIndices().getType().getElementType())
      return failure();
    auto indexType = RankedTensorType::get(op.getIndices().getType().getShape(),
                                           inner.getIndices().getType().getElementType());
    Value composed = GatherOp::create(rewriter, op.getLoc(), indexType, inner.getIndices(),
                                      op.getIndices());
    rewriter.replaceOpWithNewOp<GatherOp>(op, op.getType(), inner.getSource(), composed);
    return success();
  }
};
} // namespace

void GatherOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ComposeGathers>(context);
}

#define GET_OP_CLASSES
#include "dialects/lazy/LazyOps.cpp.inc"
