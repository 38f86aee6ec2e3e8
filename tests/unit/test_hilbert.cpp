// SpinHilbert (physics/hilbert/hilbert.hpp): its checks and counts, and the one space reaching
// every user from one VMC config: the autoregressive model's constraint, the exact and the
// Metropolis sampler (every drawn configuration lies in the space), and the ED basis (exactly the
// space's states).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <set>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "physics/ed/ed_operator.hpp"
#include "physics/vmc/driver.hpp"
#include "tests/support/models.hpp"

namespace naqs {
namespace {

TEST(SpinHilbert, ChecksAndCounts) {
  const SpinHilbert full = SpinHilbert::full(5);
  EXPECT_FALSE(full.constrained());
  EXPECT_THROW(full.magnetisation(), Error);
  EXPECT_TRUE(full.up_allowed(4, 4));
  EXPECT_TRUE(full.down_allowed(4, 0));
  EXPECT_TRUE(full.contains_n_up(2));
  const SpinHilbert m = SpinHilbert::with_magnetisation(5, -3);  // one up, four down
  EXPECT_EQ(m.magnetisation(), -3);
  EXPECT_EQ(m.n_up(), 1);
  EXPECT_EQ(m.n_down(), 4);
  EXPECT_TRUE(m.contains_n_up(1));
  EXPECT_FALSE(m.contains_n_up(2));
  EXPECT_FALSE(m.up_allowed(3, 1));   // the one up spin is used
  EXPECT_TRUE(m.down_allowed(3, 1));  // three down so far, four allowed
  EXPECT_FALSE(m.down_allowed(4, 0));  // four down so far: site 4 must be up
  EXPECT_NE(m, full);
  EXPECT_EQ(m, SpinHilbert::with_magnetisation(5, -3));
  EXPECT_THROW(SpinHilbert::with_magnetisation(5, 0), UsageError);  // parity
  EXPECT_THROW(SpinHilbert::with_magnetisation(4, 6), UsageError);  // |M| > N
  EXPECT_THROW(SpinHilbert::full(0), UsageError);
}

vmc::VmcConfig config(const char* model, const char* sampler) {
  vmc::VmcConfig c;
  c.hamiltonian = Model::heisenberg;
  c.h = 0;
  c.length_x = 8;
  c.magnetisation = 0;
  c.model = cli::parse_choice<vmc::Ansatz>(model, "model");
  c.sampler.kind = cli::parse_choice<vmc::SamplerKind>(sampler, "sampler");
  c.sampler.n_chains = 8;
  c.sampler.burn_in = 2;
  c.width = 4;
  c.depth = 1;
  c.dtype = DType::f64;
  c.quiet = true;
  return c;
}

// Σσ of every drawn configuration.
std::set<int64_t> drawn_magnetisations(vmc::VmcSampler& sampler, int64_t n_sites) {
  vmc::SampleSet set;
  sampler.draw(64, 1, 64, set);
  std::set<int64_t> sums;
  for (const Tensor& t : set.sigma) {
    const std::vector<double> s = to_host_f64(t);
    for (std::size_t b = 0; b < s.size() / n_sites; ++b) {
      double m = 0;
      for (int64_t i = 0; i < n_sites; ++i) m += s[b * n_sites + i];
      sums.insert(std::lround(m));
    }
  }
  return sums;
}

TEST(SpinHilbert, OneSpaceForModelSamplersAndEd) {
  for (const char* model : {"naqs", "rbm"}) {
    const vmc::VmcConfig c = config(model, "auto");
    const SpinHilbert space = vmc::make_hilbert(c);
    ASSERT_EQ(space, SpinHilbert::with_magnetisation(8, 0));
    const Hamiltonian H = vmc::make_hamiltonian(c);
    std::unique_ptr<Wavefunction> psi = vmc::make_wavefunction(c);
    if (auto* ar = dynamic_cast<AutoregressiveWavefunction*>(psi.get()))
      EXPECT_EQ(ar->hilbert(), space);
    vmc::SamplerSettings s = c.sampler;
    s.seed = 3;
    auto sampler = vmc::make_sampler(s, *psi, H, space);
    EXPECT_STREQ(sampler->kind(), std::string(model) == "naqs" ? "exact" : "metropolis");
    EXPECT_EQ(drawn_magnetisations(*sampler, 8), (std::set<int64_t>{0})) << model;
  }
  // An exact sampler refuses a space other than its model's.
  const vmc::VmcConfig c = config("naqs", "exact");
  std::unique_ptr<Wavefunction> psi = vmc::make_wavefunction(c);
  EXPECT_THROW(vmc::make_sampler(c.sampler, *psi, vmc::make_hamiltonian(c), SpinHilbert::full(8)),
               UsageError);
  // ED: the basis of the space holds exactly its states (C(8,4) = 70).
  const Hamiltonian H = vmc::make_hamiltonian(c);
  const ed::EdBasis basis = ed::make_basis(H, vmc::make_hilbert(c));
  ASSERT_EQ(basis.dim(), 70);
  for (int64_t i = 0; i < basis.dim(); ++i) EXPECT_EQ(std::popcount(basis.state(i)), 4);
  // A fixed magnetisation for a Hamiltonian that does not conserve it is refused.
  const Hamiltonian tfim(Lattice::chain(8, true), testing::tfim(1, 1));
  EXPECT_THROW(ed::make_basis(tfim, SpinHilbert::with_magnetisation(8, 0)), UsageError);
}

}  // namespace
}  // namespace naqs
