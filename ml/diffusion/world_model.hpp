// The diffusion world model (DIAMOND, Alonso et al. 2024): a U-Net denoiser of the next frame
// conditioned on the K past frames and actions (ml/diffusion/unet.hpp), trained with EDM's
// preconditioning and loss (or the DDPM baseline's; ml/diffusion/edm.hpp), and imagined
// rollouts under recorded actions with the Euler or Heun sampler.
//
// Training example (episode e of the train split, time t in [K-1, T-1]): context frames
// t-K+1..t and actions t-K+1..t, target frame t+1, all on the [-1, 1] scale (u8 q -> q 2/255-1).
// sigma from Edm::train_sigma, x = y + sigma n, network input [c_in x | context], loss
// mean over pixels and batch of (F - F_target)^2 (EDM's lambda |D - y|^2 / c_out^2 lambda = 1;
// DDPM's |n_hat - n|^2). AdamW (beta2 0.999), warmup then cosine decay to 10%.
// Draws: Philox (seed, stream, index): stream 20 the (episode, t) of each example (2 per
// example), 21 the sigma normals, 22 the noise (H W per example), all indexed from
// step * batch, so a resumed run draws what the uninterrupted one would.
// Rollout: from the K real frames 0..K-1 of each episode, imagine frames K..K+horizon-1 under
// the recorded actions; each new frame is sampled from sigma_0 n (Philox seed, stream 30,
// index (step, episode, pixel)), quantised to u8 (ops::quantize_u8: the data's own grid, so the
// context of the next step is a frame the data could hold) and shifted into the context. All
// episodes of a rollout run as one batch on the device.
// Backend-neutral: the batches are assembled on the host (B frames, one copy per step); the
// network, the samplers, the start noise and the quantisation run on the parameters' device.
// Tests: tests/unit/test_world_model.cpp (a training step's loss and gradient against central
// differences of the same loss; rollouts deterministic and independent of the batch split;
// errors), tests/statistical/test_world_model.cpp (a small model trained on the bouncing ball
// keeps the ball within 2 pixels of the truth in most frames of 5-step rollouts).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/params.hpp"
#include "ml/diffusion/edm.hpp"
#include "ml/diffusion/unet.hpp"
#include "ml/diffusion/world_data.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml::diffusion {

struct WorldModelConfig {
  UNetConfig unet;
  Edm edm = diamond_edm();
  int64_t batch = 32;
  int64_t train_steps = 2000;
  double lr = 3e-4;
  double weight_decay = 1e-2;
  uint64_t seed = 1;
  // DIAMOND's denoiser settings: sigma_data 0.5, p_mean -0.4, p_std 1.2, sigma 2e-3 .. 5.
  static Edm diamond_edm();
  void validate() const;  // UsageError naming the bad value
  std::string str() const;
};

class WorldModel {
 public:
  WorldModel(const WorldModelConfig& c, DType dtype, Device device);
  UNet& net() { return net_; }
  const WorldModelConfig& config() const { return c_; }

  // The loss of training step `step` (its examples drawn as in the header) and its gradient
  // into grads (net().params() layout).
  double loss_and_grad(const WorldData& d, int64_t step, ParameterSet& grads);

  // Training steps `first` .. c.train_steps - 1 with `opt` at the schedule's rate (warmup then
  // cosine to 10%); after each, step_done(step, loss, lr) (returning false stops: train returns
  // the number of steps done). The optimiser is passed in so checkpoints can hold its state.
  int64_t train(const WorldData& d, nn::Optimizer& opt, int64_t first,
                const std::function<bool(int64_t step, double loss, double lr)>& step_done);

  // Imagined frames of the given episodes from the real frames start .. start + K - 1: u8
  // (n_episodes, horizon, H, W), frame h is the imagined frame start + K + h. Errors
  // (UsageError): an episode shorter than start + K + horizon frames, an unknown episode id,
  // horizon or steps < 1, start < 0.
  std::vector<uint8_t> rollout(const WorldData& d, const std::vector<int32_t>& episodes,
                               int64_t horizon, Sampler sampler, int64_t steps,
                               int64_t start = 0);

 private:
  WorldModelConfig c_;
  DType dtype_;
  Device device_;
  UNet net_;
};

}  // namespace naqs::ml::diffusion
