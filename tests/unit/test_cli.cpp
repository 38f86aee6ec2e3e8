// The naqs executable: help, info, INI config (command line wins), bad input -> one line and
// exit code 2, results never clobbered, a stop signal pending at start. Runs the built binary
// ($NAQS_EXE, set by ctest).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/cli_run.hpp"

namespace {

using naqs::testing::CliRun;
using naqs::testing::run_naqs;

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(::getpid()))).string();
}

}  // namespace

TEST(Cli, HelpListsCommandsAndOptionsWithDefaults) {
  CliRun r = run_naqs("--help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("info"), std::string::npos);
  EXPECT_NE(r.out.find("demo"), std::string::npos);
  r = run_naqs("demo --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--sites arg (=10)"), std::string::npos) << r.out;
}

TEST(Cli, InfoReportsBuild) {
  CliRun r = run_naqs("info");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("git commit"), std::string::npos);
  EXPECT_NE(r.out.find("CUDA devices"), std::string::npos);
  EXPECT_NE(r.out.find("OpenMP threads"), std::string::npos);
}

TEST(Cli, BadInputIsOneLineAndExitCode2) {
  for (const char* args : {"nosuchcommand", "demo --bogus 1", "demo --sites abc", "demo --sites 99",
                           "demo --device gpu", "demo --config /nonexistent/file.ini"}) {
    CliRun r = run_naqs(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_EQ(count_lines(r.out), 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("naqs: error: ", 0), 0u) << r.out;
  }
  EXPECT_NE(run_naqs("demo --sites abc").out.find("--sites"), std::string::npos);
}

TEST(Cli, ConfigFileAndCommandLineWins) {
  const std::string ini = temp_path("naqs_cli.ini");
  std::ofstream(ini) << "# a comment\nsites = 99\nwidth = 4\n";
  CliRun r = run_naqs("demo --config " + ini);  // sites = 99 from the file is rejected
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("sites: 99 is out of range (allowed: [2, 20])"), std::string::npos)
      << r.out;
  // Every value of the file is checked, also one the command line overrides.
  r = run_naqs("demo --config " + ini + " --sites 6 --device cpu");
  EXPECT_EQ(r.rc, 2) << r.out;
  std::ofstream(ini) << "# a comment\nsites = 12\nwidth = 4\n";
  r = run_naqs("demo --config " + ini + " --sites 6 --device cpu");  // command line wins
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("L = 6, width = 4"), std::string::npos) << r.out;
  std::ofstream(ini) << "nosuchoption = 1\n";
  r = run_naqs("demo --config " + ini);
  EXPECT_EQ(r.rc, 2) << r.out;
  std::filesystem::remove(ini);
}

TEST(Cli, DemoNeverClobbersAResult) {
  const std::string out = temp_path("naqs_demo.h5");
  std::filesystem::remove(out);
  CliRun r = run_naqs("demo --sites 6 --device cpu --out " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("OK"), std::string::npos) << r.out;
  const auto size = std::filesystem::file_size(out);
  const auto mtime = std::filesystem::last_write_time(out);
  r = run_naqs("demo --sites 6 --device cpu --out " + out);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;
  EXPECT_EQ(std::filesystem::file_size(out), size);
  EXPECT_EQ(std::filesystem::last_write_time(out), mtime);
  std::filesystem::remove(out);
}

