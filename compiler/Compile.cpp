//===- Compile.cpp - llm IR to a loadable model -----------------------------===//

#include "compiler/Compile.h"

#include "dialects/lazy/LazyDialect.h"
#include "dialects/llm/LLMOps.h"
#include "dialects/llm/LLMTypes.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

static void jsonString(llvm::raw_ostream &os, llvm::StringRef s) {
  os << '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      os << '\\' << c;
    else if (static_cast<unsigned char>(c) < 0x20)
      os << llvm::format("\\u%04x", c);
    else
      os << c;
  }
  os << '"';
}

std::string lazyc::describeModel(ModuleOp module) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "{\"abi_version\": " << kModelABIVersion;
  auto str = [&](const char *key, const char *attr) {
    if (auto a = module->getAttrOfType<StringAttr>(attr)) {
      os << ", \"" << key << "\": ";
      jsonString(os, a.getValue());
    }
  };
  auto num = [&](const char *key, const char *attr) {
    if (auto a = module->getAttrOfType<IntegerAttr>(attr))
      os << ", \"" << key << "\": " << a.getInt();
  };
  str("arch", "llm.arch");
  str("target", "lazyc.target");
  str("chip", "lazyc.chip");
  str("gpu_format", "lazyc.gpu_format");
  str("kv_cache", "lazyc.kv_cache");
  if (module->hasAttr("llm.synthetic"))
    os << ", \"synthetic\": true";
  str("name", "llm.name");
  num("context_length", "llm.context_length");
  num("vocab_size", "llm.vocab_size");
  num("weight_arena_bytes", "llm.weight_arena_bytes");
  num("layers", "llm.layers");
  num("kv_heads", "llm.kv_heads");
  num("head_dim", "llm.head_dim");
  // A pruned model: its schedule and policy (lazy-run reports them).
  if (auto sched = module->getAttrOfType<lazy::ScheduleAttr>(lazy::LazyDialect::kScheduleAttrName)) {
    os << ", \"lazy\": {\"policy\": ";
    auto policy = module->getAttrOfType<StringAttr>(lazy::LazyDialect::kPolicyAttrName);
    jsonString(os, policy ? policy.getValue() : "lazyllm");
    os << ", \"schedule\": [";
    for (auto [i, entry] : llvm::enumerate(llvm::zip(sched.getLayers(), sched.getKeep().asArrayRef())))
      os << (i ? ", " : "") << "[" << std::get<0>(entry) << ", "
         << lazyc::formatDouble(std::get<1>(entry)) << "]";
    os << "], \"min_keep\": " << sched.getMinKeep();
    for (auto [key, name] : {std::pair{"score_window", lazy::LazyDialect::kScoreWindowAttrName},
                             std::pair{"score_pool", lazy::LazyDialect::kScorePoolAttrName}})
      if (auto value = module->getAttrOfType<IntegerAttr>(name))
        os << ", \"" << key << "\": " << value.getInt();
    if (auto bias = module->getAttrOfType<FloatAttr>(lazy::LazyDialect::kReuseBiasAttrName))
      os << ", \"reuse_bias\": " << lazyc::formatDouble(bias.getValueAsDouble());
    // The Aux Cache's row size (0: this policy keeps no Aux Cache).
    auto auxHidden = module->getAttrOfType<IntegerAttr>("lazyc.aux_hidden");
    os << ", \"aux_hidden\": " << (auxHidden ? auxHidden.getInt() : 0);
    os << "}";
  }
  os << ", \"weights\": [";
  if (auto table = module->getAttrOfType<ArrayAttr>("llm.weight_table")) {
    bool first = true;
    for (auto entry : table.getAsRange<DictionaryAttr>()) {
      os << (first ? "" : ", ") << "{\"name\": ";
      jsonString(os, cast<StringAttr>(entry.get("name")).getValue());
      os << ", \"offset\": " << cast<IntegerAttr>(entry.get("offset")).getInt()
         << ", \"bytes\": " << cast<IntegerAttr>(entry.get("bytes")).getInt()
         << ", \"dtype\": ";
      jsonString(os, cast<StringAttr>(entry.get("dtype")).getValue());
      os << ", \"shape\": [";
      bool firstDim = true;
      for (auto d : cast<ArrayAttr>(entry.get("shape")).getAsRange<IntegerAttr>()) {
        os << (firstDim ? "" : ", ") << d.getInt();
        firstDim = false;
      }
      os << "]";
      // A part of a fused tensor: its rows in the file's matrix.
      if (auto rows = dyn_cast_or_null<ArrayAttr>(entry.get("rows"))) {
        auto range = rows.getAsRange<IntegerAttr>();
        os << ", \"rows\": [" << (*range.begin()).getInt() << ", "
           << (*std::next(range.begin())).getInt() << "]";
      }
      // ... every row_step-th of them; the file's layout (llm.weight).
      if (auto step = dyn_cast_or_null<IntegerAttr>(entry.get("row_step")))
        os << ", \"row_step\": " << step.getInt();
      // ... taken row_block at a time.
      if (auto block = dyn_cast_or_null<IntegerAttr>(entry.get("row_block")))
        os << ", \"row_block\": " << block.getInt();
      if (entry.get("transposed"))
        os << ", \"transposed\": true";
      if (auto scales = dyn_cast_or_null<StringAttr>(entry.get("scales"))) {
        os << ", \"scales\": ";
        jsonString(os, scales.getValue());
      }
      os << "}";
      first = false;
    }
  }
  os << "]}";
  return out;
}

