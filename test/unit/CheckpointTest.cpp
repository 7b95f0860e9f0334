//===- CheckpointTest.cpp - JSON, safetensors, HF checkpoints --------------===//

#include "runtime/model/Json.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/Tokenizer.h"
#include "test/unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace lazyc::rt;
using lazyc::test::checksum;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;
const std::string kCheckpoint = kFixtures + "/tiny-llama-hf";

TEST(JsonTest, ParsesDocuments) {
  std::string error;
  auto v = JsonValue::parse(R"({"a": [1, 2.5, -3e2], "s": "x\u00e9\ud83d\ude42\n", "t": true,
                               "n": null, "o": {"k": "v"}})", error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(v->get("a")->array().size(), 3u);
  EXPECT_EQ(v->get("a")->array()[2].number(), -300.0);
  EXPECT_EQ(v->get("a")->array()[1].integer(), std::nullopt);
  EXPECT_EQ(v->getString("s"), "x\xc3\xa9\xf0\x9f\x99\x82\n");
  EXPECT_EQ(v->getBool("t"), true);
  EXPECT_TRUE(v->get("n")->isNull());
  EXPECT_EQ(v->get("o")->getString("k"), "v");
}

/// jsonEscape writes valid JSON text for any bytes: generated text can end
/// inside a UTF-8 character (lazy-run --json's "text").
TEST(JsonTest, EscapesToValidUtf8) {
  const std::string bad = "\\ufffd";
  EXPECT_EQ(jsonEscape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
  // Python's json.dumps spelling (the chat templates' tojson).
  EXPECT_EQ(jsonEscape("a\"b\\c\n\t\r\b\f\x01", true), "a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001");
  const std::string valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(jsonEscape(valid), valid);
  EXPECT_EQ(jsonEscape("\xc2\xe4pt"), bad + bad + "pt"); // lead bytes without continuations
  EXPECT_EQ(jsonEscape("x\xe2\x82"), "x" + bad + bad);   // cut inside a character
  EXPECT_EQ(jsonEscape("\xc0\xaf"), bad + bad);          // overlong
  EXPECT_EQ(jsonEscape("\xed\xa0\x80"), bad + bad + bad); // a surrogate
  EXPECT_EQ(jsonEscape("\xf4\x90\x80\x80"), bad + bad + bad + bad); // past U+10FFFF
  std::string error;
  auto parsed = JsonValue::parse("\"" + jsonEscape("ok\xff") + "\"", error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->string(), "ok\xef\xbf\xbd");
}

TEST(JsonTest, RejectsMalformedDocuments) {
  for (const char *bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "\"\\x\"", "01x",
                          "{} {}", "\"\\ud800\"", "\"a\x01\"", "[\"\xff\"]"}) {
    std::string error;
    EXPECT_FALSE(JsonValue::parse(bad, error)) << bad;
    EXPECT_NE(error.find("JSON error at byte"), std::string::npos) << bad;
  }
  std::string deep(1000, '['), error;
  EXPECT_FALSE(JsonValue::parse(deep, error));
  EXPECT_NE(error.find("nesting deeper than"), std::string::npos);
}

TEST(CheckpointTest, ReadsShardedTinyLlama) {
  std::string error;
  ASSERT_TRUE(isHFCheckpoint(kCheckpoint));
  auto ckpt = HFCheckpoint::open(kCheckpoint, error);
  ASSERT_TRUE(ckpt) << error;
  EXPECT_EQ(ckpt->numTensors(), 2u + 2 * 9 + 1);
  EXPECT_EQ(ckpt->config().getInt("num_hidden_layers"), 2);
  std::ifstream in(kFixtures + "/safetensors-expected.txt");
  std::string name, hex;
  uint64_t count;
  int checked = 0;
  while (in >> name >> count >> hex) {
    const SafetensorsTensor *t = ckpt->findTensor(name);
    ASSERT_TRUE(t) << name;
    ASSERT_EQ(t->numElements, count);
    std::vector<float> values(count);
    ASSERT_TRUE(dequantize(t->type, t->data, values.data(), count));
    EXPECT_EQ(checksum(values), std::stoull(hex, nullptr, 16)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 21);
  const SafetensorsTensor *q = ckpt->findTensor("model.layers.1.self_attn.q_proj.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type, GGMLType::F16);
  EXPECT_EQ(q->shape, (std::vector<uint64_t>{64, 64}));
}

TEST(CheckpointTest, TokenizerJsonMatchesHuggingFace) {
  std::string error;
  auto ckpt = HFCheckpoint::open(kCheckpoint, error);
  ASSERT_TRUE(ckpt && ckpt->tokenizer()) << error;
  auto tok = Tokenizer::fromHFJson(*ckpt->tokenizer(), ckpt->config(), error);
  ASSERT_TRUE(tok) << error;
  EXPECT_EQ(tok->vocabSize(), 600);
  int cases = 0;
  for (const auto &c : lazyc::test::readTokenizerCases(kFixtures + "/tokenizer-tiny-hf.txt")) {
    std::vector<int32_t> ids;
    ASSERT_TRUE(tok->encode(c.text, ids, error)) << error;
    EXPECT_EQ(ids, c.ids) << c.text.substr(0, 60);
    std::string decoded;
    ASSERT_TRUE(tok->decode(ids, decoded, error));
    EXPECT_EQ(decoded, c.text);
    ++cases;
  }
  EXPECT_EQ(cases, 6);
}

std::vector<uint8_t> image(const std::string &header, size_t dataBytes) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + dataBytes);
  return out;
}

std::string parseError(const std::vector<uint8_t> &bytes) {
  std::string error;
  EXPECT_FALSE(SafetensorsFile::parse(bytes.data(), bytes.size(), error));
  return error;
}

TEST(SafetensorsHostileTest, EveryMalformationIsAnError) {
  EXPECT_NE(parseError({1, 2, 3}).find("shorter than its 8-byte header"), std::string::npos);
  auto huge = image("{}", 0);
  huge[7] = 0x7f;
  EXPECT_NE(parseError(huge).find("header length"), std::string::npos);
  EXPECT_NE(parseError(image("{\"a\": ", 0)).find("JSON error"), std::string::npos);
  EXPECT_NE(parseError(image("[1]", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 8))
                .find("unsupported dtype I64"),
            std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}})", 16))
                .find("outside the file's data"),
            std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})", 16))
                .find("has 8 data bytes but its shape needs 16"),
            std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})", 0))
                .find("invalid or absurd shape"),
            std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", 0))
                .find("invalid or absurd shape"),
            std::string::npos);
  EXPECT_NE(parseError(image(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                 "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 4))
                .find("listed twice"),
            std::string::npos);
  std::string error;
  EXPECT_FALSE(HFCheckpoint::open("/nonexistent", error));
  EXPECT_NE(error.find("cannot open '/nonexistent/config.json'"), std::string::npos) << error;
}

} // namespace
