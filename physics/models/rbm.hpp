// Restricted Boltzmann machine wavefunction (Carleo & Troyer, Science 355, 602 (2017)):
//   log psi(sigma) = sum_i a_i sigma_i + sum_j log(2 cosh theta_j),  theta = b + W sigma,
// N visible spins, M = alpha*N hidden units (alpha rounded up to an integer count). Real mode:
// a, b, W real (psi > 0 up to the sign of cosh, which is positive for real theta). Complex mode:
// every parameter p = p_re + i p_im is stored as two real parameters (holomorphic model).
//
// Parameter layout (ParameterSet names): a_re (N), b_re (M), W_re (M,N), and in complex mode
// a_im (N), b_im (M), W_im (M,N).
// Computation, all through naqs::ops on the parameters' device (CPU or CUDA, no host round trip
// on a CUDA tensor): theta = sigma W^T + b (ops::gemm), log 2cosh / tanh of the complex theta
// (ops::complex_unary, host/ops/complex_elementwise.hpp), sums over hidden units and samples
// (ops::reduce, double accumulation), per-row weights broadcast with ops::bias_add, the
// W-gradients as ops::gemm (summed) and ops::gemm_batched outer products (per sample), and the
// per-sample Jacobian assembled with ops::put_columns.
// Fast Metropolis ratios (single flips, exchanges, global flips) update the tracked theta in
// O(M) per chain on CPU (host loops over the same log 2cosh formulas); on CUDA the model uses
// the base class's full re-evaluation.
//
// Tests: tests/unit/test_rbm.cpp: log psi by hand, gradients and per-sample gradients vs float64
// central differences (|diff| <= 1e-7 + 1e-6 |fd|: h = 1e-6 truncation ~1e-12, roundoff ~1e-10),
// fast ratios == full re-evaluation (1e-12 in f64).
#pragma once
#include <cstdint>
#include <vector>

#include "physics/models/wavefunction.hpp"

namespace naqs {

struct RbmConfig {
  int64_t n_sites = 0;
  double alpha = 1.0;     // hidden density; M = ceil(alpha * N)
  bool complex = false;   // complex parameters (re/im pairs)
};

class Rbm final : public Wavefunction {
 public:
  Rbm(const RbmConfig& config, DType dtype, Device device);
  // Every parameter ~ N(0, stddev^2) from Philox (seed, stream = parameter index in the layout).
  void init_random(uint64_t seed, double stddev = 0.01);

  int64_t n_sites() const override { return config_.n_sites; }
  int64_t n_hidden() const { return n_hidden_; }
  const RbmConfig& config() const { return config_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return device_; }
  ParameterSet& params() override { return params_; }
  const ParameterSet& params() const override { return params_; }
  bool has_phase() const override { return config_.complex; }
  // theta re/im and their log 2cosh per hidden unit, sigma and a * sigma, in the model dtype.
  std::size_t forward_bytes_per_sample() const override {
    return static_cast<std::size_t>(4 * n_hidden_ + 2 * n_sites()) * dtype_size(dtype_);
  }

  void log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) override;
  void grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                    bool accumulate = false) override;
  void per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) override;

  void ratio_begin(const Tensor& sigma) override;
  void log_psi_ratio(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                     Tensor& d_re, Tensor& d_im) override;
  void ratio_update(const Tensor& accepted) override;

  // theta = sigma W^T + b (B*M, row-major) as host doubles, im zero in real mode: the hidden
  // layer's pre-activations, the RBM's features for `naqs features` (ml/align).
  void hidden_theta(const Tensor& sigma, std::vector<double>& th_re, std::vector<double>& th_im) {
    theta_host(sigma, th_re, th_im);
  }

 private:
  // theta = sigma W^T + b on the device: th_re, th_im (B,M) views of theta_re_, theta_im_
  // (th_im undefined in real mode). Checks sigma.
  void theta(const Tensor& sigma, Tensor& th_re, Tensor& th_im);
  // theta (B*M) re and im as host doubles (im zero in real mode), for the CPU fast ratios.
  void theta_host(const Tensor& sigma, std::vector<double>& th_re, std::vector<double>& th_im);
  // sum_i a[i] sigma[b,i] (B) for a = params_ `name` (N).
  Tensor a_dot_sigma(const Tensor& sigma, const char* name) const;
  // y (B,C) with y[b,:] = w[b] (w (B)).
  Tensor rows_of(const Tensor& w, int64_t columns) const;
  std::vector<double> host_param(const char* name) const;  // zeros if absent (real mode _im)

  RbmConfig config_;
  int64_t n_hidden_ = 0;
  DType dtype_;
  Device device_;
  ParameterSet params_;
  Tensor rows_, theta_re_, theta_im_;  // sigma padded to a multiple of 8 rows, theta (padded,M)
  // Fast-ratio state (CPU models): tracked theta and proposed theta, (B*M) each.
  std::vector<double> th_re_, th_im_, prop_th_re_, prop_th_im_;
};

}  // namespace naqs
