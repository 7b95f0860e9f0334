//===- model_tokenizer_fuzzer.cpp - libFuzzer target: tokenizers from files ===//
//
// Builds a tokenizer from arbitrary bytes as a model file describes one: a
// GGUF image's tokenizer.* metadata (input starting with "GGUF"), a
// SentencePiece tokenizer.model (starting with 0x0A, the tag of its first
// piece, as every ModelProto does), else a Hugging Face tokenizer.json (with
// a config.json naming BOS/EOS ids). A
// tokenizer that builds must then encode, decode and render a chat without
// reading out of bounds, and hand out only ids of its vocabulary (BOS
// included). The gguf and tokenizer targets cover the GGUF reader and
// SmolLM2's tokenizer; this one, a tokenizer built from untrusted metadata.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Json.h"
#include "runtime/model/Tokenizer.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

void exercise(const lazyc::rt::Tokenizer &tokenizer, std::string_view input) {
  std::string error;
  for (std::string_view text :
       {std::string_view("Hello world, 123 tokens!\n"), input.substr(0, 256)}) {
    std::vector<int32_t> ids;
    if (!tokenizer.encode(text, ids, error, /*addBos=*/true))
      continue;
    for (int32_t id : ids)
      if (id < 0 || id >= tokenizer.vocabSize())
        std::abort(); // an id outside the vocabulary
    std::string back;
    if (!tokenizer.decode(ids, back, error))
      continue;
    for (int32_t id : ids)
      (void)tokenizer.tokenText(id);
  }
  std::vector<lazyc::rt::ChatMessage> chat = {{"user", std::string(input.substr(0, 64))}};
  std::string rendered;
  (void)tokenizer.applyChatTemplate(chat, true, rendered, error);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  const std::string_view bytes(reinterpret_cast<const char *>(data), size);
  if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0) {
    auto file = lazyc::rt::GGUFFile::parse(data, size, error);
    if (!file)
      return 0;
    if (auto tokenizer = lazyc::rt::Tokenizer::fromGGUF(*file, error))
      exercise(*tokenizer, bytes.substr(bytes.size() / 2));
    return 0;
  }
  static const auto config = [] {
    std::string e;
    return lazyc::rt::JsonValue::parse(R"({"bos_token_id": 1, "eos_token_id": [2, 3]})", e);
  }();
  if (size >= 1 && data[0] == 0x0A) {
    if (auto tokenizer = lazyc::rt::Tokenizer::fromSentencePiece(bytes, *config, nullptr, error))
      exercise(*tokenizer, bytes.substr(bytes.size() / 2));
    return 0;
  }
  auto json = lazyc::rt::JsonValue::parse(bytes, error);
  if (!json)
    return 0;
  if (auto tokenizer = lazyc::rt::Tokenizer::fromHFJson(*json, *config, error))
    exercise(*tokenizer, bytes.substr(0, 128));
  return 0;
}
