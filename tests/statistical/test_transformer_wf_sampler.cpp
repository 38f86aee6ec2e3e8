// Statistical check of exact sampling from the transformer wavefunction through its KV cache
// (physics/models/transformer_wavefunction.*, physics/sampler/autoregressive.*): histograms against the exact |psi|^2
// from enumeration by a chi-square score with fixed seeds, with a power check.
#include <gtest/gtest.h>

#include <bit>

#include "physics/models/transformer_wavefunction.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/support/histogram_checks.hpp"
#include "tests/support/wavefunction_checks.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

// A random (every parameter in [-1, 1)) complex model of n sites and the histogram of `count`
// cached samples against its exact probabilities.
void histogram_and_exact(int64_t n, bool constrained, int64_t count, uint64_t seed,
                         std::vector<double>& counts, std::vector<double>& probs) {
  TransformerWavefunctionConfig c;
  c.n_sites = n;
  c.width = 8;
  c.depth = 2;
  c.heads = 2;
  c.kv_heads = 1;
  c.phase_mode = PhaseMode::complex;
  TransformerWavefunction psi(c, DType::f64, Device::cpu(), seed);
  randomise_parameters(psi.params(), seed, 1.0);
  if (constrained) psi.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
  probs = exact_probabilities(psi, n);
  Tensor sigma = Tensor::empty({count, n}, DType::f64);
  Tensor sr = Tensor::empty({count}, DType::f64), si = sr.clone();
  SamplerOptions options;
  options.seed = seed + 1;
  options.batch_size = 4096;
  sample_autoregressive(psi, 0, options, sigma, sr, si);
  counts = config_counts(sigma);
}

}  // namespace

TEST(TransformerWfStatistics, HistogramMatchesExactProbabilities) {
  const int64_t count = 40000;
  std::vector<double> counts, probs;
  histogram_and_exact(6, false, count, 300, counts, probs);
  EXPECT_LT(chi_square_score(counts, probs, count), 4.5) << "chi-square rejects the sampler";
  // Power: the same histogram against the uniform distribution is rejected.
  std::vector<double> uniform(probs.size(), 1.0 / static_cast<double>(probs.size()));
  EXPECT_GT(chi_square_score(counts, uniform, count), 10.0);
}

TEST(TransformerWfStatistics, ConstrainedHistogramMatchesExactProbabilities) {
  const int64_t count = 40000, n = 8;
  std::vector<double> counts, probs;
  histogram_and_exact(n, true, count, 310, counts, probs);
  double outside = 0;
  for (std::size_t k = 0; k < probs.size(); ++k)
    if (std::popcount(static_cast<uint64_t>(k)) != n / 2) outside += counts[k];
  EXPECT_EQ(outside, 0.0);
  EXPECT_LT(chi_square_score(counts, probs, count), 4.5);
}
