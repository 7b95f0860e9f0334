//===- SessionFixture.h - a small cache for session-file tests ----*- C++ -*-===//
//
// The model and cache that the session fuzzer (session_fuzzer.cpp) and the
// unit tests (test/unit/SessionTest.cpp) read session files into: 2 layers,
// kv_dim 4, a compiled context of 8 tokens run with a cache of 6, 4 logits,
// Aux Cache rows of 3 values. test/fuzz/seeds/session/make_seeds.py writes
// seeds for it.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_TEST_FUZZ_SESSIONFIXTURE_H
#define LAZYC_TEST_FUZZ_SESSIONFIXTURE_H

#include "runtime/Session.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace lazyc::test {

inline rt::SessionModel sessionFixtureModel() {
  rt::SessionModel model;
  model.identity = 0x6c617a7973657373ull; // make_seeds.py: IDENTITY
  model.contextLength = 8;
  model.vocabSize = 4;
  model.auxHidden = 3;
  return model;
}

/// The prompt the fixture restores for (make_seeds.py: PROMPT).
inline std::vector<int32_t> sessionFixturePrompt() { return {10, 11, 12, 13, 14}; }

/// A LazycKVCache as the runtime allocates one (the Aux Cache allocated by
/// lazyc_rt_aux_rows on first use), freed with the fixture.
class SessionCache {
public:
  explicit SessionCache(int64_t kvType = 0, int64_t context = 6) {
    cache_.layers = 2;
    cache_.kv_dim = 4;
    cache_.context = context;
    cache_.kv_type = kvType;
    const size_t elements = static_cast<size_t>(cache_.layers * cache_.context * cache_.kv_dim);
    cache_.k = std::calloc(elements, rt::kvElementBytes(cache_));
    cache_.v = std::calloc(elements, rt::kvElementBytes(cache_));
    cache_.cached = static_cast<uint8_t *>(std::calloc(cache_.layers * cache_.context, 1));
    cache_.aux = static_cast<float **>(std::calloc(cache_.layers, sizeof(float *)));
    cache_.aux_saved = static_cast<uint8_t **>(std::calloc(cache_.layers, sizeof(uint8_t *)));
    stats_.assign(static_cast<size_t>(LAZYC_STAT_COUNT * cache_.layers), 0);
    cache_.stats = stats_.data();
  }
  ~SessionCache() {
    for (int64_t l = 0; l < cache_.layers; ++l) {
      std::free(cache_.aux[l]);
      std::free(cache_.aux_saved[l]);
    }
    std::free(cache_.aux);
    std::free(cache_.aux_saved);
    std::free(cache_.cached);
    std::free(cache_.k);
    std::free(cache_.v);
  }
  SessionCache(const SessionCache &) = delete;
  SessionCache &operator=(const SessionCache &) = delete;

  LazycKVCache &get() { return cache_; }
  /// Empties it as CompiledModel::reset does (the Aux Cache stays allocated).
  void reset() {
    const size_t elements = static_cast<size_t>(cache_.layers * cache_.context * cache_.kv_dim);
    std::memset(cache_.k, 0, elements * rt::kvElementBytes(cache_));
    std::memset(cache_.v, 0, elements * rt::kvElementBytes(cache_));
    std::memset(cache_.cached, 0, static_cast<size_t>(cache_.layers * cache_.context));
    for (int64_t l = 0; l < cache_.layers; ++l)
      if (cache_.aux_saved[l])
        std::memset(cache_.aux_saved[l], 0, static_cast<size_t>(cache_.context));
  }

private:
  LazycKVCache cache_{};
  std::vector<int64_t> stats_;
};

} // namespace lazyc::test

#endif // LAZYC_TEST_FUZZ_SESSIONFIXTURE_H
