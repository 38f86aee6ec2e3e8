// Lattice symmetry groups (physics/symmetry.*) and the symmetrised wavefunction
// (physics/symmetric_wavefunction.*): group axioms and sizes, bonds preserved, normalisation by
// enumeration (chains N <= 12, 4x4 square; constrained and not), invariance psi_sym(g sigma) =
// psi_sym(sigma), gradients vs float64 central differences, sampler consistency.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "host/ops/fill.hpp"
#include "physics/models/symmetric_wavefunction.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/unit/test_naqs2d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

NaqsConv1dConfig chain_config(int64_t n, PhaseMode mode) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 3;
  c.depth = 1;
  c.kernel = 3;
  c.phase_mode = mode;
  return c;
}

std::set<std::pair<int, int>> bond_set(const Lattice& l) {
  return {l.bonds().begin(), l.bonds().end()};
}

// sum_sigma |psi_sym|^2 over all configurations or, with only_sz0, the Sz = 0 ones (enough when
// the base is constrained to Sz = 0: psi_sym vanishes elsewhere, since every group element keeps
// Sz = 0).
double total_probability(SymmetricWavefunction& psi, bool only_sz0 = false) {
  return naqs::testing::total_probability(psi, psi.base().dtype(), only_sz0);
}

}  // namespace

TEST(SymmetryGroup, SizesAxiomsAndBonds) {
  struct Case {
    Lattice lattice;
    bool flip;
    int64_t size;
  };
  const std::vector<Case> cases = {
      {Lattice::chain(6, true), false, 12},             // Z_6 x reflection = D6
      {Lattice::chain(6, true), true, 24},              // x Z2
      {Lattice::chain(5, false), true, 4},              // reflection x Z2
      {Lattice::square(4, 4, false, false), false, 8},  // D4
      {Lattice::square(4, 4, false, false), true, 16},  // D4 x Z2
      {Lattice::square(4, 4, true, true), false, 128},  // D4 x Z4 x Z4
      {Lattice::square(3, 4, true, false), false, 12},  // D2 x Z3
  };
  for (const Case& c : cases) {
    SymmetryGroup g = SymmetryGroup::of_lattice(c.lattice, true, true, c.flip);
    SCOPED_TRACE(c.lattice.str());
    EXPECT_EQ(g.size(), c.size);
    EXPECT_EQ(g.has_flip(), c.flip);
    const std::set<std::pair<int, int>> bonds = bond_set(c.lattice);
    std::set<std::pair<std::vector<int32_t>, bool>> elements;
    for (int64_t k = 0; k < g.size(); ++k) {
      const SymmetryElement& e = g.element(k);
      elements.insert({e.perm, e.flip});
      for (auto [i, j] : c.lattice.bonds()) {  // every bond maps onto a bond
        int a = e.perm[static_cast<std::size_t>(i)], b = e.perm[static_cast<std::size_t>(j)];
        ASSERT_TRUE(bonds.count({std::min(a, b), std::max(a, b)})) << "element " << k;
      }
    }
    EXPECT_EQ(static_cast<int64_t>(elements.size()), g.size());  // listed once each
    // Closed under composition: g(h sigma) is some element's action.
    const int64_t n = g.n_sites();
    std::vector<double> sigma(static_cast<std::size_t>(n)), t1(sigma.size()), t2(sigma.size());
    for (int64_t i = 0; i < n; ++i) sigma[i] = static_cast<double>(i + 1);  // distinct labels
    std::set<std::vector<double>> images;
    for (int64_t k = 0; k < g.size(); ++k) {
      g.apply(k, sigma.data(), t1.data(), 1);
      images.insert(t1);
    }
    for (int64_t a = 0; a < g.size(); a += 3)
      for (int64_t b = 0; b < g.size(); b += 5) {
        g.apply(b, sigma.data(), t1.data(), 1);
        g.apply(a, t1.data(), t2.data(), 1);
        ASSERT_TRUE(images.count(t2)) << a << " * " << b;
      }
  }
  EXPECT_EQ(SymmetryGroup::trivial(5).size(), 1);
  SymmetryElement bad;
  bad.perm = {0, 0, 1};
  EXPECT_THROW(SymmetryGroup::generate(3, {bad}), UsageError);
}

