//===- SessionTest.cpp - session files (lazy-run --session) ---------------===//
//
// The reader and writer of runtime/Session.cpp on the fuzzer's small cache
// (test/fuzz/SessionFixture.h): the seeds written by an independent writer
// (test/fuzz/seeds/session/make_seeds.py) restore as their names say, a
// written session restores what was saved, and every kind of bad file is
// refused with its reason and restores nothing.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/SessionFixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using lazyc::test::SessionCache;

namespace {

const auto kModel = lazyc::test::sessionFixtureModel();
const auto kPrompt = lazyc::test::sessionFixturePrompt();

struct Restored : lazyc::rt::SessionRestore {
  bool ok = false;
  std::string why;
};

/// Restores `bytes` for `prompt`, or all of it (`all`).
Restored read(const std::vector<uint8_t> &bytes, SessionCache &cache,
              const std::vector<int32_t> &prompt = kPrompt,
              const lazyc::rt::SessionModel &model = kModel, bool all = false) {
  Restored r;
  std::vector<uint8_t> copy = bytes; // fmemopen needs a non-empty buffer
  copy.push_back(0);
  std::FILE *in = fmemopen(copy.data(), bytes.size(), "rb");
  if (bytes.empty())
    in = std::tmpfile();
  EXPECT_NE(in, nullptr);
  r.ok = lazyc::rt::readSession(in, model, cache.get(), all ? nullptr : &prompt, r, r.why);
  std::fclose(in);
  if (!r.ok)
    cache.reset(); // as CompiledModel::loadSession does
  return r;
}

std::vector<uint8_t> write(SessionCache &cache, const std::vector<int32_t> &tokens,
                           const std::vector<float> &logits = {}, const std::string &note = {}) {
  std::FILE *out = std::tmpfile();
  EXPECT_NE(out, nullptr);
  EXPECT_TRUE(lazyc::rt::writeSession(out, kModel, cache.get(), tokens, logits, note));
  std::vector<uint8_t> bytes(static_cast<size_t>(std::ftell(out)));
  std::rewind(out);
  EXPECT_EQ(std::fread(bytes.data(), 1, bytes.size(), out), bytes.size());
  std::fclose(out);
  return bytes;
}

std::vector<uint8_t> readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Recomputes the trailing FNV-1a checksum after an edit: the file is then
/// damaged only in the way the edit meant.
void reseal(std::vector<uint8_t> &bytes) {
  const uint64_t hash = lazyc::rt::Xxh64::of(bytes.data(), bytes.size() - 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &hash, 8);
}

bool anyState(SessionCache &fixture) {
  const LazycKVCache &c = fixture.get();
  for (int64_t i = 0; i < c.layers * c.context; ++i)
    if (c.cached[i])
      return true;
  for (int64_t l = 0; l < c.layers; ++l)
    for (int64_t p = 0; c.aux_saved[l] && p < c.context; ++p)
      if (c.aux_saved[l][p])
        return true;
  return false;
}

/// Fills the first `n` positions of both layers with distinct K/V values;
/// layer 0 saves `auxSaved` in its Aux Cache and layer 1 holds all but them.
void fill(SessionCache &fixture, int64_t n, const std::vector<int64_t> &auxSaved) {
  LazycKVCache &c = fixture.get();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1, 1);
  auto *k = static_cast<float *>(c.k), *v = static_cast<float *>(c.v);
  for (int64_t i = 0; i < c.layers * c.context * c.kv_dim; ++i) {
    k[i] = value(rng);
    v[i] = value(rng);
  }
  float *aux = lazyc_rt_aux_rows(&c, 0, kModel.auxHidden);
  ASSERT_NE(aux, nullptr);
  for (int64_t p = 0; p < n; ++p) {
    const bool dropped = std::find(auxSaved.begin(), auxSaved.end(), p) != auxSaved.end();
    c.cached[p] = 1;
    c.cached[c.context + p] = dropped ? 0 : 1;
    c.aux_saved[0][p] = dropped ? 1 : 0;
    for (int64_t i = 0; i < kModel.auxHidden; ++i)
      aux[p * kModel.auxHidden + i] = value(rng);
  }
}

