// Symmetrisation of an autoregressive wavefunction that keeps exact sampling:
//
//   |psi_sym(sigma)|^2 = mean_{g in G} |psi(g sigma)|^2,
//   log |psi_sym(sigma)| = 1/2 log mean_g exp(2 Re log psi(g sigma))   (max-shifted, in double)
//   arg psi_sym(sigma)   = arg sum_g psi(g sigma)                        (complex mode)
//
// Normalisation: sum_sigma |psi_sym|^2 = mean_g sum_sigma |psi(g sigma)|^2 = 1, since every g
// is a bijection of the configuration space (and of the Sz = 0 space: permutations keep Sz, the
// global flip maps Sz = 0 onto itself; a constraint with Sz != 0 and a flipping group is refused).
// Invariance: psi_sym(h sigma) = psi_sym(sigma) for h in G, modulus and phase (G g = G).
// Phase choice: arg sum_g psi(g sigma) is invariant and equals arg psi when psi is already
// symmetric; where the sum vanishes the phase is 0. In real-positive mode the phase is 0.
// Sampling (exact, i.i.d.; sample_symmetric in physics/sampler/autoregressive.hpp): draw
// sigma ~ |psi|^2 with the base model's exact sampler, then apply g uniform on G;
// P(tau) = mean_g |psi(g^{-1} tau)|^2 = |psi_sym(tau)|^2. The element for global sample s is
// floor(G u), u = philox_uniform_f64(seed, stream ^ kSymmetryStreamTag, s), so it depends only
// on (seed, stream, s), like the base sample.
// Gradients: with p_g = |psi_g|^2 / sum |psi|^2 and q_g = psi_g / sum psi (psi_g = psi(g sigma)):
//   d Re log psi_sym = sum_g p_g d Re log psi_g,
//   d Im log psi_sym = sum_g Re q_g d Im log psi_g + Im q_g d Re log psi_g,
// so one weighted base backward over the G-fold expanded batch gives the summed gradient.
// Costs: every evaluation runs the base model on B*G configurations; the group action and the
// per-configuration combination (O(B G N) and O(B G P) for per-sample rows) run on the host.
// Tests: tests/unit/test_symmetry.cpp (normalisation by enumeration, invariance, gradients vs
// central differences), tests/statistical/test_symmetric_sampler.cpp (chi-square).
#pragma once
#include <cstdint>

#include "physics/lattice/symmetry.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"

namespace naqs {

class SymmetricWavefunction {
 public:
  // Keeps a reference to base (which must outlive this object). UsageError when the group is on
  // another number of sites, or flips spins while base has a constraint with Sz != 0.
  SymmetricWavefunction(AutoregressiveWavefunction& base, SymmetryGroup group);

  int64_t n_sites() const { return base_.n_sites(); }
  AutoregressiveWavefunction& base() { return base_; }
  const SymmetryGroup& group() const { return group_; }

  // sigma (B,N) -> log_re = log|psi_sym| (B), log_im = arg psi_sym (B) (0 in real mode).
  void log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im);
  // grad (P) (+)= sum_b w_re[b] d Re log psi_sym_b + w_im[b] d Im log psi_sym_b (w_im may be
  // undefined).
  void grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                    bool accumulate = false);
  // jac_re (B,P), jac_im (B,P) (complex mode only; undefined in real mode).
  void per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im);

 private:
  // Host weights of one evaluation: p (B*G) and q = (q_re, q_im) (B*G), log_re / log_im (B).
  struct Combination {
    std::vector<double> p, q_re, q_im, log_re, log_im;
  };
  // Expanded batch (B*G, N) on the model device, row b*G + g = g sigma_b; evaluates the base.
  Tensor expand(const Tensor& sigma) const;
  Combination combine(const Tensor& expanded, int64_t batch);

  AutoregressiveWavefunction& base_;
  SymmetryGroup group_;
};

}  // namespace naqs
