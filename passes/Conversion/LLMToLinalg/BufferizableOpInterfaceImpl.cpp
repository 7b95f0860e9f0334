//===- BufferizableOpInterfaceImpl.cpp - heavy llm ops -> runtime calls ----===//
//
// llm.linear and llm.attention bufferize into an allocation of
// their result and a call of the runtime kernel that computes it (a tuned GEMM,
// our attention over the KV cache). Operands are passed as raw addresses
// (memref.extract_aligned_pointer_as_index) and sizes, so the C ABI is plain:
// see runtime/cpu/Kernels.h.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/RuntimeCall.h"

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace lazyc;

namespace {

/// Weight element type code shared with the runtime (Kernels.h).
int64_t dtypeCode(Type t) {
  if (t.isBF16())
    return 1;
  if (t.isF16())
    return 2;
  if (t.isUnsignedInteger(8))
    return 4; // MXFP4 blocks (llm.weight)
  if (t.isInteger(8))
    return 3; // Q8_0 blocks (llm.weight)
  return 0;
}

/// Calls runtime kernel `name` at `op` (passes/RuntimeCall.h).
Value callRuntime(RewriterBase &rewriter, Operation *op, StringRef name, ValueRange args,
                  bool returnsI64 = false) {
  return lazyc::callRuntime(rewriter, op->getLoc(), op->getParentOfType<ModuleOp>(), name, args,
                            returnsI64);
}

/// The address of a buffer the runtime kernel may write (an output).
Value address(RewriterBase &b, Location loc, Value buffer) {
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}
/// The address of a buffer the runtime kernel only reads, marked so
/// (lazyc::kReadOnlyAddressAttr) for lazyc-gpu-host-index-copies; an
/// unmarked address counts as written.
Value inputAddress(RewriterBase &b, Location loc, Value buffer) {
  auto index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  index->setAttr(lazyc::kReadOnlyAddressAttr, b.getUnitAttr());
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index.getResult());
}
Value i64(RewriterBase &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
}
Value rowsOf(RewriterBase &b, Location loc, Value buffer) {
  Value d = memref::DimOp::create(b, loc, buffer, 0);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), d);
}

/// Allocates the (row-dynamic) result buffer of `op`'s single result.
Value allocResult(RewriterBase &b, Operation *op, Value rows) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  SmallVector<Value> dynamic;
  if (type.isDynamicDim(0))
    dynamic.push_back(rows);
  return memref::AllocOp::create(b, op->getLoc(), memrefType, dynamic, b.getI64IntegerAttr(64));
}

/// Shared analysis answers: the ops read every tensor operand, write none,
/// and return a fresh buffer.
template <typename ConcreteModel, typename OpTy>
struct CallOutModel : public BufferizableOpInterface::ExternalModel<ConcreteModel, OpTy> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &, const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &, const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }
};

/// `buffer` as a row-major array starting at its aligned pointer, which is
/// what the runtime's kernels read from an address: itself if its layout is
/// the identity, else (a slice: an offset or strides) a fresh row-major copy
/// made by a generated loop (a kernel on the CUDA target).
Value rowMajor(RewriterBase &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getLayout().isIdentity())
    return buffer;
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(memref::DimOp::create(b, loc, buffer, d));
  auto copyType = MemRefType::get(type.getShape(), type.getElementType());
  Value copy = memref::AllocOp::create(b, loc, copyType, dynamic, b.getI64IntegerAttr(64));
  linalg::CopyOp::create(b, loc, buffer, copy);
  return copy;
}

/// The row-major buffer of a tensor that a runtime kernel reads.
FailureOr<Value> kernelInput(RewriterBase &rewriter, Value tensor,
                             const BufferizationOptions &options, BufferizationState &state) {
  FailureOr<Value> buffer = getBuffer(rewriter, tensor, options, state);
  if (failed(buffer))
    return failure();
  return rowMajor(rewriter, tensor.getLoc(), *buffer);
}

