// The world model's U-Net (ml/diffusion/unet.hpp) on CUDA against the CPU: the forward and every
// parameter's gradient, f32 and f64, at U-Net shapes (3x3 'same' and 1x1 convolutions, adaptive
// group norm, pooling, upsampling, channel concatenation), and a world-model rollout's frames.
// Tolerances: the convolutions, group norms and linears sum in other orders on the two backends
// (CUDA: per-thread products with FMA, warp reductions; CPU: fixed-order tiles, double sums),
// through ~8 layers with |activations| ~1 and up to 9 * 24 = 216 terms per sum: ~1e-5
// relative in f32 (1e-4 allowed) and ~1e-13 in f64 (1e-10 allowed, gradients sum over B H W).
// The rollout quantises every frame to u8, so its frames agree exactly except where a pixel
// falls within rounding of a level boundary (at most 1 level, in f64).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/tensor_convert.hpp"
#include "ml/diffusion/world_model.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ml::diffusion;

UNetConfig small_unet() {
  UNetConfig c;
  c.context = 2;
  c.actions = 6;
  c.height = c.width = 16;
  c.channels = {8, 16};
  c.groups = 4;
  c.cond_dim = 16;
  c.action_dim = 4;
  c.noise_features = 4;
  return c;
}

TEST(ParityUNet, ForwardAndGradientsMatchCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-4 : 1e-10;
    const UNetConfig c = small_unet();
    UNet cpu(c, dt, Device::cpu()), gpu(c, dt, Device::cuda(0));
    // random parameters everywhere (the zero-initialised layers would hide paths)
    Tensor flat = cpu.params().flat();
    std::vector<double> p(static_cast<size_t>(flat.numel()));
    for (size_t i = 0; i < p.size(); ++i) p[i] = 0.4 * std::sin(0.37 * double(i) + 1.0);
    flat.copy_from(from_host_f64(p, flat.shape(), dt, Device::cpu()));
    Tensor gflat = gpu.params().flat();
    gflat.copy_from(flat);
    const int64_t b = 3;
    std::vector<double> x(static_cast<size_t>(b * 3 * 16 * 16));
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11 * double(i));
    const Tensor xc = from_host_f64(x, {b, 3, 16, 16}, dt, Device::cpu());
    const std::vector<double> noise{-1.0, 0.2, 0.9};
    const std::vector<int32_t> actions{0, 5, 2, 3, 1, 4};
    const Tensor fc = cpu.forward(xc, noise, actions);
    const Tensor fg = gpu.forward(xc.to(Device::cuda(0)), noise, actions);
    EXPECT_TRUE(all_close(fg.to(Device::cpu()), fc, tol, tol)) << dtype_name(dt) << " forward";
    std::vector<double> w(static_cast<size_t>(b * 16 * 16));
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.05 * double(i));
    const Tensor dout = from_host_f64(w, {b, 1, 16, 16}, dt, Device::cpu());
    ParameterSet gc = cpu.params().like(dt, Device::cpu());
    ParameterSet gg = gpu.params().like(dt, Device::cuda(0));
    cpu.backward(dout, gc);
    gpu.backward(dout.to(Device::cuda(0)), gg);
    for (const ParameterEntry& e : cpu.params().layout())
      EXPECT_TRUE(all_close(gg.get(e.name).to(Device::cpu()), gc.get(e.name), tol, tol))
          << dtype_name(dt) << " gradient of " << e.name;
  }
}

TEST(ParityUNet, RolloutFramesMatchCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  BouncingConfig bc;
  bc.episodes = 4;
  bc.steps = 8;
  bc.size = 16;
  bc.test_episodes = 2;
  const WorldData d = bouncing_ball(bc);
  WorldModelConfig c;
  c.unet = small_unet();
  WorldModel cpu(c, DType::f64, Device::cpu()), gpu(c, DType::f64, Device::cuda(0));
  Tensor flat = cpu.net().params().flat();
  std::vector<double> p = to_host_f64(flat);
  for (size_t i = 0; i < p.size(); ++i) p[i] += 0.05 * std::sin(double(i));
  flat.copy_from(from_host_f64(p, flat.shape(), DType::f64, Device::cpu()));
  Tensor gflat = gpu.net().params().flat();
  gflat.copy_from(flat);
  const std::vector<uint8_t> a = cpu.rollout(d, {2, 3}, 3, Sampler::heun, 2);
  const std::vector<uint8_t> g = gpu.rollout(d, {2, 3}, 3, Sampler::heun, 2);
  ASSERT_EQ(a.size(), g.size());
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(std::abs(int(a[i]) - int(g[i])), 1) << i;
    differ += a[i] != g[i];
  }
  EXPECT_LE(differ, 2) << "of " << a.size() << " pixels";
}

}  // namespace
}  // namespace naqs::testing