LogicalResult lazyc::applyPruning(ModuleOp module, const PruneOptions &options) {
  PassManager pm(module.getContext());
  if (!options.schedule.empty()) {
    LazyInsertPruningOptions insert;
    insert.schedule = options.schedule;
    insert.policy = options.policy;
    insert.minKeep = options.minKeep;
    pm.addPass(createLazyInsertPruning(insert));
  }
  // Before the policies expand the prunes (any policy: it only moves the
  // MLP of the pruning layer after the selection).
  if (options.deferMLP)
    pm.addPass(createLazyDeferMLP());
  LazyStreamingPolicyOptions streaming;
  streaming.sinks = options.sinks;
  pm.addPass(createLazyStreamingPolicy(streaming));
  LazySparsifyOptions sparsify;
  sparsify.seed = options.seed;
  sparsify.window = options.scoreWindow;
  sparsify.pool = options.scorePool;
  sparsify.reuseBias = options.reuseBias;
  pm.addPass(createLazySparsify(sparsify));
  return pm.run(module);
}

LogicalResult lazyc::lowerToLLVMDialectForCUDA(ModuleOp module,
                                               const CUDAPipelineOptions &options) {
  // The GPU runtime's GEMMs read f32 or bf16 weights.
  WalkResult q8 = module.walk([](Operation *op) {
    if (!isa<llm::WeightOp, llm::FusedWeightOp>(op))
      return WalkResult::advance();
    auto type = cast<ShapedType>(op->getResult(0).getType());
    if (llm::isQ8_0(type) || llm::isMXFP4(type)) {
      const bool isQ8 = llm::isQ8_0(type);
      op->emitOpError() << "has " << (isQ8 ? "Q8_0 weights (i8)" : "MXFP4 weights (ui8)")
                        << ", which the cuda target does not run: compile with --dtype bf16"
                        << (isQ8 ? "" : " --mxfp4=widen");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (q8.wasInterrupted())
    return failure();
  PassManager pm(module.getContext());
  buildCUDAPipeline(pm, options);
  return pm.run(module);
}

LogicalResult lazyc::lowerToLLVMDialect(ModuleOp module, const CPUPipelineOptions &options) {
  PassManager pm(module.getContext());
  buildCPUPipeline(pm, options);
  return pm.run(module);
}

bool lazyc::emitLLVM(ModuleOp module, const std::string &description,
                     const CompileOptions &options, bool emitObject,
                     llvm::raw_pwrite_stream &os, std::string &error) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return false;
  }
  // The description the runtime reads (see Compile.h).
  auto *init = llvm::ConstantDataArray::getString(llvmContext, description, true);
  new llvm::GlobalVariable(*llvmModule, init->getType(), true,
                           llvm::GlobalValue::ExternalLinkage, init,
                           "lazyc_model_description");

  std::string tripleName = llvm::sys::getDefaultTargetTriple();
  llvm::Triple triple(tripleName);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  std::string cpu = options.portable ? "x86-64-v3" : llvm::sys::getHostCPUName().str();
  std::string features;
  if (!options.portable) {
    llvm::SubtargetFeatures f;
    for (const auto &[name, enabled] : llvm::sys::getHostCPUFeatures())
      f.AddFeature(name, enabled);
    features = f.getString();
  }
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive : llvm::CodeGenOptLevel::Default));
  if (!tm) {
    error = "cannot create a target machine for " + tripleName;
    return false;
  }
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(triple);

  // Optimize: the standard O-level pipeline, with the target's cost model.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = options.optLevel >= 3   ? llvm::OptimizationLevel::O3
                                  : options.optLevel == 2 ? llvm::OptimizationLevel::O2
                                  : options.optLevel == 1 ? llvm::OptimizationLevel::O1
                                                          : llvm::OptimizationLevel::O0;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(*llvmModule, mam);

  if (!emitObject) {
    llvmModule->print(os, nullptr);
    return true;
  }
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  codegen.run(*llvmModule);
  return true;
}

bool lazyc::linkSharedLibrary(const std::string &object, const std::string &output,
                              std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    cc = llvm::sys::findProgramByName("clang-22");
  if (!cc) {
    error = "no C compiler driver (cc) found to link the shared library";
    return false;
  }
  llvm::SmallVector<llvm::StringRef> args = {*cc, "-shared", "-o", output, object};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking '" + output + "' failed" + (message.empty() ? "" : ": " + message);
    return false;
  }
  return true;
}
