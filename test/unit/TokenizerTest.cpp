//===- TokenizerTest.cpp - tokenizers against their reference fixtures ----===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Json.h"
#include "runtime/model/Tokenizer.h"
#include "runtime/model/Unicode.h"
#include "test/unit/TestUtil.h"

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <sstream>

using namespace lazyc::rt;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;
const std::string kModel = LAZYC_MODEL_PATH;

using Case = lazyc::test::TokenizerCase;

std::vector<Case> readCases(const std::string &name) {
  return lazyc::test::readTokenizerCases(kFixtures + "/" + name);
}

/// Encodes every case, compares with the reference ids, and checks that the
/// ids decode back to the text.
void expectMatches(const Tokenizer &tokenizer, const std::vector<Case> &cases) {
  for (const Case &c : cases) {
    std::vector<int32_t> ids;
    std::string error, decoded;
    ASSERT_TRUE(tokenizer.encode(c.text, ids, error)) << error;
    EXPECT_EQ(ids, c.ids) << "text: " << c.text.substr(0, 80);
    ASSERT_TRUE(tokenizer.decode(ids, decoded, error)) << error;
    EXPECT_EQ(decoded, c.text);
  }
}

class TokenizerTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!std::ifstream(kModel).good())
      GTEST_SKIP() << "model not downloaded (scripts/setup.sh): " << kModel;
    std::string error;
    file = GGUFFile::open(kModel, error);
    ASSERT_TRUE(file) << error;
    tokenizer = Tokenizer::fromGGUF(*file, error);
    ASSERT_TRUE(tokenizer) << error;
  }
  std::unique_ptr<GGUFFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
};

TEST_F(TokenizerTest, MatchesHuggingFaceFixtures) {
  std::vector<Case> cases = readCases("tokenizer-smollm2.txt");
  ASSERT_EQ(cases.size(), 13u);
  expectMatches(*tokenizer, cases);
}

TEST_F(TokenizerTest, SpecialTokensAndIds) {
  EXPECT_EQ(tokenizer->vocabSize(), 49152);
  EXPECT_EQ(tokenizer->bos(), 1);
  EXPECT_EQ(tokenizer->eos(), 2);
  EXPECT_TRUE(tokenizer->isEndOfGeneration(2));
  EXPECT_TRUE(tokenizer->isEndOfGeneration(2)); // <|im_end|> is also eos here
  std::vector<int32_t> ids;
  std::string error;
  ASSERT_TRUE(tokenizer->encode("<|im_start|>", ids, error));
  EXPECT_EQ(ids, std::vector<int32_t>{1});
  // Without special-token parsing the same text is ordinary bytes.
  ASSERT_TRUE(tokenizer->encode("<|im_start|>", ids, error, false, false));
  EXPECT_GT(ids.size(), 1u);
  ASSERT_TRUE(tokenizer->encode("hi", ids, error, /*addBos=*/true));
  EXPECT_EQ(ids.front(), 1);
}

TEST_F(TokenizerTest, RejectsInvalidUtf8) {
  std::vector<int32_t> ids;
  std::string error;
  for (std::string bad : {std::string("abc\xff"), std::string("\xc3"),
                          std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                          std::string("\xf4\x90\x80\x80")}) {
    EXPECT_FALSE(tokenizer->encode(bad, ids, error));
    EXPECT_NE(error.find("UTF-8"), std::string::npos) << error;
  }
}

TEST_F(TokenizerTest, RejectsOutOfRangeIds) {
  std::string text, error;
  EXPECT_FALSE(tokenizer->decode({5, 49152}, text, error));
  EXPECT_NE(error.find("token id 49152 is outside the vocabulary"), std::string::npos);
  EXPECT_FALSE(tokenizer->decode({-1}, text, error));
}

TEST_F(TokenizerTest, ChatMLTemplate) {
  std::string out, error;
  ASSERT_TRUE(tokenizer->applyChatTemplate({{"user", "Hi"}}, true, out, error)) << error;
  EXPECT_EQ(out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
            "Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  ASSERT_TRUE(tokenizer->applyChatTemplate({{"system", "Be brief."}, {"user", "Hi"}}, false,
                                           out, error));
  EXPECT_EQ(out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_FALSE(tokenizer->applyChatTemplate({{"robot", "x"}}, true, out, error));
  EXPECT_NE(error.find("unknown chat role 'robot'"), std::string::npos);
}

