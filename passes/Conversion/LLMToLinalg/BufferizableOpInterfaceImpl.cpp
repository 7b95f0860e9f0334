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

#include "dialects/llm/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
  return 0;
}

/// Declares (once) `name` as an external function of the module.
void callRuntime(RewriterBase &rewriter, Operation *op, StringRef name, ValueRange args) {
  auto module = op->getParentOfType<ModuleOp>();
  auto fnType = rewriter.getFunctionType(TypeRange(args), {});
  if (!module.lookupSymbol<func::FuncOp>(name)) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    auto fn = func::FuncOp::create(rewriter, op->getLoc(), name, fnType);
    fn.setPrivate();
  }
  func::CallOp::create(rewriter, op->getLoc(), name, TypeRange{}, args);
}

Value address(RewriterBase &b, Location loc, Value buffer) {
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
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

struct LinearModel : CallOutModel<LinearModel, llm::LinearOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto linear = cast<llm::LinearOp>(op);
    Location loc = op->getLoc();
    FailureOr<Value> x = getBuffer(rewriter, linear.getInput(), options, state);
    FailureOr<Value> w = getBuffer(rewriter, linear.getWeight(), options, state);
    if (failed(x) || failed(w))
      return failure();
    auto wType = linear.getWeight().getType();
    Value rows = rowsOf(rewriter, loc, *x);
    Value rowsIndex = memref::DimOp::create(rewriter, loc, *x, 0);
    Value out = allocResult(rewriter, op, rowsIndex);
    callRuntime(rewriter, op, "lazyc_rt_linear",
                {address(rewriter, loc, *x), rows, i64(rewriter, loc, wType.getDimSize(1)),
                 address(rewriter, loc, *w), i64(rewriter, loc, dtypeCode(wType.getElementType())),
                 i64(rewriter, loc, wType.getDimSize(0)), address(rewriter, loc, out)});
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
    SmallVector<Value> buffers;
    for (Value v : {attn.getQuery(), attn.getKey(), attn.getValue(), attn.getPositions()}) {
      FailureOr<Value> buffer = getBuffer(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    Value rowsIndex = memref::DimOp::create(rewriter, loc, buffers[0], 0);
    Value out = allocResult(rewriter, op, rowsIndex);
    Value scale = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF64FloatAttr(attn.getScale().convertToDouble()));
    callRuntime(rewriter, op, "lazyc_rt_attention",
                {attn.getCache(), i64(rewriter, loc, attn.getLayer()),
                 address(rewriter, loc, buffers[0]), address(rewriter, loc, buffers[1]),
                 address(rewriter, loc, buffers[2]), address(rewriter, loc, buffers[3]),
                 rowsOf(rewriter, loc, buffers[0]), i64(rewriter, loc, attn.getNumHeads()),
                 i64(rewriter, loc, attn.getNumKvHeads()), i64(rewriter, loc, attn.getHeadDim()),
                 scale, address(rewriter, loc, out)});
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

} // namespace

void lazyc::registerLLMBufferizationModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, llm::LLMDialect *) {
    llm::LinearOp::attachInterface<LinearModel>(*ctx);
    llm::AttentionOp::attachInterface<AttentionModel>(*ctx);
  });
}
