//===- Passes.h - lazyc passes ----------------------------------*- C++ -*-===//
#ifndef LAZYC_PASSES_PASSES_H
#define LAZYC_PASSES_PASSES_H

#include "dialects/lazy/LazyDialect.h"
#include "dialects/lazy/LazyTypes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace lazyc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Builds the schedule described by `spec` (a preset name or `layer:keep`
/// pairs) for a model of `numLayers` layers, with a floor of `minKeep`
/// tokens on every kept set. On a malformed spec, returns a null attribute
/// and sets `error`.
lazy::ScheduleAttr parseSchedule(mlir::MLIRContext *context,
                                 llvm::StringRef spec, unsigned numLayers,
                                 std::string &error, int64_t minKeep = 0);

/// Bufferization of the heavy llm ops into calls of the runtime's kernels
/// (lazyc_rt_linear, lazyc_rt_attention; see
/// runtime/cpu/Kernels.h for their C signatures).
void registerLLMBufferizationModels(mlir::DialectRegistry &registry);

/// Registers the `lazyc-cpu-pipeline` and `lazyc-cuda-pipeline`.
void registerPipelines();

/// The widest max-pool of attention scores (--lazy-sparsify pool=,
/// lazy-compile --score-pool): one unrolled neighbour read per key.
constexpr int64_t kMaxScorePool = 65;

/// Activation precision of the GEMMs (bf16-activations=): f32, bf16 inputs
/// (bf16-weight GEMMs read bf16 that the producing kernels write:
/// lazyc-gpu-bf16-gemm-inputs), also bf16 outputs where only elementwise
/// kernels read them (lazyc-gpu-bf16-gemm-outputs), or also a bf16 residual
/// stream (lazyc-gpu-bf16-residual).
enum class BF16Activations { None, Inputs, All, Residual };
#define LAZYC_BF16_ACTIVATION_VALUES                                                           \
  llvm::cl::values(clEnumValN(::lazyc::BF16Activations::None, "none", "f32 activations"),       \
                   clEnumValN(::lazyc::BF16Activations::Inputs, "inputs",                      \
                              "bf16 GEMM inputs, written by their producers"),                  \
                   clEnumValN(::lazyc::BF16Activations::All, "all",                             \
                              "also bf16 GEMM outputs read only by elementwise kernels"),       \
                   clEnumValN(::lazyc::BF16Activations::Residual, "residual",                   \
                              "all, and the residual stream in bf16 (needs fuse-residual)"))

struct CPUPipelineOptions : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> fuseResidual{
      *this, "fuse-residual",
      llvm::cl::desc("Residual adds in the GEMM epilogue (lazyc-fuse-linear-add)"),
      llvm::cl::init(true)};
  Option<bool> fuseProjections{
      *this, "fuse-projections",
      llvm::cl::desc("One GEMM on stacked weights for the projections of the same rows "
                     "that only generated kernels read: Q with K, gate with up "
                     "(lazyc-fuse-projections)"),
      llvm::cl::init(true)};
  Option<BF16Activations> bf16Activations{
      *this, "bf16-activations",
      llvm::cl::desc("GEMM activations in bf16 (the CUDA target's precision, to check it on "
                     "the CPU)"),
      llvm::cl::init(BF16Activations::None), LAZYC_BF16_ACTIVATION_VALUES};
  Option<bool> gpuLoops{
      *this, "gpu-loops",
      llvm::cl::desc("The CUDA target's loop transformations (split reductions, flat "
                     "block x thread loops, register accumulators) run as CPU loops: checks "
                     "them without a GPU"),
      llvm::cl::init(false)};
  Option<bool> generatedSelection{
      *this, "generated-selection",
      llvm::cl::desc("lazy.select as compiler-generated loops (lazyc-select-to-linalg) instead "
                     "of the runtime's nth_element; default: as gpu-loops"),
      llvm::cl::init(false)};
  Option<bool> generatedScores{
      *this, "generated-scores",
      llvm::cl::desc("lazy.scores as compiler-generated loops (lazyc-scores-to-linalg) instead "
                     "of the runtime's kernel; default: as gpu-loops"),
      llvm::cl::init(false)};
  Option<bool> runtimeChecks{
      *this, "runtime-checks",
      llvm::cl::desc("Bounds checks on every load and store of the generated loops "
                     "(generate-runtime-verification): an out-of-bounds access aborts with "
                     "its location; for testing, e.g. the GPU loop nests with gpu-loops=1"),
      llvm::cl::init(false)};
  Option<bool> reverseParallelLoops{
      *this, "reverse-parallel-loops",
      llvm::cl::desc("With gpu-loops: every GPU loop nest visits its iterations last to first "
                     "(lazyc-reverse-parallel-loops; for testing that no iteration depends on "
                     "another, as a GPU runs them in no order)"),
      llvm::cl::init(false)};
  Option<bool> hostIndexCopies{
      *this, "host-index-copies",
      llvm::cl::desc("The CUDA target's index-list marks (lazyc-gpu-host-index-copies) in check "
                     "mode: the CPU runtime snapshots each marked list and compares it before "
                     "every later read (for testing; with gpu-loops, on the CUDA target's IR)"),
      llvm::cl::init(false)};
  Option<bool> fusedRowNorms{
      *this, "fused-row-norms",
      llvm::cl::desc("With gpu-loops: the CUDA target's block-per-row RMSNorm "
                     "(lazyc-gpu-fuse-row-norms) as its CPU stand-in, sequential loops of the "
                     "same per-thread code"),
      llvm::cl::init(false)};
  Option<std::string> kvCache{
      *this, "kv-cache",
      llvm::cl::desc("The runtime's KV cache storage, f32, bf16 or f16 (lazy-compile --kv-cache; "
                     "what the generated scores read)"),
      llvm::cl::init("f32")};
  Option<bool> parallelLoops{
      *this, "parallel-loops",
      llvm::cl::desc("The generated loops (not with gpu-loops) run on the runtime's threads "
                     "(lazyc-cpu-parallel-loops); false: on the calling thread"),
      llvm::cl::init(true)};
};
/// Adds the CPU lowering after import: llm -> linalg -> one-shot
/// bufferization -> loops -> LLVM dialect.
void buildCPUPipeline(mlir::OpPassManager &pm, const CPUPipelineOptions &options = {});

