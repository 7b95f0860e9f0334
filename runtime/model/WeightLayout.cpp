//===- WeightLayout.cpp - Weights a file lays out otherwise ---------------===//

#include "runtime/model/WeightLayout.h"

#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/Q8_0.h"
#include "runtime/model/MappedFile.h"

#include <algorithm>
#include <cstring>

using namespace lazyc::rt;

namespace {
constexpr int64_t kOCPCodeBytes = 16; // an OCP MXFP4 block's codes (32 values)

uint64_t product(const std::vector<uint64_t> &dims, size_t from, size_t to) {
  uint64_t n = 1;
  for (size_t i = from; i < to; ++i)
    n *= dims[i];
  return n;
}

std::string shapeText(const std::vector<uint64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// One value of a plain float tensor.
float loadValue(GGMLType type, const uint8_t *data, uint64_t i) {
  if (type == GGMLType::F32) {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, data + 2 * i, 2);
  return type == GGMLType::BF16 ? bf16ToFloat(h) : halfToFloat(h);
}

/// Writes `count` f32 values as the arena's element type.
void store(WeightElement element, const float *src, uint8_t *dst, int64_t count) {
  switch (element) {
  case WeightElement::F32:
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
    return;
  case WeightElement::BF16:
  case WeightElement::F16: {
    auto *out = reinterpret_cast<uint16_t *>(dst);
    for (int64_t j = 0; j < count; ++j)
      out[j] = element == WeightElement::BF16 ? floatToBF16(src[j]) : floatToHalf(src[j]);
    return;
  }
  case WeightElement::Q8_0:
    quantizeQ8_0(src, dst, static_cast<size_t>(count));
    return;
  case WeightElement::MXFP4:
    quantizeMXFP4(src, dst, static_cast<size_t>(count));
    return;
  }
}

int64_t rowBytesOf(WeightElement element, int64_t cols) {
  switch (element) {
  case WeightElement::F32: return cols * 4;
  case WeightElement::BF16:
  case WeightElement::F16: return cols * 2;
  case WeightElement::Q8_0: return q8_0RowBytes(cols);
  case WeightElement::MXFP4: return mxfp4RowBytes(cols);
  }
  return 0;
}
} // namespace

void lazyc::rt::repackOCPMXFP4(const uint8_t *codes, uint8_t e, uint8_t *block) {
  auto code = [&](int v) { return (codes[v / 2] >> (4 * (v % 2))) & 0xF; };
  block[0] = e;
  for (int j = 0; j < 16; ++j)
    block[1 + j] = static_cast<uint8_t>(code(j) | code(j + 16) << 4);
}

bool lazyc::rt::planLaidOutWeight(const LaidOutEntry &e, LaidOutWeight &w, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = "tensor '" + e.name + "' " + what;
    return false;
  };
  if (e.shape.empty() || e.shape.size() > 2 || e.shape[0] == 0)
    return fail("has a malformed weight entry");
  const bool blocked = e.element == WeightElement::Q8_0 || e.element == WeightElement::MXFP4;
  if (blocked && (e.shape.size() != 2 || e.shape[1] % kMXFP4Values != 0))
    return fail("has a malformed weight entry (blocks of 32 values per row)");
  static_assert(kMXFP4Values == kQ8_0Values, "one check for both block types");
  w = LaidOutWeight();
  w.rows = static_cast<int64_t>(e.shape[0]);
  w.cols = e.shape.size() == 2 ? static_cast<int64_t>(e.shape[1]) : 1;
  w.element = e.element;
  w.target = e.target;
  w.transposed = e.transposed;
  w.type = e.type;
  w.data = e.data;
  const std::vector<uint64_t> &f = e.fileShape;
  if (e.hasScales) {
    // OCP MXFP4: codes [..., rows, cols / 32, 16], exponents [..., rows, cols / 32].
    if (e.type != GGMLType::U8 || !e.scales)
      return fail("holds MXFP4 blocks, which must be bytes (U8) with U8 scales");
    if (e.shape.size() != 2 || w.cols % kMXFP4Values != 0)
      return fail("has MXFP4 blocks but the compiled model a matrix of " +
                  shapeText(e.shape) + " values (whole blocks of 32 per row)");
    const uint64_t blocks = static_cast<uint64_t>(w.cols / kMXFP4Values);
    if (f.size() < 3 || f.back() != kOCPCodeBytes || f[f.size() - 2] != blocks)
      return fail("has shape " + shapeText(f) + ", not MXFP4 blocks of " +
                  std::to_string(w.cols) + " values a row ([..., rows, " +
                  std::to_string(blocks) + ", 16])");
    std::vector<uint64_t> scalesExpected(f.begin(), f.end() - 1);
    if (e.scalesShape != scalesExpected)
      return fail("has MXFP4 scales of shape " + shapeText(e.scalesShape) + ", expected " +
                  shapeText(scalesExpected));
    w.scales = e.scales;
    w.fileRows = static_cast<int64_t>(product(f, 0, f.size() - 2));
  } else if (e.transposed) {
    // [cols, slabRows] or [slabs, cols, slabRows]; plain floats.
    if (e.type != GGMLType::F32 && e.type != GGMLType::F16 && e.type != GGMLType::BF16)
      return fail("is stored transposed, which lazyc reads from F32, F16 or BF16 only");
    if ((f.size() != 2 && f.size() != 3) || f[f.size() - 2] != static_cast<uint64_t>(w.cols))
      return fail("has shape " + shapeText(f) + ", not a stack of transposed matrices of " +
                  std::to_string(w.cols) + " columns ([experts, " + std::to_string(w.cols) +
                  ", rows])");
    w.slabRows = static_cast<int64_t>(f.back());
    w.fileRows = static_cast<int64_t>(product(f, 0, f.size() - 2)) * w.slabRows;
  } else {
    // Rows of `cols` values (a vector's elements are rows of one).
    const GGMLTypeTraits *traits = getTypeTraits(static_cast<uint32_t>(e.type));
    if (!traits || !traits->canDequantize || w.cols % traits->blockElements != 0)
      return fail("has a type lazyc cannot dequantize");
    const uint64_t elements = product(f, 0, f.size());
    if (f.empty() || elements % static_cast<uint64_t>(w.cols) != 0 ||
        (w.cols > 1 && f.back() != static_cast<uint64_t>(w.cols)))
      return fail("has shape " + shapeText(f) + ", not rows of " + std::to_string(w.cols) +
                  " values");
    w.fileRows = static_cast<int64_t>(elements / static_cast<uint64_t>(w.cols));
  }
  int64_t begin = e.hasRows ? e.rowBegin : 0, end = e.hasRows ? e.rowEnd : w.fileRows;
  w.rowBegin = begin;
  w.rowStep = e.rowStep;
  w.rowBlock = e.rowBlock;
  // (Blocks of rowBlock rows every rowStep rows; llm::steppedRowCount.)
  auto taken = [&](int64_t span) {
    return span / e.rowStep * e.rowBlock + std::min(span % e.rowStep, e.rowBlock);
  };
  if (e.rowStep < 1 || e.rowBlock < 1 || e.rowBlock > e.rowStep || begin < 0 || end <= begin ||
      end > w.fileRows || taken(end - begin) != w.rows)
    return fail("has " + std::to_string(w.fileRows) + " rows of " + std::to_string(w.cols) +
                " values in the model file, which the compiled model's rows [" +
                std::to_string(begin) + ", " + std::to_string(end) + ") step " +
                std::to_string(e.rowStep) +
                (e.rowBlock > 1 ? " in blocks of " + std::to_string(e.rowBlock) : "") + " (" +
                std::to_string(w.rows) +
                " rows) do not fit (was the model compiled from another file?)");
  return true;
}

