// Longer VMC accuracy runs kept out of CI (ctest -L slow), fixed seeds:
//   - Heisenberg chain N = 16, periodic, Marshall sign, Sz = 0 constraint: relative energy
//     error <= 1e-3 against Lanczos;
//   - TFIM 4x4 periodic square at the 2D critical field h = 3.04438: <= 1e-3 against Lanczos
//     (with the 1D masked-conv model over the raster order, dilations covering a row);
//   - TFIM chain N = 16, h in {0.5, 1, 2}, a longer run: <= 1e-4 and <|m_z|>, <X> within 3
//     error bars (issue 5's long-run targets).
// Each prints what it reached; the numbers are reported in the VMC notes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "physics/vmc/driver.hpp"

namespace naqs::vmc {
namespace {

double run_and_report(const VmcConfig& c, const char* what) {
  const VmcResult r = run_vmc(c);
  EXPECT_TRUE(r.exact.energy.has_value());
  const double exact = r.exact.energy.value_or(NAN);
  const double rel = std::abs(r.observables.energy.mean - exact) / std::abs(exact);
  std::printf("%s: E = %.8f ± %.2e (exact %.8f, %s), rel. error %.2e, %lld params, %.0f s\n",
              what, r.observables.energy.mean, r.observables.energy.err, exact,
              r.exact.method.c_str(), rel, static_cast<long long>(r.n_params), r.seconds);
  return rel;
}

TEST(VmcSlow, HeisenbergChain16MarshallSz0) {
  VmcConfig c;
  c.hamiltonian = "heisenberg";
  c.marshall = true;
  c.sz_zero = true;
  c.width = 16;
  c.depth = 3;
  c.dilations = {1, 2, 4};
  c.steps = 600;
  c.batch_schedule = "256:300,1024";
  c.optimizer = "sr";
  c.lr = 0.05;
  c.sr.diag_shift = 1e-3;
  c.quiet = true;
  EXPECT_LE(run_and_report(c, "Heisenberg chain N=16 (Marshall, Sz=0)"), 1e-3);
}

TEST(VmcSlow, TfimSquare4x4Critical) {
  VmcConfig c;
  c.lattice = "square";
  c.length_x = 4;
  c.length_y = 4;
  c.h = 3.04438;
  c.width = 16;
  c.depth = 3;
  c.dilations = {1, 2, 4};
  c.steps = 600;
  c.batch_schedule = "256:300,1024";
  c.optimizer = "sr";
  c.lr = 0.05;
  c.sr.diag_shift = 1e-3;
  c.quiet = true;
  EXPECT_LE(run_and_report(c, "TFIM 4x4 at h=3.04438"), 1e-3);
}

class VmcSlowTfimChain : public ::testing::TestWithParam<double> {};

// The long-run targets: relative energy error <= 1e-4, and <|m_z|>, <X> within 3 error
// bars of exact (the CI-size test only prints these deviations).
TEST_P(VmcSlowTfimChain, LongRunReachesTheExactGroundState) {
  VmcConfig c;
  c.h = GetParam();
  c.depth = 3;
  c.steps = 800;
  c.batch_schedule = "256:300,1024:300,4096";
  c.obs_samples = 65536;
  c.quiet = true;
  const VmcResult r = run_vmc(c);
  const VmcObservables& o = r.observables;
  const double exact = r.exact.energy.value_or(NAN);
  const double rel = std::abs(o.energy.mean - exact) / std::abs(exact);
  std::printf("TFIM chain N=16 h=%g long run: rel. error %.2e; |m_z| %.5f ± %.5f (exact %.5f); "
              "X %.5f ± %.5f (exact %.5f); %.0f s\n",
              c.h, rel, o.abs_mz.mean, o.abs_mz.err, r.exact.abs_mz.value_or(NAN), o.x_mean.mean,
              o.x_mean.err, r.exact.x_mean.value_or(NAN), r.seconds);
  EXPECT_LE(rel, 1e-4);
  EXPECT_LE(std::abs(o.abs_mz.mean - r.exact.abs_mz.value_or(NAN)), 3 * o.abs_mz.err);
  EXPECT_LE(std::abs(o.x_mean.mean - r.exact.x_mean.value_or(NAN)), 3 * o.x_mean.err);
}

INSTANTIATE_TEST_SUITE_P(Fields, VmcSlowTfimChain, ::testing::Values(0.5, 1.0, 2.0),
                         [](const auto& info) {
                           return "h" + std::to_string(static_cast<int>(info.param * 10));
                         });

}  // namespace
}  // namespace naqs::vmc
