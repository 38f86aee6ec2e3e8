// The EDM toy (ml/diffusion/toy.hpp): energy distance, the MLP's gradient, determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "ml/diffusion/toy.hpp"

using namespace naqs;
using namespace naqs::ml::diffusion;

TEST(DiffusionToy, EnergyDistanceByHand) {
  // a = {(0,0), (1,0)}, b = {(0,1), (1,1)}: mean |a - b| = (1 + sqrt 2) / 2, within-set
  // distances 1, so E = (1 + sqrt 2) - 1 - 1 = sqrt 2 - 1.
  const std::vector<double> a{0, 0, 1, 0}, b{0, 1, 1, 1};
  EXPECT_NEAR(energy_distance(a, b), std::sqrt(2.0) - 1, 1e-15);
  // a set with itself: the cross term counts the i = j pairs (distance 0), the U-statistics do
  // not: 2 (0 + 1 + 1 + 0)/4 - 1 - 1 = -1 (an unbiased estimator, not a distance of samples)
  EXPECT_NEAR(energy_distance(a, a), -1.0, 1e-15);
  EXPECT_NEAR(energy_distance(a, b), energy_distance(b, a), 1e-15);
  EXPECT_THROW(energy_distance({0, 0}, b), Error);
}

TEST(DiffusionToy, MixtureMomentsAndSigmaData) {
  ToyConfig c;
  const int64_t n = 20000;
  const std::vector<double> xy = draw_mixture(c, n, 5);
  double sx = 0, sy = 0, sxx = 0, syy = 0;
  for (int64_t i = 0; i < n; ++i) {
    sx += xy[2 * i];
    sy += xy[2 * i + 1];
    sxx += xy[2 * i] * xy[2 * i];
    syy += xy[2 * i + 1] * xy[2 * i + 1];
  }
  // per-coordinate variance radius^2/2 + mode_std^2 = 0.51; 5 standard errors of the mean
  // square (its std is about 0.36 / sqrt(n))
  EXPECT_NEAR(sx / n, 0.0, 5 * 0.72 / std::sqrt(double(n)));
  EXPECT_NEAR(sxx / n, c.sigma_data() * c.sigma_data(), 5 * 0.36 / std::sqrt(double(n)));
  EXPECT_NEAR(syy / n, c.sigma_data() * c.sigma_data(), 5 * 0.36 / std::sqrt(double(n)));
  EXPECT_EQ(draw_mixture(c, 7, 5), std::vector<double>(xy.begin(), xy.begin() + 14));
}

TEST(DiffusionToy, GradientMatchesCentralDifferences) {
  ToyConfig c;
  c.hidden = 5;
  c.depth = 2;
  ToyDenoiser net(c, Device::cpu());
  net.init(3);
  // the last layer starts at zero: move it so every layer's gradient is exercised
  {
    Tensor flat = net.params().flat();
    std::vector<double> v = flat.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) v[i] += 0.05 * std::sin(double(i));
    flat.copy_from(Tensor::from_vector(v, flat.shape()));
  }
  const Tensor x = Tensor::from_vector(std::vector<double>{0.3, -1.2, 2.0, 0.1, -0.4, 0.9}, {3, 2});
  const Tensor t = Tensor::from_vector(std::vector<double>{0.5, 0.2, -0.3, 1.1, 0.0, -0.7}, {3, 2});
  const std::vector<double> sigma{0.05, 0.8, 12.0};
  ParameterSet g = net.params().like(DType::f64, Device::cpu());
  net.loss_and_grad(x, sigma, t, g);
  const std::vector<double> grad = g.flat().to_vector<double>();
  Tensor flat = net.params().flat();
  std::vector<double> p = flat.to_vector<double>();
  ParameterSet scratch = net.params().like(DType::f64, Device::cpu());
  for (size_t i = 0; i < p.size(); ++i) {
    const double h = 1e-6, keep = p[i];
    p[i] = keep + h;
    flat.copy_from(Tensor::from_vector(p, flat.shape()));
    const double up = net.loss_and_grad(x, sigma, t, scratch);
    p[i] = keep - h;
    flat.copy_from(Tensor::from_vector(p, flat.shape()));
    const double down = net.loss_and_grad(x, sigma, t, scratch);
    p[i] = keep;
    flat.copy_from(Tensor::from_vector(p, flat.shape()));
    EXPECT_NEAR(grad[i], (up - down) / (2 * h), 1e-7 * std::max(1.0, std::abs(grad[i])))
        << "parameter " << i;
  }
}

TEST(DiffusionToy, SameSeedSameResult) {
  ToyConfig c;
  c.hidden = 16;
  c.train_steps = 30;
  c.batch = 32;
  c.eval_samples = 50;
  c.sampler_steps = {2, 5};
  const ToyResult a = run_toy(c, Device::cpu()), b = run_toy(c, Device::cpu());
  ASSERT_EQ(a.rows.size(), 4u);
  EXPECT_EQ(a.loss, b.loss);
  for (size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].energy_distance, b.rows[i].energy_distance);
    EXPECT_EQ(a.samples[i], b.samples[i]);
  }
  EXPECT_EQ(a.rows[3].evaluations, 9);  // Heun, 5 steps
  c.seed = 2;
  EXPECT_NE(run_toy(c, Device::cpu()).loss, a.loss);
}

TEST(DiffusionToy, BadConfigIsOneClearLine) {
  ToyConfig c;
  c.sampler_steps = {3, 0};
  EXPECT_THROW(c.validate(), UsageError);
  c = ToyConfig{};
  c.edm.sigma_min = 90;
  EXPECT_THROW(c.validate(), UsageError);
  c = ToyConfig{};
  c.eval_samples = 1;
  EXPECT_THROW(c.validate(), UsageError);
}
