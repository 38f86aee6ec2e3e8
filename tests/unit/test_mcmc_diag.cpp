// MCMC diagnostics (physics/sampler/mcmc_diagnostics.hpp): tau_int of AR(1) processes, split-R-hat.
#include <cmath>
#include <random>
#include <vector>

#include "physics/sampler/mcmc_diagnostics.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

// n_chains AR(1) chains x_t = r x_{t-1} + sqrt(1-r^2) e_t, stationary start; sample-major layout.
std::vector<double> ar1(double r, int64_t n_chains, int64_t n, uint64_t seed, double shift = 0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> x(static_cast<std::size_t>(n_chains * n));
  for (int64_t c = 0; c < n_chains; ++c) {
    double v = normal(gen);
    for (int64_t t = 0; t < n; ++t) {
      x[t * n_chains + c] = v + (c % 2 ? shift : -shift);
      v = r * v + std::sqrt(1 - r * r) * normal(gen);
    }
  }
  return x;
}

// Sokal's estimate has relative standard error ~sqrt(2(2W+1)/(C n)) (~2% for tau = 19 at
// C n = 10^6); 8% is ~4 standard errors.
TEST(McmcDiag, TauIntRecoversAr1) {
  for (double r : {0.0, 0.5, 0.9}) {
    const std::vector<double> x = ar1(r, 4, 250000, 42);
    const TauEstimate t = integrated_autocorrelation_time(x, 4);
    const double want = (1 + r) / (1 - r);
    EXPECT_TRUE(t.converged);
    EXPECT_NEAR(t.tau, want, 0.08 * want) << "r = " << r << ", window " << t.window;
    const ChainSummary s = summarize_chains(x, 4);
    EXPECT_NEAR(s.ess, 1e6 / want, 0.1 * 1e6 / want);
    // error of the mean of a unit-variance AR(1): sqrt(tau / (C n))
    EXPECT_NEAR(s.error, std::sqrt(want / 1e6), 0.06 * std::sqrt(want / 1e6));
  }
}

TEST(McmcDiag, RHat) {
  const std::vector<double> iid = ar1(0.0, 8, 2000, 1);
  EXPECT_LT(split_r_hat(iid, 8), 1.01);
  // two modes at +-1 with unit-ish noise; chains never switch
  const std::vector<double> stuck = ar1(0.5, 8, 2000, 2, 1.0);
  EXPECT_GT(split_r_hat(stuck, 8), 1.1);
  const ChainSummary s = summarize_chains(stuck, 8);
  EXPECT_TRUE(chains_suspicious(s));
  EXPECT_FALSE(chains_suspicious(summarize_chains(iid, 8)));
  // a single chain drifting (non-stationary) is caught by the split
  std::vector<double> drift(4000);
  for (std::size_t t = 0; t < drift.size(); ++t) drift[t] = 4.0 * t / drift.size() + iid[t];
  EXPECT_GT(split_r_hat(drift, 1), 1.1);
  EXPECT_TRUE(std::isnan(split_r_hat({1, 2, 3}, 1)));
  EXPECT_EQ(split_r_hat(std::vector<double>(40, 2.0), 4), 1.0);
}

}  // namespace
}  // namespace naqs