/// A Llama-2-style SentencePiece BPE vocabulary trained by the sentencepiece
/// library; ids compared with what that library produces.
TEST(SentencePieceTest, MatchesSentencePieceFixtures) {
  std::string error;
  auto file = GGUFFile::open(kFixtures + "/spm-tiny.gguf", error);
  ASSERT_TRUE(file) << error;
  auto tokenizer = Tokenizer::fromGGUF(*file, error);
  ASSERT_TRUE(tokenizer) << error;
  EXPECT_TRUE(tokenizer->addBosByDefault());
  std::vector<Case> cases = readCases("tokenizer-spm.txt");
  ASSERT_EQ(cases.size(), 8u);
  for (const Case &c : cases) {
    std::vector<int32_t> ids;
    ASSERT_TRUE(tokenizer->encode(c.text, ids, error)) << error;
    EXPECT_EQ(ids, c.ids) << "text: " << c.text.substr(0, 80);
    std::string decoded;
    ASSERT_TRUE(tokenizer->decode(ids, decoded, error)) << error;
    EXPECT_EQ(decoded, c.text);
    // With BOS the ids gain a leading 1 and still decode to the text.
    ASSERT_TRUE(tokenizer->encode(c.text, ids, error, /*addBos=*/true));
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), 1);
    ASSERT_TRUE(tokenizer->decode(ids, decoded, error));
    EXPECT_EQ(decoded, c.text);
  }
}

/// Byte-level BPE with the Llama 3, Qwen2, Tekken and o200k split regexes,
/// and Falcon's pre-tokenizer sequence, trained by Hugging Face `tokenizers`;
/// ids compared with what that library produces (Tekken's: case changes in
/// Latin, Greek and titlecase letters, combining marks, modifier letters,
/// slashes; o200k's: contractions after words of either case, digit groups;
/// Falcon's: punctuation runs, digit groups, bytes that map to numeric
/// characters).
class SplitRegexTest : public ::testing::TestWithParam<const char *> {};

TEST_P(SplitRegexTest, MatchesHuggingFaceFixtures) {
  std::string stem = GetParam(), error;
  auto file = GGUFFile::open(kFixtures + "/" + stem + "-tiny.gguf", error);
  ASSERT_TRUE(file) << error;
  auto tokenizer = Tokenizer::fromGGUF(*file, error);
  ASSERT_TRUE(tokenizer) << error;
  std::vector<Case> cases = readCases("tokenizer-" + stem + ".txt");
  ASSERT_EQ(cases.size(), stem == "tekken" ? 12u : stem == "o200k" ? 14u : stem == "falcon" ? 11u : 9u);
  expectMatches(*tokenizer, cases);
}

TEST_P(SplitRegexTest, TokenizerJsonMatchesToo) {
  std::string stem = GetParam(), error, text;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-" + stem + ".json", text, error)) << error;
  auto json = JsonValue::parse(text, error);
  ASSERT_TRUE(json) << error;
  auto config = JsonValue::parse("{}", error);
  auto tokenizer = Tokenizer::fromHFJson(*json, *config, error);
  ASSERT_TRUE(tokenizer) << error;
  expectMatches(*tokenizer, readCases("tokenizer-" + stem + ".txt"));
}

