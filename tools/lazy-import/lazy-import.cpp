//===- lazy-import.cpp - model file to dense llm IR -------------------------===//
//
//   lazy-import models/SmolLM2-135M-Instruct.Q4_1.gguf -o model.mlir
//   lazy-import MODEL --ctx 4096 --dtype bf16
//   lazy-import path/to/hf-checkpoint/      (config.json + *.safetensors)
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "compiler/import/Import.h"
#include "runtime/model/GGUF.h"
#include "runtime/model/Safetensors.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

/// Only these options are listed by --help (the linked LLVM libraries
/// register hundreds more; --help-hidden lists them).
static cl::OptionCategory importCategory("lazy-import options");

static cl::opt<std::string>
    inputPath(cl::cat(importCategory), cl::Positional, cl::Required,
              cl::desc("<model.gguf | Hugging Face checkpoint folder | synthetic:NAME>"));
static cl::opt<std::string> outputPath(cl::cat(importCategory), "o",
                                       cl::desc("Output file (default: stdout)"),
                                       cl::value_desc("file"), cl::init("-"));
static cl::opt<int64_t>
    contextLength(cl::cat(importCategory), "ctx",
                  cl::desc("Context length to compile for (default: the model's trained context)"),
                  cl::init(0));
static cl::opt<lazyc::WeightType>
    weightType(cl::cat(importCategory), "dtype", cl::desc("Element type of the weight matrices"),
               cl::values(clEnumValN(lazyc::WeightType::F32, "f32", "float32 (default)"),
                          clEnumValN(lazyc::WeightType::BF16, "bf16", "bfloat16"),
                          clEnumValN(lazyc::WeightType::F16, "f16", "float16"),
                          clEnumValN(lazyc::WeightType::Q8_0, "q8_0",
                                     "GGML Q8_0 blocks (i8 weight tensors; cpu target)")),
               cl::init(lazyc::WeightType::F32));
static cl::opt<std::string>
    mxfp4(cl::cat(importCategory), "mxfp4",
          cl::desc("MXFP4 experts (gpt-oss: its GGUF, its published Hugging Face "
                   "checkpoints): keep (default: as they are, 4.25 bits a weight, lossless; cpu "
                   "target) or widen (to --dtype, as the other matrices)"),
          cl::init("keep"));

static int fail(const std::string &message) {
  WithColor::error(errs(), "lazy-import") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(importCategory);
  cl::ParseCommandLineOptions(
      argc, argv, "lazyc importer: GGUF model or Hugging Face checkpoint -> dense llm IR\n");
  std::string error;
  mlir::DialectRegistry registry;
  lazyc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  lazyc::ImportOptions options;
  options.contextLength = contextLength;
  options.weightType = weightType;
  if (mxfp4 != "keep" && mxfp4 != "widen")
    return fail("--mxfp4 must be keep or widen, got '" + mxfp4 + "'");
  options.keepMXFP4 = mxfp4 == "keep";
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (StringRef(inputPath).starts_with("synthetic:")) {
    module = lazyc::importSynthetic(&context, StringRef(inputPath).drop_front(10), options, error);
  } else if (lazyc::rt::isHFCheckpoint(inputPath)) {
    auto checkpoint = lazyc::rt::HFCheckpoint::open(inputPath, error);
    if (!checkpoint)
      return fail(error);
    module = lazyc::importHF(&context, *checkpoint, options, error);
  } else if (sys::fs::is_directory(inputPath)) {
    return fail("'" + inputPath +
                "' is a folder but not a Hugging Face checkpoint (no config.json)");
  } else {
    auto file = lazyc::rt::GGUFFile::open(inputPath, error);
    if (!file)
      return fail(error);
    module = lazyc::importGGUF(&context, *file, options, error);
  }
  if (!module)
    return fail(inputPath + ": " + error);

  std::error_code ec;
  ToolOutputFile output(outputPath, ec, sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + outputPath + "': " + ec.message());
  module->print(output.os());
  output.os() << "\n";
  output.keep();
  return 0;
}
