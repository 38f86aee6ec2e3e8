// `naqs vmc --resume` keeps exactly the observables rows an uninterrupted run has, also when the
// killed process left a row whose extent reached the file but whose data did not (it reads as
// the fill value, step 0: a SIGKILL inside an HDF5 flush; the kill stress of the statistical
// tier met it once in CI as "/observables/abs_mz_err: shapes differ").
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "host/io/hdf5.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/h5_compare.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> args(const std::string& out) {
  return {"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "5", "--batch", "16",
          "--observe-every", "1", "--observe-samples", "16", "--obs-samples", "16",
          "--ed-max-sites", "0", "--quiet", "--seed", "3", "-o", out};
}

TEST(VmcResumeRows, AFillValueRowLeftByAKillIsNotKept) {
  if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
  const fs::path dir = fs::temp_directory_path() / ("naqs_resume_rows_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string logs = dir.string(), ref = (dir / "ref.h5").string(),
                    out = (dir / "run.h5").string();
  ASSERT_EQ(testing::run_naqs_args(args(ref), logs).rc, 0);
  // stopped after its first step (checkpoint at step 1, with the observables row of step 1)
  const int status = testing::run_naqs_with_pending_sigterm(args(out));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
  {
    // the half-flushed row of step 2: every column one row longer, holding the fill value
    H5File f = H5File::open_rw(out);
    std::vector<std::string> columns;
    std::stringstream joined(std::get<std::string>(f.get_attr("/observables", "columns")));
    for (std::string c; std::getline(joined, c, ',');) columns.push_back(c);
    ASSERT_FALSE(columns.empty());
    H5Trace observables(f, "/observables", columns);
    ASSERT_EQ(observables.rows(), 1);
    observables.append(std::vector<double>(columns.size(), 0.0));
  }
  std::vector<std::string> resume = args(out);
  resume.push_back("--resume");
  const testing::ExeRun r = testing::run_naqs_args(resume, logs);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(testing::compare_groups(ref, out, {"/train", "/observables", "/results"},
                                    {"/train/seconds"}),
            "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs
