// Histogram tests of samplers against exact |psi|^2 on small systems (statistical tier; used by
// test_metropolis_stats.cpp, test_naqs_sampler.cpp, test_symmetric_sampler.cpp). Configuration
// index k: sigma_i = -1 iff bit i of k is set, the order of all_configurations().
//   exact_probabilities  |psi(k)|^2 of every configuration (normalised by their sum; optionally
//                        only those with sum_i sigma_i = magnetisation, the rest 0)
//   config_counts        histogram of sampled rows
//   chi_square_score     Pearson chi-square of counts vs probabilities, bins expecting < 5 pooled
//                        into one, returned as the Wilson-Hilferty standard score: ~N(0,1) under
//                        the hypothesis (z > 3.72: p < 1e-4; z > 4.5: p ~ 3e-6 rejects)
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "host/core/tensor.hpp"
#include "tests/support/wavefunction_checks.hpp"

namespace naqs::testing {

// Psi: anything with log_psi(sigma, log_re, log_im) on f64 CPU tensors of psi's dtype.
template <class Psi>
std::vector<double> exact_probabilities(Psi& psi, int64_t n_sites, DType dtype = DType::f64,
                                        const std::optional<int64_t>& magnetisation = {}) {
  Tensor all = all_configurations(n_sites, dtype);
  Tensor lr = Tensor::empty({all.size(0)}, dtype), li = lr.clone();
  psi.log_psi(all, lr, li);
  std::vector<double> p = to_host_f64(lr);
  double z = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    int64_t sum = 0;
    for (int64_t i = 0; i < n_sites; ++i) sum += (k >> i) & 1 ? -1 : 1;
    p[k] = magnetisation && sum != *magnetisation ? 0.0 : std::exp(2 * p[k]);
    z += p[k];
  }
  for (double& v : p) v /= z;
  return p;
}

// sigma (count, N) of +-1 (any float dtype and device) -> counts per configuration (2^N).
inline std::vector<double> config_counts(const Tensor& sigma) {
  const int64_t count = sigma.size(0), n = sigma.size(1);
  const std::vector<double> s = to_host_f64(sigma);
  std::vector<double> counts(static_cast<std::size_t>(int64_t{1} << n), 0.0);
  for (int64_t b = 0; b < count; ++b) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i)
      if (s[b * n + i] < 0) k |= int64_t{1} << i;
    counts[static_cast<std::size_t>(k)] += 1;
  }
  return counts;
}

// bins (may be null) receives the number of bins after pooling.
inline double chi_square_score(const std::vector<double>& counts,
                               const std::vector<double>& probs, double n_samples,
                               int* bins = nullptr) {
  double chi2 = 0, pooled_obs = 0, pooled_exp = 0;
  int n_bins = 0;
  for (std::size_t k = 0; k < probs.size(); ++k) {
    const double e = probs[k] * n_samples;
    if (e < 5) {
      pooled_obs += counts[k];
      pooled_exp += e;
    } else {
      chi2 += (counts[k] - e) * (counts[k] - e) / e;
      ++n_bins;
    }
  }
  if (pooled_exp > 0) {
    chi2 += (pooled_obs - pooled_exp) * (pooled_obs - pooled_exp) / pooled_exp;
    ++n_bins;
  }
  if (bins) *bins = n_bins;
  const double dof = n_bins - 1, a = 2.0 / (9.0 * dof);
  return (std::cbrt(chi2 / dof) - (1 - a)) / std::sqrt(a);
}

}  // namespace naqs::testing
