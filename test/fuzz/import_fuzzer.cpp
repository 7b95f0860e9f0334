//===- import_fuzzer.cpp - libFuzzer target for the GGUF importer ---------===//
//
// Imports arbitrary bytes as a GGUF model (GGUF reader, hyper-parameters,
// tensor list and shapes, RoPE scaling, IR construction): the importer must
// either fail with an error or return a module that verifies. A module that
// does not verify, an empty error, an "internal error" (the IR of a model the
// checks let through failing to verify), a crash, a hang or runaway memory (a
// block_count of billions) is a finding. Needs MLIR: built in the full build
// only (scripts/fuzz.sh import).
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "compiler/import/Import.h"
#include "runtime/model/GGUF.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {
std::unique_ptr<mlir::MLIRContext> gContext;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  mlir::DialectRegistry registry;
  lazyc::registerAllDialects(registry);
  gContext = std::make_unique<mlir::MLIRContext>(registry);
  gContext->loadAllAvailableDialects();
  // Diagnostics of a failed verification go to the error, not to stderr.
  gContext->printOpOnDiagnostic(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = lazyc::rt::GGUFFile::parse(data, size, error);
  if (!file)
    return 0;
  // The weight type from the last byte (the GGUF reader ignores bytes after
  // the last tensor's data), so every --dtype's checks are reached.
  lazyc::ImportOptions options;
  options.weightType = static_cast<lazyc::WeightType>(data[size - 1] % 4);
  auto module = lazyc::importGGUF(gContext.get(), *file, options, error);
  if (!module) {
    // A refusal says why, and bad input is never an internal error (the IR
    // of a configuration the importer accepted failing to verify).
    // (The importer's own message starts so; a refusal may quote the input.)
    if (error.empty() || error.rfind("internal error", 0) == 0) {
      std::fprintf(stderr, "finding: %s\n", error.c_str());
      std::abort();
    }
    return 0;
  }
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "import_fuzzer: the imported module does not verify\n");
    std::abort();
  }
  return 0;
}
