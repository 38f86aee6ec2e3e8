// `naqs diffusion toy` through the built binary ($NAQS_EXE, set by ctest): a tiny run writes the
// documented layout and the scatter PNG; outputs are never overwritten; bad input is one line
// with exit code 2 and writes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "host/io/hdf5.hpp"
#include "tests/support/cmd_dir.hpp"

namespace {

using naqs::testing::CmdDir;
using naqs::testing::CmdResult;

const std::string kTiny =
    "--train-steps 20 --batch 16 --hidden 8 --depth 1 --samples 30 --sampler-steps 1,3";

class CmdDiffusion : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("NAQS_EXE")) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    dir_ = CmdDir("naqs_test_cmd_diffusion_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { dir_.remove(); }
  CmdDir dir_;
};

TEST_F(CmdDiffusion, ToyWritesTheLayoutAndNeverOverwrites) {
  const std::string out = dir_.path("toy.h5");
  CmdResult r = dir_.run("diffusion toy", kTiny + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("heun          3            5"), std::string::npos) << r.out;
  EXPECT_EQ(dir_.files(), (std::set<std::string>{"toy.h5", "toy_scatter.png"}));
  {
    naqs::H5File f = naqs::H5File::open_read(out);
    for (const char* ds : {"/toy/loss", "/toy/data", "/toy/euler/steps", "/toy/euler/evaluations",
                           "/toy/euler/energy_distance", "/toy/euler/samples", "/toy/heun/samples"})
      EXPECT_TRUE(f.exists(ds)) << ds;
  }
  const uint64_t before = naqs::testing::file_hash(out);
  r = dir_.run("diffusion toy", kTiny + " -o " + out);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(naqs::testing::file_hash(out), before);
}

TEST_F(CmdDiffusion, BadInputIsOneLineAndWritesNothing) {
  for (const std::string& args :
       {std::string("toy --sampler-steps 2,0"), std::string("toy --sigma-min 90"),
        std::string("toy --samples 1"), std::string("world"), std::string("toy --lr -1")}) {
    const CmdResult r = dir_.run("diffusion", args + " --no-png -o " + dir_.path("bad.h5"));
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(naqs::testing::count_lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_TRUE(dir_.files().empty()) << args;
  }
}

}  // namespace
