// VMC accuracy at CI size (fixed seeds): the periodic TFIM chain N = 16 at h in {0.5, 1, 2}
// must reach a relative energy error <= 1e-3 against the closed form (Jordan-Wigner,
// physics/ed/tfim_exact.hpp), and <|m_z|> (exact from ED) and <X> (closed form) must lie within
// 3 error bars (16384 samples) of exact.
//
// The model and optimiser are the embedded default of `naqs vmc` (minSR); the training is
// longer: 150 steps at batch 256, then 150 at batch 1024. The default's 150 steps reach the
// energy (2.6e-4 at h = 1) but leave the state's <|m_z|> biased by 0.005-0.01 (3.7 error bars
// at h = 1 for the minSR run, 4.4 for the earlier CG-SR default); the second stage removes the
// bias (measured at h = 1: energy 1.7e-5, <|m_z|> +1.4, <X> -0.8 error bars; ~240 s of CPU per
// field, single-threaded). The estimators themselves are checked against enumeration of the
// same wavefunction in tests/unit/test_vmc.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ctime>

#include "physics/vmc/driver.hpp"
#include "physics/ed/tfim_exact.hpp"

namespace naqs::vmc {
namespace {

class VmcTfimChain : public ::testing::TestWithParam<double> {};

TEST_P(VmcTfimChain, ReachesTheExactGroundState) {
  VmcConfig c;  // the embedded default of `naqs vmc` ...
  c.h = GetParam();
  c.steps = 300;  // ... trained longer, with a second, larger batch stage
  c.batch_schedule = "256:150,1024";
  c.quiet = true;
  const std::clock_t cpu0 = std::clock();
  const VmcResult r = run_vmc(c);
  const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double exact = tfim_chain_energy(16, 1.0, c.h);
  ASSERT_TRUE(r.exact.energy.has_value());
  EXPECT_NEAR(*r.exact.energy, exact, 1e-12);
  ASSERT_TRUE(r.exact.abs_mz.has_value());
  ASSERT_TRUE(r.exact.x_mean.has_value());
  const VmcObservables& o = r.observables;
  const double rel = std::abs(o.energy.mean - exact) / std::abs(exact);
  const double dev_mz = (o.abs_mz.mean - *r.exact.abs_mz) / o.abs_mz.err;
  const double dev_x = (o.x_mean.mean - *r.exact.x_mean) / o.x_mean.err;
  std::printf("h = %g: E = %.8f ± %.2e (exact %.8f), rel. error %.2e; |m_z| %.5f ± %.5f "
              "(exact %.5f, %+.2f error bars); X %.5f ± %.5f (exact %.5f, %+.2f error bars); "
              "%lld steps, %.1f s wall, %.1f s CPU\n",
              c.h, o.energy.mean, o.energy.err, exact, rel, o.abs_mz.mean, o.abs_mz.err,
              *r.exact.abs_mz, dev_mz, o.x_mean.mean, o.x_mean.err, *r.exact.x_mean, dev_x,
              static_cast<long long>(r.steps_done), r.seconds, cpu_s);
  EXPECT_LE(rel, 1e-3);
  EXPECT_LE(std::abs(dev_mz), 3.0);
  EXPECT_LE(std::abs(dev_x), 3.0);
}

INSTANTIATE_TEST_SUITE_P(Fields, VmcTfimChain, ::testing::Values(0.5, 1.0, 2.0),
                         [](const auto& info) {
                           return "h" + std::to_string(static_cast<int>(info.param * 10));
                         });

}  // namespace
}  // namespace naqs::vmc
