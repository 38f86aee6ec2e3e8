// EDM diffusion (Karras, Aittala, Aila, Laine 2022, "Elucidating the Design Space of
// Diffusion-Based Generative Models"): the preconditioning, the training noise distribution and
// loss weight, the sampling noise schedule, and the deterministic Euler and Heun samplers.
//
// A denoiser D(x; sigma) estimates the clean data y from x = y + sigma n (n standard normal).
// EDM writes it through a raw network F with fixed scalings that give F unit-variance inputs and
// targets at every sigma (sigma_data: the data's standard deviation):
//   D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x; c_noise(sigma))
//   c_skip = sd^2 / (sigma^2 + sd^2)        c_out = sigma sd / sqrt(sigma^2 + sd^2)
//   c_in   = 1 / sqrt(sigma^2 + sd^2)       c_noise = ln(sigma) / 4
// Training: ln(sigma) ~ N(p_mean, p_std^2); loss lambda(sigma) |D(x; sigma) - y|^2 with
// lambda = (sigma^2 + sd^2) / (sigma sd)^2, which equals |F - F_target|^2 with the effective
// target F_target = (y - c_skip x) / c_out (train_target()).
// Sampling: sigmas (Karras schedule, rho = 7) for i = 0 .. N-1
//   sigma_i = (smax^(1/rho) + i / (N - 1) (smin^(1/rho) - smax^(1/rho)))^rho,   sigma_N = 0,
// start from x = sigma_0 n and integrate the probability-flow ODE dx/dsigma = (x - D(x; sigma))
// / sigma down to 0:
//   Euler: x_{i+1} = x_i + (sigma_{i+1} - sigma_i) d_i,  d_i = (x_i - D(x_i; sigma_i)) / sigma_i
//          (N network evaluations)
//   Heun:  the Euler step as a predictor, then x_{i+1} = x_i + h (d_i + d'_{i+1}) / 2 with d' at
//          the predicted point, except on the last step to sigma = 0 (2N - 1 evaluations).
// For N = 1 the schedule is (sigma_max, 0): one Euler step, D(x; sigma_max).
// The DDPM baseline (objective ddpm): Ho et al. 2020's epsilon-prediction model written in the
// same form (Karras et al. 2022, Table 1, "VP"), so the same network, training loop and samplers
// serve both. Linear betas beta_t = beta_1 + (t - 1)/(T - 1) (beta_T - beta_1), t = 1..T
// (1e-4 .. 0.02, T = 1000), abar_t = prod_{s <= t} (1 - beta_s), sigma_t = sqrt(1/abar_t - 1):
// DDPM's state sqrt(abar_t) (y + sigma_t n) is c_in x, and the network predicts the noise n:
//   c_skip = 1, c_out = -sigma, c_in = 1 / sqrt(sigma^2 + 1), lambda = 1 / sigma^2 (so the loss
//   is DDPM's |n_hat - n|^2), training t uniform on 1..T (t = 1 + floor(Phi(z) T) from the same
//   standard normal draw z), sampling at N timesteps evenly spaced from T down to 1, then 0.
// Euler on that schedule is DDIM's deterministic update (Song et al. 2021). sigma_data, the
// Karras schedule's sigma_min/max and p_mean/p_std are not used by ddpm. c_noise = ln(sigma)/4
// for both, so both networks see the same conditioning input.
// Backend-neutral: the samplers update x with ops::axpby on its device.
// Tests: tests/unit/test_edm.cpp (scalings and schedule against hand values, evaluations
// counted, and for Gaussian data, whose ideal denoiser is linear, each sampler's output variance
// against its closed form to 1e-12).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::ml::diffusion {

enum class Objective { edm, ddpm };
Objective parse_objective(const std::string& name);  // "edm" | "ddpm"; UsageError otherwise
std::string objective_name(Objective o);

struct Edm {
  Objective objective = Objective::edm;
  double sigma_data = 0.5;
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double rho = 7.0;
  double p_mean = -1.2;  // training: ln(sigma) ~ N(p_mean, p_std^2)
  double p_std = 1.2;
  int64_t ddpm_timesteps = 1000;  // ddpm: T and the linear beta schedule's ends
  double beta_1 = 1e-4;
  double beta_T = 0.02;

  // UsageError naming the bad value: sigma_data, sigma_min > 0; sigma_min < sigma_max; rho > 0;
  // p_std > 0; all finite; ddpm_timesteps >= 2, 0 < beta_1 < beta_T < 1.
  void validate() const;
  double c_skip(double sigma) const;
  double c_out(double sigma) const;
  double c_in(double sigma) const;
  double c_noise(double sigma) const;
  double loss_weight(double sigma) const;  // lambda(sigma)
  // The training sigma from a standard normal draw z: edm exp(p_mean + p_std z); ddpm
  // sigma_t at t = 1 + floor(Phi(z) T).
  double train_sigma(double z) const;
  // ddpm: sigma_t for t in 1..ddpm_timesteps.
  double ddpm_sigma(int64_t t) const;
  // F's regression target at (x, sigma) for clean y: (y - c_skip x) / c_out.
  double train_target(double y, double x, double sigma) const {
    return (y - c_skip(sigma) * x) / c_out(sigma);
  }
  std::string str() const;  // "sigma_data=0.5 sigma_min=0.002 ..." for provenance
};

// The N + 1 noise levels of the Karras schedule (the last is 0). steps >= 1 (UsageError).
std::vector<double> karras_sigmas(const Edm& edm, int64_t steps);
// The N + 1 noise levels the samplers use: karras_sigmas for edm; for ddpm sigma_t at the N
// timesteps t_i = round(T - i (T - 1) / (N - 1)) (t_0 = T; N = 1: T alone), then 0.
std::vector<double> sampling_sigmas(const Edm& edm, int64_t steps);

enum class Sampler { euler, heun };
Sampler parse_sampler(const std::string& name);  // "euler" | "heun"; UsageError otherwise
std::string sampler_name(Sampler s);
// Network evaluations of a sampler with N steps: Euler N, Heun 2N - 1.
int64_t network_evaluations(Sampler s, int64_t steps);

// denoise(x, sigma, out): out = D(x; sigma), same shape, dtype and device as x.
using Denoiser = std::function<void(const Tensor& x, double sigma, Tensor& out)>;

// Integrates x (already x = sigma_0 n, sigma_0 = sampling_sigmas()[0]) down to sigma = 0 in place;
// returns the number of denoiser calls made.
int64_t sample(Sampler s, const Edm& edm, int64_t steps, const Denoiser& denoise, Tensor& x);

}  // namespace naqs::ml::diffusion
