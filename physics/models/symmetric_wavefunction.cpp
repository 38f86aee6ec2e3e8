// Symmetrised autoregressive wavefunction (see symmetric_wavefunction.hpp).
#include "physics/models/symmetric_wavefunction.hpp"

#include <algorithm>
#include <cmath>


namespace naqs {

SymmetricWavefunction::SymmetricWavefunction(AutoregressiveWavefunction& base, SymmetryGroup group)
    : base_(base), group_(std::move(group)) {
  NAQS_REQUIRE(group_.n_sites() == base.n_sites(), "symmetric wavefunction: group on ",
               group_.n_sites(), " sites for a wavefunction on ", base.n_sites(), " sites");
  const SpinHilbert hilbert = base.hilbert();
  if (hilbert.constrained() && group_.has_flip())
    NAQS_REQUIRE(hilbert.magnetisation() == 0,
                 "symmetric wavefunction: the spin flip maps the constrained sector (",
                 hilbert.magnetisation(),
                 " = sum of spins) outside itself; use Sz = 0 or a group without the flip");
}

Tensor SymmetricWavefunction::expand(const Tensor& sigma) const {
  const char* op = "SymmetricWavefunction";
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0), n = n_sites(), n_group = group_.size();
  check_shape(op, sigma, {batch, n}, "sigma");
  const std::vector<double> s = to_host_f64(sigma);
  std::vector<double> out(static_cast<std::size_t>(batch * n_group * n));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < n_group; ++g)
      group_.apply(g, s.data() + b * n, out.data() + (b * n_group + g) * n, 1);
  return from_host_f64(out, {batch * n_group, n}, base_.dtype(), base_.device());
}

SymmetricWavefunction::Combination SymmetricWavefunction::combine(const Tensor& expanded,
                                                                  int64_t batch) {
  const int64_t n_group = group_.size(), rows = batch * n_group;
  Tensor lr = Tensor::empty({rows}, base_.dtype(), base_.device());
  Tensor li = Tensor::empty({rows}, base_.dtype(), base_.device());
  base_.log_psi(expanded, lr, li);
  const std::vector<double> a = to_host_f64(lr), phi = to_host_f64(li);
  Combination c;
  c.p.resize(static_cast<std::size_t>(rows));
  c.q_re.resize(static_cast<std::size_t>(rows));
  c.q_im.resize(static_cast<std::size_t>(rows));
  c.log_re.resize(static_cast<std::size_t>(batch));
  c.log_im.resize(static_cast<std::size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const double* ab = a.data() + b * n_group;
    const double* pb = phi.data() + b * n_group;
    const double m = *std::max_element(ab, ab + n_group);
    double sum_p = 0, sum_re = 0, sum_im = 0;
    for (int64_t g = 0; g < n_group; ++g) {
      const double mod = std::exp(ab[g] - m);  // |psi_g| / max |psi|
      sum_p += mod * mod;
      sum_re += mod * std::cos(pb[g]);
      sum_im += mod * std::sin(pb[g]);
    }
    c.log_re[b] = m + 0.5 * std::log(sum_p / static_cast<double>(n_group));
    c.log_im[b] = (sum_re == 0 && sum_im == 0) ? 0.0 : std::atan2(sum_im, sum_re);
    // q_g = psi_g / sum psi = mod e^{i phi} / (sum_re + i sum_im).
    const double d2 = sum_re * sum_re + sum_im * sum_im;
    for (int64_t g = 0; g < n_group; ++g) {
      const double mod = std::exp(ab[g] - m);
      const std::size_t k = static_cast<std::size_t>(b * n_group + g);
      c.p[k] = mod * mod / sum_p;
      const double zr = mod * std::cos(pb[g]), zi = mod * std::sin(pb[g]);
      c.q_re[k] = d2 > 0 ? (zr * sum_re + zi * sum_im) / d2 : 0.0;
      c.q_im[k] = d2 > 0 ? (zi * sum_re - zr * sum_im) / d2 : 0.0;
    }
  }
  return c;
}

