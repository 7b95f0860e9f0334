//===- Session.cpp - save and restore a model's cached context -------------===//
//
// A session file holds the state of the first N positions of a CPU model's
// cache: their token ids, and per layer which of them the layer holds, their
// keys and values, and the Aux Cache rows saved for them (LazyLLM). lazy-run
// --session restores the longest common prefix with a new prompt and feeds
// only the rest (llama.cpp's --prompt-cache, for LazyLLM's state too).
//
//   "LAZYCSS2", u64 identity, i64 layers, kv_dim, kv_type, element bytes, n,
//   i32 tokens[n], i64 count and f32 logits[count] of the last token (0 or
//   the vocabulary's size), u64 size and bytes of the writer's note (lazy-run:
//   a conversation), then per layer: u8 cached[n], the K rows of the cached
//   positions [kv_dim], then their V rows,
//   i64 aux columns (0: no Aux Cache), and when > 0 u8 saved[n] and the f32
//   rows of the saved positions, in position order; last, the XXH64 hash of
//   everything before it.
//
//===----------------------------------------------------------------------===//

#include "runtime/Session.h"

#include "runtime/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using namespace lazyc::rt;

namespace {

constexpr char kMagic[8] = {'L', 'A', 'Z', 'Y', 'C', 'S', 'S', '2'};
/// The format before the note (2026-11-28): refused by name.
constexpr char kMagicVersion1[8] = {'L', 'A', 'Z', 'Y', 'C', 'S', 'S', '1'};

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full,
                   kP3 = 0x165667B19E3779F9ull, kP4 = 0x85EBCA77C2B2AE63ull,
                   kP5 = 0x27D4EB2F165667C5ull;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read64(const uint8_t *p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v)); // little-endian hosts only (x86-64)
  return v;
}
inline uint64_t round64(uint64_t acc, uint64_t input) {
  return rotl(acc + input * kP2, 31) * kP1;
}
inline uint64_t mergeRound(uint64_t acc, uint64_t lane) {
  return (acc ^ round64(0, lane)) * kP1 + kP4;
}