/// Buffers of `values` (tensors), in order; failure if one has none.
/// `forKernel`: row-major (kernelInput), for a runtime call to read.
FailureOr<SmallVector<Value>> buffersOf(RewriterBase &rewriter, ValueRange values,
                                        const BufferizationOptions &options,
                                        BufferizationState &state, bool forKernel = true) {
  SmallVector<Value> buffers;
  for (Value v : values) {
    FailureOr<Value> buffer = forKernel ? kernelInput(rewriter, v, options, state)
                                        : getBuffer(rewriter, v, options, state);
    if (failed(buffer))
      return failure();
    buffers.push_back(*buffer);
  }
  return buffers;
}

/// Element type code of GEMM activations (lazyc_rt_linear_ex): 0 f32, 1 bf16.
int64_t activationCode(Type t) { return t.isBF16() ? 1 : 0; }

/// llm.linear: a fresh result buffer, or with `acc` the accumulated
/// tensor's buffer (written in place: destination-passing style).
struct LinearModel : CallOutModel<LinearModel, llm::LinearOp> {
  static bool isAccumulator(Operation *op, OpOperand &operand) {
    Value acc = cast<llm::LinearOp>(op).getAccumulate();
    return acc && operand.get() == acc && operand.getOperandNumber() == 2;
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand, const AnalysisState &) const {
    return isAccumulator(op, operand);
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    if (isAccumulator(op, operand))
      return {{op->getResult(0), BufferRelation::Equivalent}};
    return {};
  }
  bool bufferizesToAllocation(Operation *op, Value) const {
    return !cast<llm::LinearOp>(op).getAccumulate();
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto linear = cast<llm::LinearOp>(op);
    Location loc = op->getLoc();
    FailureOr<Value> x = kernelInput(rewriter, linear.getInput(), options, state);
    FailureOr<Value> w = kernelInput(rewriter, linear.getWeight(), options, state);
    if (failed(x) || failed(w))
      return failure();
    auto wType = linear.getWeight().getType();
    Value rows = rowsOf(rewriter, loc, *x);
    Value out, accumulated;
    if (Value acc = linear.getAccumulate()) {
      FailureOr<Value> buffer = getBuffer(rewriter, acc, options, state);
      if (failed(buffer))
        return failure();
      // A strided accumulator is added to in a row-major copy, copied back.
      accumulated = *buffer;
      out = rowMajor(rewriter, loc, accumulated);
    } else {
      out = allocResult(rewriter, op, memref::DimOp::create(rewriter, loc, *x, 0));
    }
    Type inElem = linear.getInput().getType().getElementType();
    Type outElem = linear.getType().getElementType();
    if (!(inElem.isF32() || inElem.isBF16()) || !(outElem.isF32() || outElem.isBF16()))
      return op->emitOpError() << "lowers only with f32 or bf16 activations, got " << inElem
                               << " -> " << outElem;
    SmallVector<Value> args = {inputAddress(rewriter, loc, *x), rows,
                               i64(rewriter, loc, llm::weightColumns(wType)),
                               inputAddress(rewriter, loc, *w),
                               i64(rewriter, loc, dtypeCode(wType.getElementType())),
                               i64(rewriter, loc, wType.getDimSize(0)),
                               address(rewriter, loc, out)};
    if (inElem.isF32() && outElem.isF32() && !linear.getAccumulate()) {
      callRuntime(rewriter, op, "lazyc_rt_linear", args);
    } else {
      // bf16 activations (the CUDA target's) or an accumulating GEMM.
      args.insert(args.begin() + 1, i64(rewriter, loc, activationCode(inElem)));
      args.push_back(i64(rewriter, loc, activationCode(outElem)));
      args.push_back(i64(rewriter, loc, linear.getAccumulate() ? 1 : 0));
      callRuntime(rewriter, op, "lazyc_rt_linear_ex", args);
    }
    if (accumulated && out != accumulated) {
      linalg::CopyOp::create(rewriter, loc, out, accumulated);
      out = accumulated;
    }
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

/// llm.moe: routing and the experts' GEMMs in one runtime kernel.
struct MoEModel : CallOutModel<MoEModel, llm::MoEOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto moe = cast<llm::MoEOp>(op);
    Location loc = op->getLoc();
    SmallVector<Value> operands = {moe.getInput(), moe.getRouter(), moe.getGate(), moe.getUp(),
                                   moe.getDown()};
    FailureOr<SmallVector<Value>> buffers = buffersOf(rewriter, operands, options, state);
    if (failed(buffers))
      return failure();
    // The optional vectors: their addresses, 0 when absent.
    auto optional = [&](Value v) -> FailureOr<Value> {
      if (!v)
        return i64(rewriter, loc, 0);
      FailureOr<Value> buffer = kernelInput(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      return inputAddress(rewriter, loc, *buffer);
    };
    SmallVector<Value> vectors;
    for (Value v : {moe.getSelectionBias(), moe.getRouterBias(), moe.getGateBias(),
                    moe.getUpBias(), moe.getDownBias()}) {
      FailureOr<Value> address = optional(v);
      if (failed(address))
        return failure();
      vectors.push_back(*address);
    }
    Value x = (*buffers)[0];
    Value rows = rowsOf(rewriter, loc, x);
    Value out = allocResult(rewriter, op, memref::DimOp::create(rewriter, loc, x, 0));
    auto weightType = [](Value v) {
      return dtypeCode(cast<RankedTensorType>(v.getType()).getElementType());
    };
    // The activation: 0 SwiGLU, 1 gpt-oss's clamped SwiGLU.
    const int64_t activation = moe.getActivation() == "swiglu_oai" ? 1 : 0;
    SmallVector<Value> args = {
        inputAddress(rewriter, loc, x), rows,
        i64(rewriter, loc, moe.getInput().getType().getDimSize(1)),
        inputAddress(rewriter, loc, (*buffers)[1]), i64(rewriter, loc, weightType(moe.getRouter())),
        vectors[0], vectors[1],
        inputAddress(rewriter, loc, (*buffers)[2]), inputAddress(rewriter, loc, (*buffers)[3]),
        inputAddress(rewriter, loc, (*buffers)[4]), vectors[2], vectors[3], vectors[4],
        i64(rewriter, loc, weightType(moe.getGate())),
        i64(rewriter, loc, moe.getNumExperts()), i64(rewriter, loc, moe.getTopK()),
        i64(rewriter, loc, moe.getExpertFfn()), i64(rewriter, loc, moe.getNormTopK() ? 1 : 0),
        arith::ConstantOp::create(rewriter, loc, moe.getNormMinAttr()),
        i64(rewriter, loc, activation),
        arith::ConstantOp::create(rewriter, loc, moe.getSwigluLimitAttr()),
        i64(rewriter, loc, moe.getScoring() == "sigmoid" ? 1 : 0),
        arith::ConstantOp::create(rewriter, loc, moe.getRoutedScaleAttr()),
        address(rewriter, loc, out)};
    callRuntime(rewriter, op, "lazyc_rt_moe", args);
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct AttentionModel : CallOutModel<AttentionModel, llm::AttentionOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto attn = cast<llm::AttentionOp>(op);
    Location loc = op->getLoc();
    auto found = buffersOf(
        rewriter, {attn.getQuery(), attn.getKey(), attn.getValue(), attn.getPositions()},
        options, state);
    if (failed(found))
      return failure();
    SmallVector<Value> &buffers = *found;
    // Without a key list the kernel attends over every slot (dense).
    Value keys = i64(rewriter, loc, 0), numKeys = i64(rewriter, loc, -1);
    if (attn.getKeys()) {
      FailureOr<Value> buffer = kernelInput(rewriter, attn.getKeys(), options, state);
      if (failed(buffer))
        return failure();
      keys = inputAddress(rewriter, loc, *buffer);
      numKeys = rowsOf(rewriter, loc, *buffer);
    }
    Value rowsIndex = memref::DimOp::create(rewriter, loc, buffers[0], 0);
    Value out = allocResult(rewriter, op, rowsIndex);
    Value scale = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF64FloatAttr(attn.getScale().convertToDouble()));
    SmallVector<Value> args = {
        attn.getCache(), i64(rewriter, loc, attn.getLayer()),
        inputAddress(rewriter, loc, buffers[0]), inputAddress(rewriter, loc, buffers[1]),
        inputAddress(rewriter, loc, buffers[2]), inputAddress(rewriter, loc, buffers[3]),
        rowsOf(rewriter, loc, buffers[0]), keys, numKeys,
        i64(rewriter, loc, attn.getNumHeads()),
        i64(rewriter, loc, attn.getNumKvHeads()), i64(rewriter, loc, attn.getHeadDim()),
        scale, address(rewriter, loc, out)};
    Type qElem = attn.getQuery().getType().getElementType();
    Type kvElem = cast<RankedTensorType>(attn.getKey().getType()).getElementType();
    Type outElem = attn.getType().getElementType();
    for (Type t : {qElem, kvElem, outElem})
      if (!t.isF32() && !t.isBF16())
        return op->emitOpError() << "lowers only with f32 or bf16 activations, got " << t;
    const double softcap = attn.getLogitSoftcap().convertToDouble();
    if (qElem.isF32() && kvElem.isF32() && outElem.isF32() && attn.getSlidingWindow() == 0 &&
        softcap == 0.0 && !attn.getSinks()) {
      callRuntime(rewriter, op, "lazyc_rt_attention", args);
    } else {
      // bf16 query, key/value or output (the CUDA target's activations), a
      // sliding window, soft-capping or sinks (the last: a CPU kernel only).
      for (Type t : {qElem, kvElem, outElem})
        args.push_back(i64(rewriter, loc, activationCode(t)));
      args.push_back(i64(rewriter, loc, attn.getSlidingWindow()));
      args.push_back(
          arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(softcap)));
      if (Value sinks = attn.getSinks()) {
        FailureOr<Value> buffer = kernelInput(rewriter, sinks, options, state);
        if (failed(buffer))
          return failure();
        args.push_back(inputAddress(rewriter, loc, *buffer));
        callRuntime(rewriter, op, "lazyc_rt_attention_sinks", args);
      } else {
        callRuntime(rewriter, op, "lazyc_rt_attention_ex", args);
      }
    }
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};


