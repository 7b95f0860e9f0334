//===- hf_config_fuzzer.cpp - libFuzzer target for the HF importer --------===//
//
// Imports a Hugging Face checkpoint whose config.json is the input (the
// weights: test/fixtures/tiny-llama-hf's two safetensors shards, linked into
// a folder of the fuzzer's own): config parsing (architectures, sizes, head
// width, RoPE scaling, sliding window, ...), the tensor checks and the IR.
// As the import target: an error that says why (never an "internal error"),
// or a module that verifies. First finding: rms_norm_eps 0 reached the IR
// verifier (fixed: config.json's value is checked).
// Needs MLIR: built in the full build only (scripts/fuzz.sh hf_config).
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Import.h"
#include "runtime/model/Safetensors.h"
#include "test/fuzz/ImportFuzz.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <unistd.h>

namespace {
std::unique_ptr<mlir::MLIRContext> gContext;
std::string gDir; // the checkpoint folder: config.json is rewritten per input
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  gContext = lazyc::test::makeImportContext();
  namespace fs = std::filesystem;
  gDir = (fs::temp_directory_path() / ("lazyc-hf-config-fuzz-" + std::to_string(getpid())))
             .string();
  fs::create_directories(gDir);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(gDir, ec);
  });
  const fs::path fixture = fs::path(LAZYC_FIXTURES_DIR) / "tiny-llama-hf";
  for (const char *name : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                           "model.safetensors.index.json"}) {
    std::error_code ec;
    fs::remove(fs::path(gDir) / name, ec);
    fs::create_symlink(fixture / name, fs::path(gDir) / name, ec);
    if (ec) {
      std::fprintf(stderr, "hf_config_fuzzer: cannot link %s: %s\n", name, ec.message().c_str());
      std::abort();
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  {
    std::ofstream config(gDir + "/config.json", std::ios::binary | std::ios::trunc);
    config.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  std::string error;
  auto checkpoint = lazyc::rt::HFCheckpoint::open(gDir, error);
  if (!checkpoint)
    return 0;
  auto module = lazyc::importHF(gContext.get(), *checkpoint, lazyc::ImportOptions(), error);
  lazyc::test::checkImport(module, error, "hf_config_fuzzer");
  return 0;
}