struct FileCloser {
  void operator()(FILE *f) const {
    if (f)
      std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

} // namespace

Xxh64::Xxh64(uint64_t seed)
    : seed_(seed), lanes_{seed + kP1 + kP2, seed + kP2, seed, seed - kP1} {}

void Xxh64::update(const void *data, size_t bytes) {
  const auto *p = static_cast<const uint8_t *>(data);
  total_ += bytes;
  if (buffered_ + bytes < sizeof(buffer_)) {
    if (bytes)
      std::memcpy(buffer_ + buffered_, p, bytes);
    buffered_ += bytes;
    return;
  }
  if (buffered_) { // complete the buffered stripe
    const size_t fill = sizeof(buffer_) - buffered_;
    std::memcpy(buffer_ + buffered_, p, fill);
    for (int i = 0; i < 4; ++i)
      lanes_[i] = round64(lanes_[i], read64(buffer_ + 8 * i));
    p += fill;
    bytes -= fill;
    buffered_ = 0;
  }
  for (; bytes >= 32; p += 32, bytes -= 32) // four independent lanes
    for (int i = 0; i < 4; ++i)
      lanes_[i] = round64(lanes_[i], read64(p + 8 * i));
  if (bytes)
    std::memcpy(buffer_, p, bytes);
  buffered_ = bytes;
}

uint64_t Xxh64::digest() const {
  uint64_t h;
  if (total_ >= 32) {
    h = rotl(lanes_[0], 1) + rotl(lanes_[1], 7) + rotl(lanes_[2], 12) + rotl(lanes_[3], 18);
    for (uint64_t lane : lanes_)
      h = mergeRound(h, lane);
  } else {
    h = seed_ + kP5;
  }
  h += total_;
  const uint8_t *p = buffer_, *end = buffer_ + buffered_;
  for (; p + 8 <= end; p += 8)
    h = rotl(h ^ round64(0, read64(p)), 27) * kP1 + kP4;
  if (p + 4 <= end) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    h = rotl(h ^ (static_cast<uint64_t>(v) * kP1), 23) * kP2 + kP3;
    p += 4;
  }
  for (; p < end; ++p)
    h = rotl(h ^ (*p * kP5), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

void CompiledModel::hashDescription(const char *description) {
  descriptionHash_ = Xxh64::of(description, std::strlen(description));
}

uint64_t CompiledModel::identity() const {
  // The description names the architecture, shapes, schedule, dtypes and KV
  // cache; 4 KiB of every MiB of the weights tell two weight files apart
  // (hashed here, when a session is used, not at every load).
  // Hashed once: a conversation's session is saved after every answer.
  if (!identity_) {
    Xxh64 hash(descriptionHash_);
    const auto bytes = static_cast<size_t>(info_.arenaBytes);
    for (size_t at = 0; at < bytes; at += size_t(1) << 20)
      hash.update(arena_ + at, std::min<size_t>(4096, bytes - at));
    identity_ = hash.digest();
  }
  return *identity_;
}

bool CompiledModel::canUseSessions(std::string &error) const {
  if (cuda_) {
    error = "sessions are for CPU models (a CUDA model's cache lives in GPU memory)";
    return false;
  }
  if (info_.auxHidden < 0) {
    error = "sessions need the size of the model's Aux Cache rows, which lazy-compile records "
            "since 2026-11-28: compile the model again";
    return false;
  }
  return true;
}

SessionModel CompiledModel::sessionModel() const {
  SessionModel model;
  model.identity = identity();
  model.contextLength = info_.contextLength;
  model.vocabSize = info_.vocabSize;
  model.auxHidden = info_.auxHidden;
  return model;
}

bool lazyc::rt::writeSession(std::FILE *out, const SessionModel &model,
                             const LazycKVCache &cache, const std::vector<int32_t> &tokens,
                             const std::vector<float> &logits, const std::string &note) {
  if (note.size() > kMaxSessionNoteBytes)
    return false;
  bool ok = true;
  Xxh64 checksum;
  auto put = [&](const void *data, size_t bytes) {
    checksum.update(data, bytes);
    ok = ok && (bytes == 0 || std::fwrite(data, 1, bytes, out) == bytes);
  };
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t header[] = {cache.layers, cache.kv_dim, cache.kv_type,
                            static_cast<int64_t>(kvElementBytes(cache)), n};
  put(kMagic, sizeof(kMagic));
  put(&model.identity, sizeof(model.identity));
  put(header, sizeof(header));
  put(tokens.data(), tokens.size() * sizeof(int32_t));
  // One row of logits (the last token's) or none.
  const int64_t logitCount =
      static_cast<int64_t>(logits.size()) == model.vocabSize ? model.vocabSize : 0;
  put(&logitCount, sizeof(logitCount));
  put(logits.data(), static_cast<size_t>(logitCount) * sizeof(float));
  const uint64_t noteBytes = note.size();
  put(&noteBytes, sizeof(noteBytes));
  put(note.data(), note.size());
  const size_t rowBytes = static_cast<size_t>(cache.kv_dim) * kvElementBytes(cache);
  for (int64_t l = 0; l < cache.layers && ok; ++l) {
    const size_t slot = static_cast<size_t>(l) * cache.context;
    put(cache.cached + slot, static_cast<size_t>(n));
    for (const void *kv : {cache.k, cache.v})
      for (int64_t p = 0; p < n; ++p)
        if (cache.cached[slot + p])
          put(static_cast<const uint8_t *>(kv) + (slot + p) * rowBytes, rowBytes);
    int64_t columns = 0;
    if (cache.aux[l])
      for (int64_t p = 0; p < n && !columns; ++p)
        columns = cache.aux_saved[l][p] ? cache.hidden : 0;
    put(&columns, sizeof(columns));
    if (columns == 0)
      continue;
    put(cache.aux_saved[l], static_cast<size_t>(n));
    for (int64_t p = 0; p < n; ++p)
      if (cache.aux_saved[l][p])
        put(cache.aux[l] + p * columns, static_cast<size_t>(columns) * sizeof(float));
  }
  const uint64_t total = checksum.digest();
  put(&total, sizeof(total));
  return ok;
}

bool lazyc::rt::readSession(std::FILE *in, const SessionModel &model, LazycKVCache &cache,
                            const std::vector<int32_t> *prompt, SessionRestore &restored,
                            std::string &why) {
  restored = SessionRestore();
  auto bad = [&](std::string problem) {
    why = std::move(problem);
    restored = SessionRestore();
    return false;
  };
  Xxh64 checksum;
  auto get = [&](void *data, size_t bytes) {
    if (bytes != 0 && std::fread(data, 1, bytes, in) != bytes)
      return false;
    checksum.update(data, bytes);
    return true;
  };
  char magic[sizeof(kMagic)];
  uint64_t identity = 0;
  int64_t header[5];
  if (!get(magic, sizeof(magic)))
    return bad("not a lazyc session file");
  if (std::memcmp(magic, kMagicVersion1, sizeof(magic)) == 0)
    return bad("written by an earlier lazy-run (session format 1)");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    return bad("not a lazyc session file");
  if (!get(&identity, sizeof(identity)) || !get(header, sizeof(header)))
    return bad("truncated");
  const int64_t layers = header[0], kvDim = header[1], kvType = header[2], elementBytes = header[3],
                n = header[4];
  if (identity != model.identity || layers != cache.layers || kvDim != cache.kv_dim ||
      kvType != cache.kv_type || elementBytes != static_cast<int64_t>(kvElementBytes(cache)))
    return bad("written for another compiled model or other weights");
  if (n < 0 || n > model.contextLength)
    return bad("malformed (token count " + std::to_string(n) + ")");
  std::vector<int32_t> saved(static_cast<size_t>(n));
  int64_t logitCount = 0;
  if (!get(saved.data(), saved.size() * sizeof(int32_t)) || !get(&logitCount, sizeof(logitCount)))
    return bad("truncated");
  if (logitCount != 0 && logitCount != model.vocabSize)
    return bad("malformed (" + std::to_string(logitCount) + " logits)");
  std::vector<float> savedLogits(static_cast<size_t>(logitCount));
  uint64_t noteBytes = 0;
  if (!get(savedLogits.data(), savedLogits.size() * sizeof(float)) ||
      !get(&noteBytes, sizeof(noteBytes)))
    return bad("truncated");
  if (noteBytes > kMaxSessionNoteBytes)
    return bad("malformed (a note of " + std::to_string(noteBytes) + " bytes)");
  std::string note(static_cast<size_t>(noteBytes), '\0');
  if (!get(note.data(), note.size()))
    return bad("truncated");
  // Without a prompt, all of it. With one: the whole prompt when it is the
  // saved one and its last step's logits were saved (then nothing is fed: the
  // state is the prefill's own); else the common prefix short of the
  // prompt's last token (its step gives the logits), within this context.
  if (!prompt && n > cache.context)
    return bad("it holds " + std::to_string(n) + " tokens, more than this context of " +
               std::to_string(cache.context) + " (use --ctx " + std::to_string(n) +
               " or more)");
  const bool whole =
      prompt ? logitCount > 0 && saved == *prompt && n <= cache.context : true;
  int64_t keep = whole ? n : 0;
  const auto limit =
      whole ? n
            : std::min<int64_t>({n, static_cast<int64_t>(prompt->size()) - 1, cache.context});
  while (!whole && keep < limit && saved[keep] == (*prompt)[keep])
    ++keep;
  const size_t rowBytes = static_cast<size_t>(kvDim) * kvElementBytes(cache);
  std::vector<uint8_t> flags(static_cast<size_t>(n)), skip(rowBytes);
  for (int64_t l = 0; l < layers; ++l) {
    const size_t slot = static_cast<size_t>(l) * cache.context;
    auto *k = static_cast<uint8_t *>(cache.k) + slot * rowBytes;
    auto *v = static_cast<uint8_t *>(cache.v) + slot * rowBytes;
    if (!get(flags.data(), flags.size()))
      return bad("truncated");
    for (int64_t p = 0; p < n; ++p)
      if (flags[p] > 1)
        return bad("malformed (a cached flag of layer " + std::to_string(l) + ")");
    for (uint8_t *kv : {k, v})
      for (int64_t p = 0; p < n; ++p)
        if (flags[p] && !get(p < keep ? kv + p * rowBytes : skip.data(), rowBytes))
          return bad("truncated");
    if (keep > 0)
      std::memcpy(cache.cached + slot, flags.data(), static_cast<size_t>(keep));
    int64_t columns = 0;
    if (!get(&columns, sizeof(columns)))
      return bad("truncated");
    if (columns == 0)
      continue;
    // The compiled code reads and writes rows of its own size (auxHidden)
    // wherever a layer's Aux Cache is allocated: no other size is taken.
    if (model.auxHidden == 0)
      return bad("malformed (Aux Cache rows for a model without an Aux Cache)");
    if (columns != model.auxHidden || (cache.hidden != 0 && columns != cache.hidden))
      return bad("malformed (Aux Cache rows of " + std::to_string(columns) + " values, not " +
                 std::to_string(model.auxHidden) + ")");
    if (!get(flags.data(), flags.size()))
      return bad("truncated");
    float *aux = lazyc_rt_aux_rows(&cache, l, columns);
    if (!aux)
      return bad("out of memory for the Aux Cache of layer " + std::to_string(l));
    std::vector<float> row(static_cast<size_t>(columns));
    for (int64_t p = 0; p < n; ++p) {
      if (flags[p] > 1)
        return bad("malformed (an Aux Cache flag of layer " + std::to_string(l) + ")");
      if (!flags[p])
        continue;
      if (!get(row.data(), row.size() * sizeof(float)))
        return bad("truncated");
      if (p < keep) {
        std::memcpy(aux + p * columns, row.data(), row.size() * sizeof(float));
        cache.aux_saved[l][p] = 1;
      }
    }
  }
  const uint64_t expected = checksum.digest();
  uint64_t stored = 0;
  char extra;
  if (!get(&stored, sizeof(stored)))
    return bad("truncated");
  if (stored != expected)
    return bad("damaged (its checksum does not match its contents)");
  if (get(&extra, 1))
    return bad("malformed (bytes after the checksum)");
  restored.reused = keep;
  restored.tokens.assign(saved.begin(), saved.begin() + keep);
  if (whole)
    restored.logits = std::move(savedLogits);
  restored.note = std::move(note);
  return true;
}

bool CompiledModel::saveSession(const std::string &path, const std::vector<int32_t> &tokens,
                                const std::vector<float> &logits, std::string &error,
                                const std::string &note) const {
  if (!canUseSessions(error))
    return false;
  if (static_cast<int64_t>(tokens.size()) > cache_.context) {
    error = "a session of " + std::to_string(tokens.size()) + " tokens does not fit the context";
    return false;
  }
  if (note.size() > kMaxSessionNoteBytes) {
    error = "cannot write session '" + path + "': its note of " + std::to_string(note.size()) +
            " bytes is larger than " + std::to_string(kMaxSessionNoteBytes >> 20) + " MiB";
    return false;
  }
  // Written beside the target and renamed over it: a failed write leaves the
  // previous session whole.
  const std::string temporary = path + ".tmp";
  File out(std::fopen(temporary.c_str(), "wb"));
  if (!out) {
    error = "cannot write session '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = writeSession(out.get(), sessionModel(), cache_, tokens, logits, note);
  ok = ok && std::fflush(out.get()) == 0;
  ok = std::fclose(out.release()) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot write session '" + path + "': " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

bool CompiledModel::loadSession(const std::string &path, const std::vector<int32_t> *prompt,
                                SessionRestore &restored, std::string &error) {
  restored = SessionRestore();
  if (!canUseSessions(error))
    return false;
  File in(std::fopen(path.c_str(), "rb"));
  if (!in) {
    error = "cannot read session '" + path + "': " + std::strerror(errno);
    return false;
  }
  forgetCachedSlots();
  std::string why;
  if (!readSession(in.get(), sessionModel(), cache_, prompt, restored, why)) {
    reset(); // nothing half restored
    // (A conversation longer than the context is no fault of the file.)
    const bool fileAtFault = why.rfind("it holds ", 0) != 0;
    error = "session '" + path + "': " + why +
            (fileAtFault ? " (delete it, or name another file, to start a new one)" : "");
    return false;
  }
  return true;
}
