// Longer VMC accuracy runs kept out of CI (ctest -L slow), fixed seeds:
//   - Heisenberg chain N = 16, periodic, Marshall sign, Sz = 0 constraint: relative energy
//     error <= 1e-3 against Lanczos;
//   - TFIM 4x4 periodic square at the 2D critical field h = 3.04438: <= 1e-3 against Lanczos
//     (with the 1D masked-conv model over the raster order, dilations covering a row);
//   - TFIM chain N = 16, h = 1, a longer run: <= 1e-4 (issue 5's long-run target).
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

TEST(VmcSlow, TfimChain16LongRun) {
  VmcConfig c;
  c.width = 16;
  c.depth = 3;
  c.steps = 800;
  c.batch_schedule = "256:300,1024:300,4096";
  c.optimizer = "sr";
  c.lr = 0.05;
  c.sr.diag_shift = 1e-4;
  c.obs_samples = 65536;
  c.quiet = true;
  EXPECT_LE(run_and_report(c, "TFIM chain N=16 h=1 long run"), 1e-4);
}

}  // namespace
}  // namespace naqs::vmc
