//===- tokenizer_fuzzer.cpp - libFuzzer target for the BPE tokenizer ------===//
//
// Encodes arbitrary bytes with SmolLM2's tokenizer (LAZYC_FUZZ_MODEL or
// models/SmolLM2-135M-Instruct.Q4_1.gguf), and renders a conversation with
// them as the chat template. Invalid UTF-8 must be rejected;
// valid text must decode back to itself whenever the vocabulary has a token
// for each of its bytes, and its NFC (tokenizer.json's NFC normalizer) must be
// NFC already. A violated invariant aborts (a finding).
//
//===----------------------------------------------------------------------===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Tokenizer.h"
#include "runtime/model/Unicode.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {
std::unique_ptr<lazyc::rt::GGUFFile> gFile;
std::unique_ptr<lazyc::rt::Tokenizer> gTokenizer;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *path = std::getenv("LAZYC_FUZZ_MODEL");
  std::string model = path ? path : LAZYC_MODEL_PATH;
  std::string error;
  gFile = lazyc::rt::GGUFFile::open(model, error);
  if (gFile)
    gTokenizer = lazyc::rt::Tokenizer::fromGGUF(*gFile, error);
  if (!gTokenizer) {
    std::fprintf(stderr, "tokenizer_fuzzer: %s\n", error.c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  std::vector<int32_t> ids;
  std::string error;
  // The bytes as a chat template too (templates come from model files): the
  // renderer reads default prompts, cutoffs and dates out of it.
  std::string chat;
  gTokenizer->setChatTemplate(std::string(text));
  gTokenizer->applyChatTemplate({{"system", " s "}, {"user", "u"}}, true, chat, error);
  gTokenizer->applyChatTemplate({{"user", "u"}}, false, chat, error);
  if (!gTokenizer->encode(text, ids, error))
    return 0; // rejected (invalid UTF-8): fine, as long as it did not crash
  std::string decoded;
  if (!gTokenizer->decode(ids, decoded, error))
    std::abort(); // encode produced an id decode rejects
  bool representable = true;
  for (unsigned char byte : text)
    representable &= gTokenizer->hasByteToken(byte);
  if (representable && decoded != text)
    std::abort(); // round trip broken
  // NFC is idempotent: normalizing its output changes nothing.
  std::vector<uint32_t> cps, once, twice;
  std::vector<size_t> offsets;
  namespace uc = lazyc::rt::unicode;
  if (uc::decodeUtf8(text, cps, offsets, error) && uc::toNFC(cps, once) &&
      uc::toNFC(once, twice))
    std::abort();
  return 0;
}
