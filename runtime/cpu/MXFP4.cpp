//===- MXFP4.cpp - GEMMs on MXFP4 weights ---------------------------------===//
//
// Compiled for LAZYC_KERNEL_ARCH (x86-64-v3: AVX2, FMA) like the other
// kernels; a portable loop otherwise. The block kernels are BlockGemv.h's
// over MXFP4's blocks: a block's 32 codes become int8 values through a
// 16-entry table (a byte shuffle), its scale a power of two.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/MXFP4.h"
#include "runtime/cpu/BlockGemv.h"

#include "runtime/model/Quant.h"


using namespace lazyc::rt;

namespace {

struct MXFP4Blocks {
  static constexpr int64_t kBytes = kMXFP4Bytes;
  static float scale(const uint8_t *block) { return e8m0Half(block[0]); }
  /// Values 0..15 in the low nibbles of bytes 1..16, 16..31 in the high ones.
  static int8_t value(const uint8_t *block, int j) {
    return kE2M1Doubled[j < 16 ? block[1 + j] & 0xF : block[1 + j - 16] >> 4];
  }
#ifdef LAZYC_BLOCK_AVX2
  static void codes(const uint8_t *block, __m128i &first, __m128i &last) {
    const __m128i table = _mm_load_si128(reinterpret_cast<const __m128i *>(kE2M1Doubled));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 1));
    first = _mm_shuffle_epi8(table, _mm_and_si128(q, mask));
    last = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), mask));
  }
#endif
};
static_assert(kMXFP4Values == blocks::kValues && kMXFP4GemvRows == blocks::kGemvRows);

} // namespace

void lazyc::rt::gemvMXFP4(const float *x, int64_t rows, int64_t in, const uint8_t *w,
                          int64_t out, float *y, bool accumulate) {
  blocks::gemv<MXFP4Blocks>(x, rows, in, w, out, y, accumulate);
}

void lazyc::rt::widenMXFP4Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                               float *out) {
  blocks::widenRows<MXFP4Blocks>(w, in, first, count, out, [](float v) { return v; });
}

void lazyc::rt::widenMXFP4RowsBF16(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                                   uint16_t *out) {
  blocks::widenRows<MXFP4Blocks>(w, in, first, count, out, floatToBF16);
}
