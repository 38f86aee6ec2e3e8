// Checks shared by the wavefunction tests (1D and 2D NAQS, symmetrised models): enumeration of
// the configuration space, total probability, random parameters and spins, and the gradient of
// log psi against float64 central differences. `Psi` is any model with log_psi, grad_log_psi
// and per_sample_grad (physics/models/autoregressive_wavefunction.hpp conventions).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "host/core/params.hpp"
#include "host/core/tensor.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {

// All 2^N configurations as (2^N, N) +1/-1: row k has sigma_i = -1 iff bit i of k is set (the
// packed convention of physics/operator/hamiltonian.hpp). only_sz0 keeps the rows with sum_i
// sigma_i = 0.
inline Tensor all_configurations(int64_t n_sites, DType dtype, bool only_sz0 = false) {
  const int64_t n_states = int64_t{1} << n_sites;
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(n_states * n_sites));
  for (int64_t k = 0; k < n_states; ++k) {
    int64_t m = 0;
    for (int64_t i = 0; i < n_sites; ++i) m += ((k >> i) & 1) ? -1 : 1;
    if (only_sz0 && m != 0) continue;
    for (int64_t i = 0; i < n_sites; ++i) v.push_back(((k >> i) & 1) ? -1.0 : 1.0);
  }
  return from_host_f64(v, {static_cast<int64_t>(v.size()) / n_sites, n_sites}, dtype,
                       Device::cpu());
}

// sum_sigma |psi(sigma)|^2 in double over all 2^N configurations of psi's dtype or, with
// only_sz0, over the Sz = 0 ones (enough when psi vanishes elsewhere).
template <class Psi>
double total_probability(Psi& psi, DType dtype, bool only_sz0 = false) {
  Tensor all = all_configurations(psi.n_sites(), dtype, only_sz0);
  Tensor lr = Tensor::empty({all.size(0)}, dtype), li = lr.clone();
  psi.log_psi(all, lr, li);
  double total = 0;
  for (double v : to_host_f64(lr)) total += std::exp(2 * v);
  return total;
}
inline double total_probability(AutoregressiveWavefunction& psi) {
  return total_probability(psi, psi.dtype());
}

// Random +1/-1 configurations (B,N) on the CPU.
inline Tensor random_spins(int64_t batch, int64_t n, uint64_t seed, DType dtype = DType::f64) {
  std::vector<double> v = to_host_f64(random_tensor({batch, n}, DType::f64, seed));
  for (double& x : v) x = x < 0 ? -1.0 : 1.0;
  return from_host_f64(v, {batch, n}, dtype, Device::cpu());
}

// Every parameter uniform in [-scale, scale), and the weight-norm gains (names ending in ".g")
// in [0.5, 1.5) so v/||v|| stays well conditioned: no term of a pass is trivially zero.
inline void randomise_parameters(ParameterSet& params, uint64_t seed, double scale) {
  Tensor flat = params.flat();
  flat.copy_from(random_tensor(flat.shape(), flat.dtype(), seed + 1, -scale, scale));
  for (const ParameterEntry& e : params.layout())
    if (e.name.size() > 2 && e.name.substr(e.name.size() - 2) == ".g") {
      Tensor g = params.get(e.name);
      g.copy_from(random_tensor(g.shape(), g.dtype(), seed + 7 + static_cast<uint64_t>(e.offset),
                                0.5, 1.5));
    }
}

// Checks grad_log_psi and per_sample_grad of psi at sigma (B,N) f64 against float64 central
// differences of f(theta) = sum_b w_re[b] Re log psi_b + w_im[b] Im log psi_b (w_im only when
// complex) over every element of `flat` (the f64 parameters psi reads), w_re, w_im random from
// seed + 1, seed + 2. Tolerances: 1e-7 absolute + 1e-6 relative for the differences (h = 1e-6
// on functions smooth away from ReLU kinks, which random inputs do not hit within 1e-6:
// truncation ~h^2 = 1e-12, cancellation ~1e-16/h = 1e-10); 1e-12 + 1e-10 relative for the
// per-sample rows contracted with the weights (the same arithmetic up to summation order).
struct GradientCheck {
  Tensor grad, w_re, w_im;  // the analytic gradient (P) and the weights (B)
};
template <class Psi>
GradientCheck check_log_psi_gradients(Psi& psi, Tensor flat, const Tensor& sigma, uint64_t seed,
                                      bool complex) {
  const int64_t batch = sigma.size(0), n_params = flat.numel();
  GradientCheck r;
  r.w_re = random_tensor({batch}, DType::f64, seed + 1);
  r.w_im = random_tensor({batch}, DType::f64, seed + 2);
  const double* w_re = r.w_re.data<double>();
  const double* w_im = r.w_im.data<double>();
  Tensor lr = Tensor::empty({batch}, DType::f64), li = lr.clone();
  auto objective = [&]() {
    psi.log_psi(sigma, lr, li);
    double f = 0;
    for (int64_t b = 0; b < batch; ++b)
      f += w_re[b] * lr.data<double>()[b] + (complex ? w_im[b] * li.data<double>()[b] : 0.0);
    return f;
  };
  Tensor numeric = finite_difference(flat, objective);
  r.grad = Tensor::empty({n_params}, DType::f64);
  psi.grad_log_psi(sigma, r.w_re, r.w_im, r.grad);
  EXPECT_TRUE(all_close(r.grad, numeric, 1e-7, 1e-6));

  Tensor jac_re = Tensor::empty({batch, n_params}, DType::f64);
  Tensor jac_im = complex ? Tensor::empty({batch, n_params}, DType::f64) : Tensor();
  psi.per_sample_grad(sigma, jac_re, jac_im);
  Tensor contracted = Tensor::zeros({n_params}, DType::f64);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t p = 0; p < n_params; ++p) {
      double v = w_re[b] * jac_re.data<double>()[b * n_params + p];
      if (complex) v += w_im[b] * jac_im.data<double>()[b * n_params + p];
      contracted.data<double>()[p] += v;
    }
  EXPECT_TRUE(all_close(contracted, r.grad, 1e-12, 1e-10));
  return r;
}

}  // namespace naqs::testing
