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

#include "compiler/import/Import.h"
#include "runtime/model/GGUF.h"
#include "test/fuzz/ImportFuzz.h"

#include <memory>

namespace {
std::unique_ptr<mlir::MLIRContext> gContext;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  gContext = lazyc::test::makeImportContext();
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
  lazyc::test::checkImport(module, error, "import_fuzzer");
  return 0;
}
