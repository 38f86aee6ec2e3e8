// Restricted Boltzmann machine wavefunction (Carleo & Troyer, Science 355, 602 (2017)):
//   log psi(sigma) = sum_i a_i sigma_i + sum_j log(2 cosh theta_j),  theta = b + W sigma,
// N visible spins, M = alpha*N hidden units (alpha rounded up to an integer count). Real mode:
// a, b, W real (psi > 0 up to the sign of cosh, which is positive for real theta). Complex mode:
// every parameter p = p_re + i p_im is stored as two real parameters (holomorphic model).
//
// Parameter layout (ParameterSet names): a_re (N), b_re (M), W_re (M,N), and in complex mode
// a_im (N), b_im (M), W_im (M,N).
// Computation: theta = sigma W^T + b and the W-gradients are ops::gemm calls (CPU or CUDA);
// log 2cosh / tanh of the (B,M) complex theta and the (B)-sized bias terms are host f64 loops
// (no complex elementwise op exists yet; on a CUDA tensor theta makes one round trip).
// Fast Metropolis ratios (single flips, exchanges, global flips) update the tracked theta in
// O(M) per chain on CPU; on CUDA the model uses the base class's full re-evaluation.
//
// Tests: tests/unit/test_rbm.cpp: log psi by hand, gradients and per-sample gradients vs float64
// central differences (|diff| <= 1e-7 + 1e-6 |fd|: h = 1e-6 truncation ~1e-12, roundoff ~1e-10),
// fast ratios == full re-evaluation (1e-12 in f64).
#pragma once
#include <cstdint>
#include <vector>

#include "physics/wavefunction_base.hpp"

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
  // theta re/im and their log 2cosh per hidden unit, in f64 on the host.
  std::size_t forward_bytes_per_sample() const override {
    return static_cast<std::size_t>(4 * n_hidden_ + n_sites()) * sizeof(double);
  }

  void log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) override;
  void grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                    bool accumulate = false) override;
  void per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) override;

  void ratio_begin(const Tensor& sigma) override;
  void log_psi_ratio(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                     Tensor& d_re, Tensor& d_im) override;
  void ratio_update(const Tensor& accepted) override;

 private:
  // theta (B*M) re and im as host doubles (im zero in real mode), via ops::gemm.
  void theta_host(const Tensor& sigma, std::vector<double>& th_re, std::vector<double>& th_im);
  std::vector<double> host_param(const char* name) const;  // zeros if absent (real mode _im)

  RbmConfig config_;
  int64_t n_hidden_ = 0;
  DType dtype_;
  Device device_;
  ParameterSet params_;
  // Fast-ratio state (CPU models): tracked theta and proposed theta, (B*M) each.
  std::vector<double> th_re_, th_im_, prop_th_re_, prop_th_im_;
};

}  // namespace naqs