//===----------------------------------------------------------------------===//
// lazy dialect: the LazyLLM kernels (runtime/cpu/LazyKernels.cpp)
//===----------------------------------------------------------------------===//

/// Position lists must be i32 for the kernels.
LogicalResult checkI32(Operation *op, ValueRange ids) {
  for (Value v : ids)
    if (!cast<ShapedType>(v.getType()).getElementType().isInteger(32))
      return op->emitOpError() << "lowers only with i32 position lists, got " << v.getType();
  return success();
}

Value f64(RewriterBase &b, Location loc, APFloat v) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v.convertToDouble()));
}

/// Allocates a 1-D result of `op` with `count` (i64) elements.
Value allocVector(RewriterBase &b, Operation *op, Value count) {
  Value size = arith::IndexCastOp::create(b, op->getLoc(), b.getIndexType(), count);
  return allocResult(b, op, size);
}

struct ContextModel : CallOutModel<ContextModel, lazy::ContextOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto ctx = cast<lazy::ContextOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {ctx.getPositions(), ctx.getKeys()})))
      return failure();
    auto b = buffersOf(rewriter, {ctx.getPositions()}, options, state);
    if (failed(b))
      return failure();
    Value pos = inputAddress(rewriter, loc, (*b)[0]), rows = rowsOf(rewriter, loc, (*b)[0]);
    Value count = callRuntime(rewriter, op, "lazyc_rt_context_size", {pos, rows}, true);
    Value out = allocVector(rewriter, op, count);
    callRuntime(rewriter, op, "lazyc_rt_context", {pos, rows, address(rewriter, loc, out)});
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct ScoresModel : CallOutModel<ScoresModel, lazy::ScoresOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto scores = cast<lazy::ScoresOp>(op);
    Location loc = op->getLoc();
    SmallVector<Value> tensors = {scores.getQuery(), scores.getKeyPositions()};
    if (scores.getQueryPositions())
      tensors.push_back(scores.getQueryPositions());
    if (failed(checkI32(op, ArrayRef<Value>(tensors).drop_front())))
      return failure();
    if (scores.getSinks())
      tensors.push_back(scores.getSinks());
    auto b = buffersOf(rewriter, tensors, options, state);
    if (failed(b))
      return failure();
    Value numKeys = rowsOf(rewriter, loc, (*b)[1]);
    Value out = allocVector(rewriter, op, numKeys);
    Value cache = scores.getCache(), layer = i64(rewriter, loc, scores.getLayer());
    Value query = inputAddress(rewriter, loc, (*b)[0]), rows = rowsOf(rewriter, loc, (*b)[0]);
    Value keys = inputAddress(rewriter, loc, (*b)[1]);
    Value heads = i64(rewriter, loc, scores.getNumHeads()),
          kvHeads = i64(rewriter, loc, scores.getNumKvHeads()),
          headDim = i64(rewriter, loc, scores.getHeadDim()),
          scale = f64(rewriter, loc, scores.getScale());
    // An observation window, a sliding-window or a soft-capped layer: the
    // general entry, with the rows' positions.
    const double softcap = scores.getLogitSoftcap().convertToDouble();
    if (scores.getSinks()) {
      // (Without the rows' positions: every key is visible to the last row.)
      Value positions = scores.getQueryPositions() ? inputAddress(rewriter, loc, (*b)[2])
                                                   : i64(rewriter, loc, 0);
      callRuntime(rewriter, op, "lazyc_rt_sink_scores",
                  {cache, layer, query, positions, rows, keys, numKeys, heads, kvHeads, headDim,
                   scale, i64(rewriter, loc, scores.getWindow()), address(rewriter, loc, out),
                   i64(rewriter, loc, scores.getSlidingWindow()),
                   arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(softcap)),
                   inputAddress(rewriter, loc, b->back())});
    } else if (scores.getWindow() > 1 || scores.getSlidingWindow() > 0 || softcap > 0.0) {
      callRuntime(rewriter, op, "lazyc_rt_window_scores",
                  {cache, layer, query, inputAddress(rewriter, loc, (*b)[2]), rows, keys,
                   numKeys, heads, kvHeads, headDim, scale,
                   i64(rewriter, loc, scores.getWindow()), address(rewriter, loc, out),
                   i64(rewriter, loc, scores.getSlidingWindow()),
                   arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(softcap))});
    } else {
      callRuntime(rewriter, op, "lazyc_rt_scores",
                  {cache, layer, query, rows, keys, numKeys, heads, kvHeads, headDim, scale,
                   address(rewriter, loc, out)});
    }
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct SelectModel : CallOutModel<SelectModel, lazy::SelectOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto select = cast<lazy::SelectOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {select.getIndices()})) ||
        !select.getScores().getType().getElementType().isF32())
      return op->emitOpError() << "lowers only f32 scores to i32 indices";
    auto b = buffersOf(rewriter, {select.getScores()}, options, state);
    if (failed(b))
      return failure();
    Value n = rowsOf(rewriter, loc, (*b)[0]), keep = f64(rewriter, loc, select.getKeep());
    Value minKeep = i64(rewriter, loc, select.getMinKeepAttr().getInt());
    Value count = callRuntime(rewriter, op, "lazyc_rt_select_size", {n, keep, minKeep}, true);
    Value out = allocVector(rewriter, op, count);
    callRuntime(rewriter, op, "lazyc_rt_select",
                {inputAddress(rewriter, loc, (*b)[0]), n, keep, minKeep,
                 address(rewriter, loc, out)});
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct SelectOnceModel : CallOutModel<SelectOnceModel, lazy::SelectOnceOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto select = cast<lazy::SelectOnceOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {select.getKeys(), select.getPositions(), select.getIndices()})))
      return failure();
    auto b = buffersOf(rewriter, {select.getScores(), select.getKeys(), select.getPositions()},
                       options, state);
    if (failed(b))
      return failure();
    SmallVector<Value> args = {select.getCache(), i64(rewriter, loc, select.getLayer()),
                               inputAddress(rewriter, loc, (*b)[0]),
                               inputAddress(rewriter, loc, (*b)[1]),
                               rowsOf(rewriter, loc, (*b)[1]), inputAddress(rewriter, loc, (*b)[2]),
                               rowsOf(rewriter, loc, (*b)[2]),
                               f64(rewriter, loc, select.getKeep()),
                               i64(rewriter, loc, select.getMinKeepAttr().getInt())};
    Value count = callRuntime(rewriter, op, "lazyc_rt_select_once_size", args, true);
    Value out = allocVector(rewriter, op, count);
    args.push_back(address(rewriter, loc, out));
    callRuntime(rewriter, op, "lazyc_rt_select_once", args);
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct ReuseBiasModel : CallOutModel<ReuseBiasModel, lazy::ReuseBiasOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto bias = cast<lazy::ReuseBiasOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {bias.getKeys()})) ||
        !bias.getScores().getType().getElementType().isF32())
      return op->emitOpError() << "lowers only f32 scores and i32 keys";
    auto b = buffersOf(rewriter, {bias.getScores(), bias.getKeys()}, options, state);
    if (failed(b))
      return failure();
    Value n = rowsOf(rewriter, loc, (*b)[0]);
    Value out = allocVector(rewriter, op, n);
    callRuntime(rewriter, op, "lazyc_rt_reuse_bias",
                {bias.getCache(), i64(rewriter, loc, bias.getLayer()),
                 inputAddress(rewriter, loc, (*b)[0]), inputAddress(rewriter, loc, (*b)[1]), n,
                 f64(rewriter, loc, bias.getBias()), address(rewriter, loc, out)});
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct MissingModel : CallOutModel<MissingModel, lazy::MissingOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto missing = cast<lazy::MissingOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {missing.getKeys(), missing.getPositions()})))
      return failure();
    auto b = buffersOf(rewriter, {missing.getKeys()}, options, state);
    if (failed(b))
      return failure();
    SmallVector<Value> args = {missing.getCache(), i64(rewriter, loc, missing.getLayer()),
                               inputAddress(rewriter, loc, (*b)[0]), rowsOf(rewriter, loc, (*b)[0])};
    Value count = callRuntime(rewriter, op, "lazyc_rt_missing_size", args, true);
    Value out = allocVector(rewriter, op, count);
    args.push_back(address(rewriter, loc, out));
    callRuntime(rewriter, op, "lazyc_rt_missing", args);
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

