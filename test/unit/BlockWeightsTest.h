//===- BlockWeightsTest.h - checks of the block-format GEMMs ----*- C++ -*-===//
//
// Q8_0Test and MXFP4Test: the GEMMs that read a 32-value block format as it
// is (runtime/cpu/BlockGemv.h), checked the same way for each format.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_TEST_UNIT_BLOCKWEIGHTSTEST_H
#define LAZYC_TEST_UNIT_BLOCKWEIGHTSTEST_H

#include "runtime/cpu/Kernels.h"
#include "runtime/model/Quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

namespace lazyc::test {

/// A block format: its quantizer, its GGML type, its bytes per block, its
/// lazyc_rt_linear weight type code and its direct (few rows) kernel.
struct BlockFormat {
  void (*quantize)(const float *, void *, size_t);
  rt::GGMLType type;
  int64_t blockBytes, weightType;
  void (*gemv)(const float *, int64_t, int64_t, const uint8_t *, int64_t, float *, bool);
};

/// A random [out x in] matrix of `format`, its widened values and random inputs.
struct BlockProblem {
  std::vector<uint8_t> w;
  std::vector<float> wide, x;
};
inline BlockProblem makeBlockProblem(const BlockFormat &format, int64_t rows, int64_t in,
                                     int64_t out, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> values(static_cast<size_t>(out * in));
  for (float &v : values)
    v = normal(gen);
  BlockProblem p;
  p.w.resize(static_cast<size_t>(out * in / 32 * format.blockBytes));
  format.quantize(values.data(), p.w.data(), values.size());
  p.wide.resize(values.size());
  rt::dequantize(format.type, p.w.data(), p.wide.data(), values.size());
  p.x.resize(static_cast<size_t>(rows * in));
  for (float &v : p.x)
    v = normal(gen) * 20.0f;
  return p;
}

/// lazyc_rt_linear on `format`'s weights against a double-precision product
/// with the widened weights, for each (rows, out) of `shapes`, and the
/// accumulating form of lazyc_rt_linear_ex.
inline void checkBlockGemms(const BlockFormat &format,
                            std::initializer_list<std::pair<int64_t, int64_t>> shapes) {
  const int64_t in = 96; // 3 blocks per row
  auto addr = [](auto &v) { return reinterpret_cast<uint64_t>(v.data()); };
  for (auto [rows, out] : shapes) {
    BlockProblem p = makeBlockProblem(format, rows, in, out, static_cast<uint32_t>(rows));
    std::vector<float> y(static_cast<size_t>(rows * out)), acc(y.size());
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = 0.5f * static_cast<float>(i % 5);
    std::vector<float> start = acc;
    lazyc_rt_linear(addr(p.x), rows, in, addr(p.w), format.weightType, out, addr(y));
    lazyc_rt_linear_ex(addr(p.x), 0, rows, in, addr(p.w), format.weightType, out, addr(acc), 0,
                       1);
    double worst = 0, worstAcc = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < out; ++n) {
        double want = 0, scale = 0;
        for (int64_t k = 0; k < in; ++k) {
          double term = static_cast<double>(p.x[r * in + k]) * p.wide[n * in + k];
          want += term;
          scale += std::fabs(term);
        }
        const size_t i = static_cast<size_t>(r * out + n);
        worst = std::max(worst, std::fabs(y[i] - want) / scale);
        worstAcc = std::max(worstAcc, std::fabs(acc[i] - start[i] - want) / (scale + 1));
      }
    // f32 sums of 96 terms: a few ulps of the sum of magnitudes.
    EXPECT_LT(worst, 1e-6) << rows << " x " << out;
    EXPECT_LT(worstAcc, 1e-6) << rows << " x " << out << " (accumulating)";
  }
}

/// The direct kernel called with more rows than one pass handles runs
/// groups of 8: the same values as the row-by-row products.
inline void checkGemvOfManyRows(const BlockFormat &format) {
  const int64_t rows = 11, in = 64, out = 37;
  BlockProblem p = makeBlockProblem(format, rows, in, out, 7);
  std::vector<float> all(static_cast<size_t>(rows * out)), one(static_cast<size_t>(out));
  format.gemv(p.x.data(), rows, in, p.w.data(), out, all.data(), false);
  for (int64_t r = 0; r < rows; ++r) {
    format.gemv(p.x.data() + r * in, 1, in, p.w.data(), out, one.data(), false);
    for (int64_t n = 0; n < out; ++n)
      EXPECT_FLOAT_EQ(all[r * out + n], one[n]) << r << ", " << n;
  }
}

} // namespace lazyc::test

#endif // LAZYC_TEST_UNIT_BLOCKWEIGHTSTEST_H
