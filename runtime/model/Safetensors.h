//===- Safetensors.h - Hugging Face checkpoints -----------------*- C++ -*-===//
//
// Memory-mapped `*.safetensors` files and Hugging Face checkpoint folders
// (config.json + model.safetensors or sharded model-*.safetensors with
// model.safetensors.index.json + tokenizer.json or tokenizer.model). Untrusted input: header
// size, JSON, dtypes, shapes and data offsets are all checked.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_SAFETENSORS_H
#define LAZYC_RUNTIME_MODEL_SAFETENSORS_H

#include "runtime/model/Json.h"
#include "runtime/model/MappedFile.h"
#include "runtime/model/Quant.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lazyc::rt {

struct SafetensorsTensor {
  std::string name;
  GGMLType type = GGMLType::F32; // F32, F16, BF16 or U8
  std::vector<uint64_t> shape;   // outermost first (PyTorch order)
  uint64_t numElements = 0;
  uint64_t numBytes = 0;
  const uint8_t *data = nullptr;
};

class SafetensorsFile {
public:
  static std::unique_ptr<SafetensorsFile> open(const std::string &path, std::string &error);
  /// Parses an in-memory image (not copied).
  static std::unique_ptr<SafetensorsFile> parse(const uint8_t *data, size_t size,
                                                std::string &error);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::vector<SafetensorsTensor> &tensors() const { return tensors_; }
  const SafetensorsTensor *findTensor(const std::string &name) const;

private:
  SafetensorsFile() = default;
  bool parseImage(std::string &error);
  const uint8_t *image_ = nullptr;
  size_t size_ = 0;
  MappedFile mapping_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
};

/// A Hugging Face checkpoint folder.
class HFCheckpoint {
public:
  static std::unique_ptr<HFCheckpoint> open(const std::string &dir, std::string &error);

  const JsonValue &config() const { return *config_; }
  /// tokenizer.json, or null if the folder has none.
  const JsonValue *tokenizer() const { return tokenizer_.get(); }
  /// tokenizer.model's bytes (SentencePiece), read only for a folder without
  /// tokenizer.json; empty if there is none.
  const std::string &sentencePieceModel() const { return sentencePieceModel_; }
  /// tokenizer_config.json, or null if the folder has none (or has
  /// tokenizer.json and chat_template.jinja, which leave it unread).
  const JsonValue *tokenizerConfig() const { return tokenizerConfig_.get(); }
  /// Whether the folder has a tokenizer lazyc reads (either of the above).
  bool hasTokenizer() const { return tokenizer_ || !sentencePieceModel_.empty(); }
  /// The Jinja chat template (chat_template.jinja, or tokenizer_config.json's
  /// chat_template); empty if the folder has none.
  const std::string &chatTemplate() const { return chatTemplate_; }
  const SafetensorsTensor *findTensor(const std::string &name) const;
  size_t numTensors() const;

private:
  std::unique_ptr<JsonValue> config_, tokenizer_, tokenizerConfig_;
  std::string sentencePieceModel_;
  std::string chatTemplate_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
};

/// Whether `path` looks like a Hugging Face checkpoint folder.
bool isHFCheckpoint(const std::string &path);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_SAFETENSORS_H
