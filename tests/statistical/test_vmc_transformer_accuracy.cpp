// The transformer wavefunction in VMC at CI size (issue 16; fixed seeds): the periodic TFIM chain
// N = 12 at h = 1 with `naqs vmc --network transformer` and otherwise the embedded defaults
// (width 16, depth 2, 4 heads, minSR, batch 256), 100 steps, must reach a relative energy error
// <= 1e-3 against the closed form (Jordan-Wigner). Measured with the 150 default steps: 8.3e-5
// (-15.32133 ± 0.00064 vs -15.32260), 87 s of CPU with 16384 observable samples; this test
// (100 steps, 8192 samples): 1.8e-4 in 51 s of CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ctime>

#include "physics/ed/tfim_exact.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs::vmc {

TEST(VmcTransformer, TfimChainReachesTheExactEnergy) {
  VmcConfig c;
  c.length_x = 12;
  c.h = 1.0;
  c.network = Network::transformer;
  c.steps = 100;
  c.obs_samples = 8192;
  c.quiet = true;
  const std::clock_t cpu0 = std::clock();
  const VmcResult r = run_vmc(c);
  const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double exact = tfim_chain_energy(12, 1.0, 1.0);
  const VmcObservables& o = r.observables;
  const double rel = std::abs(o.energy.mean - exact) / std::abs(exact);
  std::printf("transformer, TFIM N = 12, h = 1: E = %.8f ± %.2e (exact %.8f), rel. error %.2e; "
              "%.1f s wall, %.1f s CPU\n",
              o.energy.mean, o.energy.err, exact, rel, r.seconds, cpu_s);
  EXPECT_LE(rel, 1e-3);
  EXPECT_GE(o.energy.mean, exact - 5 * o.energy.err) << "below the exact ground state";
}

}  // namespace naqs::vmc
