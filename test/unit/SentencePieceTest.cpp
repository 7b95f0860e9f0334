//===- SentencePieceTest.cpp - tokenizer.model against sentencepiece ------===//
//
// Four SentencePiece models (BPE and Unigram; identity, nmt_nfkc and custom
// rule normalization; with and without byte fallback, dummy prefix and
// whitespace folding; user-defined symbols), trained and run by the
// `sentencepiece` library itself (test/fixtures/make_spm_model_fixtures.py):
// lazyc must give the same ids and decode them to the same text. Then the
// reader's errors on malformed files.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Json.h"
#include "runtime/model/SentencePiece.h"
#include "runtime/model/Tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;

std::string readModel(const std::string &name) {
  std::string bytes, error;
  EXPECT_TRUE(readFile(kFixtures + "/spm-models/" + name, bytes, error)) << error;
  return bytes;
}

std::unique_ptr<Tokenizer> load(const std::string &bytes, std::string &error,
                                 const char *config = "{}", const char *tokenizerConfig = nullptr) {
  auto configJson = JsonValue::parse(config, error);
  std::unique_ptr<JsonValue> tokConfig =
      tokenizerConfig ? JsonValue::parse(tokenizerConfig, error) : nullptr;
  return Tokenizer::fromSentencePiece(bytes, *configJson, tokConfig.get(), error);
}

struct Case {
  std::string model, text, decoded;
  std::vector<int32_t> ids;
};

std::vector<Case> readCases() {
  std::ifstream in(kFixtures + "/spm-models.txt", std::ios::binary);
  std::vector<Case> cases;
  std::string line;
  auto readSized = [&](std::string &out) {
    std::getline(in, line);
    out.resize(std::stoul(line));
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    in.get(); // the newline after it
  };
  while (std::getline(in, line)) {
    Case c;
    c.model = line;
    readSized(c.text);
    std::getline(in, line);
    std::istringstream ids(line);
    for (int32_t id; ids >> id;)
      c.ids.push_back(id);
    readSized(c.decoded);
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(SentencePieceModelTest, MatchesSentencePiece) {
  std::vector<Case> cases = readCases();
  ASSERT_EQ(cases.size(), 44u);
  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  for (const Case &c : cases) {
    std::string error;
    std::unique_ptr<Tokenizer> &tok = tokenizers[c.model];
    if (!tok)
      tok = load(readModel(c.model), error);
    ASSERT_TRUE(tok) << c.model << ": " << error;
    std::vector<int32_t> ids;
    ASSERT_TRUE(tok->encode(c.text, ids, error, /*addBos=*/false)) << error;
    EXPECT_EQ(ids, c.ids) << c.model << ", text: " << c.text;
    // Unigram finds user-defined symbols itself (a bonus makes the lattice
    // prefer them), as sentencepiece does, when they are not split off first.
    if (c.model.rfind("unigram", 0) == 0) {
      ASSERT_TRUE(tok->encode(c.text, ids, error, false, /*parseSpecial=*/false)) << error;
      EXPECT_EQ(ids, c.ids) << c.model << ", text: " << c.text << " (not parsing specials)";
    }
    std::string decoded;
    ASSERT_TRUE(tok->decode(ids, decoded, error)) << error;
    EXPECT_EQ(decoded, c.decoded) << c.model << ", text: " << c.text;
  }
  EXPECT_EQ(tokenizers.size(), 4u);
}

/// A long text (make_spm_model_fixtures.py's long_text()): GPL-3 ten times
/// and a phrase where float path totals would pick other Unigram pieces.
TEST(SentencePieceModelTest, LongTextMatchesSentencePiece) {
  std::string gpl, error;
  if (!readFile("/usr/share/common-licenses/GPL-3", gpl, error))
    GTEST_SKIP() << "no /usr/share/common-licenses/GPL-3 (Debian's base-files)";
  std::string text;
  for (int i = 0; i < 10; ++i)
    text += gpl;
  for (int i = 0; i < 200; ++i)
    text += (i ? " " : "") + std::string("be able to understand those countries");
  std::ifstream in(kFixtures + "/spm-models-long.txt");
  std::string model, hash;
  size_t count, checked = 0;
  while (in >> model >> count >> hash) {
    auto tok = load(readModel(model), error);
    ASSERT_TRUE(tok) << error;
    std::vector<int32_t> ids;
    ASSERT_TRUE(tok->encode(text, ids, error, /*addBos=*/false)) << error;
    uint64_t h = 0xCBF29CE484222325ull; // FNV-1a over the ids' little-endian bytes
    for (int32_t id : ids)
      for (int b = 0; b < 4; ++b)
        h = (h ^ ((static_cast<uint32_t>(id) >> (8 * b)) & 0xFF)) * 0x100000001B3ull;
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
    EXPECT_EQ(ids.size(), count) << model;
    EXPECT_EQ(hex, hash) << model;
    ++checked;
  }
  EXPECT_EQ(checked, 4u);
}

TEST(SentencePieceModelTest, ReadsTheSettings) {
  std::string error;
  auto nfkc = SentencePieceModel::parse(readModel("unigram-nfkc.model"), error);
  ASSERT_TRUE(nfkc) << error;
  EXPECT_EQ(nfkc->type, SentencePieceModel::Type::Unigram);
  EXPECT_EQ(nfkc->pieces.size(), 800u);
  EXPECT_EQ(nfkc->normalizerName, "nmt_nfkc");
  EXPECT_GT(nfkc->charsmap.size(), 100000u);
  EXPECT_TRUE(nfkc->byteFallback && nfkc->addDummyPrefix && nfkc->removeExtraWhitespaces);
  EXPECT_EQ(nfkc->pieces[0].text, "<unk>");
  EXPECT_EQ(nfkc->pieces[0].type, SentencePieceModel::Unknown);
  EXPECT_EQ(nfkc->pieces[3].text, "<0x00>");
  EXPECT_EQ(nfkc->pieces[3].type, SentencePieceModel::Byte);

  auto bpe = SentencePieceModel::parse(readModel("bpe-rules.model"), error);
  ASSERT_TRUE(bpe) << error;
  EXPECT_EQ(bpe->type, SentencePieceModel::Type::BPE);
  EXPECT_FALSE(bpe->byteFallback);
  EXPECT_EQ(bpe->bosId, -1); // a negative int32 is a 10-byte varint
  EXPECT_EQ(bpe->eosId, 1);
  EXPECT_EQ(bpe->unkId, 2);
  EXPECT_EQ(bpe->padId, 0);
  EXPECT_EQ(bpe->normalizerName, "user_defined");

  // BOS/EOS from the model unless config.json names them; add_bos_token.
  auto tok = load(readModel("bpe-rules.model"), error);
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->bos(), -1);
  EXPECT_EQ(tok->eos(), 1);
  EXPECT_FALSE(tok->addBosByDefault());
  tok = load(readModel("bpe-llama.model"), error);
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_TRUE(tok->addBosByDefault());
  tok = load(readModel("bpe-llama.model"), error, R"({"bos_token_id": 2, "eos_token_id": [1, 2]})",
             R"({"add_bos_token": false})");
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->bos(), 2);
  EXPECT_EQ(tok->eos(), 1);
  EXPECT_TRUE(tok->isEndOfGeneration(2));
  EXPECT_FALSE(tok->addBosByDefault());
}