/// tokenizer.json's NFC normalizer (Qwen2's, GPT-NeoX's): decomposed
/// letters, marks out of canonical order, Hangul jamo, singletons, a
/// composition exclusion, a mark after a special token (the text between
/// special tokens is normalized, not across them) tokenize as Hugging Face
/// `tokenizers` does (make_bpe_split_fixtures.py); without the normalizer
/// they would not.
TEST(NFCTest, TokenizerJsonNormalizesAsTokenizers) {
  std::string error, text;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-qwen2-nfc.json", text, error)) << error;
  auto json = JsonValue::parse(text, error);
  ASSERT_TRUE(json) << error;
  auto config = JsonValue::parse("{}", error);
  auto tokenizer = Tokenizer::fromHFJson(*json, *config, error);
  ASSERT_TRUE(tokenizer) << error;
  std::vector<Case> cases = readCases("tokenizer-qwen2-nfc.txt");
  ASSERT_EQ(cases.size(), 12u);
  for (const Case &c : cases) {
    std::vector<int32_t> ids;
    ASSERT_TRUE(tokenizer->encode(c.text, ids, error, /*addBos=*/false)) << error;
    EXPECT_EQ(ids, c.ids) << c.text;
  }
  // The same file with no normalizer (an empty Sequence) splits the
  // decomposed texts otherwise.
  const std::string nfc = "\"type\": \"NFC\"";
  ASSERT_NE(text.find(nfc), std::string::npos);
  std::string plain = text;
  plain.replace(plain.find(nfc), nfc.size(), "\"type\": \"Sequence\", \"normalizers\": []");
  auto plainJson = JsonValue::parse(plain, error);
  ASSERT_TRUE(plainJson) << error;
  auto unnormalized = Tokenizer::fromHFJson(*plainJson, *config, error);
  ASSERT_TRUE(unnormalized) << error;
  std::vector<int32_t> ids;
  ASSERT_TRUE(unnormalized->encode(cases[8].text, ids, error, false)) << error;
  EXPECT_NE(ids, cases[8].ids);
  // Another normalizer in a byte-level tokenizer is refused, not ignored.
  std::string nfkc = text;
  nfkc.replace(nfkc.find(nfc), nfc.size(), "\"type\": \"NFKC\"");
  auto nfkcJson = JsonValue::parse(nfkc, error);
  ASSERT_TRUE(nfkcJson) << error;
  EXPECT_FALSE(Tokenizer::fromHFJson(*nfkcJson, *config, error));
  EXPECT_EQ(error, "tokenizer.json: unsupported normalizer step 'NFKC' in a byte-level "
                   "tokenizer (lazyc applies NFC)");
}

/// NFC itself against Python's unicodedata (Unicode 14): composition,
/// canonical reordering before it, blocking, Hangul, singletons, exclusions.
TEST(NFCTest, MatchesUnicodedata) {
  namespace uc = lazyc::rt::unicode;
  struct Pair {
    std::vector<uint32_t> in, want;
  };
  for (const Pair &p : std::vector<Pair>{
           {{'e', 0x301}, {0xE9}},
           {{'a', 0x302, 0x323}, {0x1EAD}},            // reordered: a + dot below, then ^
           {{'q', 0x307, 0x323}, {'q', 0x323, 0x307}}, // reordered, nothing composes
           {{0x1100, 0x1161, 0x11A8}, {0xAC01}},       // jamo -> syllable
           {{0xAC00, 0x11A8}, {0xAC01}},               // LV + T
           {{0x212B}, {0xC5}},                         // Angstrom sign -> A ring
           {{0x2126}, {0x3A9}},                        // Ohm sign -> Omega
           {{0x958}, {0x915, 0x93C}},                  // excluded from composition
           {{0x1F71}, {0x3AC}},                        // Greek oxia -> tonos
           {{'e', 0x301, 0x301}, {0xE9, 0x301}},       // the second acute is blocked
           {{0x301, 'x'}, {0x301, 'x'}},               // a leading mark stays
           {{0xB47, 0xB3E}, {0xB4B}},                  // two starters compose
       }) {
    std::vector<uint32_t> out;
    const bool changed = uc::toNFC(p.in, out);
    EXPECT_EQ(changed ? out : p.in, p.want);
    EXPECT_EQ(changed, p.in != p.want);
  }
  std::vector<uint32_t> out;
  EXPECT_FALSE(uc::toNFC({'c', 'a', 'f', 0xE9, ' ', 0x2FF}, out)); // below U+0300: as is
}

