// Library runs print nothing themselves (issue 14): run_vmc sends its lines and warnings to the
// Console its caller gives (host/core/console.hpp), and a default Console is silent.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/core/console.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs {
namespace {

// A short RBM run whose Metropolis chains have not mixed: its final measurement warns.
vmc::VmcConfig unmixed_rbm_run() {
  vmc::VmcConfig c;
  c.length_x = 6;
  c.model = vmc::Ansatz::rbm;
  c.steps = 2;
  c.batch_schedule = "32";
  c.obs_samples = 64;
  c.sampler.n_chains = 16;
  c.max_ed_sites = 6;
  c.seed = 5;
  return c;
}

TEST(Console, RunVmcSendsItsLinesAndWarningsToTheConsoleAndPrintsNothing) {
  std::vector<std::string> lines, warnings;
  Console console;
  console.line = [&](const std::string& s) { lines.push_back(s); };
  console.warning = [&](const std::string& s) { warnings.push_back(s); };
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const vmc::VmcResult r = vmc::run_vmc(unmixed_rbm_run(), console);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("vmc: exact energy ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("vmc: tfim J=1 h=1 hz=0 on chain L=6 pbc; rbm alpha 1", 0), 0u)
      << lines[1];
  ASSERT_FALSE(r.observables.warnings.empty());  // the chains of this run do not mix
  ASSERT_EQ(warnings.size(), r.observables.warnings.size());
  for (std::size_t k = 0; k < warnings.size(); ++k)
    EXPECT_EQ(warnings[k], "vmc: warning: " + r.observables.warnings[k]);
  // The same run without a console: silent, the same numbers.
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const vmc::VmcResult quiet = vmc::run_vmc(unmixed_rbm_run());
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(quiet.observables.energy.mean, r.observables.energy.mean);
  // warnings_only keeps the warnings and drops the lines.
  lines.clear();
  warnings.clear();
  vmc::run_vmc(unmixed_rbm_run(), console.warnings_only());
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(warnings.size(), r.observables.warnings.size());
}

}  // namespace
}  // namespace naqs
