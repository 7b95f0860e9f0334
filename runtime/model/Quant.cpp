//===- Quant.cpp - GGML dequantization -------------------------------------===//
//
// Operation order mirrors ggml's reference dequantizers (and the `gguf`
// package) so results are bit-identical. Built with -ffp-contract=off: a fused
// multiply-add would round differently.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace lazyc::rt;

namespace {
constexpr uint32_t QK = 32;     // block size of the legacy types
constexpr uint32_t QK_K = 256;  // block size of the k-quants

struct BlockQ4_0 { uint16_t d; uint8_t qs[QK / 2]; };
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[QK / 2]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; };
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK / 2]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[QK]; };
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct BlockIQ4_NL { uint16_t d; uint8_t qs[QK / 2]; };
struct BlockIQ4_XS { uint16_t d, scalesH; uint8_t scalesL[QK_K / 64]; uint8_t qs[QK_K / 2]; };
/// OCP microscaling FP4 (gpt-oss's experts): an E8M0 exponent, then 32 E2M1
/// values, the first 16 in the low nibbles.
struct BlockMXFP4 { uint8_t e; uint8_t qs[QK / 2]; };
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockIQ4_NL) == 18 &&
                  sizeof(BlockIQ4_XS) == 136 && sizeof(BlockMXFP4) == 17,
              "block layouts must match ggml");
/// The 16 non-linear levels of IQ4_NL and IQ4_XS.
constexpr int8_t kIQ4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210,
              "block layouts must match ggml");

const GGMLTypeTraits kF32{"F32", 1, 4, true};
const GGMLTypeTraits kF16{"F16", 1, 2, true};
const GGMLTypeTraits kBF16{"BF16", 1, 2, true};
const GGMLTypeTraits kQ4_0{"Q4_0", QK, sizeof(BlockQ4_0), true};
const GGMLTypeTraits kQ4_1{"Q4_1", QK, sizeof(BlockQ4_1), true};
const GGMLTypeTraits kQ5_0{"Q5_0", QK, sizeof(BlockQ5_0), true};
const GGMLTypeTraits kQ5_1{"Q5_1", QK, sizeof(BlockQ5_1), true};
const GGMLTypeTraits kQ8_0{"Q8_0", QK, sizeof(BlockQ8_0), true};
const GGMLTypeTraits kQ8_1{"Q8_1", QK, 36, false};
const GGMLTypeTraits kQ2_K{"Q2_K", QK_K, sizeof(BlockQ2_K), true};
const GGMLTypeTraits kQ3_K{"Q3_K", QK_K, sizeof(BlockQ3_K), true};
const GGMLTypeTraits kIQ4_NL{"IQ4_NL", QK, sizeof(BlockIQ4_NL), true};
const GGMLTypeTraits kIQ4_XS{"IQ4_XS", QK_K, sizeof(BlockIQ4_XS), true};
const GGMLTypeTraits kMXFP4{"MXFP4", QK, sizeof(BlockMXFP4), true};
const GGMLTypeTraits kQ4_K{"Q4_K", QK_K, sizeof(BlockQ4_K), true};
const GGMLTypeTraits kQ5_K{"Q5_K", QK_K, sizeof(BlockQ5_K), true};
const GGMLTypeTraits kQ6_K{"Q6_K", QK_K, sizeof(BlockQ6_K), true};
const GGMLTypeTraits kQ8_K{"Q8_K", QK_K, 292, false};

inline float fp16(uint16_t h) { return halfToFloat(h); }

/// Unpacks the 6-bit scale and min of sub-block `j` (ggml get_scale_min_k4).
inline void scaleMinK4(int j, const uint8_t *q, uint8_t &d, uint8_t &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// Block `b` of `src`, copied out: sources need not be aligned (safetensors
/// data offsets are arbitrary), and the copy keeps the loads well-defined.
template <typename Block> Block block(const void *src, size_t b) {
  Block x;
  std::memcpy(&x, static_cast<const uint8_t *>(src) + b * sizeof(Block), sizeof(Block));
  return x;
}

inline uint16_t load16(const void *src, size_t i) {
  uint16_t v;
  std::memcpy(&v, static_cast<const uint8_t *>(src) + 2 * i, sizeof(v));
  return v;
}
} // namespace