TEST(SentencePieceModelTest, AddedTokensFromTokenizerConfig) {
  std::string error;
  // A piece made special, and two tokens past the model's 1,000 pieces.
  auto tok = load(readModel("bpe-llama.model"), error, "{}",
                  R"({"added_tokens_decoder": {
                        "1000": {"content": "<|user|>", "special": true},
                        "1001": {"content": "<think>", "special": false},
                        "2": {"content": "</s>", "special": true}}})");
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->vocabSize(), 1002);
  std::vector<int32_t> ids;
  ASSERT_TRUE(tok->encode("<|user|>Hello<think></s>", ids, error)) << error;
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 1000);
  EXPECT_EQ(ids[ids.size() - 2], 1001);
  EXPECT_EQ(ids.back(), 2);
  std::string text;
  ASSERT_TRUE(tok->decode(ids, text, error)) << error;
  EXPECT_EQ(text, "Hello<think>"); // special tokens do not decode to text

  EXPECT_FALSE(load(readModel("bpe-llama.model"), error, "{}",
                    R"({"added_tokens_decoder": {"1005": {"content": "<x>"}}})"));
  EXPECT_NE(error.find("added tokens leave id 1000 without a token"), std::string::npos) << error;
  EXPECT_FALSE(load(readModel("bpe-llama.model"), error, "{}",
                    R"({"added_tokens_decoder": {"ten": {"content": "<x>"}}})"));
  EXPECT_NE(error.find("entry 'ten' needs a token id"), std::string::npos) << error;
}

