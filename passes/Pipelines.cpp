//===- Pipelines.cpp - lazyc pass pipelines ---------------------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

extern "C" void LLVMInitializeNVPTXTargetInfo();
extern "C" void LLVMInitializeNVPTXTarget();
extern "C" void LLVMInitializeNVPTXTargetMC();
extern "C" void LLVMInitializeNVPTXAsmPrinter();

using namespace mlir;

/// llm -> linalg -> bufferized memrefs with heavy ops as kernel calls,
/// deallocated right after their last use (shared by both targets).
namespace lazyc {
/// `gpuLoops`: the CUDA target's loop nests follow (they split long reductions).
/// `generatedSelection` / `generatedScores`: lazy.select / lazy.scores as
/// linalg kernels, not runtime calls; `cacheElementType`: the runtime's KV
/// cache storage that generated scores read.
static void buildBufferizedPipeline(OpPassManager &pm, bool gpuLoops, bool fuseResidual,
                                    bool fuseProjections, BF16Activations bf16Activations,
                                    bool generatedSelection, bool generatedScores,
                                    StringRef cacheElementType, bool fuseRowNorms = false) {
  // Residual adds in the GEMMs' epilogues.
  if (fuseResidual)
    pm.addPass(createLazycFuseLinearAdd());
  // Q with K, gate with up: one GEMM each on stacked weights.
  if (fuseProjections)
    pm.addPass(createLazycFuseProjections());
  // llm -> linalg on tensors (+ heavy ops that bufferize into kernel calls).
  pm.addPass(createConvertLLMToLinalg());
  if (generatedSelection)
    pm.addPass(createLazycSelectToLinalg());
  if (generatedScores) {
    LazycScoresToLinalgOptions scores;
    scores.cacheElementType = cacheElementType.str();
    pm.addPass(createLazycScoresToLinalg(scores));
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // (Before the split: RMSNorm's reduction absorbs the widening of its input.)
  const bool allBF16 = bf16Activations == BF16Activations::All ||
                       bf16Activations == BF16Activations::Residual;
  if (bf16Activations == BF16Activations::Residual)
    pm.addPass(createLazycGPUBF16Residual());
  if (gpuLoops) {
    LazycGPUSplitReductionsOptions split;
    split.skipRowNorms = fuseRowNorms; // lazyc-gpu-fuse-row-norms takes those
    pm.addNestedPass<func::FuncOp>(createLazycGPUSplitReductions(split));
  }
  if (allBF16)
    pm.addPass(createLazycGPUBF16Attention());
  if (bf16Activations != BF16Activations::None)
    pm.addPass(createLazycGPUBF16GemmInputs());
  if (allBF16)
    pm.addPass(createLazycGPUBF16GemmOutputs());
  if (gpuLoops || bf16Activations != BF16Activations::None) {
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
  // CSE shared identical fills between reductions: one each again, so they
  // accumulate in place instead of into copies.
  pm.addNestedPass<func::FuncOp>(createLazycPrivateInits());
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
  // Clones the deallocation inserted (e.g. a returned argument buffer).
  pm.addPass(createConvertBufferizationToMemRefPass());
}
} // namespace lazyc

void lazyc::buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options) {
  // Generated selection and scores follow the GPU loops unless set.
  auto orGPULoops = [&](const auto &option) {
    return option.hasValue() ? option.getValue() : options.gpuLoops.getValue();
  };
  const bool fusedRowNorms = options.gpuLoops && options.fusedRowNorms;
  buildBufferizedPipeline(pm, options.gpuLoops, options.fuseResidual, options.fuseProjections,
                          options.bf16Activations,
                          orGPULoops(options.generatedSelection),
                          orGPULoops(options.generatedScores), options.kvCache, fusedRowNorms);
  // The CUDA target's marks of final index lists, checked at every read.
  if (options.hostIndexCopies) {
    LazycGPUHostIndexCopiesOptions check;
    check.check = true;
    pm.addPass(createLazycGPUHostIndexCopies(check));
  }
  // RMSNorm as the CUDA target's block per row, run as sequential loops.
  if (fusedRowNorms) {
    LazycGPUFuseRowNormsOptions standIn;
    standIn.cpu = true;
    pm.addNestedPass<func::FuncOp>(createLazycGPUFuseRowNorms(standIn));
  }
  if (options.gpuLoops) {
    // The CUDA pipeline's loop nests, executed sequentially.
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addPass(createCanonicalizerPass());
    pm.addNestedPass<func::FuncOp>(createLazycGPUMapLoops());
    if (options.reverseParallelLoops)
      pm.addNestedPass<func::FuncOp>(createLazycReverseParallelLoops());
  }
  // exp without libm calls, so LLVM vectorizes the loops around it.
  if (!options.gpuLoops)
    pm.addPass(createLazycApproximateExp());
  // The outermost parallel loops on the runtime's threads.
  if (!options.gpuLoops && options.parallelLoops) {
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addPass(createLazycCPUParallelLoops());
  }
  // Loops, then the LLVM dialect.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (options.runtimeChecks)
    pm.addNestedPass<func::FuncOp>(createGenerateRuntimeVerificationPass());
  // bf16 truncations as integer arithmetic (x86 has no instruction for them
  // and the model library links no compiler-rt).
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertLazycToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

std::string lazyc::cudaChipFeatures(llvm::StringRef chip, std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string lookupError;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "LLVM's NVPTX backend is unavailable: " + lookupError;
    return "";
  }
  std::unique_ptr<llvm::MCSubtargetInfo> info(target->createMCSubtargetInfo(triple, "", ""));
  llvm::StringRef rest = chip;
  unsigned version = 0;
  if (!info || !info->isCPUStringValid(chip) || !rest.consume_front("sm_") ||
      rest.consumeInteger(10, version)) {
    error = "'" + chip.str() + "' is not a GPU architecture LLVM's NVPTX backend knows "
            "(such as sm_80, sm_90, sm_100, sm_120)";
    return "";
  }
  if (version < 80) {
    error = "--chip=" + chip.str() + ": lazyc's CUDA kernels need sm_80 or newer (bf16 "
            "tensor-core MMA, cp.async)";
    return "";
  }
  // The chip's minimum PTX ISA version is the backend's default for it: the
  // .version line of an empty module compiled for the chip.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, chip, "", llvm::TargetOptions(), std::nullopt));
  llvm::LLVMContext context;
  llvm::Module module("ptx-version", context);
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());
  llvm::SmallString<256> ptx;
  llvm::raw_svector_ostream os(ptx);
  llvm::legacy::PassManager passes;
  unsigned minimum = 0;
  if (!machine->addPassesToEmitFile(passes, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
    passes.run(module);
    llvm::StringRef text = ptx.str();
    size_t at = text.find("\n.version ");
    if (at != llvm::StringRef::npos) {
      llvm::StringRef v = text.substr(at + 10).take_until([](char c) { return c == '\n'; });
      auto [majorText, minorText] = v.split('.');
      unsigned major = 0, minor = 0;
      if (!majorText.getAsInteger(10, major) && !minorText.getAsInteger(10, minor))
        minimum = major * 10 + minor;
    }
  }
  return "+ptx" + std::to_string(std::max(80u, minimum));
}

void lazyc::buildCUDAPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  buildBufferizedPipeline(pm, /*gpuLoops=*/true, options.fuseResidual, options.fuseProjections,
                          options.bf16Activations,
                          options.generatedSelection, options.generatedScores, "bf16",
                          options.fusedRowNorms);
  // Buffers in device memory, heavy ops on the CUDA runtime's kernels.
  pm.addPass(createLazycGPUPrepare());
  // Index lists the runtime may fetch once for several calls.
  if (options.hostIndexCopies)
    pm.addPass(createLazycGPUHostIndexCopies());
  // RMSNorm: one block per row, one kernel.
  if (options.fusedRowNorms)
    pm.addNestedPass<func::FuncOp>(createLazycGPUFuseRowNorms());
  // Every linalg op becomes a kernel: parallel loops, one flat dimension
  // mapped to blocks x threads, outlined into gpu.modules.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createLazycGPUMapLoops());
  pm.addPass(createConvertParallelLoopToGpuPass());
  // Kernels named after their ops (rms_norm, rope, ...) for profiles.
  pm.addPass(createLazycGPUNameKernels());
  // Constants (static sizes: the divisors of the flat index) into the
  // kernels rather than passed as arguments.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  if (options.fusedRowNorms)
    pm.addNestedPass<gpu::GPUModuleOp>(createLazycGPULowerAllReduce());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Device side: NVVM, then PTX (or a cubin/fatbin through ptxas).
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  if (target.features.empty()) {
    std::string error; // an unknown chip fails in the NVVM target, named there
    target.features = cudaChipFeatures(options.chip, error);
    if (target.features.empty())
      target.features = "+ptx80";
  }
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkitPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  // Host side: the model's step function and its mgpu*/lazyc_gpu_* calls.
  ConvertLazycToLLVMOptions host;
  host.gpu = true;
  pm.addPass(createConvertLazycToLLVM(host));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void lazyc::registerPipelines() {
  PassPipelineRegistration<CUDAPipelineOptions>(
      "lazyc-cuda-pipeline",
      "Lower an imported model (llm IR) for NVIDIA GPUs: the CPU pipeline's "
      "bufferization, then lazyc-gpu-prepare, parallel loops mapped to GPU "
      "kernels, NVVM -> PTX embedded as gpu.binary, host side to the LLVM dialect",
      [](OpPassManager &pm, const CUDAPipelineOptions &options) {
        buildCUDAPipeline(pm, options);
      });
  PassPipelineRegistration<CPUPipelineOptions>(
      "lazyc-cpu-pipeline",
      "Lower an imported model (llm IR) to the LLVM dialect for the CPU: "
      "convert-llm-to-linalg, one-shot bufferization, deallocation, loops, "
      "convert-lazyc-to-llvm",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        buildCPUPipeline(pm, options);
      });
}
