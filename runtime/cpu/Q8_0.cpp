//===- Q8_0.cpp - GEMMs on GGML Q8_0 weights ------------------------------===//
//
// Compiled for LAZYC_KERNEL_ARCH (x86-64-v3: AVX2, FMA, F16C) like the other
// kernels; a portable loop otherwise. The block kernels are BlockGemv.h's
// over Q8_0's blocks: an f16 scale, then 32 int8 values.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Q8_0.h"
#include "runtime/cpu/BlockGemv.h"

#include "runtime/model/Quant.h"

#include <cstring>

using namespace lazyc::rt;

namespace {

struct Q8_0Blocks {
  static constexpr int64_t kBytes = kQ8_0Bytes;
  static float scale(const uint8_t *block) {
    uint16_t bits;
    std::memcpy(&bits, block, sizeof(bits));
#ifdef LAZYC_BLOCK_AVX2
    return _cvtsh_ss(bits);
#else
    return halfToFloat(bits);
#endif
  }
  static int8_t value(const uint8_t *block, int j) {
    return static_cast<int8_t>(block[2 + j]);
  }
#ifdef LAZYC_BLOCK_AVX2
  static void codes(const uint8_t *block, __m128i &first, __m128i &last) {
    first = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 2));
    last = _mm_loadu_si128(reinterpret_cast<const __m128i *>(block + 18));
  }
#endif
};
static_assert(kQ8_0Values == blocks::kValues && kQ8_0GemvRows == blocks::kGemvRows);

} // namespace

void lazyc::rt::gemvQ8_0(const float *x, int64_t rows, int64_t in, const uint8_t *w, int64_t out,
                         float *y, bool accumulate) {
  blocks::gemv<Q8_0Blocks>(x, rows, in, w, out, y, accumulate);
}

void lazyc::rt::widenQ8_0Rows(const uint8_t *w, int64_t in, int64_t first, int64_t count,
                              float *out) {
  blocks::widenRows<Q8_0Blocks>(w, in, first, count, out, [](float v) { return v; });
}
