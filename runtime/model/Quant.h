//===- Quant.h - GGML tensor types and dequantization -----------*- C++ -*-===//
//
// Block layouts follow ggml (ggml-common.h). Dequantization reproduces the
// reference arithmetic (and its operation order) so results match the `gguf`
// Python package's dequantizer bit for bit; test/unit/QuantTest.cpp checks it
// against fixtures made by test/fixtures/make_gguf_fixtures.py.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_QUANT_H
#define LAZYC_RUNTIME_MODEL_QUANT_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lazyc::rt {

enum class GGMLType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ4_NL = 20, IQ4_XS = 23, BF16 = 30, MXFP4 = 39,
  // Not a GGML type: safetensors' U8, raw bytes (read only as gpt-oss's OCP
  // MXFP4 blocks and scales, WeightLayout.h; getTypeTraits knows it not).
  U8 = 0x10000,
};

struct GGMLTypeTraits {
  const char *name;
  uint32_t blockElements; // elements per block (1 for plain floats)
  uint32_t blockBytes;    // bytes per block
  bool canDequantize;     // implemented by dequantize()
};

/// Traits of a type id read from a file; null for ids lazyc does not know.
const GGMLTypeTraits *getTypeTraits(uint32_t type);

float halfToFloat(uint16_t h);
/// Round-to-nearest-even conversion (for writing f16 weights).
uint16_t floatToHalf(float f);

// The bf16 conversions are inline: the CPU kernels convert every GEMM input
// with them, and an out-of-line call per element cannot be vectorized.
inline float bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// Round-to-nearest-even; a NaN stays a (quiet) NaN.
inline uint16_t floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  if ((bits & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

/// MXFP4's 16 E2M1 codes as values, doubled (ggml's kvalues_mxfp4: the
/// scale, e8m0Half, is halved to match).
alignas(16) inline constexpr int8_t kE2M1Doubled[16] = {0,  1,  2,  3,  4,  6,  8,  12,
                                                        0, -1, -2, -3, -4, -6, -8, -12};

/// Half of an E8M0 exponent's 2^(e - 127): 2^(e - 128), subnormal for
/// e < 2 (ggml's ggml_e8m0_to_fp32_half).
inline float e8m0Half(uint8_t e) {
  uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// Dequantizes `count` elements (a multiple of the type's block size) from
/// `src` into `dst`. Returns false if the type cannot be dequantized.
bool dequantize(GGMLType type, const void *src, float *dst, size_t count);

/// Quantizes `count` values (a multiple of 32) into Q8_0 blocks at `dst` as
/// ggml's quantize_row_q8_0_ref does: d = max |x| / 127 (stored as f16),
/// q = round(x / d) with the f32 d.
void quantizeQ8_0(const float *src, void *dst, size_t count);

/// Quantizes `count` values (a multiple of 32) into MXFP4 blocks at `dst` as
/// the gguf package's quantizer does: the exponent floor(log2 max |x|) - 2
/// (so the largest value falls in E2M1's range, clamped to E8M0's), then
/// each value's nearest E2M1 code (the first of equally near ones).
void quantizeMXFP4(const float *src, void *dst, size_t count);

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_QUANT_H
