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

/// Routes `rows` rows of router logits ([rows x experts], any router bias
/// already added): a softmax over the experts' logits, the top_k most
/// probable (ties: the lower expert, as a stable sort) or, with a
/// `selectionBias` (one per expert), the top_k of probability + bias; their
/// probabilities renormalized by their sum (at least `normMin`) when
/// `normTopK`, else as they are. Fills `assigned` (`experts` lists).
inline void routeExperts(const float *logits, int64_t rows, int64_t experts,
                         const float *selectionBias, int64_t topK, bool normTopK, float normMin,
                         ExpertRows &assigned) {
  assigned.assign(static_cast<size_t>(experts), {});
  std::vector<int64_t> order(static_cast<size_t>(experts));
  std::vector<float> probs(static_cast<size_t>(experts)), chooseBy(static_cast<size_t>(experts));
  for (int64_t r = 0; r < rows; ++r) {
    const float *l = logits + r * experts;
    float max = *std::max_element(l, l + experts), sum = 0.0f;
    for (int64_t e = 0; e < experts; ++e)
      sum += probs[e] = std::exp(l[e] - max);
    for (int64_t e = 0; e < experts; ++e)
      probs[e] /= sum;
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
    chosen = std::max(chosen, normMin);
    for (int64_t k = 0; k < topK; ++k)
      assigned[order[k]].push_back({r, normTopK ? probs[order[k]] / chosen : probs[order[k]]});
  }
}

} // namespace lazyc::rt

#endif // LAZYC_RUNTIME_CPU_MOEROUTING_H
