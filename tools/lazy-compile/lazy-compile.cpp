//===- lazy-compile.cpp - compile a model to a loadable shared library -----===//
//
//   lazy-compile model.mlir --target=cpu -o model.so
//   lazy-compile models/SmolLM2-135M-Instruct.Q4_1.gguf -o smollm2.so --ctx 4096
//   lazy-compile model.mlir --emit=mlir|llvm|obj
//   lazy-compile model.gguf --schedule=default --policy=lazyllm -o pruned.so
//
//===----------------------------------------------------------------------===//

#include "compiler/Compile.h"
#include "compiler/InitAll.h"
#include "compiler/import/Import.h"
#include "dialects/llm/LLMOps.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <cmath>
#include <limits>

using namespace llvm;

enum class Emit { MLIR, LLVM, Object, Shared };

/// Only these options are listed by --help (the linked LLVM libraries
/// register hundreds more; --help-hidden lists them).
static cl::OptionCategory compileCategory("lazy-compile options");

static cl::opt<std::string>
    inputPath(cl::cat(compileCategory), cl::Positional, cl::Required,
              cl::desc("<model.mlir | model.gguf | HF checkpoint folder | synthetic:NAME>"));
static cl::opt<std::string> outputPath(cl::cat(compileCategory), "o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("model.so"));
static cl::opt<std::string>
    targetName(cl::cat(compileCategory), "target",
               cl::desc("Target: cpu (default) or cuda (NVIDIA GPUs: kernels as PTX/cubin "
                        "embedded in model.so, run by the CUDA runtime)"),
               cl::init("cpu"));
static cl::opt<std::string> chip(cl::cat(compileCategory), "chip",
                                 cl::desc("CUDA target: GPU architecture, sm_80 or newer (sm_80: "
                                          "A100 and the other 8.x GPUs; sm_90: H100; sm_100, "
                                          "sm_120: Blackwell)"),
                                 cl::init("sm_90"));
static cl::opt<std::string> gpuFormat(
    cl::cat(compileCategory), "gpu-format",
    cl::desc("CUDA target: embedded kernels as fatbin (cubin + PTX; needs ptxas, the default "
             "when the CUDA toolkit is found) or isa (PTX, compiled by the driver at load)"),
    cl::init(""));
static cl::opt<std::string> cudaPath(cl::cat(compileCategory), "cuda-path",
                                     cl::desc("CUDA toolkit (ptxas) for --target=cuda"),
                                     cl::init(""));
static cl::opt<Emit> emit(cl::cat(compileCategory), "emit", cl::desc("What to write"),
                          cl::values(clEnumValN(Emit::MLIR, "mlir", "the LLVM-dialect IR"),
                                     clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
                                     clEnumValN(Emit::Object, "obj", "an object file"),
                                     clEnumValN(Emit::Shared, "so", "a loadable model (default)")),
                          cl::init(Emit::Shared));
static cl::opt<bool> portable(cl::cat(compileCategory), "portable",
                              cl::desc("Portable x86-64-v3 code instead of -mcpu=native"),
                              cl::init(false));
static cl::opt<int> optLevel(cl::cat(compileCategory), "O",
                             cl::desc("LLVM optimization level (0-3)"), cl::init(3), cl::Prefix);
static cl::opt<int64_t> contextLength(cl::cat(compileCategory), "ctx",
                                      cl::desc("Context length when compiling a model file"),
                                      cl::init(0));
static cl::opt<lazyc::WeightType>
    weightType(cl::cat(compileCategory), "dtype",
               cl::desc("Weight type when compiling a model file"),
               cl::values(clEnumValN(lazyc::WeightType::F32, "f32", "float32 (default)"),
                          clEnumValN(lazyc::WeightType::BF16, "bf16", "bfloat16"),
                          clEnumValN(lazyc::WeightType::Q8_0, "q8_0",
                                     "GGML Q8_0 blocks, read as they are by the GEMMs (cpu "
                                     "target; a quarter of f32's bytes, fastest decode)")),
               cl::init(lazyc::WeightType::F32));
static cl::opt<std::string>
    mxfp4(cl::cat(compileCategory), "mxfp4",
          cl::desc("MXFP4 experts (gpt-oss: its GGUF, its published Hugging Face "
                   "checkpoints): keep (the cpu target's default: as they are, 4.25 bits a weight, "
                   "lossless) or widen (to --dtype, as the other matrices; the cuda target's)"),
          cl::init("keep"));

static cl::opt<std::string>
    schedule(cl::cat(compileCategory), "schedule",
             cl::desc("LazyLLM pruning schedule: 'layer:keep,...' (keep = cumulative share of the "
                      "previous set kept after that layer) or a preset: gentle, default, fast, "
                      "quarters, aggressive. "
                      "Empty (default): a dense model"),
             cl::init(""));
static cl::opt<std::string>
    policy(cl::cat(compileCategory), "policy",
           cl::desc("Pruning policy: lazyllm (default), random, static, streaming"),
           cl::init("lazyllm"));
static cl::opt<int64_t> minKeep(
    cl::cat(compileCategory), "min-keep",
    cl::desc("Floor on the kept sets: no pruning layer keeps fewer than min(N, its set) "
             "tokens, so a short prompt is pruned little or not at all (default 32; 0: the "
             "paper's plain percentile, which keeps 1 of a 5-token prompt under 'default')"),
    cl::init(32));
static cl::opt<int64_t> seed(cl::cat(compileCategory), "seed",
                             cl::desc("Seed of the random policy"), cl::init(0));
static cl::opt<int64_t> sinks(cl::cat(compileCategory), "sinks",
                              cl::desc("Attention sinks of the streaming policy"), cl::init(4));
static cl::opt<int64_t> scoreWindow(
    cl::cat(compileCategory), "score-window",
    cl::desc("lazyllm/static scores: mean attention of the query rows within the last N "
             "positions (default 1: the last token only, as in the paper); a decode step has "
             "only its own rows there, so it revives more tokens (README: end to end)"),
    cl::init(1));
static cl::opt<int64_t> scorePool(
    cl::cat(compileCategory), "score-pool",
    cl::desc("lazyllm/static scores: max over N (odd) neighbouring tokens, so a kept token "
             "keeps its neighbours (default 1: none, as in the paper)"),
    cl::init(1));
static cl::opt<double> reuseBias(
    cl::cat(compileCategory), "reuse-bias",
    cl::desc("lazyllm/random: before each selection, multiply the score of every token the "
             "next layer already holds by B (ours; default 1: the paper). A decode step then "
             "revives a skipped token only if it outscores the computed ones B-fold: cheaper "
             "decode steps, the prefill unchanged (README: end to end; try 64)"),
    cl::value_desc("B"), cl::init(1.0));

static cl::opt<bool> deferMLP(
    cl::cat(compileCategory), "defer-mlp",
    cl::desc("The rows a pruning layer drops skip that layer's MLP (the Aux Cache keeps their "
             "state before it, and a revived row gets it then), and the last layer past its "
             "attention runs for the logits' rows only: same values, less work (default true; "
             "false: every computed row runs the whole layer)"),
    cl::init(true));

// Unset (no occurrence): each target keeps its own default.
static cl::opt<lazyc::BF16Activations> bf16Activations(
    cl::cat(compileCategory), "bf16-activations",
    cl::desc("GEMM activations in bf16 (--dtype bf16 weights): none, inputs (GEMM inputs "
             "written as bf16 by the kernels producing them) or all (also bf16 GEMM outputs "
             "that only elementwise kernels read; not yet run on a GPU) or residual (all, and "
             "the residual stream between layers in bf16, as PyTorch's bf16 models; implies "
             "--fuse-residual; not yet run on a GPU). Default: inputs for cuda, none for cpu (a "
             "precision can be checked on the CPU)"),
    LAZYC_BF16_ACTIVATION_VALUES);
static cl::opt<cl::boolOrDefault> fuseResidual(
    cl::cat(compileCategory), "fuse-residual",
    cl::desc("Residual adds in the GEMM epilogue (default: true for cpu, false for cuda, "
             "where it is not yet run on a GPU; false: kernels of their own)"),
    cl::init(cl::BOU_UNSET));
static cl::opt<bool> fuseProjections(
    cl::cat(compileCategory), "fuse-projections",
    cl::desc("One GEMM on stacked weights for the projections of the same rows that only "
             "compiler-generated kernels read: query with key, gate with up (default true; "
             "false: a GEMM per projection)"),
    cl::init(true));
static cl::opt<bool> gpuLoops(
    cl::cat(compileCategory), "gpu-loops",
    cl::desc("cpu target: generate the elementwise and reduction loops as the cuda target "
             "does (split reductions, flat block x thread loops), run sequentially: checks "
             "that code generation on the CPU (slower; for testing)"),
    cl::init(false));

static cl::opt<cl::boolOrDefault> generatedSelection(
    cl::cat(compileCategory), "generated-selection",
    cl::desc("LazyLLM's percentile selection as compiler-generated kernels (default for cuda "
             "and --gpu-loops: the scores stay on the GPU) or, with false, the runtime's "
             "(nth_element on the host; the cpu default)"),
    cl::init(cl::BOU_UNSET));

static cl::opt<cl::boolOrDefault> generatedScores(
    cl::cat(compileCategory), "generated-scores",
    cl::desc("LazyLLM's importance scores as compiler-generated kernels reading the KV cache "
             "(default for cuda and --gpu-loops) or, with false, the runtime's score kernels "
             "(the cpu default)"),
    cl::init(cl::BOU_UNSET));

static cl::opt<bool> runtimeChecks(
    cl::cat(compileCategory), "runtime-checks",
    cl::desc("cpu target: bounds-check every load and store of the generated loops (an "
             "out-of-bounds access stops the run with status 1, naming it); with --gpu-loops, a "
             "memory checker for the CUDA target's loop nests (slower; for testing)"),
    cl::init(false));

static cl::opt<bool> hostIndexCopies(
    cl::cat(compileCategory), "host-index-copies",
    cl::desc("cuda target: a pruned layer's index lists (kept set, computed rows' positions) "
             "are copied back to the host once for all the runtime calls that read them "
             "(default true; false: each call copies them, waiting for the GPU). cpu target "
             "(default false): the same marks in check mode, each later read compares the list "
             "with its state at the mark and stops the run if it changed (for testing; with "
             "--gpu-loops, on the CUDA target's IR)"),
    cl::init(true));

static cl::opt<bool> fusedRowNorms(
    cl::cat(compileCategory), "fused-row-norms",
    cl::desc("cuda target: RMSNorm as one kernel of one block per row that reads the row once "
             "(block reduction), instead of partial sums, their total and the scaling as three "
             "kernels (default false: not yet run on a GPU); cpu target with --gpu-loops: the "
             "same per-thread code as sequential loops (a CPU stand-in, for testing)"),
    cl::init(false));

static cl::opt<bool> reverseParallelLoops(
    cl::cat(compileCategory), "reverse-parallel-loops",
    cl::desc("cpu target with --gpu-loops: every GPU loop nest visits its iterations last to "
             "first; a model must compute the same values both ways, as a GPU runs them in no "
             "order (for testing)"),
    cl::init(false));

static cl::opt<bool> parallelLoops(
    cl::cat(compileCategory), "parallel-loops",
    cl::desc("cpu target: the compiler-generated loops (RMSNorm, RoPE, SwiGLU, gathers) split "
             "their rows over the runtime's threads when a step has enough of them (default "
             "true; false: they run on one thread)"),
    cl::init(true));

static cl::opt<std::string> kvCache(
    cl::cat(compileCategory), "kv-cache",
    cl::desc("cpu target: the KV cache's storage: f32, bf16 (half the memory and the bytes a "
             "decode step reads; prefill attention multiplies in bf16, with Q and the "
             "probabilities rounded to bf16: ~1.7x faster on AVX512-BF16 CPUs) or f16 (half "
             "the memory; keys and values rounded to f16). Default: bf16 with --dtype bf16 or "
             "q8_0, else f32. The cuda target's cache is bf16"),
    cl::init("auto"));

static int fail(const std::string &message) {
  WithColor::error(errs(), "lazy-compile") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv, "lazyc compiler: model -> loadable model.so\n");
  if (targetName != "cpu" && targetName != "cuda")
    return fail("unsupported target '" + targetName + "' (targets: cpu, cuda)");
  const bool cuda = targetName == "cuda";
  lazyc::CUDAPipelineOptions cudaOptions;
  lazyc::CPUPipelineOptions cpuOptions;
  if (kvCache == "auto")
    kvCache = weightType == lazyc::WeightType::BF16 || weightType == lazyc::WeightType::Q8_0
                  ? "bf16"
                  : "f32";
  if (kvCache != "f32" && kvCache != "bf16" && kvCache != "f16")
    return fail("--kv-cache must be f32, bf16 or f16, not '" + kvCache + "'");
  if (cuda && kvCache.getNumOccurrences())
    return fail("--kv-cache applies to --target=cpu (the cuda target's KV cache is bf16)");
  cpuOptions.kvCache = kvCache;
  if (cuda && weightType == lazyc::WeightType::Q8_0)
    return fail("--dtype q8_0 runs on the cpu target only (the cuda target's GEMMs read f32 or "
                "bf16 weights): use --dtype bf16");
  if (gpuLoops && cuda)
    return fail("--gpu-loops applies to --target=cpu (the cuda target runs these loops on the GPU)");
  cpuOptions.gpuLoops = gpuLoops;
  if (runtimeChecks && cuda)
    return fail("--runtime-checks applies to --target=cpu (check the CUDA target's loops with "
                "--target=cpu --gpu-loops --runtime-checks)");
  cpuOptions.runtimeChecks = runtimeChecks;
  if (reverseParallelLoops && !gpuLoops)
    return fail("--reverse-parallel-loops applies to --target=cpu --gpu-loops (it reverses the "
                "GPU loop nests run on the CPU)");
  cpuOptions.reverseParallelLoops = reverseParallelLoops;
  if (parallelLoops.getNumOccurrences() && (cuda || gpuLoops))
    return fail("--parallel-loops applies to --target=cpu without --gpu-loops");
  cpuOptions.parallelLoops = parallelLoops;
  // A flag given on the command line sets both targets' option; unset, each
  // keeps its own default.
  auto setBoth = [](cl::boolOrDefault flag, auto &cudaOption, auto &cpuOption) {
    if (flag == cl::BOU_UNSET)
      return;
    cudaOption = flag == cl::BOU_TRUE;
    cpuOption = flag == cl::BOU_TRUE;
  };
  setBoth(fuseResidual, cudaOptions.fuseResidual, cpuOptions.fuseResidual);
  cudaOptions.fuseProjections = fuseProjections;
  if (fusedRowNorms && !cuda && !gpuLoops)
    return fail("--fused-row-norms applies to --target=cuda, or to --target=cpu --gpu-loops "
                "(its CPU stand-in)");
  cpuOptions.fusedRowNorms = fusedRowNorms;
  cudaOptions.hostIndexCopies = hostIndexCopies;
  cpuOptions.hostIndexCopies = hostIndexCopies.getNumOccurrences() && hostIndexCopies;
  cudaOptions.fusedRowNorms = fusedRowNorms;
  cpuOptions.fuseProjections = fuseProjections;
  setBoth(generatedSelection, cudaOptions.generatedSelection, cpuOptions.generatedSelection);
  setBoth(generatedScores, cudaOptions.generatedScores, cpuOptions.generatedScores);
  if (bf16Activations.getNumOccurrences()) {
    cudaOptions.bf16Activations = bf16Activations;
    cpuOptions.bf16Activations = bf16Activations;
  }
  // The bf16 residual stream is the accumulating GEMMs' (the residual adds
  // in their epilogues).
  if (bf16Activations.getNumOccurrences() &&
      bf16Activations == lazyc::BF16Activations::Residual) {
    if (fuseResidual == cl::BOU_FALSE)
      return fail("--bf16-activations=residual accumulates the residual stream in the GEMM "
                  "epilogues: it needs --fuse-residual (not --fuse-residual=false)");
    cudaOptions.fuseResidual = true;
    cpuOptions.fuseResidual = true;
  }
  if (cuda) {
    std::string chipError;
    cudaOptions.features = lazyc::cudaChipFeatures(chip, chipError);
    if (cudaOptions.features.empty())
      return fail("--chip: " + chipError);
    cudaOptions.chip = chip;
    std::string toolkit = cudaPath;
    if (toolkit.empty())
      if (const char *env = std::getenv("CUDA_HOME"))
        toolkit = env;
    if (toolkit.empty())
      toolkit = "/usr/local/cuda";
    std::string format = gpuFormat;
    bool havePtxas = sys::fs::can_execute(toolkit + "/bin/ptxas");
    if (format.empty())
      format = havePtxas ? "fatbin" : "isa";
    if (format != "isa" && format != "fatbin" && format != "bin")
      return fail("--gpu-format must be isa, bin or fatbin, not '" + format + "'");
    if (format != "isa" && !havePtxas)
      return fail("--gpu-format=" + format + " needs ptxas; none at '" + toolkit +
                  "/bin/ptxas' (set --cuda-path, or use --gpu-format=isa)");
    cudaOptions.format = format;
    cudaOptions.toolkitPath = toolkit;
    // The host code runs on the GPU machine, not this one.
    portable = true;
  }
  auto start = std::chrono::steady_clock::now();

  mlir::DialectRegistry registry;
  lazyc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string error;
  lazyc::ImportOptions importOptions;
  importOptions.contextLength = contextLength;
  importOptions.weightType = weightType;
  if (mxfp4 != "keep" && mxfp4 != "widen")
    return fail("--mxfp4 must be keep or widen, got '" + mxfp4 + "'");
  // The cuda target's GEMMs read f32 or bf16: MXFP4 experts widen there.
  if (cuda && mxfp4 == "keep" && mxfp4.getNumOccurrences())
    return fail("--mxfp4=keep runs on the cpu target only (the cuda target's GEMMs read f32 or "
                "bf16): use --mxfp4=widen");
  importOptions.keepMXFP4 = mxfp4 == "keep" && !cuda;
  if (StringRef(inputPath).starts_with("synthetic:")) {
    module =
        lazyc::importSynthetic(&context, StringRef(inputPath).drop_front(10), importOptions, error);
  } else if (lazyc::rt::isHFCheckpoint(inputPath)) {
    auto ckpt = lazyc::rt::HFCheckpoint::open(inputPath, error);
    if (!ckpt)
      return fail(error);
    module = lazyc::importHF(&context, *ckpt, importOptions, error);
  } else if (StringRef(inputPath).ends_with(".mlir")) {
    SourceMgr sourceMgr;
    auto buffer = MemoryBuffer::getFileOrSTDIN(inputPath);
    if (!buffer)
      return fail("cannot read '" + inputPath + "': " + buffer.getError().message());
    sourceMgr.AddNewSourceBuffer(std::move(*buffer), SMLoc());
    module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
    if (!module)
      return fail("cannot parse '" + inputPath + "'");
  } else {
    auto file = lazyc::rt::GGUFFile::open(inputPath, error);
    if (!file)
      return fail(error);
    module = lazyc::importGGUF(&context, *file, importOptions, error);
  }
  if (!module)
    return fail(inputPath + ": " + error);
  if (!module->lookupSymbol("forward"))
    return fail("'" + inputPath + "' has no @forward step function");

  // LazyLLM: insert the schedule's prune points and expand every prune.
  lazyc::PruneOptions prune;
  prune.schedule = schedule;
  prune.policy = policy;
  prune.minKeep = minKeep;
  prune.seed = seed;
  prune.sinks = sinks;
  prune.scoreWindow = scoreWindow;
  prune.scorePool = scorePool;
  prune.deferMLP = deferMLP;
  prune.reuseBias = reuseBias;
  if (minKeep < 0 || minKeep > std::numeric_limits<int32_t>::max())
    return fail("--min-keep must be a token count in [0, 2^31), got " +
                std::to_string(minKeep));
  if (minKeep.getNumOccurrences() && schedule.empty())
    return fail("--min-keep applies to a --schedule (this compiles a dense model)");
  if (scoreWindow < 1)
    return fail("--score-window must be at least 1, got " + std::to_string(scoreWindow));
  if (scorePool < 1 || scorePool > lazyc::kMaxScorePool || scorePool % 2 == 0)
    return fail("--score-pool must be an odd number in [1, " +
                std::to_string(lazyc::kMaxScorePool) + "], got " + std::to_string(scorePool));
  if ((scoreWindow > 1 || scorePool > 1) && policy != "lazyllm" && policy != "static")
    return fail("--score-window and --score-pool apply to the lazyllm and static policies, "
                "not '" +
                policy + "'");
  if (!std::isfinite(reuseBias) || reuseBias < 1.0)
    return fail("--reuse-bias must be a finite number >= 1, got " +
                lazyc::formatDouble(reuseBias));
  if (reuseBias.getNumOccurrences() && schedule.empty())
    return fail("--reuse-bias applies to a --schedule (this compiles a dense model)");
  if (reuseBias != 1.0 && policy != "lazyllm" && policy != "random")
    return fail("--reuse-bias applies to the lazyllm and random policies, not '" + policy +
                "'" + (policy == "static" ? " (static never revives a token)" : ""));
  // Attention sinks (gpt-oss): LazyLLM's scores from the runtime's kernels,
  // which read them (the generated ones have none), unless
  // --generated-scores asks for those (an error naming the op).
  bool sinks = false;
  module->walk([&](lazyc::llm::AttentionOp op) { sinks |= static_cast<bool>(op.getSinks()); });
  if (sinks && !generatedScores.getNumOccurrences()) {
    cudaOptions.generatedScores = false;
    cpuOptions.generatedScores = false;
  }
  // LazyLLM on a mixture of experts: a decode step that revives pruned
  // tokens runs each revived row through its own experts (README: on
  // gpt-oss-20b's shape, 4x slower steps); --reuse-bias keeps them cached.
  if (!schedule.empty() && !reuseBias.getNumOccurrences() &&
      (policy == "lazyllm" || policy == "random")) {
    bool moe = false;
    module->walk([&](lazyc::llm::MoEOp) { moe = true; });
    if (moe)
      WithColor::note(errs(), "lazy-compile")
          << "a mixture-of-experts model: decode steps that revive pruned tokens run them "
             "through their own experts (most of a layer's, for a dozen rows); --reuse-bias=4 "
             "keeps the cached ones unless a skipped token outscores them 4-fold\n";
  }
  if (failed(lazyc::applyPruning(*module, prune)))
    return fail("token pruning (--schedule '" + schedule + "', --policy " + policy +
                ") failed; see the error above");
  if (!cuda && kvCache != "f32")
    (*module)->setAttr("lazyc.kv_cache", mlir::StringAttr::get(&context, kvCache));
  if (cuda) {
    // The runtime names the --chip a GPU needs when it cannot run these kernels.
    (*module)->setAttr("lazyc.target", mlir::StringAttr::get(&context, "cuda"));
    (*module)->setAttr("lazyc.chip", mlir::StringAttr::get(&context, chip));
    (*module)->setAttr("lazyc.gpu_format", mlir::StringAttr::get(&context, cudaOptions.format));
  }
  if (failed(cuda ? lazyc::lowerToLLVMDialectForCUDA(*module, cudaOptions)
                  : lazyc::lowerToLLVMDialect(*module, cpuOptions)))
    return fail("lowering to the LLVM dialect failed");
  std::string description = lazyc::describeModel(*module);

  std::error_code ec;
  if (emit == Emit::MLIR) {
    ToolOutputFile out(outputPath, ec, sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + outputPath + "': " + ec.message());
    module->print(out.os());
    out.keep();
    return 0;
  }
  lazyc::CompileOptions options;
  options.portable = portable;
  options.optLevel = optLevel;
  std::string objectPath = outputPath;
  if (emit == Emit::Shared) {
    SmallString<128> tmp;
    if (auto e = sys::fs::createTemporaryFile("lazyc-model", "o", tmp))
      return fail("cannot create a temporary file: " + e.message());
    objectPath = std::string(tmp);
  }
  {
    ToolOutputFile out(objectPath, ec, emit == Emit::LLVM ? sys::fs::OF_Text : sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + objectPath + "': " + ec.message());
    if (!lazyc::emitLLVM(*module, description, options, emit != Emit::LLVM, out.os(), error))
      return fail(error);
    out.keep();
  }
  if (emit == Emit::Shared) {
    bool linked = lazyc::linkSharedLibrary(objectPath, outputPath, error);
    sys::fs::remove(objectPath);
    if (!linked)
      return fail(error);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  errs() << "lazy-compile: wrote " << outputPath << " (" << format("%.1f", seconds) << " s)\n";
  return 0;
}
