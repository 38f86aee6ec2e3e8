// `naqs diffusion toy` through the built binary ($NAQS_EXE, set by ctest): a tiny run writes the
// documented layout and the scatter PNG; outputs are never overwritten; bad input is one line
// with exit code 2 and writes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/io/hdf5.hpp"
#include "tests/support/cli_run.hpp"

namespace {

namespace fs = std::filesystem;
using naqs::testing::CliRun;
using naqs::testing::run_naqs;

class CmdDiffusion : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("NAQS_EXE")) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    dir_ = fs::temp_directory_path() /
           ("naqs_test_cmd_diffusion_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  const std::string tiny_ =
      " --train-steps 20 --batch 16 --hidden 8 --depth 1 --samples 30 --sampler-steps 1,3";
};

TEST_F(CmdDiffusion, ToyWritesTheLayoutAndNeverOverwrites) {
  const std::string out = p("toy.h5");
  CliRun r = run_naqs("diffusion toy" + tiny_ + " -o " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("heun          3            5"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(out));
  ASSERT_TRUE(fs::exists(p("toy_scatter.png")));
  {
    naqs::H5File f = naqs::H5File::open_read(out);
    for (const char* ds : {"/toy/loss", "/toy/data", "/toy/euler/steps", "/toy/euler/evaluations",
                           "/toy/euler/energy_distance", "/toy/euler/samples", "/toy/heun/samples"})
      EXPECT_TRUE(f.exists(ds)) << ds;
  }
  const uint64_t before = naqs::testing::file_hash(out);
  r = run_naqs("diffusion toy" + tiny_ + " -o " + out);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;
  EXPECT_EQ(naqs::testing::file_hash(out), before);
}

TEST_F(CmdDiffusion, BadInputIsOneLineAndWritesNothing) {
  for (const std::string& args :
       {std::string("diffusion toy --sampler-steps 2,0"), std::string("diffusion toy --sigma-min 90"),
        std::string("diffusion toy --samples 1"), std::string("diffusion world"),
        std::string("diffusion toy --lr -1")}) {
    const CliRun r = run_naqs(args + " --no-png -o " + p("bad.h5"));
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
    EXPECT_EQ(naqs::testing::count_lines(r.out), 1) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(p("bad.h5"))) << args;
  }
}

}  // namespace