/// GLM-4's GGUF pre-tokenizer names ("glm4", "chatglm-bpe"): Llama 3's split
/// (llama.cpp's CHATGLM4 regex) and no BOS even where add_bos_token says so,
/// as llama.cpp (its chat template writes [gMASK]<sop>).
TEST(SplitRegexGlm4Test, SplitsAsLlama3WithoutBos) {
  std::string error;
  auto file = GGUFFile::open(kFixtures + "/glm4-tiny.gguf", error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->getString("tokenizer.ggml.pre").value_or(""), "glm4");
  auto tokenizer = Tokenizer::fromGGUF(*file, error);
  ASSERT_TRUE(tokenizer) << error;
  EXPECT_FALSE(tokenizer->addBosByDefault());
  expectMatches(*tokenizer, readCases("tokenizer-llama3.txt"));
}

INSTANTIATE_TEST_SUITE_P(Llama3Qwen2TekkenAndO200K, SplitRegexTest,
                         ::testing::Values("llama3", "qwen2", "tekken", "o200k", "falcon"));

/// SentencePiece-style tokenizer.json files (Llama 2, Mistral, Gemma
/// checkpoints) in the four spellings transformers writes
/// (test/fixtures/make_hf_spm_fixtures.py); ids and decoded text compared
/// with what Hugging Face `tokenizers` produces.
class HFSentencePieceTest : public ::testing::TestWithParam<const char *> {
protected:
  std::unique_ptr<Tokenizer> load(const std::string &jsonText, std::string &error) {
    auto json = JsonValue::parse(jsonText, error);
    auto config = JsonValue::parse(R"({"bos_token_id": 1, "eos_token_id": 2})", error);
    if (!json || !config)
      return nullptr;
    return Tokenizer::fromHFJson(*json, *config, error);
  }
};

TEST_P(HFSentencePieceTest, MatchesTokenizersFixtures) {
  std::string stem = GetParam(), error, text;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-spm-" + stem + ".json", text, error)) << error;
  auto tokenizer = load(text, error);
  ASSERT_TRUE(tokenizer) << error;
  EXPECT_TRUE(tokenizer->addBosByDefault()); // the TemplateProcessing post-processor
  EXPECT_EQ(tokenizer->bos(), 1);
  std::vector<Case> cases = readCases("tokenizer-spm-" + stem + ".txt");
  std::vector<Case> decodedCases = readCases("tokenizer-spm-" + stem + "-decoded.txt");
  ASSERT_EQ(cases.size(), 11u);
  ASSERT_EQ(decodedCases.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<int32_t> ids;
    ASSERT_TRUE(tokenizer->encode(cases[i].text, ids, error)) << error;
    EXPECT_EQ(ids, cases[i].ids) << stem << ", text: " << cases[i].text.substr(0, 80);
    std::string decoded;
    ASSERT_TRUE(tokenizer->decode(decodedCases[i].ids, decoded, error)) << error;
    EXPECT_EQ(decoded, decodedCases[i].text) << stem;
  }
  // The characters of the "Ünïcödé" case other than ASCII have no piece:
  // each UTF-8 byte is its <0xXX> token.
  std::vector<int32_t> ids;
  ASSERT_TRUE(tokenizer->encode("\xF0\x9F\x99\x82", ids, error)) << error;
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(tokenizer->tokenText(ids.back()), "\x82");
}

/// Without byte fallback, unknown characters are <unk>: one per character,
/// or one per run with fuse_unk. Expected ids: Hugging Face `tokenizers`
/// 0.23.3 on tokenizer-spm-legacy.json with byte_fallback false and fuse_unk
/// true / false, encode("ab 日本語 x🙂🙂 y", add_special_tokens=False).
TEST_F(HFSentencePieceTest, FuseUnk) {
  std::string json, error;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-spm-legacy.json", json, error)) << error;
  const std::string from = R"("fuse_unk": true, "byte_fallback": true)";
  size_t at = json.find(from);
  ASSERT_NE(at, std::string::npos);
  for (bool fuse : {true, false}) {
    std::string changed = json;
    changed.replace(at, from.size(), std::string(R"("fuse_unk": )") + (fuse ? "true" : "false") +
                                         R"(, "byte_fallback": false)");
    auto tokenizer = load(changed, error);
    ASSERT_TRUE(tokenizer) << error;
    std::vector<int32_t> ids;
    ASSERT_TRUE(tokenizer->encode("ab \u65e5\u672c\u8a9e x\U0001F642\U0001F642 y", ids, error))
        << error;
    const std::vector<int32_t> fused = {828, 925, 0, 925, 965, 0, 294},
                               each = {828, 925, 0, 0, 0, 925, 965, 0, 0, 294};
    EXPECT_EQ(ids, fuse ? fused : each);
  }
}

