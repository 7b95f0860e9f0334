//===- session_fuzzer.cpp - libFuzzer target for session files ------------===//
//
// Reads arbitrary bytes as a lazy-run --session file into a small cache
// (SessionFixture.h; the f32, bf16 or f16 one the header names), then checks
// what a successful restore promises: no more positions than the prompt's
// (or, restoring all, the cache's), the prompt's own tokens, flags of 0 or 1
// and none past the restored prefix, Aux Cache rows only of the model's size,
// logits only of the vocabulary's size and, with a prompt, the whole prompt.
// ASan/UBSan catch any write the reader's checks let through.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/SessionFixture.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // The header's kv_type (after the magic, the identity and two i64s) picks
  // the cache, so that every element size is reached.
  int64_t kvType = 0;
  if (size >= 40)
    std::memcpy(&kvType, data + 32, sizeof(kvType));
  if (kvType < 0 || kvType > 2)
    kvType = 0;
  lazyc::test::SessionCache fixture(kvType);
  LazycKVCache &cache = fixture.get();
  const auto model = lazyc::test::sessionFixtureModel();
  const auto prompt = lazyc::test::sessionFixturePrompt();

  std::FILE *in = fmemopen(const_cast<uint8_t *>(data), size, "rb");
  if (!in)
    return 0; // fmemopen refuses an empty buffer
  // With the prompt, or (an odd size) without: all of it, as lazy-run
  // --continue restores a conversation.
  const bool all = size % 2 == 1;
  lazyc::rt::SessionRestore restored;
  std::string why;
  const bool ok = lazyc::rt::readSession(in, model, cache, all ? nullptr : &prompt, restored, why);
  std::fclose(in);
  const int64_t reused = restored.reused;
  const std::vector<float> &logits = restored.logits;
  if (!ok) {
    if (why.empty() || reused != 0 || !logits.empty() || !restored.tokens.empty())
      std::abort();
    return 0;
  }
  const auto n = all ? cache.context : static_cast<int64_t>(prompt.size());
  if (reused < 0 || reused > n || reused > cache.context ||
      static_cast<int64_t>(restored.tokens.size()) != reused)
    std::abort();
  if (!all && !std::equal(restored.tokens.begin(), restored.tokens.end(), prompt.begin()))
    std::abort(); // a restored prefix is the prompt's
  if (!logits.empty() && ((!all && reused != n) ||
                          static_cast<int64_t>(logits.size()) != model.vocabSize))
    std::abort();
  if (cache.hidden != 0 && cache.hidden != model.auxHidden)
    std::abort();
  for (int64_t l = 0; l < cache.layers; ++l)
    for (int64_t p = 0; p < cache.context; ++p) {
      const uint8_t cached = cache.cached[l * cache.context + p];
      const uint8_t saved = cache.aux_saved[l] ? cache.aux_saved[l][p] : 0;
      if (cached > 1 || saved > 1 || (p >= reused && (cached || saved)))
        std::abort();
    }
  return 0;
}
