//===- lazy-tokenize.cpp - tokenize text with a model's tokenizer ----------===//
//
//   lazy-tokenize MODEL < text            # prints token ids
//   lazy-tokenize MODEL --decode < ids     # prints the text of ids
//   lazy-tokenize MODEL --chat < text      # applies the chat template first
//     [--system TEXT]                      # ... after a system message
//     [--chat-template-kwargs JSON]        # ... with more template variables
//
//===----------------------------------------------------------------------===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Json.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/Tokenizer.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

using namespace lazyc::rt;

namespace {
const char *kUsage = "usage: lazy-tokenize MODEL [--decode | --chat [--system TEXT] "
                     "[--chat-template-kwargs JSON]] [--bos] < input";
} // namespace

int main(int argc, char **argv) {
  std::string model, system, kwargsText;
  bool decode = false, chat = false, bos = false, haveSystem = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--decode")
      decode = true;
    else if (a == "--chat")
      chat = true;
    else if (a == "--bos")
      bos = true;
    else if ((a == "--system" || a == "--chat-template-kwargs") && i + 1 < argc) {
      (a == "--system" ? system : kwargsText) = argv[++i];
      haveSystem |= a == "--system";
    } else if (a == "-h" || a == "--help") {
      std::puts(kUsage);
      return 0;
    } else if (model.empty())
      model = a;
    else {
      std::fprintf(stderr, "lazy-tokenize: error: unexpected argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  if ((haveSystem || !kwargsText.empty()) && !chat) {
    std::fputs("lazy-tokenize: error: --system and --chat-template-kwargs need --chat\n", stderr);
    return 2;
  }
  std::string error;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<GGUFFile> gguf;
  std::unique_ptr<HFCheckpoint> hf;
  if (isHFCheckpoint(model)) {
    hf = HFCheckpoint::open(model, error);
    if (hf && hf->hasTokenizer())
      tok = Tokenizer::fromHFCheckpoint(*hf, error);
    else if (hf)
      error = "'" + model + "' has neither tokenizer.json nor tokenizer.model";
  } else {
    gguf = GGUFFile::open(model, error);
    if (gguf)
      tok = Tokenizer::fromGGUF(*gguf, error);
  }
  if (!tok) {
    std::fprintf(stderr, "lazy-tokenize: error: %s\n", error.c_str());
    return 1;
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)), {});
  if (decode) {
    std::istringstream in(input);
    std::vector<int32_t> ids;
    std::string word;
    while (in >> word) {
      try {
        ids.push_back(static_cast<int32_t>(std::stol(word)));
      } catch (...) {
        std::fprintf(stderr, "lazy-tokenize: error: '%s' is not a token id\n", word.c_str());
        return 1;
      }
    }
    std::string text;
    if (!tok->decode(ids, text, error)) {
      std::fprintf(stderr, "lazy-tokenize: error: %s\n", error.c_str());
      return 1;
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::unique_ptr<JsonValue> kwargs;
  if (!kwargsText.empty() && !(kwargs = Tokenizer::parseChatTemplateKwargs(kwargsText, error))) {
    std::fprintf(stderr, "lazy-tokenize: error: %s\n", error.c_str());
    return 1;
  }
  std::vector<ChatMessage> messages;
  if (haveSystem)
    messages.push_back({"system", system});
  messages.push_back({"user", input});
  if (chat && !tok->applyChatTemplate(messages, true, input, error, kwargs.get())) {
    std::fprintf(stderr, "lazy-tokenize: error: %s\n", error.c_str());
    return 1;
  }
  std::vector<int32_t> ids;
  if (!tok->encode(input, ids, error, bos)) {
    std::fprintf(stderr, "lazy-tokenize: error: %s\n", error.c_str());
    return 1;
  }
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
  return 0;
}