INSTANTIATE_TEST_SUITE_P(Spellings, HFSentencePieceTest,
                         ::testing::Values("legacy", "metaspace", "always", "gemma"));

TEST_F(HFSentencePieceTest, RefusesWhatItDoesNotRead) {
  std::string text, error;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-spm-legacy.json", text, error)) << error;
  auto replace = [&](const std::string &from, const std::string &to) {
    std::string out = text;
    size_t at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? out : out.replace(at, from.size(), to);
  };
  struct Case {
    std::string from, to, message;
  };
  for (const Case &c : std::vector<Case>{
           {R"({"type": "Prepend", "prepend": "▁"})", R"({"type": "NFKC"})",
            "unsupported normalizer step 'NFKC' in a SentencePiece-style tokenizer"},
           {R"("pre_tokenizer": null)",
            R"("pre_tokenizer": {"type": "Metaspace", "replacement": "▁"})",
            "unsupported pre-tokenizer step 'Metaspace'"},
           {R"("normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, )"
            R"({"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})",
            R"("normalizer": null, "x": 0)", "neither byte-level BPE"},
           {R"("type": "BPE")", R"("type": "Unigram")", "unsupported model type 'Unigram'"}}) {
    std::string changed = replace(c.from, c.to);
    if (c.message == "neither byte-level BPE") // no byte fallback either
      changed = changed.replace(changed.find(R"("byte_fallback": true)"), 21,
                                R"("byte_fallback": false)");
    EXPECT_FALSE(load(changed, error)) << c.to;
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
  // A Metaspace prepend scheme tokenizers never wrote.
  std::string meta;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-spm-metaspace.json", meta, error)) << error;
  meta.replace(meta.find(R"("first")"), 7, R"("sometimes")");
  EXPECT_FALSE(load(meta, error));
  EXPECT_NE(error.find("unknown Metaspace prepend_scheme 'sometimes'"), std::string::npos)
      << error;
}

