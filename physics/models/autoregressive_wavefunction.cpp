// The shared autoregressive output head (see autoregressive_wavefunction.hpp for the conventions).
// Everything on the batch goes through naqs::ops, so it runs on the model's device; only the
// constraint mask is built on the host (O(B*N), negligible next to the network).
#include "physics/models/autoregressive_wavefunction.hpp"

#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gather.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/softmax.hpp"

namespace naqs {

const char* phase_mode_name(PhaseMode m) {
  return m == PhaseMode::real_positive ? "real" : "complex";
}

PhaseMode parse_phase_mode(const std::string& s) {
  if (s == "real") return PhaseMode::real_positive;
  if (s == "complex") return PhaseMode::complex;
  throw UsageError(cat("phase mode '", s, "' is not allowed; use real or complex"));
}

std::vector<double> constraint_mask(const SpinHilbert& c,
                                    const std::vector<double>& sigma_host, int64_t batch) {
  const int64_t n = c.n_sites();
  NAQS_CHECK(static_cast<int64_t>(sigma_host.size()) == batch * n,
             "constraint_mask: ", sigma_host.size(), " spins for batch ", batch, " x ", n);
  std::vector<double> mask(static_cast<std::size_t>(batch * 2 * n), 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t n_up = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!c.up_allowed(i, n_up)) mask[(b * 2 + 0) * n + i] = -kMaskLogit;
      if (!c.down_allowed(i, n_up)) mask[(b * 2 + 1) * n + i] = -kMaskLogit;
      if (sigma_host[b * n + i] > 0) ++n_up;
    }
  }
  return mask;
}

SpinHilbert AutoregressiveWavefunction::hilbert() const {
  return constraint_ ? *constraint_ : SpinHilbert::full(n_sites());
}

void AutoregressiveWavefunction::set_hilbert(const SpinHilbert& hilbert) {
  NAQS_REQUIRE(hilbert.n_sites() == n_sites(), "a Hilbert space of ", hilbert.n_sites(),
               " sites given to a wavefunction on ", n_sites(), " sites");
  constraint_ = hilbert.constrained() ? std::optional<SpinHilbert>(hilbert) : std::nullopt;
}

void AutoregressiveWavefunction::logits_keeping(const Tensor& sigma, Tensor& re, Tensor& im,
                                                bool keep) {
  struct Restore {  // back to the default even when logits() throws
    bool& flag;
    ~Restore() { flag = true; }
  } restore{keep_activations_};
  keep_activations_ = keep;
  logits(sigma, re, im);
}

void AutoregressiveWavefunction::logits_no_backward(const Tensor& sigma, Tensor& re,
                                                    Tensor& im) {
  logits_keeping(sigma, re, im, false);
}

void AutoregressiveWavefunction::head_forward(const Tensor& sigma, bool for_backward) {
  const char* op = "AutoregressiveWavefunction::head_forward";
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0), n = n_sites();
  check_shape(op, sigma, {batch, n}, "sigma");
  check_dtype(op, sigma, dtype(), "sigma");
  NAQS_CHECK(sigma.device() == device(), op, ": sigma ", sigma.str(), " is not on the model's device ",
             device().str());
  const Shape shape3{batch, 2, n};
  ensure_tensor(re_, shape3, dtype(), device());
  ensure_tensor(im_, shape3, dtype(), device());
  ensure_tensor(log_prob_, shape3, dtype(), device());
  ensure_tensor(index_, {batch, 1, n}, DType::i32, device());
  logits_keeping(sigma, re_, im_, for_backward);

  // x = 2 Re z (+ mask); log_prob = log_softmax over the local states (axis 1).
  Tensor x = Tensor::empty(shape3, dtype(), device());
  ops::copy(re_, x);
  ops::scale(x, 2.0);
  if (constraint_) {
    std::vector<double> mask = constraint_mask(*constraint_, to_host_f64(sigma), batch);
    ops::binary(ops::Binary::add, x, from_host_f64(mask, shape3, dtype(), device()), x);
  }
  ops::log_softmax(x, 1, log_prob_);

  // index = (1 - sigma) / 2 as i32: 0 for +1, 1 for -1.
  Tensor s_index = Tensor::empty({batch, n}, dtype(), device());
  ops::fill(s_index, 0.5);
  ops::axpby(-0.5, sigma, 1.0, s_index);
  Tensor index_2d = index_.reshape({batch, n});
  ops::cast(s_index, index_2d);
}

