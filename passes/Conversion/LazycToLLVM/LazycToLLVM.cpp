//===- LazycToLLVM.cpp - bufferized model to the LLVM dialect --------------===//

#include "passes/Passes.h"

#include "dialects/lazy/LazyOps.h"
#include "dialects/llm/LLMTypes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/PrintCallHelper.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/DialectConversion.h"

namespace lazyc {
#define GEN_PASS_DEF_CONVERTLAZYCTOLLVM
#include "passes/Passes.h.inc"
} // namespace lazyc

using namespace mlir;

namespace {
/// cf.assert (the checks of generate-runtime-verification) -> a branch to
/// lazyc_rt_check_failed(message), which prints to stderr and exits: unlike
/// cf.assert's own lowering (puts + abort), the message survives a buffered
/// stdout and the process ends with an error status, not a signal.
struct AssertToRuntime : ConvertOpToLLVMPattern<cf::AssertOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult matchAndRewrite(cf::AssertOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto module = op->getParentOfType<ModuleOp>();
    Block *block = rewriter.getInsertionBlock();
    Block *next = rewriter.splitBlock(block, rewriter.getInsertionPoint());
    Block *failed = rewriter.createBlock(block->getParent());
    if (mlir::failed(LLVM::createPrintStrCall(rewriter, loc, module, "lazyc_check_message",
                                              op.getMsg(), *getTypeConverter(),
                                              /*addNewline=*/false, "lazyc_rt_check_failed")))
      return mlir::failure();
    LLVM::UnreachableOp::create(rewriter, loc);
    rewriter.setInsertionPointToEnd(block);
    rewriter.replaceOpWithNewOp<LLVM::CondBrOp>(op, adaptor.getArg(), next, failed);
    return success();
  }
};

/// lazy.aux_cache names the KV cache object itself.
struct AuxCacheLowering : public OpConversionPattern<lazyc::lazy::AuxCacheOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(lazyc::lazy::AuxCacheOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getCache());
    return success();
  }
};

/// lazy.cache_keys: a memref descriptor over layer `layer`'s keys in the
/// runtime's LazycKVCache (runtime/cpu/Kernels.h; the runtimes assert this
/// prefix of its layout): `k` at field 0 (all layers, [layers][context]
/// [kv_dim], f32 on the CPU and bf16 on the CUDA runtime), `context` at
/// field 2.
struct CacheKeysLowering : ConvertOpToLLVMPattern<lazyc::lazy::CacheKeysOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult matchAndRewrite(lazyc::lazy::CacheKeysOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    MemRefType type = op.getKeys().getType();
    Type descriptorType = getTypeConverter()->convertType(type);
    Type element = getTypeConverter()->convertType(type.getElementType());
    if (!descriptorType || !element)
      return rewriter.notifyMatchFailure(op, "unsupported key buffer type");
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Type i64 = rewriter.getI64Type();
    auto prefix = LLVM::LLVMStructType::getLiteral(ctx, {ptrType, ptrType, i64});
    auto field = [&](int32_t index, Type type) -> Value {
      Value at = LLVM::GEPOp::create(rewriter, loc, ptrType, prefix, adaptor.getCache(),
                                     ArrayRef<LLVM::GEPArg>{0, index});
      return LLVM::LoadOp::create(rewriter, loc, type, at);
    };
    Value keys = field(0, ptrType), context = field(2, i64);
    const int64_t kvDim = type.getDimSize(1);
    Value layerElements = LLVM::MulOp::create(
        rewriter, loc, context,
        LLVM::ConstantOp::create(rewriter, loc, i64,
                                 static_cast<int64_t>(op.getLayer()) * kvDim));
    Value base = LLVM::GEPOp::create(rewriter, loc, ptrType, element, keys,
                                     ArrayRef<LLVM::GEPArg>{layerElements});
    auto descriptor = MemRefDescriptor::poison(rewriter, loc, descriptorType);
    descriptor.setAllocatedPtr(rewriter, loc, base);
    descriptor.setAlignedPtr(rewriter, loc, base);
    descriptor.setConstantOffset(rewriter, loc, 0);
    descriptor.setSize(rewriter, loc, 0, context);
    descriptor.setConstantSize(rewriter, loc, 1, kvDim);
    descriptor.setConstantStride(rewriter, loc, 0, kvDim);
    descriptor.setConstantStride(rewriter, loc, 1, 1);
    rewriter.replaceOp(op, Value(descriptor));
    return success();
  }
};

struct ConvertLazycToLLVMPass
    : public lazyc::impl::ConvertLazycToLLVMBase<ConvertLazycToLLVMPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Entry points get C wrappers taking memref descriptors by pointer.
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isExternal() && fn.isPublic())
        fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), UnitAttr::get(ctx));

    LowerToLLVMOptions options(ctx);
    LLVMTypeConverter converter(ctx, options);
    // The KV cache is the runtime's object: an opaque pointer.
    converter.addConversion(
        [ctx](lazyc::llm::KVCacheType) -> Type { return LLVM::LLVMPointerType::get(ctx); });
    // The Aux Cache lives in the same runtime object.
    converter.addConversion(
        [ctx](lazyc::lazy::AuxCacheType) -> Type { return LLVM::LLVMPointerType::get(ctx); });

    RewritePatternSet patterns(ctx);
    patterns.add<AuxCacheLowering>(converter, ctx);
    patterns.add<CacheKeysLowering>(converter);
    populateFuncToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    // Failed runtime checks (lazy-compile --runtime-checks) report through
    // the runtime.
    patterns.add<AssertToRuntime>(converter);
    populateMathToLLVMConversionPatterns(converter, patterns);
    // Vector loads/stores of the GPU loop nests (--gpu-loops on the CPU).
    populateVectorToLLVMConversionPatterns(converter, patterns);
    LLVMConversionTarget target(*ctx);
    target.addLegalOp<ModuleOp>();
    if (gpu) {
      // Host side of the CUDA target: launches, allocations and copies
      // become mgpu* calls (runtime/cuda/CudaRuntime.cpp); the compiled
      // kernels (gpu.binary) are embedded by the LLVM IR translation.
      populateGpuToLLVMConversionPatterns(converter, patterns);
      index::populateIndexToLLVMConversionPatterns(converter, patterns);
      target.addLegalOp<gpu::BinaryOp>();
      // Launches keep their op with LLVM operands; the translation to LLVM IR
      // turns them into mgpuLaunchKernel calls on the embedded binary.
      target.addDynamicallyLegalOp<gpu::LaunchFuncOp>(
          [&](gpu::LaunchFuncOp op) { return converter.isLegal(op->getOperandTypes()); });
    }
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
