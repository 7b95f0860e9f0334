//===- GGUFTest.cpp - GGUF reader, dequantization, hostile input ----------===//

#include "runtime/model/GGUF.h"
#include "runtime/model/Quant.h"
#include "test/unit/GGUFBuilder.h"
#include "test/unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace lazyc::rt;
using lazyc::test::checksum;
using lazyc::test::ImageBuilder;

namespace {

const std::string kFixtures = LAZYC_FIXTURES_DIR;
const std::string kModel = LAZYC_MODEL_PATH;

bool exists(const std::string &path) { return std::ifstream(path).good(); }

std::vector<float> dequantizeTensor(const GGUFTensorInfo &t) {
  std::vector<float> out(t.numElements);
  EXPECT_TRUE(dequantize(t.type, t.data, out.data(), out.size()))
      << "cannot dequantize " << t.name;
  return out;
}

struct Expected {
  std::string file, tensor;
  uint64_t count, sum;
};

std::vector<Expected> readExpected() {
  std::ifstream in(kFixtures + "/dequant-expected.txt");
  std::vector<Expected> out;
  Expected e;
  std::string hex;
  while (in >> e.file >> e.tensor >> e.count >> hex) {
    e.sum = std::stoull(hex, nullptr, 16);
    out.push_back(e);
  }
  return out;
}

/// Dequantizes every tensor of `path` listed under `label` in
/// dequant-expected.txt and compares checksums; returns how many it checked.
int checkAgainstReference(const std::string &path, const std::string &label) {
  std::string error;
  auto file = GGUFFile::open(path, error);
  EXPECT_TRUE(file) << error;
  if (!file)
    return 0;
  int checked = 0;
  for (const Expected &e : readExpected()) {
    if (e.file != label)
      continue;
    const GGUFTensorInfo *t = file->findTensor(e.tensor);
    EXPECT_TRUE(t) << e.tensor;
    if (!t || t->numElements != e.count) {
      ADD_FAILURE() << e.tensor << ": missing or of another size";
      continue;
    }
    EXPECT_EQ(checksum(dequantizeTensor(*t)), e.sum) << e.tensor;
    ++checked;
  }
  return checked;
}

TEST(DequantizeTest, EveryTypeMatchesTheGgufPackageBitForBit) {
  // F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K Q2_K Q3_K IQ4_NL IQ4_XS MXFP4 x2
  EXPECT_EQ(checkAgainstReference(kFixtures + "/quant-types.gguf", "quant-types.gguf"), 17);
}

TEST(DequantizeTest, ModelTensorsMatchTheGgufPackageBitForBit) {
  if (!exists(kModel))
    GTEST_SKIP() << "model not downloaded (scripts/setup.sh): " << kModel;
  EXPECT_EQ(checkAgainstReference(kModel, "model"), 4); // Q8_0, Q4_1 x2, F32
}

TEST(QuantTest, HalfAndBF16Conversions) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x0001), 5.9604644775390625e-08f); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7C00)));
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  for (uint32_t h = 0; h < 0x7C00; ++h) // every finite positive half round-trips
    ASSERT_EQ(floatToHalf(halfToFloat(static_cast<uint16_t>(h))), h) << h;
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(floatToBF16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBF16(1.00390625f), 0x3F80); // tie rounds to even
}