TEST(Cli, SignalPendingAtStartStopsVmcAfterOneStep) {
  // A SIGTERM that is already pending when `naqs vmc` starts (blocked, so it survives exec) is
  // the earliest possible signal: it must stop the run gracefully after the first step with a
  // checkpoint (exit 3), not be lost or kill the process.
  const char* exe = std::getenv("NAQS_EXE");
  if (!exe) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
  const std::string out = temp_path("naqs_vmc_pending.h5"), log = out + ".log";
  for (const std::string& f : {out, out + ".ckpt", log}) std::filesystem::remove(f);
  const int status = naqs::testing::run_naqs_with_pending_sigterm(
      {"vmc", "--L", "4", "--width", "2", "--depth", "1", "--steps", "50", "--batch", "16",
       "--obs-samples", "16", "-o", out},
      log);
  ASSERT_NE(status, -1);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n" << text;
  EXPECT_EQ(WEXITSTATUS(status), 3) << text;
  EXPECT_NE(text.find("stopped by signal 15 after step 1"), std::string::npos) << text;
  EXPECT_TRUE(std::filesystem::exists(out + ".ckpt"));
  for (const std::string& f : {out, out + ".ckpt", log}) std::filesystem::remove(f);
}

TEST(Cli, VmcModelOptions) {
  const std::string out = temp_path("naqs_vmc_cli.h5"), out2 = temp_path("naqs_vmc_cli2.h5");
  for (const std::string& f : {out, out + ".ckpt", out2, out2 + ".ckpt"})
    std::filesystem::remove(f);
  const std::string tiny = " --width 2 --depth 1 --steps 2 --batch 16 --obs-samples 16 --quiet";
  // The TFIM's default field does not apply to the Heisenberg model; an explicit one is refused.
  CliRun r = run_naqs("vmc --hamiltonian heisenberg --marshall --magnetisation 0 --L 6 "
                      "--ed-max-sites 0" +
                      tiny + " -o " + out);
  EXPECT_EQ(r.rc, 0) << r.out;
  r = run_naqs("vmc --hamiltonian heisenberg --h 0.5 --L 6" + tiny + " -o " + out2);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  // The 2D model by preset, on its lattice only.
  r = run_naqs("vmc --lattice square --L 3 --Ly 3 --preset tiny3" + tiny + " -o " + out2);
  EXPECT_EQ(r.rc, 0) << r.out;
  for (const char* args : {"vmc --preset small4", "vmc --preset nosuch --lattice square",
                           "vmc --network conv2d", "vmc --network conv3d"}) {
    r = run_naqs(std::string(args) + " -o " + temp_path("naqs_vmc_never.h5"));
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_EQ(count_lines(r.out), 1) << args << ": " << r.out;
  }
  for (const std::string& f : {out, out + ".ckpt", out2, out2 + ".ckpt"})
    std::filesystem::remove(f);
}

