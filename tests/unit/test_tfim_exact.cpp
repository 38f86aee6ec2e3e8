// Closed-form periodic TFIM chain: the h = J identity, the DESIGN.md value, small-N dense ED.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "physics/ed/dense.hpp"
#include "physics/ed/lanczos.hpp"
#include "physics/ed/tfim_exact.hpp"

namespace naqs {
namespace {

TEST(TfimExact, CriticalPointIdentity) {
  for (int n : {4, 8, 16, 30})
    EXPECT_NEAR(tfim_chain_energy(n, 1.3, 1.3), -2 * 1.3 / std::sin(std::numbers::pi / (2 * n)),
                1e-12 * n);
  // DESIGN.md: N=16, h=1 gives −20.40459 (the periodic momenta would give −20.30634).
  EXPECT_NEAR(tfim_chain_energy(16, 1, 1), -20.40459, 1e-5);
}

TEST(TfimExact, MatchesDenseDiagonalisation) {
  for (int n : {4, 6})
    for (double h : {0.4, 1.0, 1.7}) {
      ModelParams p;
      p.J = 1;
      p.h = h;
      Hamiltonian H(Lattice::chain(n, true), p);
      ed::EdBasis b = ed::EdBasis::full(n);
      const double e = ed::dense_eigen(ed::dense_matrix(H, b), b.dim())[0];
      EXPECT_NEAR(tfim_chain_energy(n, 1, h), e, 1e-12 * std::abs(e)) << n << " " << h;
    }
}

TEST(TfimExact, XMeanIsMinusDerivative) {
  const double h = 0.8, d = 1e-4;
  const double de = (tfim_chain_energy(10, 1, h + d) - tfim_chain_energy(10, 1, h - d)) / (2 * d);
  EXPECT_NEAR(tfim_chain_x_mean(10, 1, h), -de / 10, 1e-8);
}

}  // namespace
}  // namespace naqs