void SymmetricWavefunction::log_psi(const Tensor& sigma, Tensor& log_re, Tensor& log_im) {
  const Tensor expanded = expand(sigma);
  const int64_t batch = sigma.size(0);
  check_shape("SymmetricWavefunction::log_psi", log_re, {batch}, "log_re");
  check_shape("SymmetricWavefunction::log_psi", log_im, {batch}, "log_im");
  const Combination c = combine(expanded, batch);
  log_re.copy_from(from_host_f64(c.log_re, {batch}, log_re.dtype(), log_re.device()));
  log_im.copy_from(from_host_f64(c.log_im, {batch}, log_im.dtype(), log_im.device()));
}

void SymmetricWavefunction::grad_log_psi(const Tensor& sigma, const Tensor& w_re,
                                         const Tensor& w_im, Tensor& grad, bool accumulate) {
  const char* op = "SymmetricWavefunction::grad_log_psi";
  const Tensor expanded = expand(sigma);
  const int64_t batch = sigma.size(0), n_group = group_.size();
  check_shape(op, w_re, {batch}, "w_re");
  const bool complex = base_.phase_mode() == PhaseMode::complex && w_im.defined();
  if (w_im.defined()) check_shape(op, w_im, {batch}, "w_im");
  const Combination c = combine(expanded, batch);
  const std::vector<double> wr = to_host_f64(w_re);
  const std::vector<double> wi = complex ? to_host_f64(w_im) : std::vector<double>();
  std::vector<double> big_re(static_cast<std::size_t>(batch * n_group));
  std::vector<double> big_im(static_cast<std::size_t>(batch * n_group), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < n_group; ++g) {
      const std::size_t k = static_cast<std::size_t>(b * n_group + g);
      big_re[k] = wr[b] * c.p[k] + (complex ? wi[b] * c.q_im[k] : 0.0);
      if (complex) big_im[k] = wi[b] * c.q_re[k];
    }
  const Shape rows{batch * n_group};
  base_.grad_log_psi(expanded, from_host_f64(big_re, rows, base_.dtype(), base_.device()),
                     complex ? from_host_f64(big_im, rows, base_.dtype(), base_.device()) : Tensor(),
                     grad, accumulate);
}

void SymmetricWavefunction::per_sample_grad(const Tensor& sigma, Tensor& jac_re, Tensor& jac_im) {
  const char* op = "SymmetricWavefunction::per_sample_grad";
  const Tensor expanded = expand(sigma);
  const int64_t batch = sigma.size(0), n_group = group_.size(), n_params = base_.params().size();
  const bool complex = base_.phase_mode() == PhaseMode::complex;
  check_shape(op, jac_re, {batch, n_params}, "jac_re");
  if (complex) check_shape(op, jac_im, {batch, n_params}, "jac_im");
  const Combination c = combine(expanded, batch);
  const DType dtype = base_.dtype();
  const Device device = base_.device();
  Tensor big_re = Tensor::empty({batch * n_group, n_params}, dtype, device);
  Tensor big_im = complex ? Tensor::empty({batch * n_group, n_params}, dtype, device) : Tensor();
  base_.per_sample_grad(expanded, big_re, big_im);
  const std::vector<double> jr = to_host_f64(big_re);
  const std::vector<double> ji = complex ? to_host_f64(big_im) : std::vector<double>();
  std::vector<double> out_re(static_cast<std::size_t>(batch * n_params), 0.0);
  std::vector<double> out_im(complex ? out_re.size() : 0, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < n_group; ++g) {
      const std::size_t k = static_cast<std::size_t>(b * n_group + g);
      const double* row_re = jr.data() + k * n_params;
      double* dst_re = out_re.data() + b * n_params;
      for (int64_t p = 0; p < n_params; ++p) dst_re[p] += c.p[k] * row_re[p];
      if (complex) {
        const double* row_im = ji.data() + k * n_params;
        double* dst_im = out_im.data() + b * n_params;
        for (int64_t p = 0; p < n_params; ++p)
          dst_im[p] += c.q_re[k] * row_im[p] + c.q_im[k] * row_re[p];
      }
    }
  jac_re.copy_from(from_host_f64(out_re, {batch, n_params}, dtype, device));
  if (complex) jac_im.copy_from(from_host_f64(out_im, {batch, n_params}, dtype, device));
}

}  // namespace naqs
