//===- Profile.h - where a CPU step's time goes (LAZYC_PROFILE=1) -*- C++ -*-===//
//
// With LAZYC_PROFILE=1 in the environment, the CPU runtime times every call
// of its kernels (the GEMMs, attention, LazyLLM's scores/selection/Aux Cache)
// and every model step, grouped by the kind of step (prefill: several new
// tokens; decode: one), kernel and the number of rows the call computes (1,
// 2-15, 16-63, 64+: a decode step's own token, revivals, prefill), and prints
// the table on stderr when the process exits. What the steps spend
// outside the runtime's kernels is the compiled model's own code (RMSNorm,
// RoPE, SwiGLU, gathers and scatters, copies). Off (the default), a call
// costs one load of a flag.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_PROFILE_H
#define LAZYC_RUNTIME_CPU_PROFILE_H

#include <chrono>
#include <cstdint>

namespace lazyc::rt::profile {

/// Whether LAZYC_PROFILE is set to a value other than 0 (read once).
bool enabled();

/// Adds one call of `kernel` (a string literal) over `rows` rows that took
/// `seconds` to the table, under the phase of the current step.
void record(const char *kernel, int64_t rows, double seconds);

/// The step starting now computes `rows` new tokens: its kernels count as a
/// prefill (rows > 1) or a decode step (1 row). The runtime times the step
/// itself as the kernel "step".
void beginStep(int64_t rows);

/// Times its scope as one call of `kernel` when profiling is on.
class Scope {
public:
  Scope(const char *kernel, int64_t rows) : kernel_(enabled() ? kernel : nullptr), rows_(rows) {
    if (kernel_)
      start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (kernel_)
      record(kernel_, rows_,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;

private:
  const char *kernel_;
  int64_t rows_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace lazyc::rt::profile

#endif // LAZYC_RUNTIME_CPU_PROFILE_H
