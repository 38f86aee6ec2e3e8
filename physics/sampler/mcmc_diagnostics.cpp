// MCMC diagnostics: see mcmc_diagnostics.hpp.
#include "physics/sampler/mcmc_diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/core/error.hpp"

namespace naqs {
namespace {

int64_t per_chain(const std::vector<double>& x, int64_t n_chains, const char* op) {
  NAQS_CHECK(n_chains >= 1 && static_cast<int64_t>(x.size()) % n_chains == 0, op, ": ",
             x.size(), " values do not split into ", n_chains, " chains");
  return static_cast<int64_t>(x.size()) / n_chains;
}

// Mean of chain c over samples [begin, end).
double chain_mean(const std::vector<double>& x, int64_t n_chains, int64_t c, int64_t begin,
                  int64_t end) {
  double s = 0;
  for (int64_t t = begin; t < end; ++t) s += x[t * n_chains + c];
  return s / static_cast<double>(end - begin);
}

}  // namespace

TauEstimate integrated_autocorrelation_time(const std::vector<double>& x, int64_t n_chains,
                                            double c_window) {
  const int64_t n = per_chain(x, n_chains, "integrated_autocorrelation_time");
  TauEstimate out;
  if (n < 2) return out;
  std::vector<double> mean(static_cast<std::size_t>(n_chains));
  for (int64_t c = 0; c < n_chains; ++c) mean[c] = chain_mean(x, n_chains, c, 0, n);
  // autocovariance at lag t averaged over chains (1/n normalisation, the standard biased form)
  const auto gamma = [&](int64_t t) {
    double s = 0;
    for (int64_t i = 0; i + t < n; ++i)
      for (int64_t c = 0; c < n_chains; ++c)
        s += (x[i * n_chains + c] - mean[c]) * (x[(i + t) * n_chains + c] - mean[c]);
    return s / static_cast<double>(n * n_chains);
  };
  const double g0 = gamma(0);
  if (!(g0 > 0)) {  // constant chains: every sample is as good as independent
    out.converged = true;
    return out;
  }
  double tau = 1.0;
  int64_t w = 1;
  for (; w < n / 2; ++w) {
    tau += 2.0 * gamma(w) / g0;
    if (static_cast<double>(w) >= c_window * tau) {
      out.converged = true;
      break;
    }
  }
  out.window = w;
  out.tau = std::max(tau, 1.0 / static_cast<double>(n * n_chains));
  return out;
}

double split_r_hat(const std::vector<double>& x, int64_t n_chains) {
  const int64_t n = per_chain(x, n_chains, "split_r_hat");
  if (n < 4) return std::numeric_limits<double>::quiet_NaN();
  const int64_t half = n / 2;  // halves [0, half) and [n - half, n) (middle sample dropped if odd)
  std::vector<double> means, vars;
  for (int64_t c = 0; c < n_chains; ++c)
    for (int64_t begin : {int64_t{0}, n - half}) {
      const double m = chain_mean(x, n_chains, c, begin, begin + half);
      double v = 0;
      for (int64_t t = begin; t < begin + half; ++t) v += std::pow(x[t * n_chains + c] - m, 2);
      means.push_back(m);
      vars.push_back(v / static_cast<double>(half - 1));
    }
  const double k = static_cast<double>(means.size()), len = static_cast<double>(half);
  double grand = 0, w = 0;
  for (std::size_t i = 0; i < means.size(); ++i) {
    grand += means[i] / k;
    w += vars[i] / k;
  }
  double b = 0;  // between-chain variance times len
  for (double m : means) b += len * (m - grand) * (m - grand) / (k - 1);
  if (!(w > 0)) return b > 0 ? std::numeric_limits<double>::infinity() : 1.0;
  return std::sqrt(((len - 1) / len * w + b / len) / w);
}

ChainSummary summarize_chains(const std::vector<double>& x, int64_t n_chains) {
  const int64_t n = per_chain(x, n_chains, "summarize_chains");
  ChainSummary s;
  const double total = static_cast<double>(x.size());
  if (x.empty()) return s;
  for (double v : x) s.mean += v / total;
  for (double v : x) s.variance += (v - s.mean) * (v - s.mean);
  s.variance = x.size() > 1 ? s.variance / (total - 1) : 0.0;
  const TauEstimate t = integrated_autocorrelation_time(x, n_chains);
  s.tau = t.tau;
  s.tau_converged = t.converged;
  s.ess = total / s.tau;
  s.error = std::sqrt(s.variance / s.ess);
  s.r_hat = n >= 4 ? split_r_hat(x, n_chains) : std::numeric_limits<double>::quiet_NaN();
  return s;
}

bool chains_suspicious(const ChainSummary& s, double min_ess) {
  return s.r_hat > kRHatWarn || s.ess < min_ess || std::isnan(s.r_hat);
}

}  // namespace naqs
