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
#include "physics/models/naqs_conv1d.hpp"
#include "physics/models/rbm.hpp"
#include "physics/sampler/metropolis.hpp"
#include "tests/support/histogram_checks.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::chi_square_score;
using testing::config_counts;
using testing::exact_probabilities;

// p(config) restricted to sum sigma == magnetisation when given.
void check_histogram(Wavefunction& psi, const MetropolisConfig& cfg, int64_t n_per_chain,
                     const std::optional<int64_t>& magnetisation) {
  const std::vector<double> p =
      exact_probabilities(psi, psi.n_sites(), psi.dtype(), magnetisation);
  MetropolisSampler sampler(psi, cfg);
  Tensor s, slr, sli;
  sampler.sample(n_per_chain, s, slr, sli);
  const int64_t total = s.size(0);
  const std::vector<double> count = config_counts(s);
  for (std::size_t k = 0; k < p.size(); ++k) {
    const double e = total * p[k];
    if (e >= 5 && std::abs(count[k] - e) > 4 * std::sqrt(e))
      ADD_FAILURE() << "config " << k << ": count " << count[k] << ", expected " << e;
  }
  int bins = 0;
  const double z = chi_square_score(count, p, static_cast<double>(total), &bins);
  ASSERT_GT(bins, 10);
  EXPECT_LT(z, 3.719) << bins << " bins (upper 1e-4 quantile), acceptance "
                      << sampler.acceptance_rate();
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
