//===- Pipelines.cpp - lazyc pass pipelines ---------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void lazyc::buildCPUPipeline(OpPassManager &pm) {
  // llm -> linalg on tensors (+ heavy ops that bufferize into kernel calls).
  pm.addPass(createConvertLLMToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Tensors -> buffers, with identity layouts at function boundaries so the
  // runtime passes plain row-major arrays.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  // ... which frees at block ends: free after the last use instead.
  pm.addNestedPass<func::FuncOp>(createLazycEarlyDealloc());
  // Loops, then the LLVM dialect.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertLazycToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void lazyc::registerPipelines() {
  PassPipelineRegistration<>(
      "lazyc-cpu-pipeline",
      "Lower an imported model (llm IR) to the LLVM dialect for the CPU: "
      "convert-llm-to-linalg, one-shot bufferization, deallocation, loops, "
      "convert-lazyc-to-llvm",
      [](OpPassManager &pm) { buildCPUPipeline(pm); });
}