// The checksum is xxHash's XXH64: the values of the reference
// implementation (Python's xxhash 3.x), whole and fed in pieces of every size.
TEST(Session, ChecksumIsXXH64) {
  using lazyc::rt::Xxh64;
  EXPECT_EQ(Xxh64::of("", 0), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(Xxh64::of("abc", 3), 0x44BC2CF5AD770999ull);
  std::vector<uint8_t> data;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 256; ++i)
      data.push_back(static_cast<uint8_t>(i));
  data.insert(data.end(), {'x', 'y', 'z'});
  EXPECT_EQ(Xxh64::of(data.data(), data.size()), 0xE921A1B45BD779F8ull);
  for (size_t piece : {1, 3, 7, 8, 31, 32, 33, 100}) {
    Xxh64 h;
    for (size_t at = 0; at < data.size(); at += piece)
      h.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(h.digest(), 0xE921A1B45BD779F8ull) << "pieces of " << piece;
  }
}

TEST(Session, SeedsRestoreAsNamed) {
  const std::filesystem::path dir = LAZYC_SESSION_SEEDS_DIR;
  int seen = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".ses")
      continue;
    ++seen;
    // "<how>-<reused>[-...].ses"
    const std::string name = entry.path().stem().string();
    const auto first = name.find('-');
    const int64_t expected = std::stoll(name.substr(first + 1));
    const int64_t kvType = name.find("bf16") != std::string::npos  ? 1
                           : name.find("f16") != std::string::npos ? 2
                                                                   : 0;
    SessionCache cache(kvType);
    Restored r = read(readFile(entry.path()), cache);
    EXPECT_TRUE(r.ok) << name << ": " << r.why;
    EXPECT_EQ(r.reused, expected) << name;
    EXPECT_EQ(r.logits.size(), name.rfind("whole", 0) == 0 ? 4u : 0u) << name;
    EXPECT_EQ(r.note, name.find("note") != std::string::npos ? "a conversation" : "") << name;
  }
  EXPECT_EQ(seen, 6) << "make_seeds.py writes 6 seeds into " << dir;
}

