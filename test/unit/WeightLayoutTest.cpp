//===- WeightLayoutTest.cpp - Weights a file lays out otherwise -----------===//
//
// runtime/model/WeightLayout.h against references written here from the
// formats' definitions: OCP MXFP4 (value = E2M1[code] * 2^(e - 127), values
// 2k and 2k + 1 in byte k's low and high nibbles: transformers'
// _convert_moe_packed_tensors), transposed stacks ([slabs, cols, rows]) and
// rows picked every row_step-th.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/WeightLayout.h"

#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/model/Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lazyc::rt;

namespace {
constexpr float kE2M1[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                             -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

/// OCP MXFP4 row `r` of `blocks` codes (16 bytes each) and exponents, decoded.
std::vector<float> decodeOCP(const std::vector<uint8_t> &codes,
                             const std::vector<uint8_t> &scales, int64_t r, int64_t cols) {
  std::vector<float> out;
  const int64_t blocks = cols / 32;
  for (int64_t b = r * blocks; b < (r + 1) * blocks; ++b)
    for (int v = 0; v < 32; ++v) {
      int code = (codes[static_cast<size_t>(b * 16 + v / 2)] >> (4 * (v % 2))) & 0xF;
      out.push_back(std::ldexp(kE2M1[code], scales[static_cast<size_t>(b)] - 127));
    }
  return out;
}

LaidOutEntry entryOf(std::vector<uint64_t> shape, WeightElement element, uint8_t *target) {
  LaidOutEntry e;
  e.name = "w";
  e.shape = std::move(shape);
  e.element = element;
  e.target = target;
  return e;
}

void convertAll(const LaidOutWeight &w) {
  std::vector<float> scratch;
  // In two pieces, as the loader's threads may take them.
  convertLaidOutRows(w, 0, w.rows / 2, scratch);
  convertLaidOutRows(w, w.rows / 2, w.rows, scratch);
}

std::vector<float> floatsOf(const std::vector<uint8_t> &bytes) {
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}
} // namespace

TEST(WeightLayout, RepackedOCPBlocksHoldTheSameValues) {
  std::mt19937 rng(7);
  std::vector<uint8_t> codes(16), scales = {118};
  for (uint8_t &c : codes)
    c = static_cast<uint8_t>(rng());
  uint8_t block[kMXFP4Bytes];
  repackOCPMXFP4(codes.data(), scales[0], block);
  std::vector<float> got(32);
  ASSERT_TRUE(dequantize(GGMLType::MXFP4, block, got.data(), 32));
  std::vector<float> want = decodeOCP(codes, scales, 0, 32);
  for (int v = 0; v < 32; ++v)
    EXPECT_EQ(got[v], want[v]) << "value " << v;
}

TEST(WeightLayout, InterleavedOCPRowsBecomeGGMLBlocksOrFloats) {
  // A stack of 2 experts of 6 rows (gate, up interleaved) of 64 values.
  constexpr int64_t experts = 2, rows = 6, cols = 64, blocks = cols / 32;
  std::mt19937 rng(11);
  std::vector<uint8_t> codes(experts * rows * blocks * 16), scales(experts * rows * blocks);
  for (uint8_t &c : codes)
    c = static_cast<uint8_t>(rng());
  for (uint8_t &s : scales)
    s = static_cast<uint8_t>(110 + rng() % 20);
  for (int part = 0; part < 2; ++part) { // gate: even rows, up: odd ones
    const int64_t n = experts * rows / 2;
    std::vector<uint8_t> mx(static_cast<size_t>(n * mxfp4RowBytes(cols)));
    std::vector<uint8_t> f32(static_cast<size_t>(n * cols * 4));
    std::vector<uint8_t> q8(static_cast<size_t>(n * q8_0RowBytes(cols)));
    for (auto [element, target] :
         {std::pair{WeightElement::MXFP4, mx.data()}, {WeightElement::F32, f32.data()},
          {WeightElement::Q8_0, q8.data()}}) {
      LaidOutEntry e = entryOf({static_cast<uint64_t>(n), cols}, element, target);
      e.hasRows = true;
      e.rowBegin = part;
      e.rowEnd = experts * rows;
      e.rowStep = 2;
      e.type = GGMLType::U8;
      e.data = codes.data();
      e.fileShape = {experts, rows, blocks, 16};
      e.hasScales = true;
      e.scales = scales.data();
      e.scalesShape = {experts, rows, blocks};
      LaidOutWeight w;
      std::string error;
      ASSERT_TRUE(planLaidOutWeight(e, w, error)) << error;
      convertAll(w);
    }
    std::vector<float> fromMX(static_cast<size_t>(n * cols)), fromQ8(fromMX.size());
    ASSERT_TRUE(dequantize(GGMLType::MXFP4, mx.data(), fromMX.data(), fromMX.size()));
    ASSERT_TRUE(dequantize(GGMLType::Q8_0, q8.data(), fromQ8.data(), fromQ8.size()));
    std::vector<float> widened = floatsOf(f32);
    std::vector<uint8_t> q8Want(q8.size());
    quantizeQ8_0(widened.data(), q8Want.data(), widened.size());
    EXPECT_EQ(q8, q8Want) << "Q8_0 blocks of the widened values";
    for (int64_t r = 0; r < n; ++r) {
      std::vector<float> want = decodeOCP(codes, scales, part + 2 * r, cols);
      for (int64_t k = 0; k < cols; ++k) {
        ASSERT_EQ(fromMX[r * cols + k], want[k]) << "part " << part << " row " << r << " " << k;
        ASSERT_EQ(widened[r * cols + k], want[k]) << "part " << part << " row " << r;
      }
    }
  }
}

TEST(WeightLayout, TransposedStacksAndSteppedVectors) {
  // [2 experts, 5 inputs, 6 outputs]: the matrix of 12 rows of 5; its odd rows.
  constexpr int64_t slabs = 2, cols = 5, slabRows = 6;
  std::vector<float> file(slabs * cols * slabRows);
  for (size_t i = 0; i < file.size(); ++i)
    file[i] = 0.25f * static_cast<float>(i) - 3.0f;
  std::vector<uint16_t> bf16File(file.size());
  for (size_t i = 0; i < file.size(); ++i)
    bf16File[i] = floatToBF16(file[i]);
  for (GGMLType type : {GGMLType::F32, GGMLType::BF16}) {
    std::vector<uint8_t> out(6 * cols * 2);
    LaidOutEntry e = entryOf({6, cols}, WeightElement::BF16, out.data());
    e.hasRows = true;
    e.rowBegin = 1;
    e.rowEnd = slabs * slabRows;
    e.rowStep = 2;
    e.transposed = true;
    e.type = type;
    e.data = type == GGMLType::F32 ? reinterpret_cast<const uint8_t *>(file.data())
                                   : reinterpret_cast<const uint8_t *>(bf16File.data());
    e.fileShape = {slabs, cols, slabRows};
    LaidOutWeight w;
    std::string error;
    ASSERT_TRUE(planLaidOutWeight(e, w, error)) << error;
    convertAll(w);
    const auto *got = reinterpret_cast<const uint16_t *>(out.data());
    for (int64_t r = 0; r < 6; ++r) {
      const int64_t f = 1 + 2 * r, slab = f / slabRows, j = f % slabRows;
      for (int64_t k = 0; k < cols; ++k)
        EXPECT_EQ(got[r * cols + k], floatToBF16(file[(slab * cols + k) * slabRows + j]))
            << "row " << r << " column " << k;
    }
  }
  // A bias [2, 6]: elements 0, 2, 4, ... (a vector's elements are rows of one).
  std::vector<uint8_t> out(6 * 4);
  LaidOutEntry e = entryOf({6}, WeightElement::F32, out.data());
  e.hasRows = true;
  e.rowEnd = 12;
  e.rowStep = 2;
  e.type = GGMLType::F32;
  e.data = reinterpret_cast<const uint8_t *>(file.data());
  e.fileShape = {2, 6};
  LaidOutWeight w;
  std::string error;
  ASSERT_TRUE(planLaidOutWeight(e, w, error)) << error;
  convertAll(w);
  std::vector<float> got = floatsOf(out);
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(got[i], file[2 * i]);
}

/// Granite MoE's input_linear: [3 experts, 2 x 4 rows, 8], each expert's 4
/// gate rows then its 4 up rows; the up rows of them all are rows [4, 24)
/// taken 4 at a time every 8 (row_block 4, row_step 8), into bf16 and Q8_0.
TEST(WeightLayout, RowBlocksPickEachExpertsPart) {
  constexpr int64_t experts = 3, ffn = 4, cols = 32;
  std::vector<float> file(experts * 2 * ffn * cols);
  for (size_t i = 0; i < file.size(); ++i)
    file[i] = 0.125f * static_cast<float>(i % 97) - 5.0f;
  auto planned = [&](bool up, WeightElement element, uint8_t *target) {
    LaidOutEntry e = entryOf({experts * ffn, cols}, element, target);
    e.hasRows = true;
    e.rowBegin = up ? ffn : 0;
    e.rowEnd = experts * 2 * ffn;
    e.rowStep = 2 * ffn;
    e.rowBlock = ffn;
    e.type = GGMLType::F32;
    e.data = reinterpret_cast<const uint8_t *>(file.data());
    e.fileShape = {experts, 2 * ffn, cols};
    LaidOutWeight w;
    std::string error;
    EXPECT_TRUE(planLaidOutWeight(e, w, error)) << error;
    return w;
  };
  for (bool up : {false, true}) {
    std::vector<uint8_t> out(experts * ffn * cols * 2);
    convertAll(planned(up, WeightElement::BF16, out.data()));
    const auto *got = reinterpret_cast<const uint16_t *>(out.data());
    for (int64_t e = 0; e < experts; ++e)
      for (int64_t r = 0; r < ffn; ++r)
        for (int64_t k = 0; k < cols; ++k) {
          const int64_t fileRow = e * 2 * ffn + (up ? ffn : 0) + r;
          EXPECT_EQ(got[(e * ffn + r) * cols + k], floatToBF16(file[fileRow * cols + k]))
              << (up ? "up" : "gate") << " of expert " << e << ", row " << r;
        }
  }
  // Q8_0 rows: the up rows quantized, row by row, as a plain matrix of them.
  std::vector<uint8_t> q8(experts * ffn * kQ8_0Bytes), dense(experts * ffn * kQ8_0Bytes);
  convertAll(planned(true, WeightElement::Q8_0, q8.data()));
  std::vector<float> upRows;
  for (int64_t e = 0; e < experts; ++e)
    upRows.insert(upRows.end(), file.begin() + (e * 2 * ffn + ffn) * cols,
                  file.begin() + (e * 2 * ffn + 2 * ffn) * cols);
  quantizeQ8_0(upRows.data(), dense.data(), upRows.size());
  EXPECT_EQ(q8, dense);
  // A block count that does not divide the range: rows [0, 20) in blocks of 4
  // every 8 are 4 + 4 + 4 = 12; a weight of 10 rows does not fit.
  std::vector<uint8_t> out(12 * cols * 4);
  LaidOutEntry e = entryOf({10, cols}, WeightElement::F32, out.data());
  e.hasRows = true;
  e.rowEnd = 20;
  e.rowStep = 8;
  e.rowBlock = 4;
  e.type = GGMLType::F32;
  e.data = reinterpret_cast<const uint8_t *>(file.data());
  e.fileShape = {experts * 2 * ffn, cols};
  LaidOutWeight w;
  std::string error;
  EXPECT_FALSE(planLaidOutWeight(e, w, error));
  EXPECT_NE(error.find("step 8 in blocks of 4 (10 rows) do not fit"), std::string::npos) << error;
  e.shape = {12, cols};
  EXPECT_TRUE(planLaidOutWeight(e, w, error)) << error;
}

TEST(WeightLayout, RefusesTensorsThatDoNotFit) {
  std::vector<uint8_t> bytes(4096), target(4096);
  auto refused = [&](LaidOutEntry e, const std::string &needle) {
    LaidOutWeight w;
    std::string error;
    EXPECT_FALSE(planLaidOutWeight(e, w, error));
    EXPECT_NE(error.find(needle), std::string::npos) << error;
  };
  // Rows past the file's: 12 rows of 5, rows [1, 14).
  LaidOutEntry t = entryOf({7, 5}, WeightElement::F32, target.data());
  t.transposed = true;
  t.type = GGMLType::F32;
  t.data = bytes.data();
  t.fileShape = {2, 5, 6};
  t.hasRows = true;
  t.rowBegin = 1;
  t.rowEnd = 14;
  t.rowStep = 2;
  refused(t, "has 12 rows of 5 values in the model file");
  // The inputs must be the file's middle dimension.
  t.rowEnd = 12;
  t.shape = {6, 6};
  refused(t, "not a stack of transposed matrices of 6 columns");
  // Transposed quantized tensors are not read.
  t.shape = {6, 5};
  t.type = GGMLType::Q8_0;
  refused(t, "lazyc reads from F32, F16 or BF16 only");
  // MXFP4 blocks: U8 codes [..., rows, blocks, 16] and scales [..., rows, blocks].
  LaidOutEntry m = entryOf({4, 64}, WeightElement::MXFP4, target.data());
  m.type = GGMLType::U8;
  m.data = bytes.data();
  m.fileShape = {4, 2, 16};
  m.hasScales = true;
  m.scales = bytes.data();
  m.scalesShape = {4, 3};
  refused(m, "has MXFP4 scales of shape [4, 3], expected [4, 2]");
  m.fileShape = {4, 4, 8};
  refused(m, "not MXFP4 blocks of 64 values a row");
  m.fileShape = {4, 2, 16};
  m.scalesShape = {4, 2};
  m.type = GGMLType::F16;
  refused(m, "must be bytes (U8)");
  m.type = GGMLType::U8;
  m.shape = {4, 48};
  refused(m, "blocks of 32 values per row");
}