/// Chat templates rendered by lazyc's Jinja interpreter against transformers'
/// renderer (jinja2; test/fixtures/make_chat_fixtures.py), three
/// conversations each: Llama 3 Instruct (3.0, and 3.1/3.2 with their system
/// block of knowledge cutoff and date), Qwen2.5's (ChatML with a default
/// system prompt), Gemma 3's, the Llama 2 chat and Mistral Instruct formats, Phi-4-mini's,
/// a template exercising the interpreter's constructs, and gpt-oss's (harmony).
TEST(ChatTemplateTest, MatchesTransformers) {
  std::string error, text;
  auto file = GGUFFile::open(kFixtures + "/llama3-tiny.gguf", error);
  ASSERT_TRUE(file) << error;
  auto tokenizer = Tokenizer::fromGGUF(*file, error);
  ASSERT_TRUE(tokenizer) << error;
  const std::string dir = kFixtures + "/chat-templates/";
  ASSERT_TRUE(readFile(dir + "expected.json", text, error)) << error;
  auto cases = JsonValue::parse(text, error);
  ASSERT_TRUE(cases && cases->isArray()) << error;
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  int checked = 0;
  for (const JsonValue &c : cases->array()) {
    std::string name = c.getString("template").value_or(""), chatTemplate;
    ASSERT_TRUE(readFile(dir + name, chatTemplate, error)) << error;
    tokenizer->setChatTemplate(chatTemplate);
    std::vector<ChatMessage> messages;
    for (const JsonValue &m : c.get("messages")->array())
      messages.push_back({m.getString("role").value_or(""), m.getString("content").value_or("")});
    std::string want = c.getString("text").value_or("");
    // strftime_now(FORMAT), rendered as "@TODAY:FORMAT@": today's date.
    if (size_t at = want.find("@TODAY:"); at != std::string::npos) {
      const size_t end = want.find('@', at + 7);
      ASSERT_NE(end, std::string::npos);
      char today[64];
      ASSERT_GT(std::strftime(today, sizeof(today), want.substr(at + 7, end - at - 7).c_str(),
                              &local),
                0u);
      want.replace(at, end + 1 - at, today);
    }
    // The template's bos_token: the tokenizer's own.
    std::string bos = c.getString("bos_token").value_or("");
    ASSERT_EQ(want.compare(0, bos.size(), bos), 0);
    if (!bos.empty())
      want = tokenizer->tokenText(tokenizer->bos()) + want.substr(bos.size());
    std::string out;
    ASSERT_TRUE(tokenizer->applyChatTemplate(messages, c.getBool("add_generation_prompt").value_or(false),
                                             out, error))
        << error;
    EXPECT_EQ(out, want) << name << " conversation " << checked % 3;
    ++checked;
  }
  EXPECT_EQ(checked, 30);
  std::string out;
  tokenizer->setChatTemplate("");
  EXPECT_FALSE(tokenizer->applyChatTemplate({{"user", "Hi"}}, true, out, error));
  EXPECT_EQ(error, "the model has no chat template");
  tokenizer->setChatTemplate("{% for m in messages %}{{ m.content | nosuchfilter }}{% endfor %}");
  EXPECT_FALSE(tokenizer->applyChatTemplate({{"user", "Hi"}}, true, out, error));
  EXPECT_EQ(error, "chat template line 1: unknown filter 'nosuchfilter'");
  // Gemma's template raises unless the turns alternate from the user's.
  std::string gemma;
  ASSERT_TRUE(readFile(dir + "gemma-3.jinja", gemma, error)) << error;
  tokenizer->setChatTemplate(gemma);
  EXPECT_FALSE(tokenizer->applyChatTemplate({{"system", "S"}, {"assistant", "A"}}, true, out,
                                            error));
  EXPECT_NE(error.find("alternate user/assistant"), std::string::npos) << error;
  EXPECT_FALSE(
      tokenizer->applyChatTemplate({{"user", "A"}, {"user", "B"}}, true, out, error));
  EXPECT_EQ(error, "the chat template raised an error: Conversation roles must alternate "
                   "user/assistant/user/assistant/...");
}

/// A Hugging Face tokenizer.json whose post-processor puts BOS first (Llama 3
/// checkpoints) makes the encoder add it, as `tokenizers` does.
TEST(ChatTemplateTest, PostProcessorBosIsAdded) {
  std::string text, error;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-llama3.json", text, error)) << error;
  auto config = JsonValue::parse(R"({"bos_token_id": 0})", error);
  auto plain = JsonValue::parse(text, error);
  ASSERT_TRUE(plain) << error;
  auto noBos = Tokenizer::fromHFJson(*plain, *config, error);
  ASSERT_TRUE(noBos) << error;
  EXPECT_FALSE(noBos->addBosByDefault()); // post_processor null
  const std::string step =
      R"({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>",)"
      R"( "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]})";
  for (const std::string &post :
       {step, R"({"type": "Sequence", "processors": [{"type": "ByteLevel"}, )" + step + "]}"}) {
    std::string withPost = text;
    size_t at = withPost.find("\"post_processor\": null");
    ASSERT_NE(at, std::string::npos);
    withPost.replace(at, 22, "\"post_processor\": " + post);
    auto json = JsonValue::parse(withPost, error);
    ASSERT_TRUE(json) << error;
    auto tok = Tokenizer::fromHFJson(*json, *config, error);
    ASSERT_TRUE(tok) << error;
    EXPECT_TRUE(tok->addBosByDefault()) << post;
    EXPECT_EQ(tok->tokenText(tok->bos()), "<|begin_of_text|>");
  }
}

