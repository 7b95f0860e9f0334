//===- MoERouting.h - which experts a mixture of experts runs ---*- C++ -*-===//
//
// The routing of llm.moe (lazyc_rt_moe, and lazyc_gpu_moe on the router
// logits it copies back from the GPU): one function, so both targets choose
// the same experts with the same weights. Header-only: the CUDA runtime
// (compiled by nvcc, loaded apart from lazycrt) includes it too.
//
//===----------------------------------------------------------------------===//

#ifndef LAZYC_RUNTIME_CPU_MOEROUTING_H
#define LAZYC_RUNTIME_CPU_MOEROUTING_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace lazyc::rt {

/// Per expert, the rows routed to it (ascending) and their weights.
using ExpertRows = std::vector<std::vector<std::pair<int64_t, float>>>;

/// How a router turns logits into expert scores and weights (llm.moe's
/// scoring and routed_scale).
struct Routing {
  int64_t topK = 1;
  /// Score each expert by the sigmoid of its logit (GLM-4.5, DeepSeek-V3)
  /// instead of the softmax over the experts.
  bool sigmoid = false;
  /// Renormalize the chosen experts' scores by their sum (at least normMin).
  bool normTopK = false;
  float normMin = 0.0f;
  /// Multiplies the chosen experts' weights (after renormalizing).
  float scale = 1.0f;
  /// From the MoE kernels' arguments (Kernels.h's lazyc_rt_moe: `scoring` 1
  /// is sigmoid).
  static Routing fromKernelArgs(int64_t topK, int64_t scoring, int64_t normTopK, double normMin,
                                double scale) {
    Routing r;
    r.topK = topK;
    r.sigmoid = scoring == 1;
    r.normTopK = normTopK != 0;
    r.normMin = static_cast<float>(normMin);
    r.scale = static_cast<float>(scale);
    return r;
  }
};

/// Routes `rows` rows of router logits ([rows x experts], any router bias
/// already added): each expert's score is the softmax over the experts'
/// logits (or the sigmoid of its own), the top_k highest scores are chosen
/// (ties: the lower expert, as a stable sort) or, with a `selectionBias` (one
/// per expert), the top_k of score + bias; their weights are their scores,
/// renormalized by their sum (at least `normMin`) when `normTopK`, times
/// `scale`. Fills `assigned` (`experts` lists).
inline void routeExperts(const float *logits, int64_t rows, int64_t experts,
                         const float *selectionBias, const Routing &routing,
                         ExpertRows &assigned) {
  const int64_t topK = routing.topK;
  assigned.assign(static_cast<size_t>(experts), {});
  std::vector<int64_t> order(static_cast<size_t>(experts));
  std::vector<float> probs(static_cast<size_t>(experts)), chooseBy(static_cast<size_t>(experts));
  for (int64_t r = 0; r < rows; ++r) {
    const float *l = logits + r * experts;
    if (routing.sigmoid) {
      for (int64_t e = 0; e < experts; ++e)
        probs[e] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      float max = *std::max_element(l, l + experts), sum = 0.0f;
      for (int64_t e = 0; e < experts; ++e)
        sum += probs[e] = std::exp(l[e] - max);
      for (int64_t e = 0; e < experts; ++e)
        probs[e] /= sum;
    }
    for (int64_t e = 0; e < experts; ++e) {
      order[e] = e;
      chooseBy[e] = selectionBias ? probs[e] + selectionBias[e] : probs[e];
    }
    std::partial_sort(order.begin(), order.begin() + topK, order.end(), [&](int64_t a, int64_t b) {
      return chooseBy[a] > chooseBy[b] || (chooseBy[a] == chooseBy[b] && a < b);
    });
    float chosen = 0.0f;
    for (int64_t k = 0; k < topK; ++k)
      chosen += probs[order[k]];
    chosen = std::max(chosen, routing.normMin);
    for (int64_t k = 0; k < topK; ++k) {
      const float p = probs[order[k]];
      assigned[order[k]].push_back({r, (routing.normTopK ? p / chosen : p) * routing.scale});
    }
  }
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CPU_MOEROUTING_H