struct AuxSaveModel : CallOutModel<AuxSaveModel, lazy::AuxSaveOp> {
  bool bufferizesToAllocation(Operation *, Value) const { return false; }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto save = cast<lazy::AuxSaveOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {save.getPositions(), save.getKept()})) ||
        !save.getHidden().getType().getElementType().isF32())
      return op->emitOpError() << "lowers only f32 rows and i32 positions";
    auto b = buffersOf(rewriter, {save.getHidden(), save.getPositions(), save.getKept()},
                       options, state);
    if (failed(b))
      return failure();
    callRuntime(rewriter, op, "lazyc_rt_aux_save",
                {save.getAux(), i64(rewriter, loc, save.getLayer()),
                 inputAddress(rewriter, loc, (*b)[0]), inputAddress(rewriter, loc, (*b)[1]),
                 rowsOf(rewriter, loc, (*b)[0]),
                 i64(rewriter, loc, save.getHidden().getType().getDimSize(1)),
                 inputAddress(rewriter, loc, (*b)[2]), rowsOf(rewriter, loc, (*b)[2])});
    rewriter.eraseOp(op);
    return success();
  }
};

struct AuxLoadModel : CallOutModel<AuxLoadModel, lazy::AuxLoadOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto load = cast<lazy::AuxLoadOp>(op);
    Location loc = op->getLoc();
    if (failed(checkI32(op, {load.getWanted(), load.getFreshPositions()})) ||
        !load.getFresh().getType().getElementType().isF32() ||
        load.getFresh().getType() != load.getResult().getType())
      return op->emitOpError() << "lowers only f32 rows of the result's type and i32 positions";
    auto b = buffersOf(rewriter, {load.getWanted(), load.getFresh(), load.getFreshPositions()},
                       options, state);
    if (failed(b))
      return failure();
    Value rowsIndex = memref::DimOp::create(rewriter, loc, (*b)[0], 0);
    Value out = allocResult(rewriter, op, rowsIndex);
    callRuntime(rewriter, op, "lazyc_rt_aux_load",
                {load.getAux(), i64(rewriter, loc, load.getLayer()),
                 inputAddress(rewriter, loc, (*b)[0]), rowsOf(rewriter, loc, (*b)[0]),
                 inputAddress(rewriter, loc, (*b)[1]), inputAddress(rewriter, loc, (*b)[2]),
                 rowsOf(rewriter, loc, (*b)[2]),
                 i64(rewriter, loc, load.getResult().getType().getDimSize(1)),
                 address(rewriter, loc, out)});
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