/// A config.json `eos_token_id` list (Llama 3.1 Instruct's three ids, GLM-4's
/// <|endoftext|>, <|user|>, <|observation|>): generation stops at each of its
/// ids, as transformers' generate does; eos() is the first.
TEST(ChatTemplateTest, EosTokenIdListStopsAtEach) {
  std::string text, error;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-llama3.json", text, error)) << error;
  auto json = JsonValue::parse(text, error);
  ASSERT_TRUE(json) << error;
  auto single = JsonValue::parse(R"({"eos_token_id": 5})", error);
  auto list = JsonValue::parse(R"({"eos_token_id": [7, 5, 900000, -1, 1.5]})", error);
  auto one = Tokenizer::fromHFJson(*json, *single, error);
  auto many = Tokenizer::fromHFJson(*json, *list, error);
  ASSERT_TRUE(one && many) << error;
  EXPECT_EQ(one->eos(), 5);
  EXPECT_TRUE(one->isEndOfGeneration(5));
  EXPECT_FALSE(one->isEndOfGeneration(7));
  EXPECT_EQ(many->eos(), 7); // out-of-range and non-integer entries ignored
  EXPECT_TRUE(many->isEndOfGeneration(7));
  EXPECT_TRUE(many->isEndOfGeneration(5));
  EXPECT_FALSE(many->isEndOfGeneration(6));
  EXPECT_FALSE(many->isEndOfGeneration(-1));
}

/// gpt-oss's harmony vocabulary: <|end|> closes every message (the reasoning
/// before the answer too), so a turn ends at <|return|> or <|call|>, not at
/// <|end|> (Phi-3's end of turn in a vocabulary without the other two).
TEST(ChatTemplateTest, HarmonyTurnsEndAtReturnOrCall) {
  std::string text, error;
  ASSERT_TRUE(readFile(kFixtures + "/tokenizer-llama3.json", text, error)) << error;
  // (Llama 3's <|eot_id|> renamed: <|end|> would be the vocabulary's end of turn.)
  text.replace(text.find("<|eot_id|>"), 10, "<|eot_xx|>");
  auto withTokens = [&](const std::vector<std::pair<int, std::string>> &added) {
    std::string json = text, entries;
    for (const auto &[id, content] : added)
      entries += R"({"id": )" + std::to_string(id) + R"(, "content": ")" + content +
                 R"(", "single_word": false, "lstrip": false, "rstrip": false, )"
                 R"("normalized": false, "special": true}, )";
    const size_t at = json.find("\"added_tokens\": [");
    EXPECT_NE(at, std::string::npos);
    json.insert(at + std::string("\"added_tokens\": [").size(), entries);
    return JsonValue::parse(json, error);
  };
  auto config = JsonValue::parse(R"({"eos_token_id": 802})", error);
  auto harmony = withTokens({{800, "<|end|>"}, {801, "<|call|>"}, {802, "<|return|>"}});
  auto phi = withTokens({{800, "<|end|>"}});
  ASSERT_TRUE(config && harmony && phi) << error;
  auto oss = Tokenizer::fromHFJson(*harmony, *config, error);
  ASSERT_TRUE(oss) << error;
  EXPECT_FALSE(oss->isEndOfGeneration(800));
  EXPECT_TRUE(oss->isEndOfGeneration(801));
  EXPECT_TRUE(oss->isEndOfGeneration(802));
  // Without a config's eos_token_id: <|return|> ends the turn all the same.
  auto noEos = JsonValue::parse("{}", error);
  auto bare = Tokenizer::fromHFJson(*harmony, *noEos, error);
  ASSERT_TRUE(bare) << error;
  EXPECT_FALSE(bare->isEndOfGeneration(800));
  EXPECT_TRUE(bare->isEndOfGeneration(801));
  EXPECT_TRUE(bare->isEndOfGeneration(802));
  auto phi3 = Tokenizer::fromHFJson(*phi, *noEos, error);
  ASSERT_TRUE(phi3) << error;
  EXPECT_TRUE(phi3->isEndOfGeneration(800));
}

TEST(TokenizerErrorsTest, UnsupportedOrMissingTokenizer) {
  std::string error;
  auto file = GGUFFile::open(kFixtures + "/quant-types.gguf", error);
  ASSERT_TRUE(file) << error;
  EXPECT_FALSE(Tokenizer::fromGGUF(*file, error));
  EXPECT_NE(error.find("tokenizer.ggml.model missing"), std::string::npos) << error;
}

} // namespace
