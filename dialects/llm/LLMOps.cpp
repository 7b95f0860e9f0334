//===- LLMOps.cpp - llm dialect operations ---------------------------------===//
//
// Verifiers. Every rule emits a message naming the operand and what was
// expected; each has an `expected-error` case in test/Dialect/llm/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace mlir;
using namespace lazyc::llm;

std::string lazyc::formatDouble(double value) {
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

LogicalResult lazyc::verifyRank(Operation *op, StringRef what, ShapedType type,
                                int64_t rank) {
  if (type.getRank() != rank)
    return op->emitOpError() << "expects " << what << " of rank " << rank
                             << ", got " << type;
  return success();
}

LogicalResult lazyc::verifyDimMatch(Operation *op, StringRef what,
                                    int64_t actual, StringRef other,
                                    int64_t expected) {
  if (!ShapedType::isDynamic(actual) && !ShapedType::isDynamic(expected) &&
      actual != expected)
    return op->emitOpError() << "expects " << what << " (" << actual
                             << ") to equal " << other << " (" << expected
                             << ")";
  return success();
}

/// Activations are row-major 2-D tensors and results keep the input's element
/// type: shared by most ops below.
static LogicalResult verifyRowsLike(Operation *op, RankedTensorType input,
                                    RankedTensorType result) {
  if (failed(lazyc::verifyRank(op, "input", input, 2)) ||
      failed(lazyc::verifyRank(op, "result", result, 2)))
    return failure();
  if (input.getElementType() != result.getElementType())
    return op->emitOpError() << "expects result element type "
                             << result.getElementType()
                             << " to match input element type "
                             << input.getElementType();
  return lazyc::verifyDimMatch(op, "result rows", result.getDimSize(0),
                               "input rows", input.getDimSize(0));
}

/// Rows-like `input` and a result of exactly its type (elementwise ops).
static LogicalResult verifySameRows(Operation *op, RankedTensorType input,
                                    RankedTensorType result) {
  if (failed(verifyRowsLike(op, input, result)))
    return failure();
  if (input != result)
    return op->emitOpError() << "expects result type " << result << " to equal input type "
                             << input;
  return success();
}

/// `cols` (when static) is a whole number of `headDim`-wide heads.
static LogicalResult verifyWholeHeads(Operation *op, int64_t cols, int64_t headDim) {
  if (!ShapedType::isDynamic(cols) && cols % headDim != 0)
    return op->emitOpError() << "expects input columns (" << cols
                             << ") to be a multiple of head_dim (" << headDim << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

RankedTensorType lazyc::llm::getQ8_0WeightType(MLIRContext *context, int64_t rows,
                                               int64_t cols) {
  return RankedTensorType::get({rows, cols / kQ8_0BlockValues * kQ8_0BlockBytes},
                               IntegerType::get(context, 8));
}

RankedTensorType lazyc::llm::getMXFP4WeightType(MLIRContext *context, int64_t rows,
                                                int64_t cols) {
  return RankedTensorType::get({rows, cols / kMXFP4BlockValues * kMXFP4BlockBytes},
                               IntegerType::get(context, 8, IntegerType::Unsigned));
}

/// A Q8_0 weight (i8) is a matrix of whole 34-byte blocks per row, an MXFP4
/// one (ui8) of whole 17-byte blocks.
static LogicalResult verifyQ8_0Weight(Operation *op, RankedTensorType type) {
  const bool q8 = lazyc::llm::isQ8_0(type), mx = lazyc::llm::isMXFP4(type);
  if (!q8 && !mx)
    return success();
  const char *kind = q8 ? "a Q8_0 weight (i8)" : "an MXFP4 weight (ui8)";
  const int64_t blockBytes = q8 ? lazyc::llm::kQ8_0BlockBytes : lazyc::llm::kMXFP4BlockBytes;
  if (type.getRank() != 2)
    return op->emitOpError() << "expects " << kind << " to be a matrix, got " << type;
  if (type.getDimSize(1) % blockBytes != 0)
    return op->emitOpError() << "expects the rows of " << kind << " to be whole " << blockBytes
                             << "-byte blocks, got " << type.getDimSize(1) << " bytes";
  return success();
}

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError() << "expects a non-empty weight name";
  if (!getResult().getType().hasStaticShape())
    return emitOpError() << "expects a statically shaped result, got "
                         << getResult().getType();
  RankedTensorType type = getResult().getType();
  const int64_t step = getRowStep().value_or(1);
  if (step < 1)
    return emitOpError() << "expects a positive row_step, got " << step;
  if (getRowStep() && !getRows())
    return emitOpError() << "expects rows = [begin, end] with row_step";
  const int64_t block = getRowBlock().value_or(1);
  if (getRowBlock() && (!getRowStep() || block < 1 || block > step))
    return emitOpError() << "expects row_block in [1, row_step] with a row_step, got " << block;
  if (std::optional<ArrayRef<int64_t>> rows = getRows()) {
    if (rows->size() != 2 || (*rows)[0] < 0 || (*rows)[1] <= (*rows)[0])
      return emitOpError() << "expects rows = [begin, end] with 0 <= begin < end";
    // (A vector's elements are its rows: only a stepped selection takes them.)
    const int64_t count = lazyc::llm::steppedRowCount((*rows)[1] - (*rows)[0], step, block);
    if ((type.getRank() != 2 && (type.getRank() != 1 || !getRowStep())) ||
        type.getDimSize(0) != count)
      return emitOpError() << "expects a matrix of " << count << " rows for rows = ["
                           << (*rows)[0] << ", " << (*rows)[1] << "]"
                           << (getRowStep() ? " and row_step = " + std::to_string(step) : "")
                           << (getRowBlock() ? " and row_block = " + std::to_string(block) : "")
                           << ", got " << type;
  }
  if (getTransposed() && type.getRank() != 2)
    return emitOpError() << "expects a matrix for a transposed weight, got " << type;
  if (getScales() && getScales()->empty())
    return emitOpError() << "expects a non-empty name for scales";
  if (getScales() && getTransposed())
    return emitOpError() << "expects MXFP4 blocks with scales untransposed";
  return verifyQ8_0Weight(*this, type);
}

//===----------------------------------------------------------------------===//
// FusedWeightOp
//===----------------------------------------------------------------------===//

LogicalResult FusedWeightOp::verify() {
  auto type = getResult().getType();
  if (!type.hasStaticShape() || type.getRank() != 2)
    return emitOpError() << "expects a statically shaped 2-D result, got " << type;
  ArrayAttr names = getNames();
  ArrayRef<int64_t> rows = getRows();
  if (names.size() < 2)
    return emitOpError() << "expects at least two weight names";
  if (names.size() != rows.size())
    return emitOpError() << "has " << names.size() << " names but " << rows.size()
                         << " row counts";
  llvm::StringSet<> seen;
  int64_t total = 0;
  for (auto [name, n] : llvm::zip(names.getAsValueRange<StringAttr>(), rows)) {
    if (name.empty())
      return emitOpError() << "expects non-empty weight names";
    if (!seen.insert(name).second)
      return emitOpError() << "names weight '" << name << "' twice";
    if (n <= 0)
      return emitOpError() << "expects positive row counts, got " << n << " for '" << name
                           << "'";
    total += n;
  }
  if (total != type.getDimSize(0))
    return emitOpError() << "row counts add up to " << total << " but the result has "
                         << type.getDimSize(0) << " rows";
  return verifyQ8_0Weight(*this, type);
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto table = getTable().getType();
  auto result = getResult().getType();
  if (lazyc::llm::isMXFP4(table))
    return emitOpError("reads no MXFP4 table (ui8): llm.linear and llm.moe read MXFP4 weights");
  if (failed(lazyc::verifyRank(*this, "table", table, 2)) ||
      failed(lazyc::verifyRank(*this, "result", result, 2)))
    return failure();
  if (failed(lazyc::verifyDimMatch(*this, "result rows", result.getDimSize(0),
                                   "token count",
                                   getTokens().getType().getDimSize(0))))
    return failure();
  return lazyc::verifyDimMatch(*this, "result columns", result.getDimSize(1),
                               "table columns", lazyc::llm::weightColumns(table));
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

/// A norm of every row by a weight of one value per column (llm.rms_norm,
/// llm.layer_norm).
static LogicalResult verifyRowNorm(Operation *op, RankedTensorType input,
                                   RankedTensorType weight, RankedTensorType result,
                                   double epsilon) {
  if (failed(verifyRowsLike(op, input, result)))
    return failure();
  if (failed(lazyc::verifyRank(op, "weight", weight, 1)))
    return failure();
  if (failed(lazyc::verifyDimMatch(op, "weight size", weight.getDimSize(0), "input columns",
                                   input.getDimSize(1))) ||
      failed(lazyc::verifyDimMatch(op, "result columns", result.getDimSize(1),
                                   "input columns", input.getDimSize(1))))
    return failure();
  if (!(epsilon > 0.0))
    return op->emitOpError() << "expects epsilon > 0, got " << lazyc::formatDouble(epsilon);
  return success();
}

LogicalResult RMSNormOp::verify() {
  if (failed(verifyRowNorm(*this, getInput().getType(), getWeight().getType(),
                           getResult().getType(), getEpsilon().convertToDouble())))
    return failure();
  if (!std::isfinite(getWeightOffset().convertToDouble()))
    return emitOpError() << "expects a finite weight_offset";
  return success();
}

LogicalResult LayerNormOp::verify() {
  // (Without a weight: its shape, as if it had one, for the shared checks.)
  RankedTensorType input = getInput().getType();
  auto weight = getWeight() ? cast<RankedTensorType>(getWeight().getType())
                            : RankedTensorType::get({input.getRank() == 2 ? input.getDimSize(1)
                                                                          : ShapedType::kDynamic},
                                                    input.getElementType());
  if (failed(verifyRowNorm(*this, input, weight, getResult().getType(),
                           getEpsilon().convertToDouble())))
    return failure();
  if (!getBias())
    return success();
  if (!getWeight())
    return emitOpError() << "expects a weight with a bias";
  auto bias = cast<RankedTensorType>(getBias().getType());
  if (failed(lazyc::verifyRank(*this, "bias", bias, 1)))
    return failure();
  return lazyc::verifyDimMatch(*this, "bias size", bias.getDimSize(0), "input columns",
                               getInput().getType().getDimSize(1));
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  // A GEMM on bf16 data (bf16 input or weights) may give f32 results (f32
  // accumulation) or bf16 ones; otherwise the input's type.
  auto input = getInput().getType(), result = getResult().getType();
  auto weight = getWeight().getType();
  Type inElem = input.getElementType(), outElem = result.getElementType();
  if (inElem != outElem) {
    bool bf16Gemm = inElem.isBF16() || weight.getElementType().isBF16();
    if (!bf16Gemm || !(outElem.isF32() || outElem.isBF16()))
      return emitOpError() << "expects result element type " << outElem
                           << " to match input element type " << inElem
                           << " (only a GEMM on bf16 data may give f32 or bf16 results)";
    if (failed(lazyc::verifyRank(*this, "input", input, 2)) ||
        failed(lazyc::verifyRank(*this, "result", result, 2)) ||
        failed(lazyc::verifyDimMatch(*this, "result rows", result.getDimSize(0), "input rows",
                                     input.getDimSize(0))))
      return failure();
  } else if (failed(verifyRowsLike(*this, input, result))) {
    return failure();
  }
  if (failed(lazyc::verifyRank(*this, "weight", weight, 2)))
    return failure();
  if (failed(lazyc::verifyDimMatch(
          *this, "weight in_features (dim 1)", lazyc::llm::weightColumns(weight),
          "input columns", getInput().getType().getDimSize(1))))
    return failure();
  if (failed(lazyc::verifyDimMatch(*this, "result columns",
                                   getResult().getType().getDimSize(1),
                                   "weight out_features (dim 0)",
                                   weight.getDimSize(0))))
    return failure();
  if (Value acc = getAccumulate()) {
    auto accType = cast<RankedTensorType>(acc.getType());
    if (!outElem.isF32() && !outElem.isBF16())
      return emitOpError() << "accumulates only into f32 or bf16, got result element type "
                           << outElem;
    if (accType.getElementType() != outElem || accType.getRank() != 2)
      return emitOpError() << "expects the accumulated tensor " << accType
                           << " to have the result's element type and rank 2";
    if (failed(lazyc::verifyDimMatch(*this, "accumulated rows", accType.getDimSize(0),
                                     "result rows", result.getDimSize(0))) ||
        failed(lazyc::verifyDimMatch(*this, "accumulated columns", accType.getDimSize(1),
                                     "result columns", result.getDimSize(1))))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RoPEOp
//===----------------------------------------------------------------------===//

LogicalResult RoPEOp::verify() {
  auto input = getInput().getType();
  if (failed(verifySameRows(*this, input, getResult().getType())))
    return failure();
  int64_t headDim = getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0)
    return emitOpError() << "expects a positive, even head_dim, got "
                         << headDim;
  if (failed(verifyWholeHeads(*this, input.getDimSize(1), headDim)))
    return failure();
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError() << "expects theta > 0, got "
                         << lazyc::formatDouble(getTheta().convertToDouble());
  int64_t rotaryDim = headDim;
  if (std::optional<uint64_t> rotary = getRotaryDim()) {
    rotaryDim = static_cast<int64_t>(*rotary);
    if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim)
      return emitOpError() << "expects a positive, even rotary_dim of at most head_dim ("
                           << headDim << "), got " << rotaryDim;
  }
  if (std::optional<APFloat> scale = getScale();
      scale && !(scale->convertToDouble() > 0.0 && std::isfinite(scale->convertToDouble())))
    return emitOpError() << "expects a positive, finite scale, got "
                         << lazyc::formatDouble(scale->convertToDouble());
  if (std::optional<ArrayRef<double>> factors = getFreqFactors()) {
    if (static_cast<int64_t>(factors->size()) != rotaryDim / 2)
      return emitOpError() << (rotaryDim == headDim ? "expects head_dim / 2 = "
                                                    : "expects rotary_dim / 2 = ")
                           << rotaryDim / 2 << " freq_factors, got " << factors->size();
    for (auto [j, factor] : llvm::enumerate(*factors))
      if (!(factor > 0.0) || !std::isfinite(factor))
        return emitOpError() << "expects positive, finite freq_factors, got "
                             << lazyc::formatDouble(factor) << " at " << j;
  }
  return lazyc::verifyDimMatch(*this, "position count",
                               getPositions().getType().getDimSize(0),
                               "input rows", input.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// HeadRMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult HeadRMSNormOp::verify() {
  auto input = getInput().getType();
  if (failed(verifySameRows(*this, input, getResult().getType())))
    return failure();
  auto weight = getWeight().getType();
  if (failed(lazyc::verifyRank(*this, "weight", weight, 1)))
    return failure();
  int64_t headDim = getHeadDim();
  if (headDim <= 0)
    return emitOpError() << "expects a positive head_dim, got " << headDim;
  if (failed(verifyWholeHeads(*this, input.getDimSize(1), headDim)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "expects epsilon > 0";
  if (!std::isfinite(getWeightOffset().convertToDouble()))
    return emitOpError() << "expects a finite weight_offset";
  return lazyc::verifyDimMatch(*this, "weight size", weight.getDimSize(0), "head_dim", headDim);
}

//===----------------------------------------------------------------------===//
// SigmoidGateOp
//===----------------------------------------------------------------------===//

LogicalResult SigmoidGateOp::verify() {
  auto input = getInput().getType();
  auto gate = getGate().getType();
  if (failed(verifySameRows(*this, input, getResult().getType())))
    return failure();
  if (gate.getRank() != 2 || gate.getDimSize(1) != 1)
    return emitOpError() << "expects a gate of one column per row, got " << gate;
  return lazyc::verifyDimMatch(*this, "gate rows", gate.getDimSize(0), "input rows",
                               input.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// SoftcapOp
//===----------------------------------------------------------------------===//

LogicalResult ClampOp::verify() {
  double limit = getLimit().convertToDouble();
  if (!(limit > 0.0) || !std::isfinite(limit))
    return emitOpError() << "expects a finite limit > 0, got " << lazyc::formatDouble(limit);
  return success();
}

LogicalResult SoftcapOp::verify() {
  double cap = getCap().convertToDouble();
  if (!(cap > 0.0) || !std::isfinite(cap))
    return emitOpError() << "expects a finite cap > 0, got " << lazyc::formatDouble(cap);
  return success();
}

//===----------------------------------------------------------------------===//
// GeLUOp
//===----------------------------------------------------------------------===//

LogicalResult GeLUOp::verify() {
  if (getApproximate() != "tanh" && getApproximate() != "none")
    return emitOpError() << "expects approximate \"tanh\" or \"none\", got \""
                         << getApproximate() << "\"";
  return success();
}

//===----------------------------------------------------------------------===//
// SwiGLUOp
//===----------------------------------------------------------------------===//

LogicalResult SwiGLUOp::verify() {
  if (getActivation() != "silu" && getActivation() != "gelu_tanh")
    return emitOpError() << "expects activation \"silu\" or \"gelu_tanh\", got \""
                         << getActivation() << "\"";
  return success();
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  auto input = getInput().getType(), result = getResult().getType();
  if (!input.getElementType().isF32())
    return emitOpError() << "expects f32 activations, got " << input.getElementType();
  if (failed(verifyRowsLike(*this, input, result)) ||
      failed(lazyc::verifyRank(*this, "input", input, 2)))
    return failure();
  const int64_t experts = getNumExperts(), topK = getTopK(), ffn = getExpertFfn();
  const int64_t hidden = input.getDimSize(1);
  if (experts < 1 || topK < 1 || topK > experts)
    return emitOpError() << "expects 1 <= top_k <= num_experts, got top_k " << topK
                         << " of " << experts << " experts";
  if (ffn < 1)
    return emitOpError() << "expects expert_ffn >= 1, got " << ffn;
  if (double normMin = getNormMin().convertToDouble(); !(normMin >= 0.0 && normMin < 1.0))
    return emitOpError() << "expects norm_min in [0, 1), got " << normMin;
  if (getActivation() != "silu" && getActivation() != "swiglu_oai")
    return emitOpError() << "expects activation \"silu\" or \"swiglu_oai\", got \""
                         << getActivation() << "\"";
  if (double limit = getSwigluLimit().convertToDouble(); !(limit > 0.0) || !std::isfinite(limit))
    return emitOpError() << "expects a positive finite swiglu_limit, got " << limit;
  if (getScoring() != "softmax" && getScoring() != "sigmoid")
    return emitOpError() << "expects scoring \"softmax\" or \"sigmoid\", got \"" << getScoring()
                         << "\"";
  if (double scale = getRoutedScale().convertToDouble(); !(scale > 0.0) || !std::isfinite(scale))
    return emitOpError() << "expects a positive finite routed_scale, got " << scale;
  if (ShapedType::isDynamic(hidden))
    return emitOpError("expects a static hidden size (input columns)");
  // Per-expert vectors: f32, `count` values (any static shape: ERNIE's
  // selection bias is [1, experts] in Hugging Face files).
  auto checkVector = [&](Value v, const char *what, int64_t count,
                         const char *unit) -> LogicalResult {
    if (!v)
      return success();
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.getElementType().isF32() || !type.hasStaticShape() ||
        type.getNumElements() != count)
      return emitOpError() << "expects the " << what << " to hold " << count << " f32 values ("
                           << unit << "), got " << type;
    return success();
  };
  if (failed(checkVector(getSelectionBias(), "selection bias", experts, "one per expert")) ||
      failed(checkVector(getRouterBias(), "router bias", experts, "one per expert")) ||
      failed(checkVector(getGateBias(), "gate bias", experts * ffn, "num_experts x expert_ffn")) ||
      failed(checkVector(getUpBias(), "up bias", experts * ffn, "num_experts x expert_ffn")) ||
      failed(checkVector(getDownBias(), "down bias", experts * hidden, "num_experts x hidden")))
    return failure();
  if (!getGateBias() != !getUpBias() || !getGateBias() != !getDownBias())
    return emitOpError("expects the gate, up and down biases together or none of them");
  if (failed(lazyc::verifyDimMatch(*this, "result columns", result.getDimSize(1),
                                   "input columns", hidden)))
    return failure();
  // (name, weight, rows, columns)
  struct Expected {
    const char *name;
    RankedTensorType type;
    int64_t rows, columns;
  };
  auto element = cast<RankedTensorType>(getGate().getType()).getElementType();
  for (const Expected &e :
       {Expected{"router", cast<RankedTensorType>(getRouter().getType()), experts, hidden},
        Expected{"gate", cast<RankedTensorType>(getGate().getType()), experts * ffn, hidden},
        Expected{"up", cast<RankedTensorType>(getUp().getType()), experts * ffn, hidden},
        Expected{"down", cast<RankedTensorType>(getDown().getType()), experts * hidden, ffn}}) {
    if (e.type.getRank() != 2 || e.type.getDimSize(0) != e.rows ||
        lazyc::llm::weightColumns(e.type) != e.columns)
      return emitOpError() << "expects the " << e.name << " weight to hold " << e.rows
                           << " rows of " << e.columns << " values, got " << e.type;
    if (std::string_view(e.name) != "router" && e.type.getElementType() != element)
      return emitOpError() << "expects the expert weights to share one element type, got "
                           << element << " and " << e.type.getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ScaleOp
//===----------------------------------------------------------------------===//

LogicalResult ScaleOp::verify() {
  double factor = getFactor().convertToDouble();
  if (!std::isfinite(factor) || factor == 0.0)
    return emitOpError("factor must be finite and non-zero, got ") << factor;
  return success();
}

//===----------------------------------------------------------------------===//
// AddBiasOp
//===----------------------------------------------------------------------===//

LogicalResult AddBiasOp::verify() {
  auto input = getInput().getType();
  if (failed(verifySameRows(*this, input, getResult().getType())))
    return failure();
  return lazyc::verifyDimMatch(*this, "bias length", getBias().getType().getDimSize(0),
                               "input columns", input.getDimSize(1));
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult lazyc::verifyAttentionConfig(Operation *op, int64_t heads,
                                           int64_t kvHeads, int64_t headDim,
                                           RankedTensorType query,
                                           KVCacheType cache, int64_t layer,
                                           double scale) {
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return op->emitOpError() << "expects positive num_heads, num_kv_heads and "
                                "head_dim, got "
                             << heads << ", " << kvHeads << ", " << headDim;
  if (heads % kvHeads != 0)
    return op->emitOpError() << "expects num_heads (" << heads
                             << ") to be a multiple of num_kv_heads ("
                             << kvHeads << ")";
  if (failed(lazyc::verifyRank(op, "query", query, 2)) ||
      failed(lazyc::verifyDimMatch(op, "query columns", query.getDimSize(1),
                                   "num_heads * head_dim", heads * headDim)))
    return failure();
  if (cache.getNumKVHeads() != kvHeads || cache.getHeadDim() != headDim)
    return op->emitOpError() << "expects the cache (kv_heads = "
                             << cache.getNumKVHeads()
                             << ", head_dim = " << cache.getHeadDim()
                             << ") to match num_kv_heads = " << kvHeads
                             << ", head_dim = " << headDim;
  if (layer < 0 || layer >= cache.getNumLayers())
    return op->emitOpError() << "layer " << layer
                             << " is out of range for a cache of "
                             << cache.getNumLayers() << " layers";
  if (!(scale > 0.0))
    return op->emitOpError() << "expects scale > 0, got "
                             << lazyc::formatDouble(scale);
  return success();
}

LogicalResult AttentionOp::verify() {
  auto query = getQuery().getType();
  if (failed(lazyc::verifyAttentionConfig(
          *this, getNumHeads(), getNumKvHeads(), getHeadDim(), query,
          getCache().getType(), getLayer(), getScale().convertToDouble())))
    return failure();
  if (static_cast<int64_t>(getSlidingWindow()) < 0)
    return emitOpError() << "expects a non-negative sliding_window, got "
                         << static_cast<int64_t>(getSlidingWindow());
  if (double cap = getLogitSoftcap().convertToDouble(); !(cap >= 0.0) || !std::isfinite(cap))
    return emitOpError() << "expects a finite logit_softcap >= 0 (0: none)";
  if (Value sinks = getSinks()) {
    auto type = cast<RankedTensorType>(sinks.getType());
    if (!type.getElementType().isF32() || type.getRank() != 1 ||
        type.getDimSize(0) != getNumHeads())
      return emitOpError() << "expects the sinks to be tensor<" << getNumHeads()
                           << "xf32> (one per query head), got " << type;
  }
  // Element types: all equal, or a mix of f32 and bf16 (the CUDA target's
  // bf16 activations) with key and value alike.
  auto result = getResult().getType();
  Type keyElem = cast<RankedTensorType>(getKey().getType()).getElementType();
  auto f32OrBF16 = [](Type t) { return t.isF32() || t.isBF16(); };
  bool allEqual = query.getElementType() == result.getElementType() &&
                  query.getElementType() == keyElem;
  if (!allEqual && !(f32OrBF16(query.getElementType()) && f32OrBF16(keyElem) &&
                     f32OrBF16(result.getElementType())))
    return emitOpError() << "expects query, key/value and result element types to be equal "
                            "or each f32 or bf16, got "
                         << query.getElementType() << ", " << keyElem << ", "
                         << result.getElementType();
  if (query.getShape() != result.getShape())
    return emitOpError() << "expects result type " << result
                         << " to have the query's shape " << query;
  int64_t kvCols = getNumKvHeads() * getHeadDim();
  for (auto [name, value] : {std::pair<StringRef, Value>{"key", getKey()},
                             {"value", getValue()}}) {
    auto type = cast<RankedTensorType>(value.getType());
    if (failed(lazyc::verifyRank(*this, name, type, 2)))
      return failure();
    if (type.getElementType() != keyElem)
      return emitOpError() << "expects value element type " << type.getElementType()
                           << " to match key element type " << keyElem;
    std::string cols = (name + " columns").str();
    std::string rows = (name + " rows").str();
    if (failed(lazyc::verifyDimMatch(*this, cols, type.getDimSize(1),
                                     "num_kv_heads * head_dim", kvCols)) ||
        failed(lazyc::verifyDimMatch(*this, rows, type.getDimSize(0),
                                     "query rows", query.getDimSize(0))))
      return failure();
  }
  return lazyc::verifyDimMatch(*this, "position count",
                               getPositions().getType().getDimSize(0),
                               "query rows", query.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// LogitsOp
//===----------------------------------------------------------------------===//

LogicalResult LogitsOp::verify() {
  auto hidden = getHidden().getType();
  auto head = getLmHead().getType();
  auto result = getResult().getType();
  if (lazyc::llm::isMXFP4(head))
    return emitOpError("reads no MXFP4 lm_head (ui8): llm.linear and llm.moe read MXFP4 weights");
  if (failed(lazyc::verifyRank(*this, "hidden", hidden, 2)) ||
      failed(lazyc::verifyRank(*this, "lm_head", head, 2)) ||
      failed(lazyc::verifyRank(*this, "result", result, 2)))
    return failure();
  if (result.getElementType() != hidden.getElementType())
    return emitOpError() << "expects result element type "
                         << result.getElementType()
                         << " to match hidden element type "
                         << hidden.getElementType();
  if (failed(lazyc::verifyDimMatch(*this, "lm_head columns",
                                   lazyc::llm::weightColumns(head), "hidden columns",
                                   hidden.getDimSize(1))) ||
      failed(lazyc::verifyDimMatch(*this, "result columns",
                                   result.getDimSize(1), "vocabulary size",
                                   head.getDimSize(0))))
    return failure();
  return lazyc::verifyDimMatch(*this, "result rows", result.getDimSize(0),
                               "row count",
                               getRows().getType().getDimSize(0));
}

#define GET_OP_CLASSES
#include "dialects/llm/LLMOps.cpp.inc"