// One vocabulary (docs/CONVENTIONS.md): the old spellings give the same result as the new ones,
// with one stderr line per old spelling naming the new one; a choice outside its list is refused
// with the allowed names.
TEST(Cli, VocabularyOldSpellingsAreReadAsTheNewOnes) {
  if (naqs::testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
  const std::string dir = temp_path("naqs_vocabulary");
  std::filesystem::create_directories(dir);
  using Args = std::vector<std::string>;
  const naqs::testing::ExeRun now = naqs::testing::run_naqs_args(
      {"ed", "--hamiltonian", "heisenberg", "--lattice", "square", "--L", "4", "--Ly", "2",
       "--delta", "0.5", "--boundary", "pbc,obc", "--device", "cpu"}, dir);
  ASSERT_EQ(now.rc, 0) << now.err;
  EXPECT_EQ(now.err, "");
  const naqs::testing::ExeRun old = naqs::testing::run_naqs_args(
      {"ed", "--model", "heisenberg", "--lattice", "square", "--Lx", "4", "--Ly", "2",
       "--Delta", "0.5", "--bc", "pbc,obc", "--device", "cpu"}, dir);
  ASSERT_EQ(old.rc, 0) << old.err;
  EXPECT_EQ(old.out, now.out);
  EXPECT_EQ(old.err,
            "naqs ed: --model is deprecated; use --hamiltonian\n"
            "naqs ed: --Lx is deprecated; use --L\n"
            "naqs ed: --Delta is deprecated; use --delta\n"
            "naqs ed: --bc is deprecated; use --boundary\n");
  const naqs::testing::ExeRun obc = naqs::testing::run_naqs_args(
      {"ed", "--L", "6", "--obc", "--device", "cpu"}, dir);
  const naqs::testing::ExeRun obc_new = naqs::testing::run_naqs_args(
      {"ed", "--L", "6", "--boundary", "obc", "--device", "cpu"}, dir);
  ASSERT_EQ(obc.rc, 0) << obc.err;
  EXPECT_EQ(obc.out, obc_new.out);
  EXPECT_EQ(obc.err, "naqs ed: --obc is deprecated; use --boundary obc\n");
  // ed's --sz (total Sz) is --magnetisation (2 Sz) in the other units: --sz 1 = --magnetisation 2
  // (the same sector and table), --sz full = --magnetisation none; a value that is not a
  // multiple of 1/2 is refused naming --sz.
  for (const auto& [sz, m] : {std::pair{"1", "2"}, {"-0.5", "-1"}, {"full", "none"}}) {
    const int l = std::string(sz) == "-0.5" ? 5 : 6;
    const naqs::testing::ExeRun sz_old = naqs::testing::run_naqs_args(
        {"ed", "--hamiltonian", "heisenberg", "--L", std::to_string(l), "--sz", sz, "--device",
         "cpu"}, dir);
    const naqs::testing::ExeRun sz_new = naqs::testing::run_naqs_args(
        {"ed", "--hamiltonian", "heisenberg", "--L", std::to_string(l), "--magnetisation", m,
         "--device", "cpu"}, dir);
    ASSERT_EQ(sz_old.rc, 0) << sz_old.err;
    ASSERT_EQ(sz_new.rc, 0) << sz_new.err;
    EXPECT_EQ(sz_old.out, sz_new.out) << sz;
    EXPECT_EQ(sz_new.err, "");
    EXPECT_EQ(sz_old.err, std::string("naqs ed: --sz is deprecated; use --magnetisation ") + m +
                              "\n");
  }
  const naqs::testing::ExeRun sz_bad = naqs::testing::run_naqs_args(
      {"ed", "--hamiltonian", "heisenberg", "--L", "6", "--sz", "0.3"}, dir);
  EXPECT_EQ(sz_bad.rc, 2);
  EXPECT_EQ(count_lines(sz_bad.err), 1) << sz_bad.err;
  EXPECT_NE(sz_bad.err.find("--sz 0.3 is not a total Sz"), std::string::npos) << sz_bad.err;
  // Old and new spelling of the same setting together: refused.
  const naqs::testing::ExeRun both = naqs::testing::run_naqs_args(
      {"ed", "--L", "6", "--pbc", "--boundary", "obc"}, dir);
  EXPECT_EQ(both.rc, 2) << both.err;
  // A choice outside its list names the allowed ones; an unknown option is refused.
  for (const Args& args : {Args{"ed", "--L", "6", "--hamiltonian", "hubbard"},
                           Args{"vmc", "--optimizer", "lbfgs"}, Args{"vmc", "--lattice", "kagome"},
                           Args{"sweep", "--boundary", "twisted"}}) {
    const naqs::testing::ExeRun r = naqs::testing::run_naqs_args(args, dir);
    EXPECT_EQ(r.rc, 2) << args[1];
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("is not allowed (allowed: "), std::string::npos) << r.err;
  }
  // An unknown spelling is refused with the command's option names.
  const naqs::testing::ExeRun unknown =
      naqs::testing::run_naqs_args({"ed", "--L", "6", "--Deltas", "1"}, dir);
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_EQ(count_lines(unknown.err), 1) << unknown.err;
  EXPECT_NE(unknown.err.find("'--Deltas'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("(allowed: --help, --config, --hamiltonian, --lattice, --L, --Ly, "
                             "--boundary, --J, --h, --hz, --delta,"),
            std::string::npos)
      << unknown.err;
  std::filesystem::remove_all(dir);
}
