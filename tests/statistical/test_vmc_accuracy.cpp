// VMC accuracy at CI size (fixed seeds): the periodic TFIM chain N = 16 at h in {0.5, 1, 2}
// must reach a relative energy error <= 1e-3 against the closed form (Jordan-Wigner,
// validation/tfim_exact.hpp). Runs the embedded defaults of `naqs vmc`, only h changed.
// <|m_z|> (exact from ED) and <X> (closed form) are printed with their deviations but not
// asserted here: after the default 150 steps the state's bias in <|m_z|> (measured 0.0026 at
// h = 0.5 and 0.0096 at h = 1, i.e. 4.3 and 4.4 error bars of 16384 samples) exceeds 3 error
// bars, so that check would fail at this training length. It runs on a longer training in
// tests/slow/test_vmc_slow.cpp. (The estimators themselves are checked against enumeration of
// the same wavefunction in tests/unit/test_vmc.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "physics/vmc/driver.hpp"
#include "validation/tfim_exact.hpp"

namespace naqs::vmc {
namespace {

class VmcTfimChain : public ::testing::TestWithParam<double> {};

TEST_P(VmcTfimChain, ReachesTheExactGroundState) {
  VmcConfig c;  // the embedded default of `naqs vmc`
  c.h = GetParam();
  c.quiet = true;
  const VmcResult r = run_vmc(c);
  const double exact = tfim_chain_energy(16, 1.0, c.h);
  ASSERT_TRUE(r.exact.energy.has_value());
  EXPECT_NEAR(*r.exact.energy, exact, 1e-12);
  const VmcObservables& o = r.observables;
  const double rel = std::abs(o.energy.mean - exact) / std::abs(exact);
  std::printf("h = %g: E = %.8f ± %.2e (exact %.8f), rel. error %.2e; |m_z| %.5f ± %.5f "
              "(exact %.5f); X %.5f ± %.5f (exact %.5f); %.1f s\n",
              c.h, o.energy.mean, o.energy.err, exact, rel, o.abs_mz.mean, o.abs_mz.err,
              r.exact.abs_mz.value_or(NAN), o.x_mean.mean, o.x_mean.err,
              r.exact.x_mean.value_or(NAN), r.seconds);
  EXPECT_LE(rel, 1e-3);
  ASSERT_TRUE(r.exact.abs_mz.has_value());
  ASSERT_TRUE(r.exact.x_mean.has_value());
  std::printf("  deviations: |m_z| %+.1f error bars, X %+.1f error bars\n",
              (o.abs_mz.mean - *r.exact.abs_mz) / o.abs_mz.err,
              (o.x_mean.mean - *r.exact.x_mean) / o.x_mean.err);
}

INSTANTIATE_TEST_SUITE_P(Fields, VmcTfimChain, ::testing::Values(0.5, 1.0, 2.0),
                         [](const auto& info) {
                           return "h" + std::to_string(static_cast<int>(info.param * 10));
                         });

}  // namespace
}  // namespace naqs::vmc
