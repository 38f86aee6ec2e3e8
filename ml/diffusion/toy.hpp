// The EDM toy (`naqs diffusion toy`): a 2D mixture of Gaussians, a small MLP denoiser trained
// with EDM's preconditioning and loss (ml/diffusion/edm.hpp), and the energy distance of each
// sampler's output to fresh data at several step counts.
//
// Data: `modes` Gaussians of standard deviation mode_std on the circle of radius `radius`
// (centres at angles 2 pi m / modes), equal weights; sigma_data = sqrt(radius^2/2 + mode_std^2)
// is the per-coordinate standard deviation of the mixture (used for EDM's scalings). Every draw
// comes from Philox (seed, stream, index): stream 1000 + s the training data of step s, 2 the
// training noise, 3 the training sigmas, 4 the samplers' start noise (the same for every sampler
// and step count), 5 fresh evaluation data, 6 a second fresh set (the floor).
// Network: F(c_in x, c_noise) = an MLP of `depth` hidden layers of `hidden` SiLU units over the
// 11 input features [c_in x (2), c_noise, sin(2^j c_noise), cos(2^j c_noise) for j = 0..3],
// 2 outputs, the last layer zero-initialised (D starts as c_skip x); others uniform
// +-1/sqrt(fan_in) (PyTorch's default). Loss: mean over the batch of |F - F_target|^2, i.e.
// EDM's lambda |D - y|^2 (lambda c_out^2 = 1). AdamW (beta2 0.999, no decay), cosine schedule
// to 10% after a 5% warmup. Float64 on the chosen device (the features are built on the host).
// Energy distance (the squared form, U-statistics within each set):
//   E = 2 mean|X - Y| - mean_{i != j}|X_i - X_j| - mean_{i != j}|Y_i - Y_j|,
// 0 for equal distributions; reported beside the floor: two fresh data sets of the same size.
// Tests: tests/unit/test_diffusion_toy.cpp (energy distance by hand, gradient vs central
// differences, determinism), tests/statistical/test_diffusion_toy.cpp (Heun beats Euler at
// equal steps; the energy distance at 18 Heun steps below a bound from a measured run).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/params.hpp"
#include "host/core/tensor.hpp"
#include "ml/diffusion/edm.hpp"

namespace naqs::ml::diffusion {

struct ToyConfig {
  int64_t modes = 8;
  double radius = 1.0;
  double mode_std = 0.1;
  int64_t hidden = 128;
  int64_t depth = 3;
  int64_t train_steps = 6000;
  int64_t batch = 256;
  double lr = 2e-3;
  uint64_t seed = 1;
  int64_t eval_samples = 2000;
  std::vector<int64_t> sampler_steps{1, 2, 3, 5, 10, 18};
  Edm edm;  // sigma_data is not used: data_edm() puts the mixture's in its place

  double sigma_data() const;
  Edm data_edm() const;   // edm with sigma_data = sigma_data(): what the toy trains and samples
  void validate() const;  // UsageError naming the bad value
};

// n points (n, 2) row-major from the mixture, Philox (c.seed, stream; indices 3i..3i+2 for
// point i: the mode, then the two normal offsets).
std::vector<double> draw_mixture(const ToyConfig& c, int64_t n, uint64_t stream);

// The squared energy distance of two 2D point sets (row-major (n, 2) each), as in the header.
double energy_distance(const std::vector<double>& a, const std::vector<double>& b);

class ToyDenoiser {
 public:
  static constexpr int64_t kFeatures = 11;
  ToyDenoiser(const ToyConfig& c, Device device);
  void init(uint64_t seed);
  ParameterSet& params() { return params_; }
  // D(x; sigma) for rows x (B, 2) with per-row sigma (B) (host values); out (B, 2).
  void denoise(const Tensor& x, const std::vector<double>& sigma, Tensor& out);
  // The loss mean_b |F(x_b, sigma_b) - target_b|^2 and its gradient into grads (same layout).
  double loss_and_grad(const Tensor& x, const std::vector<double>& sigma, const Tensor& target,
                       ParameterSet& grads);

 private:
  // The network's input rows for host rows x (B, 2) and their sigmas.
  Tensor features(const std::vector<double>& x, const std::vector<double>& sigma) const;
  void forward(const Tensor& feats);  // fills acts_, pre_, out_

  ToyConfig c_;
  Edm edm_;  // c_.data_edm()
  Device device_;
  ParameterSet params_;
  std::vector<Tensor> pre_, acts_;  // per hidden layer: pre-activation and SiLU output
  Tensor out_;                      // F (B, 2)
};

struct ToyRow {
  Sampler sampler;
  int64_t steps;
  int64_t evaluations;
  double energy_distance;
};

struct ToyResult {
  std::vector<double> loss;   // per training step
  double train_seconds = 0;
  std::vector<ToyRow> rows;
  std::vector<std::vector<double>> samples;  // per row, (eval_samples, 2)
  std::vector<double> fresh;                 // evaluation data (eval_samples, 2)
  double floor = 0;                          // energy distance of two fresh data sets
  bool stopped = false;                      // progress() asked to stop
};

// Trains and evaluates; progress(step, loss) is called every 100 steps and at the end, and
// returning false stops the run there (result.stopped, no evaluation).
ToyResult run_toy(const ToyConfig& c, Device device,
                  const std::function<bool(int64_t, double)>& progress = {});

}  // namespace naqs::ml::diffusion