TEST(Session, PrunedSeedRestoresItsPrefixOfLazyLLMState) {
  SessionCache cache;
  Restored r = read(readFile(std::filesystem::path(LAZYC_SESSION_SEEDS_DIR) /
                             "prefix-4-pruned.ses"),
                    cache);
  ASSERT_TRUE(r.ok) << r.why;
  ASSERT_EQ(r.reused, 4);
  const LazycKVCache &c = cache.get();
  // Layer 1 held 0, 3 and 5: of the 4 restored, 0 and 3.
  std::vector<uint8_t> layer1(c.cached + c.context, c.cached + 2 * c.context);
  EXPECT_EQ(layer1, (std::vector<uint8_t>{1, 0, 0, 1, 0, 0}));
  // Layer 0 saved 1, 2 and 4 in its Aux Cache: 1 and 2 restored, with
  // make_seeds.py's values (layer + position / 10 + i).
  ASSERT_NE(c.aux_saved[0], nullptr);
  EXPECT_EQ(std::vector<uint8_t>(c.aux_saved[0], c.aux_saved[0] + c.context),
            (std::vector<uint8_t>{0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(c.hidden, 3);
  EXPECT_FLOAT_EQ(c.aux[0][2 * 3 + 1], 0.2f + 1);
  // K row of layer 0, position 3: bytes (l * 16 + p + i) % 256.
  const auto *k = static_cast<const uint8_t *>(c.k);
  EXPECT_EQ(k[3 * 16 + 5], 3 + 5);
  // Values: 64 more.
  EXPECT_EQ(static_cast<const uint8_t *>(c.v)[(c.context + 3) * 16], 64 + 16 + 3);
}

TEST(Session, WrittenSessionRestoresWhatWasSaved) {
  SessionCache saved;
  fill(saved, 5, {1, 3});
  const std::vector<float> logits = {1, 2, 3, 4};
  const auto bytes = write(saved, kPrompt, logits);

  // The same prompt: whole, with its logits, every byte of state as saved.
  SessionCache whole;
  Restored r = read(bytes, whole);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 5);
  EXPECT_EQ(r.logits, logits);
  const LazycKVCache &a = saved.get(), &b = whole.get();
  const size_t row = static_cast<size_t>(a.kv_dim) * sizeof(float);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t p = 0; p < 5; ++p) {
      const size_t slot = static_cast<size_t>(l * a.context + p);
      ASSERT_EQ(a.cached[slot], b.cached[slot]) << l << " " << p;
      if (!a.cached[slot])
        continue;
      EXPECT_EQ(std::memcmp(static_cast<char *>(a.k) + slot * row,
                            static_cast<char *>(b.k) + slot * row, row),
                0);
      EXPECT_EQ(std::memcmp(static_cast<char *>(a.v) + slot * row,
                            static_cast<char *>(b.v) + slot * row, row),
                0);
    }
  for (int64_t p = 0; p < 5; ++p) {
    EXPECT_EQ(a.aux_saved[0][p], b.aux_saved[0][p]);
    if (a.aux_saved[0][p]) {
      EXPECT_EQ(std::memcmp(a.aux[0] + p * 3, b.aux[0] + p * 3, 3 * sizeof(float)), 0);
    }
  }
  EXPECT_EQ(b.aux[1], nullptr); // layer 1 saved nothing

  // Another last token: the prefix short of it, no logits; position 4 and
  // its Aux Cache row stay empty.
  SessionCache prefix;
  r = read(bytes, prefix, {10, 11, 12, 13, 99});
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 4);
  EXPECT_TRUE(r.logits.empty());
  EXPECT_EQ(prefix.get().cached[4], 0);
  EXPECT_EQ(prefix.get().cached[prefix.get().context + 4], 0);
  EXPECT_EQ(prefix.get().aux_saved[0][3], 1);

  // The same prompt, but no logits were saved: its last token is fed again.
  SessionCache noLogits;
  r = read(write(saved, kPrompt), noLogits);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 4);

  // A cache smaller than the session: the prefix that fits (3 slots).
  SessionCache small(0, 3);
  r = read(bytes, small);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 3);
  EXPECT_TRUE(r.logits.empty());
}

// Without a prompt (lazy-run --continue): everything, its tokens, logits
// and note; a cache too small for it is an error, not a cut conversation.
TEST(Session, RestoresAllWithItsNote) {
  SessionCache saved;
  fill(saved, 5, {1});
  const std::vector<float> logits = {4, 3, 2, 1};
  const auto bytes = write(saved, kPrompt, logits, "{\"messages\": []}");
  SessionCache all;
  Restored r = read(bytes, all, {}, kModel, true);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 5);
  EXPECT_EQ(r.tokens, kPrompt);
  EXPECT_EQ(r.logits, logits);
  EXPECT_EQ(r.note, "{\"messages\": []}");
  EXPECT_EQ(all.get().aux_saved[0][1], 1);
  // With a prompt the note comes back too (the caller may ignore it).
  SessionCache prefix;
  r = read(bytes, prefix, {10, 11, 99});
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.reused, 2);
  EXPECT_EQ(r.tokens, (std::vector<int32_t>{10, 11}));
  EXPECT_EQ(r.note, "{\"messages\": []}");
  SessionCache small(0, 4);
  r = read(bytes, small, {}, kModel, true);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.why, "it holds 5 tokens, more than this context of 4 (use --ctx 5 or more)");
  EXPECT_FALSE(anyState(small));
}

TEST(Session, RefusesTheFirstFormatByName) {
  SessionCache saved;
  fill(saved, 5, {});
  auto bytes = write(saved, kPrompt);
  bytes[7] = '1';
  SessionCache cache;
  EXPECT_EQ(read(bytes, cache).why, "written by an earlier lazy-run (session format 1)");
}

