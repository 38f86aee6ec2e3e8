// Wavefunction: the model-neutral interface every variational state implements (RBM now;
// AutoregressiveWavefunction derives from it), so samplers, local energies and the VMC driver
// need only log psi, its gradients and, for Metropolis, log-psi ratios of proposed moves.
//
// Conventions (DESIGN.md §1, §4, same as physics/models/autoregressive_wavefunction.hpp):
//   - sigma is (B,N), +1/-1 in the model's dtype, on the model's device.
//   - Complex values are pairs of real tensors: log psi = log_re + i log_im, log_re = log|psi|,
//     log_im = arg psi (zero for real, positive models).
//   - A Metropolis move is two site indices (a, b) per chain (i32): every index >= 0 is flipped,
//     -1 means "no site"; a = kGlobalFlip flips every site. A single flip is (k, -1), an exchange
//     of two opposite spins is (i, j) (exchange == flipping both), a rejected-by-construction
//     exchange of equal spins is (-1, -1) (ratio 1).
//
// Fast ratios (for physics/sampler/metropolis.hpp): ratio_begin(sigma) once per chain state, then
// each step log_psi_ratio(sigma, a, b) = log psi(sigma') - log psi(sigma) for the proposed moves,
// then ratio_update(accepted) after the sampler applied the accepted moves to sigma. The default
// implementation re-evaluates log psi(sigma') in full (one batched forward per step) and keeps
// log psi of the current states; models override with cheaper updates (RBM: theta updates).
//
// Tests: tests/unit/test_rbm.cpp (fast ratios == full re-evaluation, both the RBM override and
// this default), tests/statistical/test_metropolis_stats.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "host/core/params.hpp"
#include "host/core/tensor.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/metropolis_step.hpp"

namespace naqs {

inline constexpr int32_t kGlobalFlip = ops::kMoveGlobalFlip;  // move index a: flip every site

class Wavefunction {
 public:
  Wavefunction() = default;
  Wavefunction(Wavefunction&&) = default;
  Wavefunction& operator=(Wavefunction&&) = default;
  virtual ~Wavefunction() = default;

  virtual int64_t n_sites() const = 0;
  virtual DType dtype() const = 0;
  virtual Device device() const = 0;
  virtual ParameterSet& params() = 0;
  virtual const ParameterSet& params() const = 0;
  // True when psi carries a phase (log_im not identically zero; jac_im is needed).
  virtual bool has_phase() const = 0;
  // Rough bytes of activations one configuration needs in a log_psi pass (for chunking local
  // energies under a memory cap).
  virtual std::size_t forward_bytes_per_sample() const = 0;

  // Outputs follow the ops convention: callers pass preallocated tensors of the stated shape in
  // the model's dtype and device (the RBM also accepts undefined ones and allocates them).
  // log psi(sigma): sigma (B,N) -> log_re (B), log_im (B).
  virtual void log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) = 0;
  // grad (P) (+)= sum_b w_re[b] d Re log psi_b + w_im[b] d Im log psi_b (w (B); w_im may be
  // undefined = zero). With w = (Re c, Im c) this is Re sum_b conj(c_b) d log psi_b.
  virtual void grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im,
                            Tensor& grad, bool accumulate = false) = 0;
  // jac_re (B,P) = d Re log psi_b / d theta, jac_im (B,P) = d Im log psi_b / d theta (only when
  // has_phase(); pass an undefined tensor otherwise).
  virtual void per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) = 0;

  // ---- Metropolis ratios (defaults: full re-evaluation) --------------------------------------
  // Starts tracking the chain states sigma (B,N); the caller keeps sigma and applies accepted
  // moves to it itself.
  virtual void ratio_begin(const Tensor& sigma);
  // d_re, d_im (B) = log psi(sigma with moves (a, b) applied) - log psi(sigma); a, b (B) i32 on
  // the model device; sigma must be the tracked states.
  virtual void log_psi_ratio(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                             Tensor& d_re, Tensor& d_im);
  // accepted (B) i32 (1 = the move of the last log_psi_ratio call was applied to that chain).
  virtual void ratio_update(const Tensor& accepted);
  // log psi of the tracked states (B) (valid after ratio_begin; kept current by ratio_update).
  const Tensor& tracked_log_re() const { return cur_re_; }
  const Tensor& tracked_log_im() const { return cur_im_; }

 protected:
  Tensor cur_re_, cur_im_;    // (B) log psi of the tracked states
  Tensor prop_re_, prop_im_;  // (B) log psi of the last proposals (default implementation)
};

// sigma_out (B,N) = sigma (B,N) with the moves (a, b) (B) applied (any device; host loop).
void apply_moves(const Tensor& sigma, const Tensor& move_a, const Tensor& move_b,
                 Tensor& sigma_out);

}  // namespace naqs
