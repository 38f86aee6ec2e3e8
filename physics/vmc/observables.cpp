#include "physics/vmc/observables.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/error.hpp"
#include "physics/operator/local_energy.hpp"

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

Estimate estimate_chains(const std::vector<double>& values, int64_t n_chains,
                         ChainSummary* summary) {
  if (n_chains <= 0) return estimate(values);
  const int64_t n = static_cast<int64_t>(values.size()) / n_chains;  // samples per chain
  // physics/sampler/mcmc_diagnostics.hpp reads sample-major rows.
  std::vector<double> sample_major(values.size());
  for (int64_t c = 0; c < n_chains; ++c)
    for (int64_t t = 0; t < n; ++t) sample_major[t * n_chains + c] = values[c * n + t];
  const ChainSummary s = summarize_chains(sample_major, n_chains);
  if (summary) *summary = s;
  // The spread of the chain means: an error bar that needs no mixing within a chain.
  double between = 0;
  if (n_chains > 1 && n > 0) {
    std::vector<double> means(static_cast<std::size_t>(n_chains), 0.0);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < n_chains; ++c) means[c] += values[c * n + t] / n;
    double ss = 0;
    for (double m : means) ss += (m - s.mean) * (m - s.mean);
    between = std::sqrt(ss / static_cast<double>(n_chains - 1) / static_cast<double>(n_chains));
  }
  // Never below the i.i.d. standard error: tau < 1 estimates from short chains are noise.
  const double iid = values.size() > 1 ? std::sqrt(s.variance / static_cast<double>(values.size()))
                                       : 0.0;
  return {s.mean, std::max({s.error, between, iid})};
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

VmcObservables measure_observables(Wavefunction& psi, const Hamiltonian& H, VmcSampler& sampler,
                                   const ObservableOptions& options) {
  NAQS_REQUIRE(options.n_samples >= 2, "observables need at least 2 samples, got ",
               options.n_samples);
  const int64_t N = psi.n_sites();
  const Lattice& lattice = H.lattice();
  // sum_i X_i as a Hamiltonian on the same lattice: -J ZZ - h X with J = 0, h = -1.
  ModelParams xp;
  xp.model = Model::tfim;
  xp.J = 0;
  xp.h = -1;
  const Hamiltonian x_sum(lattice, xp);
  LocalEnergyOptions lo;
  lo.memory_cap_bytes = options.memory_cap_bytes;

  dist::Communicator& comm = sampler.comm();
  SampleSet set;
  sampler.draw(options.n_samples, options.stream, options.batch_size, set);
  std::vector<double> e_re, e_im, mz, abs_mz, mz2, ms2, x;
  std::vector<std::vector<double>> zz(static_cast<std::size_t>(N));
  const DType dt = psi.dtype();
  const Device dev = psi.device();
  for (std::size_t k = 0; k < set.sigma.size(); ++k) {
    if (options.should_stop && comm.size() == 1 && options.should_stop()) throw MeasurementStopped{};
    const Tensor& sigma = set.sigma[k];
    const int64_t b = sigma.size(0);
    Tensor er = Tensor::empty({b}, dt, dev), ei = Tensor::empty({b}, dt, dev);
    local_energy(psi, H, sigma, set.log_re[k], set.log_im[k], er, ei, lo);
    const std::vector<double> ver = to_host_f64(er), vei = to_host_f64(ei);
    e_re.insert(e_re.end(), ver.begin(), ver.end());
    e_im.insert(e_im.end(), vei.begin(), vei.end());
    local_energy(psi, x_sum, sigma, set.log_re[k], set.log_im[k], er, ei, lo);
    for (double v : to_host_f64(er)) x.push_back(v / static_cast<double>(N));
    const std::vector<double> s = to_host_f64(sigma);
    for (int64_t r = 0; r < b; ++r) {
      const double* row = s.data() + r * N;
      const DiagonalSample d = diagonal_sample(lattice, row);
      mz.push_back(d.mz);
      abs_mz.push_back(std::abs(d.mz));
      mz2.push_back(d.mz * d.mz);
      ms2.push_back(d.ms * d.ms);
      for (int64_t j = 0; j < N; ++j) zz[j].push_back(row[0] * row[j]);
    }
  }
  if (comm.size() > 1) {  // every rank's values, in global sample order (ranks own row ranges)
    for (std::vector<double>* v : {&e_re, &e_im, &mz, &abs_mz, &mz2, &ms2, &x})
      *v = dist::all_gather(comm, *v);
    for (std::vector<double>& v : zz) v = dist::all_gather(comm, v);
  }

  VmcObservables o;
  o.n_samples = options.n_samples;
  o.sampler = sampler.kind();
  o.n_chains = set.n_chains;
  o.acceptance = set.acceptance;
  const int64_t C = set.n_chains;
  auto est = [&](const char* name, const std::vector<double>& v) {
    ChainSummary s;
    const Estimate e = estimate_chains(v, C, &s);
    if (C > 0) {
      o.diagnostics.emplace_back(name, s);
      if (chains_suspicious(s, kMinEss))
        o.warnings.push_back(cat(name, ": R-hat ", s.r_hat, ", ESS ", s.ess, " of ", v.size(),
                                 " samples (tau ", s.tau, ")",
                                 s.r_hat > kRHatWarn ? "; chains disagree (not mixed)" : "",
                                 s.ess < kMinEss ? "; too few effective samples" : ""));
    }
    return e;
  };
  o.energy = est("energy", e_re);
  o.energy_imag = estimate_chains(e_im, C);
  // Variance <|E - E_mean|^2> and its error from the fourth central moment.
  std::vector<double> dev2(e_re.size());
  for (std::size_t k = 0; k < e_re.size(); ++k) {
    const double a = e_re[k] - o.energy.mean, c = e_im[k] - o.energy_imag.mean;
    dev2[k] = a * a + c * c;
  }
  o.energy_var = estimate_chains(dev2, C);
  o.energy_per_site = {o.energy.mean / N, o.energy.err / N};
  const double e2 = o.energy.mean * o.energy.mean;
  o.vscore = {e2 > 0 ? N * o.energy_var.mean / e2 : 0.0,
              e2 > 0 ? N * o.energy_var.err / e2 : 0.0};
  o.mz = est("mz", mz);
  o.abs_mz = est("abs_mz", abs_mz);
  o.mz2 = est("mz2", mz2);
  o.x_mean = est("x", x);
  o.ms2 = est("ms2", ms2);
  o.zz_corr.resize(static_cast<std::size_t>(N));
  for (int64_t r = 0; r < N; ++r) o.zz_corr[r] = estimate_chains(zz[r], C);
  return o;
}

VmcObservables measure_observables(AutoregressiveWavefunction& psi, const Hamiltonian& H,
                                   const ObservableOptions& options) {
  ExactSampler sampler(psi, options.seed);
  return measure_observables(psi, H, sampler, options);
}

}  // namespace naqs::vmc
