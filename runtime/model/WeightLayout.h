//===- WeightLayout.h - Weights a file lays out otherwise -------*- C++ -*-===//
//
// The weight loader's conversions for tensors a file does not store as the
// rows of the compiled model's matrix in order (llm.weight's `row_step`,
// `transposed` and `scales`; the weight table's entries of those names):
// gpt-oss's Hugging Face experts, whose gate and up projections interleave
// row by row in one tensor, stored as `[experts, in, out]` (transposed) or
// as OCP MXFP4's two tensors (blocks with the first code of a byte in its
// low nibble, E8M0 exponents apart). A target row at a time they become the
// compiled model's element type: f32, bf16, f16, Q8_0 blocks, or MXFP4
// blocks in ggml's layout (from OCP MXFP4 losslessly, by repacking).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_WEIGHTLAYOUT_H
#define LAZYC_RUNTIME_MODEL_WEIGHTLAYOUT_H

#include "runtime/model/Quant.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lazyc::rt {

/// The element types of the weight arena (the weight table's dtype).
enum class WeightElement { F32, BF16, F16, Q8_0, MXFP4 };

/// One OCP MXFP4 block as ggml's (the weight arena's MXFP4): `codes`, 16
/// bytes holding values 2j and 2j+1 in the low and high nibbles of byte j,
/// and the exponent `e` become `e` followed by 16 bytes holding values j and
/// j + 16 in the low and high nibbles of byte j.
void repackOCPMXFP4(const uint8_t *codes, uint8_t e, uint8_t *block);

/// A weight of the table laid out otherwise in the file, checked and ready
/// to convert (planLaidOutWeight).
struct LaidOutWeight {
  // The file: `data` of `type`, logically a matrix of `fileRows` rows of
  // `cols` values; transposed: `slabs` stacked [cols, slabRows] matrices
  // (fileRows = slabs * slabRows); with `scales`: OCP MXFP4, `data` the
  // codes (16 bytes per 32 values) and `scales` the exponents (one byte).
  GGMLType type = GGMLType::F32;
  const uint8_t *data = nullptr, *scales = nullptr;
  bool transposed = false;
  int64_t fileRows = 0, cols = 0, slabRows = 0;
  // Target row r is file row rowBegin + r / rowBlock * rowStep + r % rowBlock
  // (rowBlock 1: rowBegin + r * rowStep).
  int64_t rowBegin = 0, rowStep = 1, rowBlock = 1;
  int64_t fileRow(int64_t r) const { return rowBegin + r / rowBlock * rowStep + r % rowBlock; }
  // The arena: `rows` rows of `cols` values of `element`.
  WeightElement element = WeightElement::F32;
  uint8_t *target = nullptr;
  int64_t rows = 0;
};

/// What the weight table says of such a weight, and the file's tensors.
struct LaidOutEntry {
  std::string name;               // for errors
  std::vector<uint64_t> shape;    // the entry's: [rows, cols] or [rows]
  WeightElement element = WeightElement::F32;
  uint8_t *target = nullptr;
  bool hasRows = false;           // rows = [rowBegin, rowEnd)
  int64_t rowBegin = 0, rowEnd = 0, rowStep = 1, rowBlock = 1;
  bool transposed = false;
  // The tensor `name`, and the scales' (type U8; null without `scales`).
  GGMLType type = GGMLType::F32;
  const uint8_t *data = nullptr;
  std::vector<uint64_t> fileShape;
  const uint8_t *scales = nullptr;
  std::vector<uint64_t> scalesShape;
  bool hasScales = false;
};

/// Checks `entry` against its file tensors (shapes, types, the row
/// selection): false with an error naming the tensor, else `out` is set.
bool planLaidOutWeight(const LaidOutEntry &entry, LaidOutWeight &out, std::string &error);

/// Converts target rows [begin, end) of `w` into the arena (`scratch` is
/// reused between calls of one thread).
void convertLaidOutRows(const LaidOutWeight &w, int64_t begin, int64_t end,
                        std::vector<float> &scratch);

/// Releases from the resident set the file pages that OCP MXFP4 rows
/// [begin, end) of `w` were read from (MappedFile::releasePages: `w.data`
/// and `w.scales` must be memory-mapped files', as the weight loader's are;
/// other layouts: nothing), once every entry reading them is converted.
void releaseLaidOutRows(const LaidOutWeight &w, int64_t begin, int64_t end);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_WEIGHTLAYOUT_H
