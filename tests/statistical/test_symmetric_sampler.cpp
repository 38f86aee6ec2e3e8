// Statistical check of the symmetrised sampler (physics/symmetric_wavefunction.*): histograms of
// samples (base exact sampler + a uniformly random group element) against the exact |psi_sym|^2
// from enumeration, by a chi-square goodness-of-fit test with fixed seeds (deterministic: it
// passes unless the sampler or psi_sym is wrong). Also checks that the symmetrisation matters:
// the same histogram rejects the base model's |psi|^2.
#include <gtest/gtest.h>

#include <cmath>

#include "physics/models/symmetric_wavefunction.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/support/histogram_checks.hpp"
#include "tests/unit/test_naqs2d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

void check_sampler(SymmetricWavefunction& psi, int64_t count, uint64_t seed) {
  const int64_t n = psi.n_sites();
  const std::vector<double> probs = exact_probabilities(psi, n);
  const std::vector<double> base_probs = exact_probabilities(psi.base(), n);
  Tensor sigma = Tensor::empty({count, n}, DType::f64);
  Tensor lr = Tensor::empty({count}, DType::f64), li = lr.clone();
  SamplerOptions options;
  options.seed = seed;
  options.batch_size = 4096;
  sample_symmetric(psi, 0, options, sigma, lr, li);
  const std::vector<double> counts = config_counts(sigma);
  const double* s = sigma.data<double>();
  for (int64_t b = 0; b < count; ++b) {  // the reported log psi is that of the drawn row
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i)
      if (s[b * n + i] < 0) k |= int64_t{1} << i;
    ASSERT_NEAR(std::exp(2 * lr.data<double>()[b]), probs[static_cast<std::size_t>(k)], 1e-12);
  }
  EXPECT_LT(chi_square_score(counts, probs, static_cast<double>(count)), 4.5);
  // The base distribution differs enough that this histogram rejects it (the test has power).
  EXPECT_GT(chi_square_score(counts, base_probs, static_cast<double>(count)), 4.5);
}

}  // namespace

TEST(SymmetricSampler, ChainHistogramMatchesExact) {
  // Periodic 6-site chain, D6 x Z2 (24 elements), complex 1D NAQS with large random weights
  // (far from uniform).
  NaqsConv1dConfig c;
  c.n_sites = 6;
  c.width = 3;
  c.depth = 1;
  c.phase_mode = PhaseMode::complex;
  NaqsConv1d base = random_model(c, DType::f64, 200, 1.5);
  SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::chain(6, true), true, true, true));
  check_sampler(psi, 20000, 201);
}

TEST(SymmetricSampler, SquareHistogramMatchesExactConstrained) {
  // Open 4x2 square, D2 x Z2 (8 elements), 2D NAQS constrained to Sz = 0 (70 states).
  NaqsConv2d base = random_2d_model(small_2d_config(4, 2, 1, 3, PhaseMode::real_positive), DType::f64, 210, 1.5);
  base.set_hilbert(SpinHilbert::with_magnetisation(8, 0));
  SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::square(4, 2, false, false), true, true, true));
  EXPECT_EQ(psi.group().size(), 8);
  check_sampler(psi, 20000, 211);
}
