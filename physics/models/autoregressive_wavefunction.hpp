// Autoregressive wavefunctions: the backend-neutral interface every NAQS model implements
// (1D masked conv now; 2D two-stream conv later), and the shared output head that turns
// per-site logits into exactly normalised conditional wavefunctions.
//
// Conventions (DESIGN.md §1, §4):
//   - A batch of configurations `sigma` is (B,N), +1/-1 floats in the model's dtype, on the
//     model's device. Local state index s_i = 0 for sigma_i = +1, 1 for sigma_i = -1 (the packed
//     bit convention: set bit = -1).
//   - psi(sigma) = prod_i psi_i(s_i | s_<i). The model outputs per site and local state a
//     complex logit z[s,i]; it is stored as TWO real tensors, re (B,2,N) and im (B,2,N).
//     log psi_i(s) = z[s,i] - 1/2 logsumexp_{s'}(2 Re z[s',i]), so sum_s |psi_i(s)|^2 = 1 exactly
//     and psi is normalised over the whole space. The phase of psi_i(s) is Im z[s,i].
//   - Complex values everywhere are pairs of real tensors (re, im) of equal shape.
//   - PhaseMode::real_positive: the model has no imaginary logits; im outputs are zero-filled.
//   - Optional magnetisation constraint sum_i sigma_i = M, given as the model's Hilbert space
//     (set_hilbert, physics/hilbert/hilbert.hpp; M = 0 is total Sz = 0; Hibat-Allah et
//     al., PRR 2, 023358 (2020), App. D.2): at site i the state that would make M unreachable gets
//     conditional probability 0 (additive mask -kMaskLogit on 2 Re z), the other one keeps its
//     renormalised probability; the product of masked conditionals is normalised exactly over
//     the constrained space and ancestral sampling stays exact. Configurations outside the space
//     get log|psi| ~ -kMaskLogit/2 (effectively psi = 0).
//
// Tests: tests/unit/test_naqs1d*.cpp (normalisation by enumeration, causality, gradients vs
// float64 central differences).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/core/params.hpp"
#include "host/core/tensor.hpp"
#include "physics/hilbert/hilbert.hpp"
#include "physics/models/wavefunction.hpp"

namespace naqs {

enum class PhaseMode { real_positive, complex };
const char* phase_mode_name(PhaseMode m);  // "real" | "complex"
PhaseMode parse_phase_mode(const std::string& s);  // UsageError otherwise

// Logit added to 2 Re z of a forbidden local state: exp(-kMaskLogit) underflows to 0 in f32 and
// f64, so the allowed state's log-probability is exactly 0 after log_softmax.
inline constexpr double kMaskLogit = 1e30;

// Implements the model-neutral Wavefunction interface (physics/models/wavefunction.hpp), so the
// Metropolis sampler works on NAQS models too (default full-re-evaluation ratios).
class AutoregressiveWavefunction : public Wavefunction {
 public:
  AutoregressiveWavefunction() = default;
  AutoregressiveWavefunction(AutoregressiveWavefunction&&) = default;
  AutoregressiveWavefunction& operator=(AutoregressiveWavefunction&&) = default;
  virtual ~AutoregressiveWavefunction() = default;

  virtual int64_t n_sites() const = 0;
  virtual PhaseMode phase_mode() const = 0;
  bool has_phase() const override { return phase_mode() == PhaseMode::complex; }
  virtual DType dtype() const = 0;
  virtual Device device() const = 0;
  virtual ParameterSet& params() = 0;
  virtual const ParameterSet& params() const = 0;
  // forward_bytes_per_sample() (Wavefunction): activations of one forward + head pass.

  // The space the model's configurations live in: full (default) or a fixed magnetisation,
  // which masks the conditionals. UsageError when its n_sites differs from the model's.
  SpinHilbert hilbert() const;
  void set_hilbert(const SpinHilbert& hilbert);

