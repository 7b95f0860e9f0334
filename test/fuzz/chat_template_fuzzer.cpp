//===- chat_template_fuzzer.cpp - libFuzzer target: the Jinja interpreter -===//
//
// A chat template is untrusted text from a model file (GGUF
// tokenizer.chat_template, a checkpoint's chat_template.jinja). Parses
// arbitrary bytes as a template and renders it over a small conversation:
// it must parse or fail, render or fail, within the interpreter's limits on
// nesting, steps and output, without reading out of bounds.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Jinja.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace lazyc::rt::jinja;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto compiled =
      Template::parse(std::string_view(reinterpret_cast<const char *>(data), size), error);
  if (!compiled) {
    if (error.empty())
      std::abort(); // a failure must say why
    return 0;
  }
  static const std::map<std::string, Value> globals = [] {
    List messages;
    for (const char *role : {"system", "user", "assistant", "user"})
      messages.push_back(Value::makeDict({{"role", Value::string(role)},
                                          {"content", Value::string(" Hello,\n world! ")}}));
    return std::map<std::string, Value>{{"messages", Value::makeList(std::move(messages))},
                                        {"add_generation_prompt", Value::boolean(true)},
                                        {"bos_token", Value::string("<s>")},
                                        {"eos_token", Value::string("</s>")},
                                        {"tools", Value::none()}};
  }();
  std::string out;
  if (!compiled->render(globals, out, error) && error.empty())
    std::abort();
  return 0;
}