/// lazy.scatter writes the source rows into the destination's buffer in
/// place (a copy of it when the destination is read later: one-shot
/// bufferization decides), as a compiler-generated parallel loop over rows
/// and columns: `dest[indices[r], c...] = source[r, c...]`. Indices are
/// distinct (token sets are), so the iterations are independent; the CUDA
/// target maps the loop onto threads like any other.
struct ScatterModel
    : public BufferizableOpInterface::ExternalModel<ScatterModel, lazy::ScatterOp> {
  static constexpr unsigned kDest = 1;
  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    // The destination's other rows are kept: it counts as read.
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &operand, const AnalysisState &) const {
    return operand.getOperandNumber() == kDest;
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    if (operand.getOperandNumber() != kDest)
      return {};
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto scatter = cast<lazy::ScatterOp>(op);
    Location loc = op->getLoc();
    // Generated loads and stores: any layout (and the destination in place).
    auto b = buffersOf(rewriter, {scatter.getSource(), scatter.getDest(), scatter.getIndices()},
                       options, state, /*forKernel=*/false);
    if (failed(b))
      return failure();
    Value source = (*b)[0], dest = (*b)[1], indices = (*b)[2];
    auto type = cast<MemRefType>(source.getType());
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> lower(type.getRank(), zero), steps(type.getRank(), one), upper;
    for (int64_t d = 0; d < type.getRank(); ++d)
      upper.push_back(memref::DimOp::create(rewriter, loc, source, d));
    scf::ParallelOp::create(
        rewriter, loc, lower, upper, steps, [&](OpBuilder &nb, Location nl, ValueRange ivs) {
          Value id = memref::LoadOp::create(nb, nl, indices, ivs.front());
          SmallVector<Value> at(ivs);
          at.front() = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), id);
          Value v = memref::LoadOp::create(nb, nl, source, ivs);
          memref::StoreOp::create(nb, nl, v, dest, at);
        });
    replaceOpWithBufferizedValues(rewriter, op, dest);
    return success();
  }
};

} // namespace

