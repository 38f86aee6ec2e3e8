#include "physics/vmc/observables.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/error.hpp"
#include "physics/local_energy.hpp"
#include "physics/sampler.hpp"

namespace naqs::vmc {

Estimate estimate(const std::vector<double>& values) {
  Estimate e;
  const std::size_t n = values.size();
  if (n == 0) return e;
  double s = 0;
  for (double v : values) s += v;
  e.mean = s / static_cast<double>(n);
  if (n < 2) return e;
  double ss = 0;
  for (double v : values) ss += (v - e.mean) * (v - e.mean);
  e.err = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
  return e;
}

DiagonalSample diagonal_sample(const Lattice& lattice, const double* sigma) {
  const int n = lattice.n_sites();
  double mz = 0, ms = 0;
  for (int i = 0; i < n; ++i) {
    mz += sigma[i];
    ms += lattice.sublattice(i) ? -sigma[i] : sigma[i];
  }
  return {mz / n, ms / n};
}

VmcObservables measure_observables(AutoregressiveWavefunction& psi, const Hamiltonian& H,
                                   const ObservableOptions& options) {
  NAQS_REQUIRE(options.n_samples >= 2, "observables need at least 2 samples, got ",
               options.n_samples);
  const int64_t n_total = options.n_samples, N = psi.n_sites();
  const int64_t chunk = std::max<int64_t>(1, std::min(options.batch_size, n_total));
  const Lattice& lattice = H.lattice();
  // sum_i X_i as a Hamiltonian on the same lattice: -J ZZ - h X with J = 0, h = -1.
  ModelParams xp;
  xp.model = Model::tfim;
  xp.J = 0;
  xp.h = -1;
  const Hamiltonian x_sum(lattice, xp);

  SamplerOptions so;
  so.seed = options.seed;
  so.stream = options.stream;
  so.batch_size = chunk;
  LocalEnergyOptions lo;
  lo.memory_cap_bytes = options.memory_cap_bytes;

  std::vector<double> e_re, e_im, abs_mz, mz2, ms2, x;
  std::vector<std::vector<double>> zz(static_cast<std::size_t>(N));
  const DType dt = psi.dtype();
  const Device dev = psi.device();
  for (int64_t first = 0; first < n_total; first += chunk) {
    const int64_t b = std::min(chunk, n_total - first);
    Tensor sigma = Tensor::empty({b, N}, dt, dev);
    Tensor lr = Tensor::empty({b}, dt, dev), li = Tensor::empty({b}, dt, dev);
    sample_autoregressive(psi, first, so, sigma, lr, li);
    Tensor er = Tensor::empty({b}, dt, dev), ei = Tensor::empty({b}, dt, dev);
    local_energy(psi, H, sigma, lr, li, er, ei, lo);
    const std::vector<double> ver = to_host_f64(er), vei = to_host_f64(ei);
    e_re.insert(e_re.end(), ver.begin(), ver.end());
    e_im.insert(e_im.end(), vei.begin(), vei.end());
    local_energy(psi, x_sum, sigma, lr, li, er, ei, lo);
    for (double v : to_host_f64(er)) x.push_back(v / static_cast<double>(N));
    const std::vector<double> s = to_host_f64(sigma);
    for (int64_t k = 0; k < b; ++k) {
      const double* row = s.data() + k * N;
      const DiagonalSample d = diagonal_sample(lattice, row);
      abs_mz.push_back(std::abs(d.mz));
      mz2.push_back(d.mz * d.mz);
      ms2.push_back(d.ms * d.ms);
      for (int64_t r = 0; r < N; ++r) zz[r].push_back(row[0] * row[r]);
    }
  }

  VmcObservables o;
  o.n_samples = n_total;
  o.energy = estimate(e_re);
  o.energy_imag = estimate(e_im);
  // Variance <|E - E_mean|^2> and its error from the fourth central moment.
  std::vector<double> dev2(e_re.size());
  for (std::size_t k = 0; k < e_re.size(); ++k) {
    const double a = e_re[k] - o.energy.mean, c = e_im[k] - o.energy_imag.mean;
    dev2[k] = a * a + c * c;
  }
  o.energy_var = estimate(dev2);
  o.energy_per_site = {o.energy.mean / N, o.energy.err / N};
  const double e2 = o.energy.mean * o.energy.mean;
  o.vscore = {e2 > 0 ? N * o.energy_var.mean / e2 : 0.0,
              e2 > 0 ? N * o.energy_var.err / e2 : 0.0};
  o.abs_mz = estimate(abs_mz);
  o.mz2 = estimate(mz2);
  o.ms2 = estimate(ms2);
  o.x_mean = estimate(x);
  o.zz_corr.resize(static_cast<std::size_t>(N));
  for (int64_t r = 0; r < N; ++r) o.zz_corr[r] = estimate(zz[r]);
  return o;
}

}  // namespace naqs::vmc
