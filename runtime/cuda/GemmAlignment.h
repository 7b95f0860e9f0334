//===- GemmAlignment.h - pointer alignment for cuBLASLt's algorithm choice -===//
//
// cuBLASLt's heuristic assumes 256-byte aligned A/B/C/D unless told
// otherwise (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES), and an algorithm
// chosen for 256 bytes fails on a pointer that is less aligned. The runtime
// tells it each operand's actual alignment and keeps one plan per shape and
// alignment. Plain C++ (no CUDA), so it is unit-tested on machines without a
// GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_GEMMALIGNMENT_H
#define LAZYC_RUNTIME_CUDA_GEMMALIGNMENT_H

#include <cstdint>

namespace lazyc::rt {

/// The largest power of two, at most 256, that divides `address` (256 for
/// address 0: a null pointer constrains nothing).
inline uint32_t gemmAlignment(uintptr_t address) {
  uint32_t align = 256;
  while (align > 1 && address % align != 0)
    align /= 2;
  return align;
}

inline uint32_t gemmAlignment(const void *p) {
  return gemmAlignment(reinterpret_cast<uintptr_t>(p));
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_GEMMALIGNMENT_H
