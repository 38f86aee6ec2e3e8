// `naqs ed` end to end: runs the built executable ($NAQS_EXE, set for every ctest test).
// Bad input: exit code 2, exactly one line on stderr, no output file. Good input: the table,
// the HDF5 file with the closed-form value, energies equal to the library's.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/io/hdf5.hpp"
#include "physics/ed/tfim_exact.hpp"
#include "tests/support/cmd_dir.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

using RunResult = testing::CmdResult;

class CmdEd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    scratch_ = testing::CmdDir("naqs_cmd_ed_" + std::to_string(::getpid()) + "_" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    dir_ = scratch_.dir();
  }
  void TearDown() override { scratch_.remove(); }
  RunResult run(const std::string& args) { return scratch_.run("ed", args); }
  // Only the captured stdout/stderr files may be left in the directory.
  bool no_other_files() { return scratch_.files().empty(); }
  testing::CmdDir scratch_;
  fs::path dir_;
};

TEST_F(CmdEd, BadInputExitsTwoWithOneLineAndNoFile) {
  const std::string out = " --out " + (dir_ / "ed.h5").string();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--hamiltonian ising --L 8", "--hamiltonian: 'ising' is not allowed (allowed: tfim, heisenberg)"},
      {"--L 0", "--L: 0 is out of range"},
      {"--L -4", "--L: -4 is out of range"},
      {"--L 2 --boundary pbc", "at least 3"},
      {"--lattice square --L 4 --Ly 0", "--Ly: 0 is out of range"},
      {"--lattice hexagonal --L 4", "allowed: chain, square"},
      {"--hamiltonian heisenberg --L 9 --marshall", "bipartite"},
      {"--L 8 --h 0.5,,1", "--h"},
      {"--L 8 --h 1:0:0.5", "--h"},
      {"--L 8 --h abc", "--h"},
      {"--L 8 --boundary periodic", "--boundary: 'periodic' is not allowed (allowed: pbc, obc)"},
      {"--L 40 --hz 0.1", "bytes"},  // 2^40 states: more memory than any machine here has
      {"--L 41", "at most 40"},
      {"--hamiltonian heisenberg --L 8 --magnetisation 10", "--magnetisation 10 is not"},
      {"--hamiltonian heisenberg --L 8 --magnetisation 1", "--magnetisation 1 is not"},
      {"--L 8 --magnetisation 0", "Heisenberg options"},
      {"--hamiltonian heisenberg --L 8 --h 2", "TFIM fields"},
      {"--L 8 --device cuda:7", "cuda"},
      {"--L 8 --no-such-option", "no-such-option"},
  };
  for (const auto& [args, needle] : cases) {
    RunResult r = run(args + out);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(no_other_files()) << args;
  }
}

TEST_F(CmdEd, RefusesToOverwrite) {
  const fs::path p = dir_ / "exists.h5";
  std::ofstream(p) << "keep";
  RunResult r = run("--L 8 --out " + p.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  std::ifstream in(p);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "keep");
}

TEST_F(CmdEd, TfimSweepWritesHdf5WithClosedForm) {
  const fs::path p = dir_ / "ed.h5";
  RunResult r = run("--L 8 --h 0.5:1.5:0.5 --device cpu --out " + p.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("closed form"), std::string::npos) << r.out;
  H5File f = H5File::open_read(p.string());
  EXPECT_EQ(f.read_doubles("/ed/h"), (std::vector<double>{0.5, 1.0, 1.5}));
  const std::vector<double> e = f.read_doubles("/ed/energy"), x = f.read_doubles("/ed/x_mean");
  const std::vector<double> ex = f.read_doubles("/exact/energy");
  ASSERT_EQ(e.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const double h = 0.5 * (k + 1);
    EXPECT_NEAR(e[k], tfim_chain_energy(8, 1, h), 1e-10 * std::abs(e[k]));
    EXPECT_NEAR(ex[k], tfim_chain_energy(8, 1, h), 1e-13 * std::abs(e[k]));
    EXPECT_NEAR(x[k], tfim_chain_x_mean(8, 1, h), 1e-9);
  }
  EXPECT_EQ(f.dims("/ed/zz_corr"), (std::vector<int64_t>{3, 8}));
  for (int64_t it : f.read_int64s("/ed/iterations")) EXPECT_GT(it, 0);
  for (double res : f.read_doubles("/ed/residual")) EXPECT_LE(res, 1e-12);
  EXPECT_EQ(std::get<std::string>(f.get_attr("/system", "units")), "Pauli");
  // /system spells its attributes as naqs vmc's /system does (docs/HDF5_LAYOUT.md).
  EXPECT_EQ(std::get<std::string>(f.get_attr("/system", "boundary")), "pbc");
  EXPECT_EQ(std::get<double>(f.get_attr("/system", "delta")), 1.0);
  for (const char* old_name : {"Delta", "bc_x", "bc_y"})
    EXPECT_FALSE(f.has_attr("/system", old_name)) << old_name;
  EXPECT_EQ(f.read_doubles("/dense/energy").size(), 3u);
  EXPECT_TRUE(f.has_attr("/", "command_line") || f.has_attr("/", "command"));
}

TEST_F(CmdEd, HeisenbergSquarePrintsBothUnits) {
  RunResult r = run("--hamiltonian heisenberg --lattice square --L 4 --marshall --device cpu");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("-44.91393283"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-0.70178020"), std::string::npos) << r.out;  // −11.2284832084/16
  EXPECT_NE(r.out.find("sz n_down=8 (Sz=0)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace naqs