void lazyc::rt::releaseLaidOutRows(const LaidOutWeight &w, int64_t begin, int64_t end) {
  if (!w.scales || end <= begin)
    return;
  const int64_t blocks = w.cols / kMXFP4Values;
  const int64_t first = w.fileRow(begin) * blocks, last = (w.fileRow(end - 1) + 1) * blocks;
  MappedFile::releasePages(w.data + first * kOCPCodeBytes,
                           static_cast<size_t>((last - first) * kOCPCodeBytes));
  MappedFile::releasePages(w.scales + first, static_cast<size_t>(last - first));
}

void lazyc::rt::convertLaidOutRows(const LaidOutWeight &w, int64_t begin, int64_t end,
                                   std::vector<float> &scratch) {
  const int64_t cols = w.cols, rowBytes = rowBytesOf(w.element, cols);
  auto fileRow = [&](int64_t r) { return w.fileRow(r); };
  if (w.scales) {
    const int64_t blocks = cols / kMXFP4Values;
    uint8_t block[kMXFP4Bytes];
    scratch.resize(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t from = fileRow(r) * blocks;
      uint8_t *out = w.target + r * rowBytes;
      for (int64_t b = 0; b < blocks; ++b) {
        uint8_t *dst = w.element == WeightElement::MXFP4 ? out + b * kMXFP4Bytes : block;
        repackOCPMXFP4(w.data + (from + b) * kOCPCodeBytes, w.scales[from + b], dst);
        if (w.element != WeightElement::MXFP4)
          dequantize(GGMLType::MXFP4, block, scratch.data() + b * kMXFP4Values, kMXFP4Values);
      }
      if (w.element != WeightElement::MXFP4)
        store(w.element, scratch.data(), out, cols);
    }
    return;
  }
  if (w.transposed) {
    // Gathered column by column: the rows of a piece read neighbouring
    // elements of each file row, which stay in cache between them.
    const int64_t n = end - begin;
    scratch.resize(static_cast<size_t>(n * cols));
    for (int64_t k = 0; k < cols; ++k)
      for (int64_t r = begin; r < end; ++r) {
        const int64_t f = fileRow(r), slab = f / w.slabRows, j = f % w.slabRows;
        const auto i = static_cast<uint64_t>((slab * cols + k) * w.slabRows + j);
        scratch[static_cast<size_t>((r - begin) * cols + k)] = loadValue(w.type, w.data, i);
      }
    for (int64_t r = begin; r < end; ++r)
      store(w.element, scratch.data() + (r - begin) * cols, w.target + r * rowBytes, cols);
    return;
  }
  const GGMLTypeTraits *traits = getTypeTraits(static_cast<uint32_t>(w.type));
  const int64_t fileRowBytes = cols / traits->blockElements * traits->blockBytes;
  scratch.resize(static_cast<size_t>(cols));
  for (int64_t r = begin; r < end; ++r) {
    dequantize(w.type, w.data + fileRow(r) * fileRowBytes, scratch.data(),
               static_cast<size_t>(cols));
    store(w.element, scratch.data(), w.target + r * rowBytes, cols);
  }
}
