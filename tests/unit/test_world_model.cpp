// The diffusion world model (ml/diffusion/world_model.hpp): the training loss's gradient, the
// rollouts' determinism and batch independence, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/diffusion/world_model.hpp"

using namespace naqs;
using namespace naqs::ml::diffusion;

namespace {

WorldData small_data() {
  BouncingConfig b;
  b.episodes = 4;
  b.steps = 12;
  b.size = 16;
  b.test_episodes = 2;
  return bouncing_ball(b);
}

WorldModelConfig small_config(Objective objective) {
  WorldModelConfig c;
  c.unet.context = 2;
  c.unet.height = c.unet.width = 16;
  c.unet.channels = {4, 4};
  c.unet.groups = 2;
  c.unet.cond_dim = 4;
  c.unet.action_dim = 2;
  c.unet.noise_features = 2;
  c.edm.objective = objective;
  c.batch = 3;
  c.seed = 5;
  return c;
}

}  // namespace

TEST(WorldModel, LossGradientMatchesCentralDifferences) {
  const WorldData d = small_data();
  for (Objective obj : {Objective::edm, Objective::ddpm}) {
    WorldModel m(small_config(obj), DType::f64, Device::cpu());
    // perturb every parameter so the zero-initialised output layer passes gradients
    Tensor flat = m.net().params().flat();
    std::vector<double> p = to_host_f64(flat);
    for (size_t i = 0; i < p.size(); ++i) p[i] += 0.3 * std::sin(double(i) * 1.7);
    flat.copy_from(from_host_f64(p, flat.shape(), DType::f64, Device::cpu()));
    ParameterSet g = m.net().params().like(DType::f64, Device::cpu());
    const double loss = m.loss_and_grad(d, 7, g);
    EXPECT_TRUE(std::isfinite(loss));
    const std::vector<double> grad = to_host_f64(g.flat());
    ParameterSet scratch = m.net().params().like(DType::f64, Device::cpu());
    double* w = flat.data<double>();
    const double h = 1e-5;
    for (const char* name : {"out.w", "out.b", "in.w", "cond1.w", "act.table", "e1.c1.w"}) {
      const ParameterEntry& e = m.net().params().entry(name);
      for (int64_t k : {int64_t{0}, e.shape.numel() - 1}) {
        const int64_t i = e.offset + k;
        const double keep = w[i];
        w[i] = keep + h;
        const double up = m.loss_and_grad(d, 7, scratch);  // same step: the same draws
        w[i] = keep - h;
        const double down = m.loss_and_grad(d, 7, scratch);
        w[i] = keep;
        const double fd = (up - down) / (2 * h);
        EXPECT_NEAR(grad[i], fd, 1e-7 + 1e-6 * std::abs(fd))
            << objective_name(obj) << " " << name << "[" << k << "]";
      }
    }
  }
}

TEST(WorldModel, RolloutsAreDeterministicAndIndependentOfTheBatch) {
  const WorldData d = small_data();
  WorldModel m(small_config(Objective::edm), DType::f64, Device::cpu());
  Tensor flat = m.net().params().flat();
  std::vector<double> p = to_host_f64(flat);
  for (size_t i = 0; i < p.size(); ++i) p[i] += 0.05 * std::cos(double(i));
  flat.copy_from(from_host_f64(p, flat.shape(), DType::f64, Device::cpu()));
  const std::vector<uint8_t> both = m.rollout(d, {2, 3}, 4, Sampler::heun, 2);
  ASSERT_EQ(both.size(), size_t(2 * 4 * 256));
  EXPECT_EQ(m.rollout(d, {2, 3}, 4, Sampler::heun, 2), both);
  const std::vector<uint8_t> second = m.rollout(d, {3}, 4, Sampler::heun, 2);
  EXPECT_TRUE(std::equal(second.begin(), second.end(), both.begin() + 4 * 256));
  // an untrained model does not copy the real frames
  const std::vector<uint8_t> other = m.rollout(d, {2, 3}, 4, Sampler::euler, 1);
  EXPECT_NE(other, both);
  // a later start reads other context frames and actions
  EXPECT_NE(m.rollout(d, {2, 3}, 4, Sampler::heun, 2, 3), both);
}

TEST(WorldModel, BadInputIsOneClearLine) {
  const WorldData d = small_data();
  WorldModel m(small_config(Objective::edm), DType::f64, Device::cpu());
  // 13 frames per episode, context 2: at most 11 imagined
  EXPECT_NO_THROW(m.rollout(d, {3}, 11, Sampler::euler, 1));
  EXPECT_THROW(m.rollout(d, {3}, 12, Sampler::euler, 1), UsageError);
  // from --start 2: frames 2..3 of context, at most 9 imagined; a negative start is refused
  EXPECT_NO_THROW(m.rollout(d, {3}, 9, Sampler::euler, 1, 2));
  EXPECT_THROW(m.rollout(d, {3}, 10, Sampler::euler, 1, 2), UsageError);
  EXPECT_THROW(m.rollout(d, {3}, 1, Sampler::euler, 1, -1), UsageError);
  EXPECT_THROW(m.rollout(d, {4}, 2, Sampler::euler, 1), UsageError);
  EXPECT_THROW(m.rollout(d, {0}, 2, Sampler::euler, 0), UsageError);
  WorldModelConfig c = small_config(Objective::edm);
  c.unet.height = c.unet.width = 8;
  WorldModel wrong(c, DType::f64, Device::cpu());
  ParameterSet g = wrong.net().params().like(DType::f64, Device::cpu());
  try {
    wrong.loss_and_grad(d, 0, g);
    FAIL() << "16x16 frames accepted by an 8x8 model";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("frames are 16x16 but the model's are 8x8"),
              std::string::npos)
        << e.what();
  }
}
