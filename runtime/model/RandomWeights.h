//===- RandomWeights.h - deterministic random weights -----------*- C++ -*-===//
//
// Synthetic models (lazy-compile synthetic:NAME) have no weight file: the
// runtime fills each tensor from a hash of (seed, tensor index, element
// index), on the CPU or directly on the GPU, bit-identically, so CPU and GPU
// runs of the same model can be compared. Norm weights are 1; matrices are
// uniform in [-a, a] with a = 0.02 * sqrt(3) (standard deviation 0.02, as
// the PyTorch anchor's randn * 0.02).
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_MODEL_RANDOMWEIGHTS_H
#define LAZYC_RUNTIME_MODEL_RANDOMWEIGHTS_H

#include <stdint.h>

#ifdef __CUDACC__
#define LAZYC_HD __host__ __device__ inline
#else
#define LAZYC_HD inline
#endif

namespace lazyc::rt {

constexpr float kRandomWeightScale = 0.034641016f; // 0.02 * sqrt(3)

/// SplitMix64 finalizer.
LAZYC_HD uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Element `i` of tensor `tensor`: uniform in [-scale, scale).
LAZYC_HD float randomWeight(uint64_t seed, uint64_t tensor, uint64_t i, float scale) {
  uint64_t x = mix64(seed * 0x9E3779B97F4A7C15ull ^ (tensor << 40) ^ i);
  float u = static_cast<float>(x >> 40) * (1.0f / 16777216.0f); // [0, 1)
  return (2.0f * u - 1.0f) * scale;
}

/// Round-to-nearest-even float -> bf16 bits (finite inputs).
LAZYC_HD uint16_t floatToBF16Bits(float f) {
  union {
    float f;
    uint32_t u;
  } v{f};
  uint32_t rounding = 0x7FFFu + ((v.u >> 16) & 1u);
  return static_cast<uint16_t>((v.u + rounding) >> 16);
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_MODEL_RANDOMWEIGHTS_H
