// The diffusion world model: training and rollouts; see world_model.hpp.
#include "ml/diffusion/world_model.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/quantize.hpp"
#include "host/ops/random.hpp"
#include "nn/lr_schedule.hpp"

namespace naqs::ml::diffusion {
namespace {

constexpr uint64_t kStreamExample = 20, kStreamSigma = 21, kStreamNoise = 22,
                   kStreamRollout = 30;

double pixel(uint8_t q) { return double(q) * ops::kFrameScale + ops::kFrameOffset; }

// Checks that the data fits the network: frame size, context, actions.
void check_data(const WorldData& d, const UNetConfig& u) {
  NAQS_REQUIRE(d.height == u.height && d.width == u.width, "the data's frames are ", d.height,
               "x", d.width, " but the model's are ", u.height, "x", u.width);
  NAQS_REQUIRE(d.actions_count == u.actions, "the data has ", d.actions_count,
               " actions but the model ", u.actions);
  NAQS_REQUIRE(d.steps >= u.context, "episodes of ", d.steps, " steps are shorter than the context of ",
               u.context, " frames");
}

}  // namespace

Edm WorldModelConfig::diamond_edm() {
  Edm e;
  e.sigma_data = 0.5;
  e.p_mean = -0.4;
  e.p_std = 1.2;
  e.sigma_min = 2e-3;
  e.sigma_max = 5.0;
  return e;
}

void WorldModelConfig::validate() const {
  unet.validate();
  edm.validate();
  NAQS_REQUIRE(batch >= 1, "--batch ", batch, " is not allowed: use at least 1");
  NAQS_REQUIRE(train_steps >= 1, "--train-steps ", train_steps, " is not allowed: use at least 1");
  NAQS_REQUIRE(std::isfinite(lr) && lr > 0, "--lr ", lr, " is not allowed: use a value > 0");
  NAQS_REQUIRE(std::isfinite(weight_decay) && weight_decay >= 0, "--weight-decay ", weight_decay,
               " is not allowed: use a value >= 0");
}

std::string WorldModelConfig::str() const {
  std::ostringstream o;
  o.precision(17);
  o << unet.str() << " " << edm.str() << " batch=" << batch << " train_steps=" << train_steps
    << " lr=" << lr << " weight_decay=" << weight_decay << " seed=" << seed;
  return o.str();
}

WorldModel::WorldModel(const WorldModelConfig& c, DType dtype, Device device)
    : c_(c), dtype_(dtype), device_(device), net_(c.unet, dtype, device) {
  c.validate();
  net_.init(c.seed);
}

double WorldModel::loss_and_grad(const WorldData& d, int64_t step, ParameterSet& grads) {
  check_data(d, c_.unet);
  NAQS_REQUIRE(!d.train_episodes.empty(), "the data has no train episodes");
  const int64_t B = c_.batch, K = c_.unet.context, H = d.height, W = d.width, P = H * W;
  const Edm& edm = c_.edm;
  std::vector<double> x_in(static_cast<size_t>(B * (1 + K) * P)), target(static_cast<size_t>(B * P));
  std::vector<double> noise(static_cast<size_t>(B));
  std::vector<int32_t> actions(static_cast<size_t>(B * K));
  const uint64_t seed = c_.seed;
  for (int64_t i = 0; i < B; ++i) {
    const uint64_t ex = static_cast<uint64_t>(step * B + i);
    const int64_t n_train = static_cast<int64_t>(d.train_episodes.size());
    const int64_t e = d.train_episodes[std::min<int64_t>(
        n_train - 1, int64_t(philox_uniform_f64(seed, kStreamExample, 2 * ex) * double(n_train)))];
    const int64_t span = d.steps - K + 1;  // t in [K-1, T-1]
    const int64_t t = K - 1 + std::min<int64_t>(
        span - 1, int64_t(philox_uniform_f64(seed, kStreamExample, 2 * ex + 1) * double(span)));
    const double sigma = edm.train_sigma(philox_normal_f64(seed, kStreamSigma, ex, 0.0, 1.0));
    const double c_in = edm.c_in(sigma);
    noise[i] = edm.c_noise(sigma);
    double* xi = &x_in[static_cast<size_t>(i * (1 + K) * P)];
    const uint8_t* y = d.frame(e, t + 1);
    for (int64_t p = 0; p < P; ++p) {
      const double yv = pixel(y[p]);
      const double xv = yv + sigma * philox_normal_f64(seed, kStreamNoise, ex * P + p, 0.0, 1.0);
      xi[p] = c_in * xv;
      target[i * P + p] = edm.train_target(yv, xv, sigma);
    }
    for (int64_t k = 0; k < K; ++k) {
      const uint8_t* f = d.frame(e, t - K + 1 + k);
      for (int64_t p = 0; p < P; ++p) xi[(1 + k) * P + p] = pixel(f[p]);
      actions[i * K + k] = d.action(e, t - K + 1 + k);
    }
  }
  const Tensor out = net_.forward(from_host_f64(x_in, {B, 1 + K, H, W}, dtype_, device_), noise,
                                  actions);
  const std::vector<double> f = to_host_f64(out);
  std::vector<double> df(f.size());
  double loss = 0;
  const double n = double(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    const double r = f[i] - target[i];
    loss += r * r;
    df[i] = 2 * r / n;
  }
  net_.backward(from_host_f64(df, out.shape(), dtype_, device_), grads);
  return loss / n;
}

int64_t WorldModel::train(const WorldData& d, nn::Optimizer& opt, int64_t first,
                          const std::function<bool(int64_t, double, double)>& step_done) {
  ParameterSet grads = net_.params().like(dtype_, device_);
  const int64_t warmup = std::max<int64_t>(1, c_.train_steps / 20);
  const nn::LrSchedule sched =
      nn::LrSchedule::parse(cat("warmup_cosine:", warmup, ":0.1"), c_.lr, c_.train_steps);
  Tensor flat = net_.params().flat();
  for (int64_t step = first; step < c_.train_steps; ++step) {
    const double loss = loss_and_grad(d, step, grads);
    NAQS_REQUIRE(std::isfinite(loss), "diffusion train: the loss became ", loss, " at step ",
                 step, " (lower --lr)");
    const double lr = sched.at(step);
    opt.step(flat, grads.flat(), lr);
    if (step_done && !step_done(step, loss, lr)) return step + 1;
  }
  return c_.train_steps;
}

std::vector<uint8_t> WorldModel::rollout(const WorldData& d, const std::vector<int32_t>& episodes,
                                         int64_t horizon, Sampler sampler, int64_t steps,
                                         int64_t start) {
  check_data(d, c_.unet);
  NAQS_REQUIRE(horizon >= 1, "--horizon ", horizon, " is not allowed: use at least 1");
  NAQS_REQUIRE(steps >= 1, "--steps ", steps, " is not allowed: use at least 1");
  const int64_t K = c_.unet.context, H = d.height, W = d.width, P = H * W;
  NAQS_REQUIRE(start >= 0, "--start ", start, " is not allowed: use a frame index >= 0");
  NAQS_REQUIRE(start + K + horizon <= d.steps + 1, "--horizon ", horizon, " with a context of ",
               K, " frames from --start ", start, " needs episodes of ", start + K + horizon,
               " frames; the data's have ", d.steps + 1);
  const int64_t B = static_cast<int64_t>(episodes.size());
  NAQS_REQUIRE(B >= 1, "rollout: no episodes given");
  for (int32_t e : episodes)
    NAQS_REQUIRE(e >= 0 && e < d.episodes, "episode ", e, " is outside 0..", d.episodes - 1);
  const Edm& edm = c_.edm;
  // context (B, K, H, W) on the device, from the real frames start .. start + K - 1
  std::vector<double> ctx_host(static_cast<size_t>(B * K * P));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < P; ++p) ctx_host[(b * K + k) * P + p] =
            pixel(d.frame(episodes[b], start + k)[p]);
  Tensor ctx = from_host_f64(ctx_host, {B, K, H, W}, dtype_, device_);
  Tensor x_in = Tensor::empty({B, 1 + K, H, W}, dtype_, device_);
  Tensor scaled = Tensor::empty({B, 1, H, W}, dtype_, device_);
  Tensor q = Tensor::empty({B, 1, H, W}, DType::u8, device_);
  Tensor frame = Tensor::empty({B, 1, H, W}, dtype_, device_);
  std::vector<int32_t> actions(static_cast<size_t>(B * K));
  std::vector<uint8_t> out(static_cast<size_t>(B * horizon * P));
  const double sigma0 = sampling_sigmas(edm, steps)[0];
  for (int64_t h = 0; h < horizon; ++h) {
    const int64_t t = start + K - 1 + h;  // predicting frame t + 1 from frames and actions t-K+1..t
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < K; ++k) actions[b * K + k] = d.action(episodes[b], t - K + 1 + k);
    Tensor ctx_view = x_in.narrow(1, 1, K);
    ops::copy(ctx, ctx_view);
    const Denoiser denoise = [&](const Tensor& x, double sigma, Tensor& dx) {
      ops::axpby(edm.c_in(sigma), x, 0.0, scaled);
      Tensor first = x_in.narrow(1, 0, 1);
      ops::copy(scaled, first);
      const Tensor f = net_.forward(x_in, std::vector<double>(static_cast<size_t>(B), edm.c_noise(sigma)),
                                    actions);
      ops::axpby(edm.c_skip(sigma), x, 0.0, dx);
      ops::axpby(edm.c_out(sigma), f, 1.0, dx);
    };
    Tensor x = Tensor::empty({B, 1, H, W}, dtype_, device_);
    // start noise: pixel p of episode e at step h is index (h * E + e) * P + p (E episodes in
    // the data), so a rollout does not depend on which episodes share its batch
    for (int64_t b = 0; b < B; ++b) {
      Tensor row = x.narrow(0, b, 1);
      ops::fill_normal(row, c_.seed, kStreamRollout,
                       static_cast<uint64_t>((h * d.episodes + episodes[b]) * P), 0.0, sigma0);
    }
    sample(sampler, edm, steps, denoise, x);
    ops::quantize_u8(x, ops::kFrameScale, ops::kFrameOffset, q);
    ops::dequantize_u8(q, ops::kFrameScale, ops::kFrameOffset, frame);
    const std::vector<uint8_t> qh = q.to(Device::cpu()).to_vector<uint8_t>();
    for (int64_t b = 0; b < B; ++b)
      std::copy(qh.begin() + b * P, qh.begin() + (b + 1) * P, out.begin() + (b * horizon + h) * P);
    // shift the context: drop the oldest frame, append the imagined one
    Tensor next = Tensor::empty({B, K, H, W}, dtype_, device_);
    if (K > 1) {
      Tensor keep = next.narrow(1, 0, K - 1);
      ops::copy(ctx.narrow(1, 1, K - 1), keep);
    }
    Tensor last = next.narrow(1, K - 1, 1);
    ops::copy(frame, last);
    ctx = next;
  }
  return out;
}

}  // namespace naqs::ml::diffusion