/// Protobuf wire-format writer for the malformed-file cases.
struct Proto {
  std::string bytes;
  Proto &varint(uint64_t v) {
    do {
      bytes += static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
      v >>= 7;
    } while (v);
    return *this;
  }
  Proto &field(uint32_t number, uint32_t wire) { return varint(uint64_t(number) << 3 | wire); }
  Proto &message(uint32_t number, const std::string &body) {
    field(number, 2).varint(body.size());
    bytes += body;
    return *this;
  }
  Proto &number(uint32_t number, uint64_t value) { return field(number, 0).varint(value); }
  Proto &f32(uint32_t number, float value) {
    field(number, 5);
    char raw[4];
    std::memcpy(raw, &value, 4);
    bytes.append(raw, 4);
    return *this;
  }
};

std::string piece(const std::string &text, float score, int type) {
  return Proto().message(1, text).f32(2, score).number(3, type).bytes;
}

TEST(SentencePieceModelTest, RejectsMalformedFiles) {
  const std::string unk = piece("<unk>", 0, 2), a = piece("a", -1, 1);
  const std::string bpe = Proto().number(3, 2).bytes;
  struct Case {
    std::string bytes, message;
  };
  for (const Case &c : std::vector<Case>{
           {"", "it has no pieces"},
           {R"({"model": "json"})", "malformed SentencePiece model"},
           {Proto().message(1, unk).bytes.substr(0, 5), "malformed SentencePiece model"},
           {Proto().message(1, unk).message(1, a).message(1, a).bytes,
            "piece 'a' is defined twice"},
           {Proto().message(1, a).bytes, "no piece has the unknown type"},
           {Proto().message(1, unk).message(1, piece("<unk2>", 0, 2)).bytes,
            "two pieces have the unknown type"},
           {Proto().message(1, unk).message(1, piece("", -1, 1)).bytes, "piece #1 is empty"},
           {Proto().message(1, unk).message(1, piece("b", -1, 9)).bytes,
            "piece #1 ('b') has an unknown type 9"},
           {Proto().message(1, unk).message(1, piece("b", NAN, 1)).bytes,
            "piece #1 ('b') has a score that is not a finite number"},
           {Proto().message(1, unk).message(1, Proto().number(1, 5).bytes).bytes,
            "malformed piece (field 1 is truncated or has the wrong wire type)"},
           {Proto().message(1, unk).field(4, 3).bytes, "malformed SentencePiece model"},
           {Proto().message(1, unk).message(3, Proto().message(2, "\x08").bytes).bytes,
            "precompiled_charsmap is truncated"},
           {Proto()
                .message(1, unk)
                .message(3, Proto().message(2, std::string("\x10\0\0\0abc", 7)).bytes)
                .bytes,
            "precompiled_charsmap has a trie of 16 bytes in a blob of 7"},
           {Proto().message(1, unk).message(2, Proto().number(3, 3).bytes).bytes,
            "a SentencePiece word model (model_type 3): lazyc reads BPE and Unigram models"},
           {Proto().message(1, unk).message(2, bpe + Proto().number(24, 1).bytes).bytes,
            "treat_whitespace_as_suffix is not supported"}}) {
    std::string error;
    EXPECT_FALSE(load(c.bytes, error)) << c.message;
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
    EXPECT_EQ(error.rfind("tokenizer.model: ", 0), 0u) << error;
  }
  // A minimal valid model: <unk> and "a", BPE; unknown characters merge.
  std::string error;
  auto tok = load(Proto().message(1, unk).message(1, a).message(2, bpe).bytes, error);
  ASSERT_TRUE(tok) << error;
  std::vector<int32_t> ids;
  ASSERT_TRUE(tok->encode("aa bcd a", ids, error)) << error;
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 1, 0, 1})); // "▁" is unknown too
}

TEST(SentencePieceModelTest, TruncatedFilesFailCleanly) {
  // Every prefix of a real model either parses (a prefix that ends between
  // pieces) or fails with an error; none crashes.
  std::string bytes = readModel("unigram-rules.model");
  size_t parsed = 0;
  for (size_t n = 0; n < bytes.size(); n += 7) {
    std::string error;
    if (load(bytes.substr(0, n), error))
      ++parsed;
    else
      EXPECT_FALSE(error.empty());
  }
  EXPECT_LT(parsed, bytes.size() / 7);
}

} // namespace