void AutoregressiveWavefunction::log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) {
  head_forward(sigma, /*for_backward=*/false);
  const int64_t batch = sigma.size(0), n = n_sites();
  check_shape("log_psi", log_re, {batch}, "log_re");
  check_shape("log_psi", log_im, {batch}, "log_im");
  Tensor picked = Tensor::empty({batch, 1, n}, dtype(), device());
  ops::gather(log_prob_, index_, 1, picked);
  ops::reduce(ops::Reduce::sum, picked.reshape({batch, n}), 1, log_re);
  ops::scale(log_re, 0.5);
  if (phase_mode() == PhaseMode::complex) {
    ops::gather(im_, index_, 1, picked);
    ops::reduce(ops::Reduce::sum, picked.reshape({batch, n}), 1, log_im);
  } else {
    ops::fill(log_im, 0.0);
  }
}

void AutoregressiveWavefunction::conditionals(const Tensor& sigma, Tensor& log_prob,
                                              Tensor& phase) {
  head_forward(sigma, /*for_backward=*/false);
  ops::copy(log_prob_, log_prob);
  ops::copy(im_, phase);
}

void AutoregressiveWavefunction::head_backward(const Tensor& w_re, const Tensor& w_im,
                                               Tensor& d_re, Tensor& d_im) {
  const int64_t batch = log_prob_.size(0), n = n_sites();
  const Shape shape3{batch, 2, n};
  ensure_tensor(d_re, shape3, dtype(), device());
  ensure_tensor(d_im, shape3, dtype(), device());
  // Spread a per-sample weight w (B) onto the chosen local state of every site: (B,2,N).
  Tensor spread = Tensor::empty({batch, n}, dtype(), device());
  auto one_hot = [&](const Tensor& w, Tensor& out) {
    ops::fill(spread, 0.0);
    ops::bias_add(spread, w, 0);
    ops::fill(out, 0.0);
    ops::scatter_add(spread.reshape({batch, 1, n}), index_, 1, out);
  };
  // Re log psi_b = 1/2 sum_i log_prob[b, s_i, i] and log_prob = log_softmax(2 Re z): the factor
  // 2 of the chain rule cancels the 1/2, so d Re z = log_softmax_backward(w one-hot).
  Tensor d_log_prob = Tensor::empty(shape3, dtype(), device());
  one_hot(w_re, d_log_prob);
  ops::log_softmax_backward(log_prob_, d_log_prob, 1, d_re);
  if (phase_mode() == PhaseMode::complex && w_im.defined()) {
    one_hot(w_im, d_im);
  } else {
    ops::fill(d_im, 0.0);
  }
}

void AutoregressiveWavefunction::grad_log_psi(const Tensor& sigma, const Tensor& w_re,
                                              const Tensor& w_im, Tensor& grad, bool accumulate) {
  const int64_t batch = sigma.size(0);
  check_shape("grad_log_psi", w_re, {batch}, "w_re");
  if (w_im.defined()) check_shape("grad_log_psi", w_im, {batch}, "w_im");
  check_shape("grad_log_psi", grad, {params().size()}, "grad");
  head_forward(sigma, /*for_backward=*/true);
  Tensor d_re, d_im;
  head_backward(w_re, w_im, d_re, d_im);
  logits_backward(d_re, d_im, grad, false, accumulate);
}

void AutoregressiveWavefunction::per_sample_grad(const Tensor& sigma, Tensor& jac_re,
                                                 Tensor& jac_im) {
  const int64_t batch = sigma.size(0);
  check_shape("per_sample_grad", jac_re, {batch, params().size()}, "jac_re");
  const bool complex = phase_mode() == PhaseMode::complex;
  if (complex) check_shape("per_sample_grad", jac_im, {batch, params().size()}, "jac_im");
  head_forward(sigma, /*for_backward=*/true);
  Tensor ones = Tensor::full({batch}, 1.0, dtype(), device());
  Tensor zeros = Tensor::zeros({batch}, dtype(), device());
  Tensor d_re, d_im;
  head_backward(ones, Tensor(), d_re, d_im);
  logits_backward(d_re, d_im, jac_re, true, false);
  if (complex) {
    head_backward(zeros, ones, d_re, d_im);
    logits_backward(d_re, d_im, jac_im, true, false);
  }
}

}  // namespace naqs
