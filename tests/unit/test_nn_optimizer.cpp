// Optimisers, clipping and schedules (nn/optimizer.hpp, nn/lr_schedule.hpp) against
// hand-computed steps.
// Tolerance 1e-14 absolute on O(1) numbers: the same float64 formulas evaluated in a different
// order differ by a few ulp.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "host/core/error.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/optimizer.hpp"

namespace naqs::nn {
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

TEST(Optim, AdamWDecaysDecoupledFromTheMoments) {
  // Step 1: theta <- theta - lr (g / (|g| + eps) + wd theta) with lr = 0.1, wd = 0.1.
  Tensor p = vec({1.0, -2.0});
  AdamW adamw({.beta1 = 0.9, .beta2 = 0.9, .eps = 1e-8}, 0.1);
  adamw.step(p, vec({0.5, -1.0}), 0.1);
  const auto got = p.to_vector<double>();
  EXPECT_NEAR(got[0], 1.0 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.1 * 1.0), 1e-15);
  EXPECT_NEAR(got[1], -2.0 - 0.1 * (-1.0 / (1.0 + 1e-8) + 0.1 * -2.0), 1e-15);
  EXPECT_EQ(adamw.steps_taken(), 1);
  EXPECT_EQ(adamw.name(), "adamw");
  EXPECT_EQ(adamw.str(), "adamw beta1=0.9 beta2=0.9 eps=1e-08 weight_decay=0.1");
  ASSERT_EQ(adamw.state().size(), 2u);  // the Adam moments, checkpointed under their names
  EXPECT_EQ(adamw.state()[0].first, "adam.m");
  // A zero gradient still decays: theta <- (1 - lr wd) theta - lr mhat/(sqrt(vhat) + eps).
  Tensor q = vec({2.0});
  AdamW decay_only({}, 0.5);
  decay_only.step(q, vec({0.0}), 0.1);
  EXPECT_NEAR(q.to_vector<double>()[0], 2.0 * (1 - 0.05), 1e-15);
}

TEST(Optim, AdamWWithoutDecayIsAdamBitForBit) {
  Tensor a = vec({0.3, -1.7, 2.2}), b = a.clone();
  Adam adam;
  AdamW adamw({}, 0.0);
  for (double g : {0.4, -0.2, 1.3}) {
    const Tensor grad = vec({g, 2 * g, -g});
    adam.step(a, grad, 0.05);
    adamw.step(b, grad, 0.05);
  }
  EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>());
}

TEST(Optim, MakeOptimizerNamesAndRefusals) {
  EXPECT_EQ(make_optimizer("adam", {}, 0.0)->name(), "adam");
  EXPECT_EQ(make_optimizer("adamw", {}, 0.0, 0.01)->name(), "adamw");
  EXPECT_EQ(make_optimizer("sgd", {}, 0.5)->str(), "sgd momentum=0.5");
  EXPECT_EQ(make_optimizer("adam", {}, 0.0)->str(), "adam beta1=0.9 beta2=0.9 eps=1e-08");
  EXPECT_THROW(make_optimizer("adamw", {}, 0.0, -0.1), UsageError);
}

TEST(Optim, ClipGradNormScalesToTheLimitAndReturnsTheNormBefore) {
  Tensor g = vec({3.0, 4.0});
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  const auto got = g.to_vector<double>();  // g * (1/5 rounded): within 2 ulp
  EXPECT_NEAR(got[0], 0.6, 3e-16);
  EXPECT_NEAR(got[1], 0.8, 3e-16);
  Tensor small = vec({0.3, -0.4});
  EXPECT_NEAR(clip_grad_norm(small, 1.0), 0.5, 1e-16);
  EXPECT_EQ(small.to_vector<double>(), (std::vector<double>{0.3, -0.4}));  // untouched
  Tensor f = Tensor::from_vector(std::vector<float>{6.0f, 8.0f}, {2});
  EXPECT_NEAR(clip_grad_norm(f, 2.0), 10.0, 1e-6);
  EXPECT_NEAR(f.to_vector<float>()[1], 1.6f, 1e-6f);
  Tensor bad = vec({1.0, std::nan("")});
  EXPECT_THROW(clip_grad_norm(bad, 1.0), Error);
  EXPECT_THROW(clip_grad_norm(g, 0.0), UsageError);
}

TEST(Optim, WarmupCosineSchedule) {
  const double lr = 1e-2;
  const LrSchedule w = LrSchedule::parse("warmup_cosine:10:0.1", lr, 110);
  EXPECT_NEAR(w.at(0), lr * 0.1, 1e-17);  // (step + 1) / W
  EXPECT_NEAR(w.at(4), lr * 0.5, 1e-17);
  EXPECT_NEAR(w.at(9), lr, 1e-17);
  EXPECT_NEAR(w.at(10), lr, 1e-17);  // cosine from lr0 over the remaining T - W = 100 steps
  EXPECT_NEAR(w.at(60), lr * (0.1 + 0.9 * 0.5), 1e-17);
  EXPECT_NEAR(w.at(35), lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi / 4))), 1e-17);
  EXPECT_NEAR(w.at(110), lr * 0.1, 1e-17);
  EXPECT_NEAR(w.at(5000), lr * 0.1, 1e-17);
  EXPECT_EQ(w.str(), "warmup_cosine:10:0.1");
  EXPECT_EQ(LrSchedule::parse(w.str(), lr, 110).str(), w.str());
  EXPECT_NEAR(LrSchedule::parse("warmup_cosine:5", lr, 10).at(10), lr * 0.01, 1e-17);
  EXPECT_NEAR(LrSchedule::parse("warmup_cosine:20", lr, 10).at(25), lr, 1e-17);  // W >= T
  for (const char* bad : {"warmup_cosine", "warmup_cosine:0", "warmup_cosine:2.5",
                          "warmup_cosine:3:2", "warmup_cosine:3:0.1:1"})
    EXPECT_THROW(LrSchedule::parse(bad, lr, 100), UsageError) << bad;
}

TEST(Optim, Dot) {
  EXPECT_DOUBLE_EQ(dot(vec({1, 2, 3}), vec({4, -5, 6})), 12.0);
  EXPECT_DOUBLE_EQ(norm2(vec({3, 4})), 5.0);
}

}  // namespace
}  // namespace naqs::nn