  // ---- model-specific: raw logits -----------------------------------------------------------
  // Full forward: sigma (B,N) -> re (B,2,N), im (B,2,N) (im zero in real_positive mode).
  // Causal: re/im[:, :, i] depend on sigma[:, <i] only. Keeps activations for logits_backward
  // when keep_activations() (the generic methods below set it: false for log_psi and
  // conditionals, which need no backward, so a model may skip storing what only the backward
  // reads).
  virtual void logits(const Tensor& sigma, Tensor& re, Tensor& im) = 0;
  // logits() when no backward follows (the naive sampler): keep_activations() is false during
  // the call, so a model may skip storing what only the backward reads.
  void logits_no_backward(const Tensor& sigma, Tensor& re, Tensor& im);
  // Backward of the last logits() call: d_re, d_im (B,2,N) (d_im ignored in real mode);
  // grad (P) is the parameter gradient summed over the batch, or, when per_sample, jac (B,P)
  // holds one gradient row per configuration. accumulate adds into grad / jac.
  virtual void logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                               bool per_sample, bool accumulate) = 0;

  // Cached ancestral evaluation (each step computes only the new site):
  //   cache_begin(B); for t in 0..N-1 { cache_logits(t, re_t, im_t); cache_set_site(t, s_t); }
  // re_t, im_t are (B,2): the logits of site t given the sites < t set so far. Sites must be
  // visited in order. sigma_t is (B), +1/-1 in the model dtype, on the model device.
  virtual void cache_begin(int64_t batch) = 0;
  virtual void cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) = 0;
  virtual void cache_set_site(int64_t t, const Tensor& sigma_t) = 0;

  // ---- generic, implemented here on top of logits() -----------------------------------------
  // log psi(sigma): log_re = log|psi| (B), log_im = arg psi (B) (zero in real mode).
  void log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im);
  // Conditionals: log_prob (B,2,N) = log |psi_i(s | sigma_<i)|^2 (constraint applied),
  // phase (B,2,N) = Im z (zero in real mode).
  void conditionals(const Tensor& sigma, Tensor& log_prob, Tensor& phase);
  // grad (P) (+)= sum_b w_re[b] d Re log psi_b / d theta + w_im[b] d Im log psi_b / d theta.
  // With w = (Re c, Im c) this is Re sum_b conj(c_b) d log psi_b, the VMC gradient form.
  // w_im (B) may be undefined (treated as zero); it is ignored in real mode.
  void grad_log_psi(const Tensor& sigma, const Tensor& w_re, const Tensor& w_im, Tensor& grad,
                    bool accumulate = false);
  // Per-sample gradients: jac_re (B,P) = d Re log psi_b / d theta; jac_im (B,P) = d Im log psi_b
  // / d theta (complex mode only; pass an undefined tensor in real mode).
  void per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im);

 protected:
  std::optional<SpinHilbert> constraint_;  // set when the space has a fixed magnetisation
  // Whether the current logits() call must keep what logits_backward needs (default true, so a
  // direct logits() call can always be differentiated).
  bool keep_activations() const { return keep_activations_; }

 private:
  // Head forward: fills log_prob_ (B,2,N), index_ (B,1,N) i32 from sigma and the logits;
  // for_backward is passed to logits() as keep_activations().
  void head_forward(const Tensor& sigma, bool for_backward);
  // logits() with keep_activations() = keep during the call (back to true afterwards).
  void logits_keeping(const Tensor& sigma, Tensor& re, Tensor& im, bool keep);
  // d re, d im (B,2,N) of sum_b w_re[b] Re log psi_b + w_im[b] Im log psi_b.
  void head_backward(const Tensor& w_re, const Tensor& w_im, Tensor& d_re, Tensor& d_im);
  Tensor re_, im_, log_prob_, index_;
  bool keep_activations_ = true;
};

// Additive mask (B,2,N) in {0, -kMaskLogit} for the constraint; sigma_host is (B*N) +1/-1.
std::vector<double> constraint_mask(const SpinHilbert& c,
                                    const std::vector<double>& sigma_host, int64_t batch);

}  // namespace naqs