TEST(SymmetricWavefunction, NormalisedByEnumerationChains) {
  // Sums of <= 4096 terms in double: rounding ~1e-15 << 1e-12. Periodic chains get D_N x Z2,
  // open ones reflection x Z2 (N = 12 open only, to keep the unit tier fast).
  struct Case {
    int n;
    bool periodic, constrained;
  };
  for (Case c : {Case{3, false, false}, Case{3, true, false}, Case{8, true, false},
                 Case{8, true, true}, Case{8, false, true}, Case{12, false, false},
                 Case{12, false, true}}) {
    NaqsConv1d base = random_model(chain_config(c.n, PhaseMode::complex), DType::f64, 100 + c.n);
    if (c.constrained) base.set_hilbert(SpinHilbert::with_magnetisation(c.n, 0));
    SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::chain(c.n, c.periodic), true, true, true));
    EXPECT_NEAR(total_probability(psi), 1.0, 1e-12)
        << "n=" << c.n << " periodic=" << c.periodic << " constrained=" << c.constrained;
  }
  // float32: ~N * 6e-8 relative error per term.
  NaqsConv1d base32 = random_model(chain_config(8, PhaseMode::complex), DType::f32, 110);
  SymmetricWavefunction psi32(base32, SymmetryGroup::of_lattice(Lattice::chain(8, true), true, true, true));
  EXPECT_NEAR(total_probability(psi32), 1.0, 1e-5);
}

TEST(SymmetricWavefunction, NormalisedByEnumerationSquare) {
  // 4x4 open square: the spin flip Z2 over all 2^16 configurations; D4 x Z2 (16 elements) with
  // the Sz = 0 constraint over the 12870 Sz = 0 configurations (both kept small for the unit
  // tier). 3x3 torus: D4 x Z3 x Z3 (72 elements) over all 512 configurations.
  NaqsConv2d base = random_2d_model(small_2d_config(4, 4, 1, 2, PhaseMode::complex), DType::f64, 120);
  SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::square(4, 4, false, false), false, false, true));
  EXPECT_EQ(psi.group().size(), 2);
  EXPECT_NEAR(total_probability(psi), 1.0, 1e-12);
  NaqsConv2d base_c = random_2d_model(small_2d_config(4, 4, 1, 3, PhaseMode::real_positive), DType::f64, 122);
  base_c.set_hilbert(SpinHilbert::with_magnetisation(16, 0));
  SymmetricWavefunction psi_c(base_c, SymmetryGroup::of_lattice(Lattice::square(4, 4, false, false), true, true, true));
  EXPECT_NEAR(total_probability(psi_c, /*only_sz0=*/true), 1.0, 1e-12);
  NaqsConv2d torus = random_2d_model(small_2d_config(3, 3, 1, 3, PhaseMode::complex), DType::f64, 121);
  SymmetricWavefunction psi_t(torus, SymmetryGroup::of_lattice(Lattice::square(3, 3, true, true)));
  EXPECT_EQ(psi_t.group().size(), 72);
  EXPECT_NEAR(total_probability(psi_t), 1.0, 1e-12);
}