/// Options of the CUDA target (lazy-compile --target=cuda). The defaults are
/// the code generation last measured on a GPU (bench/results/gpu-h100.txt):
/// bf16 GEMM inputs, residual adds as kernels of their own. `fuse-residual`
/// and `bf16-activations=all` are compiled and tested on the CPU, but not yet
/// run on a GPU.
struct CUDAPipelineOptions : public mlir::PassPipelineOptions<CUDAPipelineOptions> {
  Option<bool> fuseResidual{
      *this, "fuse-residual",
      llvm::cl::desc("Residual adds in the GEMM epilogue (lazyc-fuse-linear-add; not yet "
                     "run on a GPU)"),
      llvm::cl::init(false)};
  Option<bool> fuseProjections{
      *this, "fuse-projections",
      llvm::cl::desc("One GEMM on stacked weights for the projections of the same rows "
                     "that only generated kernels read: Q with K, gate with up "
                     "(lazyc-fuse-projections)"),
      llvm::cl::init(true)};
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture (sm_XX)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (default: PTX ISA 8.0, or the newer one the chip needs)"),
      llvm::cl::init("")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("Embedded kernels: isa (PTX, JIT-compiled by the "
                                            "driver), bin (cubin, needs ptxas) or fatbin"),
                             llvm::cl::init("isa")};
  Option<std::string> toolkitPath{*this, "toolkit", llvm::cl::desc("CUDA toolkit (for ptxas)"),
                                  llvm::cl::init("")};
  Option<BF16Activations> bf16Activations{
      *this, "bf16-activations",
      llvm::cl::desc("GEMM activations in bf16 (all: not yet run on a GPU)"),
      llvm::cl::init(BF16Activations::Inputs), LAZYC_BF16_ACTIVATION_VALUES};
  Option<bool> generatedSelection{
      *this, "generated-selection",
      llvm::cl::desc("lazy.select as generated GPU kernels (lazyc-select-to-linalg; the "
                     "scores stay on the device) instead of the runtime's host selection"),
      llvm::cl::init(true)};
  Option<bool> generatedScores{
      *this, "generated-scores",
      llvm::cl::desc("lazy.scores as generated GPU kernels (lazyc-scores-to-linalg, keys read "
                     "in the bf16 KV cache) instead of the runtime's score kernels"),
      llvm::cl::init(true)};
  Option<bool> fusedRowNorms{
      *this, "fused-row-norms",
      llvm::cl::desc("RMSNorm as one kernel of one block per row (lazyc-gpu-fuse-row-norms: "
                     "the row read once; not yet run on a GPU)"),
      llvm::cl::init(false)};
  Option<bool> hostIndexCopies{
      *this, "host-index-copies",
      llvm::cl::desc("Index lists nothing rewrites are copied back to the host once for all "
                     "the runtime calls that read them (lazyc-gpu-host-index-copies; not yet "
                     "run on a GPU)"),
      llvm::cl::init(true)};
};
/// The CUDA lowering: bufferization as for the CPU, then device buffers,
/// GPU kernels for every linalg op (NVVM -> PTX), host side to LLVM.
void buildCUDAPipeline(mlir::OpPassManager &pm, const CUDAPipelineOptions &options);

/// The PTX features for `chip` ("sm_90", "sm_100a", ...): PTX ISA 8.0, or the
/// chip's minimum where LLVM's NVPTX backend requires a newer one (sm_100:
/// 8.6, sm_120: 8.7). Empty with `error` when LLVM does not know the chip or
/// it is older than sm_80 (the CUDA runtime's kernels need bf16 tensor-core
/// MMA and cp.async).
std::string cudaChipFeatures(llvm::StringRef chip, std::string &error);

} // namespace lazyc

#endif // LAZYC_PASSES_PASSES_H