TEST(Session, TruncatedAtAnyByteIsRefused) {
  SessionCache saved;
  fill(saved, 5, {2});
  const auto bytes = write(saved, kPrompt, {1, 2, 3, 4}, "note");
  for (size_t size = 0; size < bytes.size(); ++size) {
    SessionCache cache;
    Restored r = read(std::vector<uint8_t>(bytes.begin(), bytes.begin() + size), cache);
    ASSERT_FALSE(r.ok) << size;
    EXPECT_TRUE(r.why == "truncated" || (size < 8 && r.why == "not a lazyc session file"))
        << size << ": " << r.why;
    EXPECT_EQ(r.reused, 0);
    EXPECT_FALSE(anyState(cache)) << size;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  SessionCache cache;
  EXPECT_EQ(read(longer, cache).why, "malformed (bytes after the checksum)");
}

TEST(Session, AnyFlippedByteIsRefused) {
  SessionCache saved;
  fill(saved, 5, {2});
  const auto bytes = write(saved, kPrompt, {1, 2, 3, 4});
  for (size_t at = 0; at < bytes.size(); ++at) {
    auto damaged = bytes;
    damaged[at] ^= 0x10;
    SessionCache cache;
    Restored r = read(damaged, cache);
    ASSERT_FALSE(r.ok) << "byte " << at;
    EXPECT_FALSE(anyState(cache)) << "byte " << at;
  }
}

TEST(Session, RefusesFilesOfAnotherModel) {
  SessionCache saved;
  fill(saved, 5, {});
  const auto bytes = write(saved, kPrompt);
  auto other = kModel;
  other.identity ^= 1;
  SessionCache cache;
  EXPECT_EQ(read(bytes, cache, kPrompt, other).why,
            "written for another compiled model or other weights");
  SessionCache bf16(1);
  EXPECT_EQ(read(bytes, bf16).why, "written for another compiled model or other weights");
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_EQ(read(text, cache).why, "not a lazyc session file");
}

// Aux Cache rows of another size than the model's (a checksum made to fit):
// the compiled code would read and write rows of its own size in a buffer
// allocated for these (test/fuzz/regressions/session/ holds one such file).
TEST(Session, RefusesAuxCacheRowsOfAnotherSize) {
  SessionCache saved;
  fill(saved, 5, {2});
  saved.get().hidden = 1; // rows of 1 value, the first of each row
  auto bytes = write(saved, kPrompt);
  reseal(bytes);
  SessionCache cache;
  Restored r = read(bytes, cache);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.why, "malformed (Aux Cache rows of 1 values, not 3)");
  EXPECT_EQ(cache.get().aux[0], nullptr); // nothing allocated for them

  // And any rows at all for a model without an Aux Cache (a dense model).
  auto dense = kModel;
  dense.auxHidden = 0;
  SessionCache withRows;
  fill(withRows, 5, {2});
  EXPECT_EQ(read(write(withRows, kPrompt), cache, kPrompt, dense).why,
            "malformed (Aux Cache rows for a model without an Aux Cache)");
}

TEST(Session, RefusesMalformedCounts) {
  SessionCache saved;
  fill(saved, 5, {});
  const auto bytes = write(saved, kPrompt, {1, 2, 3, 4});
  auto patch = [&](size_t at, int64_t value) {
    auto edited = bytes;
    std::memcpy(edited.data() + at, &value, sizeof(value));
    reseal(edited);
    SessionCache cache;
    return read(edited, cache).why;
  };
  // Token count (header[4], at 8 + 8 + 32).
  EXPECT_EQ(patch(48, 9), "malformed (token count 9)");
  EXPECT_EQ(patch(48, -1), "malformed (token count -1)");
  // Logit count (after the 5 tokens).
  EXPECT_EQ(patch(56 + 20, 3), "malformed (3 logits)");
  // Note size (after the 4 logits).
  EXPECT_EQ(patch(56 + 20 + 8 + 16, int64_t(1) << 40), "malformed (a note of 1099511627776 bytes)");
  // A cached flag of 2 (layer 0, position 0; after the empty note).
  auto flag = bytes;
  flag[56 + 20 + 8 + 16 + 8] = 2;
  reseal(flag);
  SessionCache cache;
  EXPECT_EQ(read(flag, cache).why, "malformed (a cached flag of layer 0)");
  // A damaged byte with the checksum left as written.
  auto damaged = bytes;
  damaged[56 + 20 + 8] ^= 1; // a logit
  EXPECT_EQ(read(damaged, cache).why, "damaged (its checksum does not match its contents)");
}

} // namespace
