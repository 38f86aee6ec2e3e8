// Optimisers and schedules (physics/optim/optimizer.hpp) against hand-computed steps.
// Tolerance 1e-14 absolute on O(1) numbers: the same float64 formulas evaluated in a different
// order differ by a few ulp.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "host/core/error.hpp"
#include "physics/optim/optimizer.hpp"

namespace naqs::optim {
namespace {

Tensor vec(std::vector<double> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector(v, {n});
}

TEST(Optim, SgdPlainStep) {
  Tensor p = vec({1.0, -2.0, 0.5});
  Sgd sgd;
  sgd.step(p, vec({0.5, -1.0, 0.0}), 0.1);
  const auto got = p.to_vector<double>();
  EXPECT_NEAR(got[0], 0.95, 1e-15);
  EXPECT_NEAR(got[1], -1.9, 1e-15);
  EXPECT_NEAR(got[2], 0.5, 1e-15);
  EXPECT_EQ(sgd.steps_taken(), 1);
  EXPECT_TRUE(sgd.state().empty());
}

TEST(Optim, SgdMomentumTwoSteps) {
  Tensor p = vec({1.0});
  Sgd sgd(0.5);
  sgd.step(p, vec({2.0}), 0.1);  // v = 2, p = 1 - 0.2 = 0.8
  EXPECT_NEAR(p.to_vector<double>()[0], 0.8, 1e-15);
  sgd.step(p, vec({-1.0}), 0.1);  // v = 0.5*2 - 1 = 0, p stays 0.8
  EXPECT_NEAR(p.to_vector<double>()[0], 0.8, 1e-15);
  sgd.step(p, vec({1.0}), 0.1);  // v = 1, p = 0.7
  EXPECT_NEAR(p.to_vector<double>()[0], 0.7, 1e-15);
  ASSERT_EQ(sgd.state().size(), 1u);
  EXPECT_EQ(sgd.state()[0].first, "sgd.velocity");
  EXPECT_NEAR(sgd.state()[0].second.to_vector<double>()[0], 1.0, 1e-15);
}

TEST(Optim, AdamTwoStepsByHand) {
  // beta1 = beta2 = 0.9 (the paper's), eps = 1e-8, lr = 0.1.
  Tensor p = vec({1.0, -2.0});
  Adam adam({.beta1 = 0.9, .beta2 = 0.9, .eps = 1e-8});
  adam.step(p, vec({0.5, -1.0}), 0.1);
  // Step 1: m_hat = g, v_hat = g^2, so p -= 0.1 g / (|g| + 1e-8).
  auto got = p.to_vector<double>();
  EXPECT_NEAR(got[0], 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  EXPECT_NEAR(got[0], 0.900000002, 1e-15);
  EXPECT_NEAR(got[1], -2.0 + 0.1 * 1.0 / (1.0 + 1e-8), 1e-15);
  // Step 2 with g = (0.1, 1.0):
  //   m = 0.9 * 0.1 g1 + 0.1 g2; v = 0.9 * 0.1 g1^2 + 0.1 g2^2; bc1 = bc2 = 1 - 0.81 = 0.19.
  adam.step(p, vec({0.1, 1.0}), 0.1);
  const double m0 = 0.9 * 0.05 + 0.1 * 0.1, v0 = 0.9 * 0.025 + 0.1 * 0.01;
  const double m1 = 0.9 * -0.1 + 0.1 * 1.0, v1 = 0.9 * 0.1 + 0.1 * 1.0;
  const double e0 = got[0] - 0.1 * (m0 / 0.19) / (std::sqrt(v0 / 0.19) + 1e-8);
  const double e1 = got[1] - 0.1 * (m1 / 0.19) / (std::sqrt(v1 / 0.19) + 1e-8);
  got = p.to_vector<double>();
  EXPECT_NEAR(got[0], e0, 1e-14);
  EXPECT_NEAR(got[1], e1, 1e-14);
  // m0 = 0.055, v0 = 0.0235: step = 0.1 * 0.289473.../0.351687... = 0.0823099...
  EXPECT_NEAR(e0, 0.900000002 - 0.08230987, 1e-7);
  EXPECT_EQ(adam.steps_taken(), 2);
  const auto st = adam.state();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_NEAR(st[0].second.to_vector<double>()[0], m0, 1e-16);
  EXPECT_NEAR(st[1].second.to_vector<double>()[1], v1, 1e-16);
}

TEST(Optim, AdamFloat32) {
  Tensor p = Tensor::from_vector(std::vector<float>{1.0f}, {1});
  Adam adam;
  adam.step(p, Tensor::from_vector(std::vector<float>{-3.0f}, {1}), 0.01);
  EXPECT_NEAR(p.to_vector<float>()[0], 1.01f, 1e-6f);
}

TEST(Optim, StepRejectsMismatch) {
  Tensor p = vec({1.0, 2.0});
  Adam adam;
  EXPECT_THROW(adam.step(p, vec({1.0}), 0.1), Error);
  EXPECT_THROW(make_optimizer("lbfgs", {}, 0.0), UsageError);
}

TEST(Optim, Schedules) {
  const double lr = 1e-2;
  EXPECT_DOUBLE_EQ(LrSchedule::parse("constant", lr, 100).at(57), lr);
  const LrSchedule c = LrSchedule::parse("cosine:0.1", lr, 100);
  EXPECT_NEAR(c.at(0), lr, 1e-17);
  EXPECT_NEAR(c.at(50), lr * (0.1 + 0.9 * 0.5), 1e-17);
  EXPECT_NEAR(c.at(100), lr * 0.1, 1e-17);
  EXPECT_NEAR(c.at(500), lr * 0.1, 1e-17);
  EXPECT_NEAR(LrSchedule::parse("cosine", lr, 100).at(100), lr * 0.01, 1e-17);
  const LrSchedule s = LrSchedule::parse("step:10:0.5", lr, 100);
  EXPECT_DOUBLE_EQ(s.at(9), lr);
  EXPECT_DOUBLE_EQ(s.at(10), lr * 0.5);
  EXPECT_DOUBLE_EQ(s.at(25), lr * 0.25);
  EXPECT_NEAR(LrSchedule::parse("exp:0.99", lr, 100).at(3), lr * 0.99 * 0.99 * 0.99, 1e-17);
  EXPECT_EQ(LrSchedule::parse(s.str(), lr, 100).str(), "step:10:0.5");
  EXPECT_THROW(LrSchedule::parse("cosine:x", lr, 100), UsageError);
  EXPECT_THROW(LrSchedule::parse("step:0:0.5", lr, 100), UsageError);
  EXPECT_THROW(LrSchedule::parse("warm", lr, 100), UsageError);
  EXPECT_THROW(LrSchedule::parse("constant", -1, 100), UsageError);
}

TEST(Optim, Dot) {
  EXPECT_DOUBLE_EQ(dot(vec({1, 2, 3}), vec({4, -5, 6})), 12.0);
  EXPECT_DOUBLE_EQ(norm2(vec({3, 4})), 5.0);
}

}  // namespace
}  // namespace naqs::optim