void lazyc::registerLLMBufferizationModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, llm::LLMDialect *) {
    llm::LinearOp::attachInterface<LinearModel>(*ctx);
    llm::MoEOp::attachInterface<MoEModel>(*ctx);
    llm::AttentionOp::attachInterface<AttentionModel>(*ctx);
    // What the models create (row-major copies of sliced inputs among them).
    ctx->loadDialect<arith::ArithDialect, linalg::LinalgDialect, memref::MemRefDialect>();
  });
  registry.addExtension(+[](MLIRContext *ctx, lazy::LazyDialect *) {
    lazy::ContextOp::attachInterface<ContextModel>(*ctx);
    lazy::ScoresOp::attachInterface<ScoresModel>(*ctx);
    lazy::SelectOp::attachInterface<SelectModel>(*ctx);
    lazy::SelectOnceOp::attachInterface<SelectOnceModel>(*ctx);
    lazy::MissingOp::attachInterface<MissingModel>(*ctx);
    lazy::ReuseBiasOp::attachInterface<ReuseBiasModel>(*ctx);
    lazy::AuxSaveOp::attachInterface<AuxSaveModel>(*ctx);
    lazy::AuxLoadOp::attachInterface<AuxLoadModel>(*ctx);
    lazy::ScatterOp::attachInterface<ScatterModel>(*ctx);
    // What the models create (lazy.scatter's loop, row-major copies of
    // sliced inputs among them).
    ctx->loadDialect<arith::ArithDialect, linalg::LinalgDialect, memref::MemRefDialect,
                     scf::SCFDialect>();
  });
}
