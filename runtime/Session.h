//===- Session.h - session files: a model's cached context ------*- C++ -*-===//
//
// The file format behind lazy-run --session (runtime/Session.cpp): the first
// N positions of a CPU model's cache (token ids, K/V, which slots each layer
// holds, the Aux Cache rows) and the last token's logits. The reader is
// separate from CompiledModel so that it can be fuzzed on a small cache of
// its own (test/fuzz/session_fuzzer.cpp): session files come from disk.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_SESSION_H
#define LAZYC_RUNTIME_SESSION_H

#include "runtime/cpu/Kernels.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lazyc::rt {

/// What a session file must match to be restored: the model it was written
/// for.
struct SessionModel {
  uint64_t identity = 0;     // the compiled model and its weights
  int64_t contextLength = 0; // the compiled context: no session holds more
  int64_t vocabSize = 0;     // a saved logit row's length
  int64_t auxHidden = 0;     // the Aux Cache's row size (0: the model has no Aux Cache)
};

/// Bytes of one key or value element of a CPU cache (LazycKVCache::kv_type).
inline size_t kvElementBytes(const LazycKVCache &cache) { return cache.kv_type == 0 ? 4 : 2; }

/// Writes the state of the first tokens.size() positions of `cache` (which
/// hold `tokens`) and the last token's `logits` (saved when they are one row
/// of the vocabulary, else left out) to `out`. False when a write fails.
bool writeSession(std::FILE *out, const SessionModel &model, const LazycKVCache &cache,
                  const std::vector<int32_t> &tokens, const std::vector<float> &logits);

/// Reads a session of `model` from `in` into `cache`, which must be empty (no
/// slot cached, no Aux Cache row saved): all of it when its tokens are
/// `tokens` and it holds their logits (returned in `logits`), else the longest
/// common prefix with `tokens` short of their last token; `reused` is the
/// length restored. On failure `why` names the problem and part of the cache
/// may have been written: the caller empties it again.
bool readSession(std::FILE *in, const SessionModel &model, LazycKVCache &cache,
                 const std::vector<int32_t> &tokens, int64_t &reused,
                 std::vector<float> &logits, std::string &why);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_SESSION_H
