// Statistical check of the exact autoregressive sampler (physics/sampler.*): histograms of
// samples from a random 1D NAQS against the exact |psi|^2 from enumeration, by a chi-square
// goodness-of-fit test with a fixed seed (deterministic; it passes unless the sampler is wrong).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "physics/sampler/autoregressive.hpp"
#include "tests/support/histogram_checks.hpp"
#include "tests/unit/test_naqs1d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

// Exact probabilities of all 2^N configurations (index k: bit i set = site i is -1) and the
// histogram of `count` samples drawn with the cached sampler.
void histogram_and_exact(NaqsConv1d& model, int64_t count, uint64_t seed,
                         std::vector<double>& counts, std::vector<double>& probs) {
  const int64_t n = model.n_sites();
  probs = exact_probabilities(model, n);
  Tensor sigma = Tensor::empty({count, n}, DType::f64);
  Tensor sr = Tensor::empty({count}, DType::f64), si = sr.clone();
  SamplerOptions options;
  options.seed = seed;
  options.batch_size = 2048;
  sample_autoregressive(model, 0, options, sigma, sr, si);
  counts = config_counts(sigma);
}

NaqsConv1dConfig stat_config(int64_t n) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 4;
  c.depth = 1;
  c.kernel = 3;
  c.phase_mode = PhaseMode::complex;
  return c;
}

}  // namespace

TEST(NaqsSamplerStatistics, HistogramMatchesExactProbabilities) {
  const int64_t count = 40000;
  NaqsConv1d model = random_model(stat_config(6), DType::f64, 200, 1.0);
  std::vector<double> counts, probs;
  histogram_and_exact(model, count, 201, counts, probs);
  EXPECT_LT(chi_square_score(counts, probs, count), 4.5) << "chi-square rejects the sampler";
  // The test has power: the same histogram against the uniform distribution is rejected.
  std::vector<double> uniform(probs.size(), 1.0 / static_cast<double>(probs.size()));
  EXPECT_GT(chi_square_score(counts, uniform, count), 10.0);
}

TEST(NaqsSamplerStatistics, ConstrainedHistogramMatchesExactProbabilities) {
  const int64_t count = 40000, n = 8;
  NaqsConv1d model = random_model(stat_config(n), DType::f64, 210, 1.0);
  model.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
  std::vector<double> counts, probs;
  histogram_and_exact(model, count, 211, counts, probs);
  double outside = 0;
  for (std::size_t k = 0; k < probs.size(); ++k)
    if (std::popcount(static_cast<uint64_t>(k)) != n / 2) outside += counts[k];
  EXPECT_EQ(outside, 0.0);
  EXPECT_LT(chi_square_score(counts, probs, count), 4.5);
}
