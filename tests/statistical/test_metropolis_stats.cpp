// Metropolis histograms vs exact |psi|^2 (statistical tier, fixed seeds).
// Samples: many chains, long burn-in, and samples spaced by several sweeps, so the counts are
// close to independent multinomial draws; Pearson chi-square over configurations with expected
// count >= 5 (the rest pooled into one bin) must stay below the 1e-4 upper quantile
// (Wilson-Hilferty). A wrong acceptance rule (e.g. |psi| instead of |psi|^2) fails by orders of
// magnitude. Parameter scales keep |psi|^2 spread over many configurations: a sharply peaked
// RBM (stddev >~ 0.4 at N = 8) has metastable local maxima that local moves leave too rarely
// for a short burn-in, which is physics of local MCMC, not what this test is about.
#include <cmath>
#include <vector>

#include "host/ops/fill.hpp"
#include "physics/metropolis.hpp"
#include "physics/naqs_conv1d.hpp"
#include "physics/rbm.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

// All 2^n configurations as (2^n, n) +-1 rows; row index bits: bit i set <=> sigma_i = -1.
Tensor all_configs(int n) {
  std::vector<double> v;
  for (int64_t k = 0; k < (int64_t{1} << n); ++k)
    for (int i = 0; i < n; ++i) v.push_back((k >> i) & 1 ? -1.0 : 1.0);
  return Tensor::from_vector(v, Shape{int64_t{1} << n, n});
}

double chi2_quantile(double dof, double z) {  // Wilson-Hilferty
  const double a = 2.0 / (9.0 * dof);
  return dof * std::pow(1 - a + z * std::sqrt(a), 3);
}

// p(config) restricted to sum sigma == magnetisation when given.
void check_histogram(Wavefunction& psi, const MetropolisConfig& cfg, int64_t n_per_chain,
                     const std::optional<int64_t>& magnetisation) {
  const int n = static_cast<int>(psi.n_sites());
  Tensor configs = Tensor::empty(Shape{int64_t{1} << n, n}, psi.dtype());
  ops::cast(all_configs(n), configs);
  Tensor lr = Tensor::empty(Shape{configs.size(0)}, psi.dtype()), li = lr.clone();
  psi.log_psi(configs, lr, li);
  const std::vector<double> vlr = to_f64(lr);
  std::vector<double> p(vlr.size(), 0.0);
  double z = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += (k >> i) & 1 ? -1 : 1;
    if (magnetisation && sum != *magnetisation) continue;
    p[k] = std::exp(2 * vlr[k]);
    z += p[k];
  }
  MetropolisSampler sampler(psi, cfg);
  Tensor s, slr, sli;
  sampler.sample(n_per_chain, s, slr, sli);
  const std::vector<double> vs = to_f64(s);
  const int64_t total = s.size(0);
  std::vector<double> count(p.size(), 0.0);
  for (int64_t r = 0; r < total; ++r) {
    int64_t k = 0;
    for (int i = 0; i < n; ++i) k |= (vs[r * n + i] < 0 ? int64_t{1} << i : 0);
    count[k] += 1;
  }
  double chi2 = 0, pooled_e = 0, pooled_o = 0;
  int bins = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    const double e = total * p[k] / z;
    if (e >= 5 && std::abs(count[k] - e) > 4 * std::sqrt(e))
      ADD_FAILURE() << "config " << k << ": count " << count[k] << ", expected " << e;
    if (e >= 5) {
      chi2 += (count[k] - e) * (count[k] - e) / e;
      ++bins;
    } else {
      pooled_e += e;
      pooled_o += count[k];
    }
  }
  if (pooled_e > 0) {
    chi2 += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
    ++bins;
  }
  ASSERT_GT(bins, 10);
  const double limit = chi2_quantile(bins - 1, 3.719);  // upper 1e-4 quantile
  EXPECT_LT(chi2, limit) << bins << " bins, acceptance " << sampler.acceptance_rate();
  EXPECT_GT(sampler.acceptance_rate(), 0.05);
}

TEST(MetropolisStats, SingleFlipsMatchExactRealRbm) {
  Rbm rbm({6, 1.0, false}, DType::f64, Device::cpu());
  rbm.init_random(101, 0.5);
  MetropolisConfig cfg;
  cfg.n_chains = 2000;
  cfg.seed = 12;
  cfg.n_burn_in_sweeps = 30;
  cfg.n_sweeps_between = 5;
  check_histogram(rbm, cfg, 8, std::nullopt);
}

TEST(MetropolisStats, FlipsWithGlobalFlipMatchExactComplexRbmF32) {
  Rbm rbm({5, 2.0, true}, DType::f32, Device::cpu());
  rbm.init_random(7, 0.25);
  MetropolisConfig cfg;
  cfg.n_chains = 2000;
  cfg.seed = 3;
  cfg.p_global = 0.2;
  cfg.n_burn_in_sweeps = 30;
  cfg.n_sweeps_between = 5;
  check_histogram(rbm, cfg, 8, std::nullopt);
}

TEST(MetropolisStats, ExchangeMatchesExactInSzSector) {
  Rbm rbm({8, 1.0, true}, DType::f64, Device::cpu());
  rbm.init_random(5, 0.25);
  MetropolisConfig cfg;
  cfg.n_chains = 2000;
  cfg.seed = 8;
  cfg.rule = ops::MoveRule::exchange;
  for (int i = 0; i < 8; ++i) cfg.bonds.emplace_back(std::min(i, (i + 1) % 8), std::max(i, (i + 1) % 8));
  cfg.magnetisation = 0;
  cfg.n_burn_in_sweeps = 30;
  cfg.n_sweeps_between = 20;  // exchange moves decorrelate slower (5 sweeps: per-bin 4.8 sd)
  check_histogram(rbm, cfg, 4, cfg.magnetisation);
}

// A NAQS model through the base class's default (full re-evaluation) ratios: Metropolis must
// reproduce the same |psi|^2 that exact sampling draws from.
TEST(MetropolisStats, SingleFlipsMatchExactNaqsModel) {
  NaqsConv1dConfig nc;
  nc.n_sites = 6;
  nc.width = 4;
  nc.depth = 1;
  nc.phase_mode = PhaseMode::complex;
  NaqsConv1d model(nc, DType::f64, Device::cpu(), 4);
  model.initialise(4, 1.0);
  MetropolisConfig cfg;
  cfg.n_chains = 2000;
  cfg.seed = 21;
  cfg.p_global = 0.1;
  cfg.n_burn_in_sweeps = 30;
  cfg.n_sweeps_between = 5;
  check_histogram(model, cfg, 8, std::nullopt);
}

}  // namespace
}  // namespace naqs