TEST(SymmetricWavefunction, Invariant) {
  // psi_sym(g sigma) = psi_sym(sigma), modulus and phase: the same terms summed in another
  // order (1e-12).
  NaqsConv2d base = random_2d_model(small_2d_config(4, 4, 2, 3, PhaseMode::complex), DType::f64, 130);
  SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::square(4, 4, true, true), true, true, true));
  const int64_t batch = 5, n = 16;
  Tensor sigma = random_spins(batch, n, 131);
  Tensor lr0 = Tensor::empty({batch}, DType::f64), li0 = lr0.clone();
  psi.log_psi(sigma, lr0, li0);
  // The base itself is not symmetric (else the test could not fail).
  Tensor blr = lr0.clone(), bli = li0.clone();
  base.log_psi(sigma, blr, bli);
  const std::vector<double> s = to_host_f64(sigma);
  bool base_changed = false;
  for (int64_t g : {1, 7, 40, 100, 255}) {
    std::vector<double> t(s.size());
    psi.group().apply(g, s.data(), t.data(), batch);
    Tensor tg = from_host_f64(t, {batch, n}, DType::f64, Device::cpu());
    Tensor lr = lr0.clone(), li = li0.clone();
    psi.log_psi(tg, lr, li);
    EXPECT_TRUE(all_close(lr, lr0, 1e-12, 1e-12)) << "g=" << g;
    std::vector<double> a = to_host_f64(li), b = to_host_f64(li0);
    for (int64_t k = 0; k < batch; ++k)  // phases compared modulo 2 pi
      EXPECT_NEAR(std::remainder(a[k] - b[k], 2 * M_PI), 0.0, 1e-12) << "g=" << g;
    Tensor blr_g = lr.clone(), bli_g = li.clone();
    base.log_psi(tg, blr_g, bli_g);
    if (!all_close(blr_g, blr, 1e-6, 0)) base_changed = true;
  }
  EXPECT_TRUE(base_changed);
}

TEST(SymmetricWavefunction, GradientsMatchFiniteDifferences) {
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
    SCOPED_TRACE(phase_mode_name(mode));
    NaqsConv2d base = random_2d_model(small_2d_config(3, 2, 1, 2, mode), DType::f64, 140);
    SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::square(3, 2, false, false), true, true, true));
    check_log_psi_gradients(psi, base.params().flat(), random_spins(3, 6, 141), 141,
                            mode == PhaseMode::complex);
  }
}

TEST(SymmetricWavefunction, SamplesAndBadInput) {
  NaqsConv1d base = random_model(chain_config(8, PhaseMode::complex), DType::f64, 150, 1.0);
  base.set_hilbert(SpinHilbert::with_magnetisation(8, 0));
  SymmetricWavefunction psi(base, SymmetryGroup::of_lattice(Lattice::chain(8, true), true, true, true));
  SamplerOptions options;
  options.seed = 151;
  options.batch_size = 16;
  const int64_t count = 50;
  Tensor s1 = Tensor::empty({count, 8}, DType::f64), s2 = s1.clone();
  Tensor lr1 = Tensor::empty({count}, DType::f64), li1 = lr1.clone(), lr2 = lr1.clone(), li2 = lr1.clone();
  sample_symmetric(psi, 0, options, s1, lr1, li1);
  // Independent of batch splitting: the element of sample s depends only on (seed, stream, s).
  options.batch_size = 7;
  sample_symmetric(psi, 0, options, s2, lr2, li2);
  EXPECT_EQ(s1.to_vector<double>(), s2.to_vector<double>());
  // log psi_sym of the samples is reported, and the constraint holds after the group action.
  Tensor lr = lr1.clone(), li = li1.clone();
  psi.log_psi(s1, lr, li);
  EXPECT_TRUE(all_close(lr1, lr, 1e-14, 1e-14));
  std::vector<double> v = s1.to_vector<double>();
  for (int64_t b = 0; b < count; ++b) {
    double m = 0;
    for (int64_t i = 0; i < 8; ++i) m += v[b * 8 + i];
    ASSERT_EQ(m, 0.0);
  }
  // The flip would leave a sector with Sz != 0.
  NaqsConv1d biased = random_model(chain_config(8, PhaseMode::complex), DType::f64, 152);
  biased.set_hilbert(SpinHilbert::with_magnetisation(8, 2));
  EXPECT_THROW(SymmetricWavefunction(biased, SymmetryGroup::of_lattice(Lattice::chain(8, true), true, true, true)), UsageError);
  EXPECT_THROW(SymmetricWavefunction(biased, SymmetryGroup::trivial(5)), UsageError);
}