TEST(GGUFTest, ReadsSmolLM2Metadata) {
  if (!exists(kModel))
    GTEST_SKIP() << "model not downloaded (scripts/setup.sh): " << kModel;
  std::string error;
  auto file = GGUFFile::open(kModel, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->getString("general.architecture"), "llama");
  EXPECT_EQ(file->getInt("llama.block_count"), 30);
  EXPECT_EQ(file->getInt("llama.embedding_length"), 576);
  EXPECT_EQ(file->getInt("llama.feed_forward_length"), 1536);
  EXPECT_EQ(file->getInt("llama.attention.head_count"), 9);
  EXPECT_EQ(file->getInt("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(file->getFloat("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(file->tensors().size(), 272u);
  const GGUFTensorInfo *emb = file->findTensor("token_embd.weight");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->type, GGMLType::Q8_0);
  EXPECT_EQ(emb->dims, (std::vector<uint64_t>{576, 49152}));
  const GGUFValue *tokens = file->find("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->array.size(), 49152u);
  EXPECT_EQ(tokens->array[1].str, "<|im_start|>");
}

//===----------------------------------------------------------------------===//
// Hostile input: every malformed file is an error naming the problem.
//===----------------------------------------------------------------------===//

std::string parseError(const std::vector<uint8_t> &bytes) {
  std::string error;
  auto file = GGUFFile::parse(bytes.data(), bytes.size(), error);
  EXPECT_FALSE(file) << "malformed image parsed";
  EXPECT_FALSE(error.empty());
  return error;
}

/// A valid image with one metadata string and one 32-float tensor.
std::vector<uint8_t> validImage() {
  ImageBuilder b;
  b.header(3, 1, 1).str("general.architecture").put<uint32_t>(8).str("llama");
  b.tensor("w", {32}, /*F32*/ 0, 0).alignData();
  for (int i = 0; i < 32; ++i)
    b.put<float>(static_cast<float>(i));
  return b.bytes;
}

TEST(GGUFHostileTest, ValidImageParses) {
  auto bytes = validImage();
  std::string error;
  auto file = GGUFFile::parse(bytes.data(), bytes.size(), error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->getString("general.architecture"), "llama");
  ASSERT_EQ(file->tensors().size(), 1u);
  std::vector<float> values = dequantizeTensor(file->tensors()[0]);
  EXPECT_EQ(values[31], 31.0f);
}

TEST(GGUFHostileTest, EveryTruncationIsAnError) {
  auto bytes = validImage();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    std::string error;
    EXPECT_FALSE(GGUFFile::parse(cut.data(), cut.size(), error)) << n;
    EXPECT_FALSE(error.empty()) << n;
  }
}

TEST(GGUFHostileTest, WrongMagicAndVersion) {
  auto bytes = validImage();
  bytes[0] = 'X';
  EXPECT_NE(parseError(bytes).find("not a GGUF file"), std::string::npos);
  ImageBuilder v1;
  v1.header(1, 0, 0);
  EXPECT_NE(parseError(v1.bytes).find("unsupported GGUF version 1"), std::string::npos);
}

TEST(GGUFHostileTest, AbsurdCounts) {
  ImageBuilder tensors;
  tensors.header(3, uint64_t(1) << 60, 0);
  EXPECT_NE(parseError(tensors.bytes).find("tensor count"), std::string::npos);
  ImageBuilder kvs;
  kvs.header(3, 0, uint64_t(1) << 62);
  EXPECT_NE(parseError(kvs.bytes).find("metadata count"), std::string::npos);
  ImageBuilder longString;
  longString.header(3, 0, 1).put<uint64_t>(uint64_t(1) << 62);
  EXPECT_NE(parseError(longString.bytes).find("has length"), std::string::npos);
  ImageBuilder bigArray;
  bigArray.header(3, 0, 1).str("a").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(
      uint64_t(1) << 61);
  EXPECT_NE(parseError(bigArray.bytes).find("array claims"), std::string::npos);
}

TEST(GGUFHostileTest, AbsurdDimensions) {
  ImageBuilder zero;
  zero.header(3, 1, 0).tensor("w", {0}, 0, 0);
  EXPECT_NE(parseError(zero.bytes).find("absurd dimension 0"), std::string::npos);
  ImageBuilder overflow;
  overflow.header(3, 1, 0).tensor("w", {uint64_t(1) << 32, uint64_t(1) << 32}, 0, 0);
  EXPECT_NE(parseError(overflow.bytes).find("absurd dimension"), std::string::npos);
  ImageBuilder rank;
  rank.header(3, 1, 0).str("w").put<uint32_t>(9);
  EXPECT_NE(parseError(rank.bytes).find("9 dimensions"), std::string::npos);
  ImageBuilder block;
  block.header(3, 1, 0).tensor("w", {33}, /*Q4_0*/ 2, 0);
  EXPECT_NE(parseError(block.bytes).find("not a multiple of its block size 32"),
            std::string::npos);
}

TEST(GGUFHostileTest, OffsetsOutsideTheFile) {
  ImageBuilder past;
  past.header(3, 1, 0).tensor("w", {32}, 0, 1 << 20).alignData();
  EXPECT_NE(parseError(past.bytes).find("extends past the end of the file"),
            std::string::npos);
  ImageBuilder wrap;
  wrap.header(3, 1, 0).tensor("w", {32}, 0, ~uint64_t(31)).alignData();
  EXPECT_NE(parseError(wrap.bytes).find("past the end"), std::string::npos);
  ImageBuilder misaligned;
  misaligned.header(3, 1, 0).tensor("w", {32}, 0, 3).alignData();
  EXPECT_NE(parseError(misaligned.bytes).find("not aligned"), std::string::npos);
}

TEST(GGUFHostileTest, UnknownTypes) {
  ImageBuilder tensorType;
  tensorType.header(3, 1, 0).tensor("w", {32}, 77, 0);
  EXPECT_NE(parseError(tensorType.bytes).find("unknown type 77"), std::string::npos);
  ImageBuilder valueType;
  valueType.header(3, 0, 1).str("k").put<uint32_t>(42);
  EXPECT_NE(parseError(valueType.bytes).find("unknown value type 42"), std::string::npos);
  ImageBuilder boolean;
  boolean.header(3, 0, 1).str("k").put<uint32_t>(7).put<uint8_t>(5);
  EXPECT_NE(parseError(boolean.bytes).find("bool value is 5"), std::string::npos);
  ImageBuilder align;
  align.header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
  EXPECT_NE(parseError(align.bytes).find("power of two"), std::string::npos);
}

TEST(GGUFHostileTest, DuplicateNames) {
  ImageBuilder keys;
  keys.header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(2);
  EXPECT_NE(parseError(keys.bytes).find("duplicate metadata key 'k'"), std::string::npos);
}

TEST(GGUFHostileTest, MissingFileAndDirectory) {
  std::string error;
  EXPECT_FALSE(GGUFFile::open("/nonexistent/model.gguf", error));
  EXPECT_NE(error.find("cannot open '/nonexistent/model.gguf'"), std::string::npos);
  EXPECT_FALSE(GGUFFile::open("/", error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos);
}

} // namespace
