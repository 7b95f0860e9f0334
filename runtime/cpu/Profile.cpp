//===- Profile.cpp - LAZYC_PROFILE=1: time per kernel and row count -------===//

#include "runtime/cpu/Profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace lazyc::rt::profile {
namespace {

/// The row buckets: a decode step computes 1 row per layer, revivals and
/// small prompts a few, a prefill hundreds.
int bucketOf(int64_t rows) { return rows <= 1 ? 0 : rows < 16 ? 1 : rows < 64 ? 2 : 3; }
const char *const kBucketNames[] = {"1", "2-15", "16-63", "64+"};
const char *const kPhaseNames[] = {"prefill", "decode"};

struct Entry {
  int64_t calls = 0, rows = 0;
  double seconds = 0;
};

struct Table {
  std::mutex mutex;
  int phase = 0; // of the current step: 0 prefill, 1 decode
  // (phase, kernel, row bucket) -> totals.
  std::map<std::tuple<int, std::string, int>, Entry> entries;
};

Table &table() {
  static Table *t = new Table; // never destroyed: printed at exit
  return *t;
}

void print() {
  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (t.entries.empty())
    return;
  std::fprintf(stderr,
               "lazyc profile (LAZYC_PROFILE=1): CPU runtime kernels per kind of step, by rows "
               "per call; share = of those steps' wall time\n");
  for (int phase = 0; phase < 2; ++phase) {
    Entry steps;
    std::vector<std::pair<std::tuple<int, std::string, int>, Entry>> rows;
    for (auto &[key, e] : t.entries) {
      if (std::get<0>(key) != phase)
        continue;
      if (std::get<1>(key) == "step") {
        steps.calls += e.calls;
        steps.rows += e.rows;
        steps.seconds += e.seconds;
      } else {
        rows.emplace_back(key, e);
      }
    }
    if (steps.calls == 0)
      continue;
    std::sort(rows.begin(), rows.end(),
              [](const auto &a, const auto &b) { return a.second.seconds > b.second.seconds; });
    std::fprintf(stderr, "%s: %lld step%s, %lld tokens, %.2f ms\n", kPhaseNames[phase],
                 static_cast<long long>(steps.calls), steps.calls == 1 ? "" : "s",
                 static_cast<long long>(steps.rows), steps.seconds * 1e3);
    std::fprintf(stderr, "  %-20s %6s %9s %11s %12s %11s %7s\n", "kernel", "rows", "calls",
                 "rows total", "total ms", "per call us", "share");
    double kernels = 0;
    for (auto &[key, e] : rows) {
      kernels += e.seconds;
      std::fprintf(stderr, "  %-20s %6s %9lld %11lld %12.2f %11.1f %6.1f%%\n",
                   std::get<1>(key).c_str(), kBucketNames[std::get<2>(key)],
                   static_cast<long long>(e.calls), static_cast<long long>(e.rows),
                   e.seconds * 1e3, e.seconds * 1e6 / static_cast<double>(e.calls),
                   100.0 * e.seconds / steps.seconds);
    }
    // The rest is the compiled model's own code (and the step's overhead).
    std::fprintf(stderr, "  %-20s %6s %9s %11s %12.2f %11s %6.1f%%\n", "(compiled code)", "",
                 "", "", (steps.seconds - kernels) * 1e3, "",
                 100.0 * (steps.seconds - kernels) / steps.seconds);
  }
}

} // namespace

bool enabled() {
  static const bool on = [] {
    const char *value = std::getenv("LAZYC_PROFILE");
    return value && *value && std::strcmp(value, "0") != 0;
  }();
  return on;
}

void beginStep(int64_t rows) {
  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.phase = rows > 1 ? 0 : 1;
}

void record(const char *kernel, int64_t rows, double seconds) {
  static const bool registered = [] { return std::atexit(print) == 0; }();
  (void)registered;
  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  Entry &e = t.entries[{t.phase, kernel, bucketOf(rows)}];
  ++e.calls;
  e.rows += std::max<int64_t>(rows, 0);
  e.seconds += seconds;
}

} // namespace lazyc::rt::profile
