//===- ImportFuzz.h - shared by the importers' fuzz targets -----*- C++ -*-===//
//
// The MLIR context of import_fuzzer.cpp and hf_config_fuzzer.cpp, and what
// both check of an import: a refusal that says why and is no internal error
// (the IR of a model the importer's checks let through failing to verify),
// or a module that verifies. Anything else aborts: a finding.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_TEST_FUZZ_IMPORTFUZZ_H
#define LAZYC_TEST_FUZZ_IMPORTFUZZ_H

#include "compiler/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace lazyc::test {

/// Every dialect loaded; diagnostics without the op printed.
inline std::unique_ptr<mlir::MLIRContext> makeImportContext() {
  mlir::DialectRegistry registry;
  lazyc::registerAllDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  context->printOpOnDiagnostic(false);
  return context;
}

inline void checkImport(const mlir::OwningOpRef<mlir::ModuleOp> &module, const std::string &error,
                        const char *target) {
  if (!module) {
    // (The importer's own message starts so; a refusal may quote the input.)
    if (error.empty() || error.rfind("internal error", 0) == 0) {
      std::fprintf(stderr, "%s: finding: '%s'\n", target, error.c_str());
      std::abort();
    }
    return;
  }
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "%s: finding: the imported module does not verify\n", target);
    std::abort();
  }
}

} // namespace lazyc::test

#endif // LAZYC_TEST_FUZZ_IMPORTFUZZ_H
