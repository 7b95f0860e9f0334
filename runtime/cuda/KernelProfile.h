//===- KernelProfile.h - GPU time of the compiled kernels by kind ----------===//
//
// The compiler names each generated kernel <function>_<kind>_<N>
// (lazyc-gpu-name-kernels: the op it came from, e.g. forward_rms_norm_12).
// LAZYC_CUDA_PROFILE=1 sums the GPU time of the launches per kind. Plain
// C++ (no CUDA), so it is unit-tested on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CUDA_KERNELPROFILE_H
#define LAZYC_RUNTIME_CUDA_KERNELPROFILE_H

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lazyc::rt {

/// "forward_rms_norm_12" -> "forward_rms_norm"; a name without a numeric
/// suffix stays as it is.
inline std::string kernelKind(std::string_view name) {
  size_t end = name.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1])))
    --end;
  if (end == name.size() || end < 2 || name[end - 1] != '_')
    return std::string(name);
  return std::string(name.substr(0, end - 1));
}

/// GPU time and launch count per kernel kind.
class KernelTotals {
public:
  struct Entry {
    std::string kind;
    double ms = 0;
    int64_t launches = 0;
  };
  void add(const std::string &kind, double ms) {
    Entry &e = totals_[kind];
    e.kind = kind;
    e.ms += ms;
    ++e.launches;
  }
  /// The kinds, most GPU time first (ties: by name).
  std::vector<Entry> sorted() const {
    std::vector<Entry> out;
    for (const auto &[kind, e] : totals_)
      out.push_back(e);
    std::stable_sort(out.begin(), out.end(),
                     [](const Entry &a, const Entry &b) { return a.ms > b.ms; });
    return out;
  }
  bool empty() const { return totals_.empty(); }

private:
  std::map<std::string, Entry> totals_;
};

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CUDA_KERNELPROFILE_H
