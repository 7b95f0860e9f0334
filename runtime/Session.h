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

/// XXH64 (xxHash's 64-bit hash, seed 0 unless given), fed in pieces: the
/// checksum of a session file and the hash of its model's identity. ~10x
/// FNV-1a's speed (a 60 MB session: ~6 ms instead of 71).
class Xxh64 {
public:
  explicit Xxh64(uint64_t seed = 0);
  void update(const void *data, size_t bytes);
  uint64_t digest() const;
  /// The hash of one buffer.
  static uint64_t of(const void *data, size_t bytes, uint64_t seed = 0) {
    Xxh64 h(seed);
    h.update(data, bytes);
    return h.digest();
  }

private:
  uint64_t seed_, total_ = 0;
  uint64_t lanes_[4];
  uint8_t buffer_[32];
  size_t buffered_ = 0;
};

/// Bytes of one key or value element of a CPU cache (LazycKVCache::kv_type).
inline size_t kvElementBytes(const LazycKVCache &cache) { return cache.kv_type == 0 ? 4 : 2; }

/// What a session file holds besides the cache's state: a caller's note
/// (lazy-run keeps a conversation there), up to this many bytes.
constexpr uint64_t kMaxSessionNoteBytes = uint64_t(64) << 20;

/// Writes the state of the first tokens.size() positions of `cache` (which
/// hold `tokens`), the last token's `logits` (saved when they are one row of
/// the vocabulary, else left out) and `note` (at most kMaxSessionNoteBytes)
/// to `out`. False when a write fails.
bool writeSession(std::FILE *out, const SessionModel &model, const LazycKVCache &cache,
                  const std::vector<int32_t> &tokens, const std::vector<float> &logits,
                  const std::string &note = {});

/// What readSession restored.
struct SessionRestore {
  int64_t reused = 0;           // positions restored
  std::vector<int32_t> tokens;  // their tokens
  std::vector<float> logits;    // the last one's logits, when it is the session's last
  std::string note;             // the writer's note
};

/// Reads a session of `model` from `in` into `cache`, which must be empty (no
/// slot cached, no Aux Cache row saved). With a `prompt`: all of it when its
/// tokens are the prompt and it holds their logits (returned), else the
/// longest common prefix with the prompt short of its last token. Without
/// (null): all of it, with its logits if saved (a conversation continued; an
/// error when the cache is smaller). On failure `why` names the problem and
/// part of the cache may have been written: the caller empties it again.
bool readSession(std::FILE *in, const SessionModel &model, LazycKVCache &cache,
                 const std::vector<int32_t> *prompt, SessionRestore &restored,
                 std::string &why);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_SESSION_H