const GGMLTypeTraits *lazyc::rt::getTypeTraits(uint32_t type) {
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32: return &kF32;
  case GGMLType::F16: return &kF16;
  case GGMLType::BF16: return &kBF16;
  case GGMLType::Q4_0: return &kQ4_0;
  case GGMLType::Q4_1: return &kQ4_1;
  case GGMLType::Q5_0: return &kQ5_0;
  case GGMLType::Q5_1: return &kQ5_1;
  case GGMLType::Q8_0: return &kQ8_0;
  case GGMLType::Q8_1: return &kQ8_1;
  case GGMLType::Q2_K: return &kQ2_K;
  case GGMLType::Q3_K: return &kQ3_K;
  case GGMLType::Q4_K: return &kQ4_K;
  case GGMLType::Q5_K: return &kQ5_K;
  case GGMLType::Q6_K: return &kQ6_K;
  case GGMLType::Q8_K: return &kQ8_K;
  case GGMLType::IQ4_NL: return &kIQ4_NL;
  case GGMLType::IQ4_XS: return &kIQ4_XS;
  case GGMLType::MXFP4: return &kMXFP4;
  }
  return nullptr;
}

float lazyc::rt::halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else { // subnormal: normalize
      int shift = 0;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3FF;
      bits = sign | ((127 - 15 - shift + 1) << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | (mantissa << 13); // inf / nan
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint16_t lazyc::rt::floatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  uint32_t sign = (bits >> 16) & 0x8000;
  uint32_t absBits = bits & 0x7FFFFFFF;
  if (absBits > 0x7F800000)
    return static_cast<uint16_t>(sign | 0x7E00);
  if (absBits >= 0x477FF000) // rounds to >= 65520: inf
    return static_cast<uint16_t>(sign | 0x7C00);
  if (absBits < 0x38800000) { // subnormal or zero in half
    // Scale into the subnormal range with round-to-nearest-even.
    float a;
    std::memcpy(&a, &absBits, sizeof(a));
    float scaled = a * 16777216.0f; // 2^24: half subnormal step is 2^-24
    uint32_t q = static_cast<uint32_t>(scaled);
    float rest = scaled - static_cast<float>(q);
    if (rest > 0.5f || (rest == 0.5f && (q & 1)))
      ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t mantissa = absBits & 0x7FFFFF;
  uint32_t exponent = (absBits >> 23) - 127 + 15;
  uint32_t half = (exponent << 10) | (mantissa >> 13);
  uint32_t round = mantissa & 0x1FFF;
  if (round > 0x1000 || (round == 0x1000 && (half & 1)))
    ++half;
  return static_cast<uint16_t>(sign | half);
}

void lazyc::rt::quantizeMXFP4(const float *src, void *dst, size_t count) {
  auto *out = static_cast<uint8_t *>(dst);
  for (size_t b = 0; b < count / QK; ++b, src += QK, out += sizeof(BlockMXFP4)) {
    float max = 0.0f;
    for (uint32_t j = 0; j < QK; ++j)
      max = std::max(max, std::fabs(src[j]));
    int e = 0;
    if (max > 0.0f && std::isfinite(max))
      e = std::clamp(static_cast<int>(std::floor(std::log2(max))) - 2 + 127, 0, 254);
    const float d = e8m0Half(static_cast<uint8_t>(e));
    auto code = [&](float x) {
      uint8_t best = 0;
      float bestError = std::fabs(d * static_cast<float>(kE2M1Doubled[0]) - x);
      for (uint8_t c = 1; c < 16; ++c) {
        const float error = std::fabs(d * static_cast<float>(kE2M1Doubled[c]) - x);
        if (error < bestError) {
          best = c;
          bestError = error;
        }
      }
      return best;
    };
    out[0] = static_cast<uint8_t>(e);
    for (uint32_t j = 0; j < QK / 2; ++j)
      out[1 + j] = static_cast<uint8_t>(code(src[j]) | (code(src[j + QK / 2]) << 4));
  }
}

bool lazyc::rt::dequantize(GGMLType type, const void *src, float *dst,
                           size_t count) {
  switch (type) {
  case GGMLType::F32:
    std::memcpy(dst, src, count * sizeof(float));
    return true;
  case GGMLType::F16:
    for (size_t i = 0; i < count; ++i)
      dst[i] = halfToFloat(load16(src, i));
    return true;
  case GGMLType::BF16:
    for (size_t i = 0; i < count; ++i)
      dst[i] = bf16ToFloat(load16(src, i));
    return true;
  case GGMLType::Q4_0:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockQ4_0 x = block<BlockQ4_0>(src, b);
      float d = fp16(x.d);
      for (uint32_t j = 0; j < QK / 2; ++j) {
        dst[j] = d * static_cast<float>((x.qs[j] & 0xF) - 8);
        dst[j + QK / 2] = d * static_cast<float>((x.qs[j] >> 4) - 8);
      }
    }
    return true;
  case GGMLType::Q4_1:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockQ4_1 x = block<BlockQ4_1>(src, b);
      float d = fp16(x.d), m = fp16(x.m);
      for (uint32_t j = 0; j < QK / 2; ++j) {
        dst[j] = d * static_cast<float>(x.qs[j] & 0xF) + m;
        dst[j + QK / 2] = d * static_cast<float>(x.qs[j] >> 4) + m;
      }
    }
    return true;
  case GGMLType::Q5_0:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockQ5_0 x = block<BlockQ5_0>(src, b);
      float d = fp16(x.d);
      uint32_t qh;
      std::memcpy(&qh, x.qh, sizeof(qh));
      for (uint32_t j = 0; j < QK / 2; ++j) {
        int lo = (x.qs[j] & 0xF) | (((qh >> j) & 1) << 4);
        int hi = (x.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
        dst[j] = d * static_cast<float>(lo - 16);
        dst[j + QK / 2] = d * static_cast<float>(hi - 16);
      }
    }
    return true;
  case GGMLType::Q5_1:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockQ5_1 x = block<BlockQ5_1>(src, b);
      float d = fp16(x.d), m = fp16(x.m);
      uint32_t qh;
      std::memcpy(&qh, x.qh, sizeof(qh));
      for (uint32_t j = 0; j < QK / 2; ++j) {
        int lo = (x.qs[j] & 0xF) | (((qh >> j) & 1) << 4);
        int hi = (x.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
        dst[j] = d * static_cast<float>(lo) + m;
        dst[j + QK / 2] = d * static_cast<float>(hi) + m;
      }
    }
    return true;
  case GGMLType::Q8_0:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockQ8_0 x = block<BlockQ8_0>(src, b);
      float d = fp16(x.d);
      for (uint32_t j = 0; j < QK; ++j)
        dst[j] = static_cast<float>(x.qs[j]) * d;
    }
    return true;
  case GGMLType::Q2_K:
    // Element e of a block: 2 bits of qs[(e / 128) * 32 + e % 32] at shift
    // 2 * (e / 32 % 4); scale and min of its group of 16 in scales[e / 16].
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockQ2_K x = block<BlockQ2_K>(src, b);
      float d = fp16(x.d), dmin = fp16(x.dmin);
      for (uint32_t e = 0; e < QK_K; ++e) {
        uint8_t sc = x.scales[e / 16];
        float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
        int q = (x.qs[(e / 128) * 32 + e % 32] >> (2 * (e / 32 % 4))) & 3;
        *dst++ = dl * static_cast<float>(q) - ml;
      }
    }
    return true;
  case GGMLType::Q3_K:
    // As Q2_K, with a third bit in hmask[e % 32] at bit e / 32 (set: no
    // offset, clear: -4) and signed 6-bit scales: the low 4 bits of group g
    // in scales[g % 8] (high nibble for g >= 8), the top 2 in scales[8 + g % 4]
    // at shift 2 * (g / 4).
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockQ3_K x = block<BlockQ3_K>(src, b);
      float d = fp16(x.d);
      for (uint32_t e = 0; e < QK_K; ++e) {
        uint32_t g = e / 16;
        int low = (x.scales[g % 8] >> (g < 8 ? 0 : 4)) & 0xF;
        int high = (x.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
        float dl = d * static_cast<float>(static_cast<int8_t>(low | (high << 4)) - 32);
        int q = (x.qs[(e / 128) * 32 + e % 32] >> (2 * (e / 32 % 4))) & 3;
        if (!((x.hmask[e % 32] >> (e / 32)) & 1))
          q -= 4;
        *dst++ = dl * static_cast<float>(q);
      }
    }
    return true;
  case GGMLType::IQ4_NL:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockIQ4_NL x = block<BlockIQ4_NL>(src, b);
      float d = fp16(x.d);
      for (uint32_t j = 0; j < QK / 2; ++j) {
        dst[j] = d * static_cast<float>(kIQ4Values[x.qs[j] & 0xF]);
        dst[j + QK / 2] = d * static_cast<float>(kIQ4Values[x.qs[j] >> 4]);
      }
    }
    return true;
  case GGMLType::MXFP4:
    for (size_t b = 0; b < count / QK; ++b, dst += QK) {
      const BlockMXFP4 x = block<BlockMXFP4>(src, b);
      const float d = e8m0Half(x.e);
      for (uint32_t j = 0; j < QK / 2; ++j) {
        dst[j] = d * static_cast<float>(kE2M1Doubled[x.qs[j] & 0xF]);
        dst[j + QK / 2] = d * static_cast<float>(kE2M1Doubled[x.qs[j] >> 4]);
      }
    }
    return true;
  case GGMLType::IQ4_XS:
    // 8 sub-blocks of 32 with signed 6-bit scales: the low 4 bits in a
    // nibble of scalesL, the top 2 in scalesH at shift 2 * sub-block.
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockIQ4_XS x = block<BlockIQ4_XS>(src, b);
      float d = fp16(x.d);
      for (uint32_t ib = 0; ib < QK_K / 32; ++ib, dst += 32) {
        int low = (x.scalesL[ib / 2] >> (4 * (ib % 2))) & 0xF;
        int high = (x.scalesH >> (2 * ib)) & 3;
        float dl = d * static_cast<float>((low | (high << 4)) - 32);
        const uint8_t *qs = x.qs + 16 * ib;
        for (uint32_t j = 0; j < 16; ++j) {
          dst[j] = dl * static_cast<float>(kIQ4Values[qs[j] & 0xF]);
          dst[j + 16] = dl * static_cast<float>(kIQ4Values[qs[j] >> 4]);
        }
      }
    }
    return true;
  case GGMLType::Q4_K:
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockQ4_K x = block<BlockQ4_K>(src, b);
      float d = fp16(x.d), dmin = fp16(x.dmin);
      const uint8_t *q = x.qs;
      for (int j = 0, is = 0; j < static_cast<int>(QK_K); j += 64, is += 2) {
        uint8_t sc, m;
        scaleMinK4(is, x.scales, sc, m);
        float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
        scaleMinK4(is + 1, x.scales, sc, m);
        float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
        for (int l = 0; l < 32; ++l)
          *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l)
          *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        q += 32;
      }
    }
    return true;
  case GGMLType::Q5_K:
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockQ5_K x = block<BlockQ5_K>(src, b);
      float d = fp16(x.d), dmin = fp16(x.dmin);
      const uint8_t *ql = x.qs;
      uint8_t u1 = 1, u2 = 2;
      for (int j = 0, is = 0; j < static_cast<int>(QK_K); j += 64, is += 2) {
        uint8_t sc, m;
        scaleMinK4(is, x.scales, sc, m);
        float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
        scaleMinK4(is + 1, x.scales, sc, m);
        float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
        for (int l = 0; l < 32; ++l)
          *dst++ = d1 * static_cast<float>((ql[l] & 0xF) + (x.qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l)
          *dst++ = d2 * static_cast<float>((ql[l] >> 4) + (x.qh[l] & u2 ? 16 : 0)) - m2;
        ql += 32;
        u1 <<= 2;
        u2 <<= 2;
      }
    }
    return true;
  case GGMLType::Q6_K:
    for (size_t b = 0; b < count / QK_K; ++b) {
      const BlockQ6_K x = block<BlockQ6_K>(src, b);
      float d = fp16(x.d);
      const uint8_t *ql = x.ql, *qh = x.qh;
      const int8_t *sc = x.scales;
      for (uint32_t n = 0; n < QK_K; n += 128) {
        for (int l = 0; l < 32; ++l) {
          int is = l / 16;
          int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          dst[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
          dst[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
          dst[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
          dst[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
        }
        dst += 128;
        ql += 64;
        qh += 32;
        sc += 8;
      }
    }
    return true;
  default:
    return false;
  }
}

void lazyc::rt::quantizeQ8_0(const float *src, void *dst, size_t count) {
  auto *out = static_cast<uint8_t *>(dst);
  for (size_t b = 0; b < count / QK; ++b, src += QK, out += sizeof(BlockQ8_0)) {
    float amax = 0;
    for (uint32_t j = 0; j < QK; ++j)
      amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 y;
    y.d = floatToHalf(d);
    for (uint32_t j = 0; j < QK; ++j) {
      // roundf (halves away from zero) without a libm call: |v| <= 127
      // unless x is inf / nan (then 0), so the truncation and the fraction
      // v - t are exact.
      const float v = src[j] * id;
      int32_t t = std::fabs(v) <= 127.5f ? static_cast<int32_t>(v) : 0;
      const float fraction = std::fabs(v) <= 127.5f ? v - static_cast<float>(t) : 0.0f;
      t += (fraction >= 0.5f) - (fraction <= -0.5f);
      y.qs[j] = static_cast<int8_t>(std::clamp(t, -127, 127));
    }
    std::memcpy(out, &y, sizeof(y));
  }
}
