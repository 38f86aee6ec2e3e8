// MCMC diagnostics for one scalar observable sampled by several chains.
//
// Layout: x holds n_per_chain * n_chains values, sample-major as MetropolisSampler::sample()
// produces them: x[s * n_chains + c] is sample s of chain c.
//
// - Integrated autocorrelation time, tau = 1 + 2 sum_{t>=1} rho(t) (so an AR(1) process with
//   coefficient r has tau = (1+r)/(1-r); i.i.d. samples tau = 1), by Sokal's automatic windowing
//   (A. Sokal, "Monte Carlo methods in statistical mechanics", 1996 lectures, §3): rho(t) is the
//   autocovariance (each chain about its own mean, averaged over chains) over the lag-0 value;
//   the window W is the smallest lag with W >= c * tau(W) (c = 5 by default).
// - Split-R-hat (Gelman et al., Bayesian Data Analysis 3rd ed., §11.4): every chain split into
//   halves; R = sqrt(((n'-1)/n' W + B/n') / W) over the 2C half-chains of length n'.
// - ESS = C n / tau; the error of the mean is sqrt(var / ESS) with var the pooled variance.
//
// Tests: tests/unit/test_mcmc_diag.cpp (AR(1) tau within 8% at 10^6 samples, i.e. ~4 standard
// errors of Sokal's estimate; R-hat < 1.01 for i.i.d. chains, > 1.1 for chains in two modes).
#pragma once
#include <cstdint>
#include <vector>

namespace naqs {

struct TauEstimate {
  double tau = 1.0;        // integrated autocorrelation time (floored at 1/(C n))
  int64_t window = 0;      // Sokal window W
  bool converged = false;  // false when no W < n/2 satisfied W >= c tau(W) (tau unreliable)
};

TauEstimate integrated_autocorrelation_time(const std::vector<double>& x, int64_t n_chains,
                                            double c_window = 5.0);
// NaN for fewer than 4 samples per chain; 1 for constant data.
double split_r_hat(const std::vector<double>& x, int64_t n_chains);

struct ChainSummary {
  double mean = 0;
  double variance = 0;   // pooled over all samples (1/(Cn-1) normalisation)
  double error = 0;      // sqrt(variance / ess): error of the mean accounting for autocorrelation
  double tau = 1;
  double ess = 0;        // C n / tau
  double r_hat = 1;
  bool tau_converged = false;
};
ChainSummary summarize_chains(const std::vector<double>& x, int64_t n_chains);

// Thresholds for the driver's warnings.
inline constexpr double kRHatWarn = 1.1;
// True when r_hat > kRHatWarn or ess < min_ess (default: 100 effective samples).
bool chains_suspicious(const ChainSummary& s, double min_ess = 100.0);

}  // namespace naqs
