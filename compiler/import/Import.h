//===- Import.h - model files to dense llm IR -------------------*- C++ -*-===//
//
// Turns a model file into the dense `llm` IR of its decoder: one step
// function `@forward(tokens, positions, kv_cache, rows) -> logits` whose
// weights are `llm.weight` references by the file's tensor names (never
// inlined). Model facts the runtime needs travel as module attributes
// (`llm.arch`, `llm.context_length`, `llm.vocab_size`, ...).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_COMPILER_IMPORT_IMPORT_H
#define LAZYC_COMPILER_IMPORT_IMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <string>

namespace lazyc::rt {
class GGUFFile;
} // namespace lazyc::rt

namespace lazyc {

enum class WeightType { F32, BF16, F16 };

struct ImportOptions {
  /// Context length to compile for; 0 = the model's trained context.
  int64_t contextLength = 0;
  /// Element type of the weight matrices (norm weights stay f32).
  WeightType weightType = WeightType::F32;
};

/// Decoder hyper-parameters read from a model file.
struct ModelConfig {
  std::string arch, name;
  int64_t numLayers = 0, hidden = 0, ffn = 0, numHeads = 0, numKVHeads = 0,
          headDim = 0, vocabSize = 0, contextLength = 0;
  double ropeTheta = 10000.0, rmsEpsilon = 1e-5;
  bool ropeInterleaved = false; // GGML layout (GGUF llama) vs rotate-half
  bool tiedEmbeddings = false;
};

/// Reads and checks the hyper-parameters of a GGUF model (llama family).
bool readGGUFConfig(const rt::GGUFFile &file, ModelConfig &config,
                    std::string &error);

/// Emits the dense llm IR of a decoder described by `config`.
mlir::OwningOpRef<mlir::ModuleOp> buildDecoder(mlir::MLIRContext *context,
                                               const ModelConfig &config,
                                               const ImportOptions &options);

/// readGGUFConfig + tensor-shape checks + buildDecoder.
mlir::OwningOpRef<mlir::ModuleOp> importGGUF(mlir::MLIRContext *context,
                                             const rt::GGUFFile &file,
                                             const ImportOptions &options,
                                             std::string &error);

} // namespace lazyc

#endif // LAZYC_COMPILER_IMPORT_IMPORT_H
