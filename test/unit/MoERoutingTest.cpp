//===- MoERoutingTest.cpp - llm.moe's routing (runtime/cpu/MoERouting.h) --===//
//
// The routing both targets share: hand-computed cases of the softmax top-k,
// its ties, a selection bias (ERNIE 4.5 MoE's), renormalization and its
// floor, and GLM-4.5's sigmoid scores with a routed scale.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/MoERouting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace lazyc::rt;

namespace {

/// Top-k routing of the softmax, renormalized or not, with a floor.
Routing softmaxTopK(int64_t topK, bool norm, float normMin = 0.0f) {
  Routing r;
  r.topK = topK;
  r.normTopK = norm;
  r.normMin = normMin;
  return r;
}

/// The softmax of `logits`.
std::vector<float> softmax(const std::vector<float> &logits) {
  float max = logits[0], sum = 0;
  for (float l : logits)
    max = std::max(max, l);
  std::vector<float> p;
  for (float l : logits)
    sum += p.emplace_back(std::exp(l - max));
  for (float &v : p)
    v /= sum;
  return p;
}

TEST(MoERouting, TopKOfTheSoftmaxRenormalized) {
  // Row 0 prefers experts 2 then 0; row 1 experts 1 then 3.
  const std::vector<float> logits = {1.0f, -1.0f, 2.0f, 0.0f, //
                                     0.0f, 3.0f, -2.0f, 1.0f};
  ExpertRows assigned;
  routeExperts(logits.data(), 2, 4, nullptr, softmaxTopK(2, true), assigned);
  ASSERT_EQ(assigned.size(), 4u);
  const std::vector<float> p0 = softmax({1, -1, 2, 0}), p1 = softmax({0, 3, -2, 1});
  ASSERT_EQ(assigned[0].size(), 1u);
  ASSERT_EQ(assigned[1].size(), 1u);
  ASSERT_EQ(assigned[2].size(), 1u);
  ASSERT_EQ(assigned[3].size(), 1u);
  EXPECT_EQ(assigned[2][0].first, 0);
  EXPECT_EQ(assigned[0][0].first, 0);
  EXPECT_EQ(assigned[1][0].first, 1);
  EXPECT_EQ(assigned[3][0].first, 1);
  EXPECT_NEAR(assigned[2][0].second, p0[2] / (p0[2] + p0[0]), 1e-6);
  EXPECT_NEAR(assigned[0][0].second, p0[0] / (p0[2] + p0[0]), 1e-6);
  EXPECT_NEAR(assigned[1][0].second, p1[1] / (p1[1] + p1[3]), 1e-6);
  // Without renormalization: the probabilities themselves.
  routeExperts(logits.data(), 2, 4, nullptr, softmaxTopK(2, false), assigned);
  EXPECT_NEAR(assigned[2][0].second, p0[2], 1e-6);
  EXPECT_NEAR(assigned[3][0].second, p1[3], 1e-6);
}

TEST(MoERouting, TiesGoToTheLowerExpert) {
  const std::vector<float> logits = {0.5f, 0.5f, 0.5f, 0.5f};
  ExpertRows assigned;
  routeExperts(logits.data(), 1, 4, nullptr, softmaxTopK(2, true), assigned);
  EXPECT_EQ(assigned[0].size(), 1u);
  EXPECT_EQ(assigned[1].size(), 1u);
  EXPECT_TRUE(assigned[2].empty());
  EXPECT_TRUE(assigned[3].empty());
  EXPECT_FLOAT_EQ(assigned[0][0].second, 0.5f);
}

TEST(MoERouting, SelectionBiasChoosesButDoesNotWeigh) {
  // Expert 3 is the least probable but its bias makes it chosen; its weight
  // is still its probability (renormalized among the chosen).
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f, -1.0f};
  const std::vector<float> bias = {0.0f, 0.0f, 0.0f, 1.0f};
  ExpertRows assigned;
  routeExperts(logits.data(), 1, 4, bias.data(), softmaxTopK(2, true), assigned);
  const std::vector<float> p = softmax(logits);
  ASSERT_EQ(assigned[3].size(), 1u);
  ASSERT_EQ(assigned[0].size(), 1u);
  EXPECT_TRUE(assigned[1].empty());
  EXPECT_NEAR(assigned[3][0].second, p[3] / (p[0] + p[3]), 1e-6);
}

TEST(MoERouting, RenormalizationHasAFloor) {
  // The chosen experts' probabilities sum to ~0.02, under the floor 0.5:
  // divided by 0.5 instead (ERNIE 4.5 MoE's clamp).
  const std::vector<float> logits = {0.0f, 0.0f, 8.0f};
  const std::vector<float> bias = {1.0f, 1.0f, 0.0f};
  ExpertRows assigned;
  routeExperts(logits.data(), 1, 3, bias.data(), softmaxTopK(2, true, 0.5f), assigned);
  const std::vector<float> p = softmax(logits);
  ASSERT_EQ(assigned[0].size(), 1u);
  ASSERT_EQ(assigned[1].size(), 1u);
  EXPECT_TRUE(assigned[2].empty());
  EXPECT_NEAR(assigned[0][0].second, p[0] / 0.5f, 1e-7);
}

TEST(MoERouting, SigmoidScoresAndARoutedScale) {
  // GLM-4.5's router: each expert's sigmoid (no softmax across them), the
  // chosen by score + bias, renormalized over the chosen, times 2.5.
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 1.5f};
  const std::vector<float> bias = {0.5f, 0.0f, 0.0f, 0.0f};
  auto sigmoid = [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
  Routing routing;
  routing.topK = 2;
  routing.sigmoid = true;
  routing.normTopK = true;
  routing.scale = 2.5f;
  ExpertRows assigned;
  // Scores + bias: 0.62 + 0.5 (expert 0), 0.27, 0.88, 0.82: experts 0 and 2.
  routeExperts(logits.data(), 1, 4, bias.data(), routing, assigned);
  ASSERT_EQ(assigned[0].size(), 1u);
  ASSERT_EQ(assigned[2].size(), 1u);
  EXPECT_TRUE(assigned[3].empty());
  const float s0 = sigmoid(0.5f), s2 = sigmoid(2.0f);
  EXPECT_NEAR(assigned[0][0].second, 2.5f * s0 / (s0 + s2), 1e-6);
  EXPECT_NEAR(assigned[2][0].second, 2.5f * s2 / (s0 + s2), 1e-6);
  // Not renormalized: the scores themselves, scaled.
  routing.normTopK = false;
  routeExperts(logits.data(), 1, 4, bias.data(), routing, assigned);
  EXPECT_NEAR(assigned[2][0].second, 2.5f * s2, 1e-6);
}

} // namespace
