// `naqs breakdown` on a tiny system (validation/breakdown/breakdown.hpp): the HDF5 layout the
// plot script reads, ED references, and, for the same trained NAQS, exact sampling and
// Metropolis with global flips agreeing on <|m_z|> and <m_z^2> within 5 combined error bars
// (fixed seed; N = 6 is small enough for every sampler to mix). Refuses to overwrite its output.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "validation/breakdown/breakdown.hpp"

namespace naqs::breakdown {
namespace {

namespace fs = std::filesystem;

TEST(Breakdown, TinyRunWritesTheLayoutAndSamplersAgree) {
  const fs::path dir = fs::temp_directory_path() / ("naqs_test_breakdown_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  BreakdownConfig c;
  c.n_sites = 6;
  c.fields = {0.5, 1.0};
  c.naqs_width = 4;
  c.naqs_depth = 1;
  c.naqs_steps = 10;
  c.naqs_batch = 128;
  c.rbm_steps = 10;
  c.rbm_batch = 128;
  c.n_samples = 2048;
  c.n_chains = 16;
  c.burn_in = 10;
  c.p_global = 0.2;
  c.out_dir = dir.string();
  const std::string path = run_breakdown(c);
  const H5File f = H5File::open_read(path);
  EXPECT_EQ(f.read_doubles("/h"), c.fields);
  const std::vector<double> ed_abs = f.read_doubles("/exact/abs_mz");
  ASSERT_EQ(ed_abs.size(), 2u);
  EXPECT_GT(ed_abs[0], ed_abs[1]);  // more order at the smaller field
  for (const char* m : {"naqs_exact", "naqs_metropolis", "naqs_metropolis_gf", "rbm_metropolis"})
    for (const char* q : {"mz_mean", "abs_mz_err", "mz2_r_hat", "energy_ess_per_s", "acceptance",
                          "sample_seconds", "n_warnings"})
      EXPECT_EQ(f.dims(cat("/", m, "/", q)), std::vector<int64_t>{2}) << m << "/" << q;
  EXPECT_TRUE(std::isnan(f.read_doubles("/naqs_exact/mz_r_hat")[0]));
  const std::vector<double> acc = f.read_doubles("/naqs_metropolis/acceptance");
  EXPECT_GT(acc[0], 0.0);
  EXPECT_LE(acc[0], 1.0);
  for (const char* q : {"abs_mz", "mz2"}) {
    const auto em = f.read_doubles(cat("/naqs_exact/", q, "_mean"));
    const auto ee = f.read_doubles(cat("/naqs_exact/", q, "_err"));
    const auto gm = f.read_doubles(cat("/naqs_metropolis_gf/", q, "_mean"));
    const auto ge = f.read_doubles(cat("/naqs_metropolis_gf/", q, "_err"));
    for (std::size_t k = 0; k < 2; ++k)
      EXPECT_LE(std::abs(em[k] - gm[k]), 5 * std::hypot(ee[k], ge[k]))
          << q << " at h = " << c.fields[k] << ": exact " << em[k] << " ± " << ee[k]
          << ", Metropolis " << gm[k] << " ± " << ge[k];
  }
  EXPECT_THROW(run_breakdown(c), UsageError);  // breakdown.h5 exists
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs::breakdown
