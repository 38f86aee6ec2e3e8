// Issue 21's examples as tests ("nothing lost, nothing clobbered"), each run on the built naqs:
// every one failed on the main of 2026-12-06 and must pass now. Small, fast runs (unit tier).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "tests/support/cli_run.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;
using testing::count_lines;
using testing::ExeRun;
using testing::file_hash;
using testing::tree_hashes;

// A tiny VMC run: N = 6, 6 steps, checkpoint every 2 steps.
std::vector<std::string> tiny_vmc(const std::string& out, int L = 6) {
  return {"vmc", "--L", std::to_string(L), "--width", "4", "--depth", "1", "--steps", "6",
          "--batch", "64", "--obs-samples", "256", "--quiet", "--checkpoint-every", "2",
          "--optimizer", "adam", "--lr", "0.01", "--ed-max-sites", "0", "-o", out};
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class Robust : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    dir_ = fs::temp_directory_path() / ("naqs_test_robust_" + std::to_string(::getpid()));
    scratch_ = fs::temp_directory_path() / ("naqs_test_robust_logs_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::remove_all(scratch_);
    fs::create_directories(dir_);
    fs::create_directories(scratch_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(scratch_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  ExeRun run(const std::vector<std::string>& args) {
    return testing::run_naqs_args(args, scratch_.string(), dir_.string());
  }
  // Exit 2, one line on stderr starting "naqs: error: ", no source location.
  void expect_usage_error(const ExeRun& r, const std::string& what) {
    EXPECT_EQ(r.rc, 2) << what << "\nstdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("naqs: error: ", 0), 0u) << what << ": " << r.err;
    EXPECT_EQ(r.err.find(".cpp:"), std::string::npos) << what << ": " << r.err;
  }
  fs::path dir_, scratch_;
};

TEST_F(Robust, ResumeWithoutCheckpointRefusesAnEdResult) {
  ASSERT_EQ(run({"ed", "--L", "6", "--out", "ed.h5"}).rc, 0);
  const auto before = tree_hashes(dir_.string());
  const ExeRun r = run(plus(tiny_vmc("ed.h5"), {"--resume"}));
  expect_usage_error(r, "vmc --resume on an ED result");
  EXPECT_NE(r.err.find("ed.h5"), std::string::npos) << r.err;
  EXPECT_EQ(tree_hashes(dir_.string()), before);  // nothing changed, nothing created
}

TEST_F(Robust, ResumeRefusesAFinishedRunOfAnotherSize) {
  ASSERT_EQ(run(tiny_vmc("a.h5", 6)).rc, 0);
  const auto before = tree_hashes(dir_.string());
  // Another size, its own (absent) checkpoint: the old code rewrote a.h5 with mixed groups.
  ExeRun r = run(plus(tiny_vmc("a.h5", 8), {"--resume", "--checkpoint", "other.ckpt"}));
  expect_usage_error(r, "resume of another size");
  EXPECT_EQ(tree_hashes(dir_.string()), before);
  // The same settings but no checkpoint: a complete run is not restarted either.
  r = run(plus(tiny_vmc("a.h5", 6), {"--resume", "--checkpoint", "other.ckpt"}));
  expect_usage_error(r, "resume of a complete run without its checkpoint");
  EXPECT_EQ(tree_hashes(dir_.string()), before);
  // With its own checkpoint, a finished run is complete: nothing to do, nothing changed.
  r = run(plus(tiny_vmc("a.h5", 6), {"--resume"}));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(tree_hashes(dir_.string()), before);
}

TEST_F(Robust, CheckpointOfAnotherRunIsRefused) {
  ASSERT_EQ(run(tiny_vmc("a.h5")).rc, 0);
  ASSERT_EQ(run(tiny_vmc("b.h5")).rc, 0);  // same settings, another run id
  const auto before = tree_hashes(dir_.string());
  const ExeRun r = run(plus(tiny_vmc("a.h5"), {"--resume", "--checkpoint", "b.h5.ckpt"}));
  expect_usage_error(r, "a.h5 with b's checkpoint");
  EXPECT_NE(r.err.find("run "), std::string::npos) << r.err;
  EXPECT_EQ(tree_hashes(dir_.string()), before);
}

TEST_F(Robust, OutputCheckpointAndTempPathsMustDiffer) {
  ExeRun r = run(plus(tiny_vmc("x.h5"), {"--checkpoint", "x.h5"}));
  expect_usage_error(r, "-o x.h5 --checkpoint x.h5");
  r = run(plus(tiny_vmc("x.h5"), {"--checkpoint", "./sub/../x.h5"}));
  expect_usage_error(r, "the same file by another name");
  r = run(plus(tiny_vmc("x.h5"), {"--checkpoint", "x.h5.tmp.123@somehost"}));
  expect_usage_error(r, "checkpoint named like the output's temp file");
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(Robust, HugeAndMalformedNumbersAreOneLineBeforeAnyWork) {
  const std::vector<std::vector<std::string>> cases = {
      {"--width", "2147483647"}, {"--mc-chains", "9223372036854775807", "--model", "rbm"},
      {"--batch", "99999999999999999999"}, {"--batch", "16:10,"}, {"--seed", "-1"},
      {"--diag-shift", "inf"}, {"--memory-cap-mb", "17592186044416"}, {"--obs-samples", "1"},
      {"--lr", "nan"}, {"--L", "1e3"}, {"--steps", "5x"}, {"--dilations", "1,,2"},
      {"--checkpoint", "no/such/dir/x.ckpt"}};
  for (const auto& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const ExeRun r = run(plus(tiny_vmc("out.h5"), c));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    expect_usage_error(r, c[0] + " " + c[1]);
    EXPECT_EQ(r.err.find("stoll"), std::string::npos) << r.err;
    EXPECT_LT(s, 10.0) << c[0] << ": refused only after work";
    EXPECT_TRUE(fs::is_empty(dir_)) << c[0] << " " << c[1] << " left a file";
  }
  expect_usage_error(run({"breakdown", "--chains", "0"}), "breakdown --chains 0");
  // Used to fail only after the NAQS of the first field had trained.
  const auto t0 = std::chrono::steady_clock::now();
  expect_usage_error(run({"breakdown", "--samples", "1000", "--chains", "64", "--out", "bd"}),
                     "breakdown samples not a multiple of chains");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  EXPECT_FALSE(fs::exists(path("bd/breakdown.h5")));
  expect_usage_error(run({"ed", "--L", "99999999999"}), "ed --L 99999999999");
}

TEST_F(Robust, CheckpointWhoseOutputMovedAwayIsRefusedAndCreatesNothing) {
  ASSERT_EQ(run(plus(tiny_vmc("a.h5"), {"--steps", "4", "--checkpoint-every", "2"})).rc, 0);
  fs::rename(path("a.h5"), path("moved.h5"));
  const auto before = tree_hashes(dir_.string());
  for (int attempt = 0; attempt < 2; ++attempt) {  // and again: no empty file left to trip on
    const ExeRun r = run(plus(tiny_vmc("a.h5"), {"--steps", "4", "--resume"}));
    expect_usage_error(r, "checkpoint without its output");
    EXPECT_EQ(r.err.find("truncate_to"), std::string::npos) << r.err;
    EXPECT_EQ(tree_hashes(dir_.string()), before);
  }
}

TEST_F(Robust, ConfigThatIsADirectoryOrUnreadableIsRefused) {
  fs::create_directories(path("cfg"));
  expect_usage_error(run(plus(tiny_vmc("o.h5"), {"--config", "cfg"})), "--config DIR");
  expect_usage_error(run(plus(tiny_vmc("o.h5"), {"--config", "missing.ini"})), "--config missing");
  std::ofstream(path("bad.ini")) << "kernel = 0\n";  // not on the command line
  expect_usage_error(run(plus(tiny_vmc("o.h5"), {"--config", "bad.ini"})), "INI out of range");
  EXPECT_FALSE(fs::exists(path("o.h5")));
}

TEST_F(Robust, TwoEdRunsWithTheSameOutputNeverBothSucceed) {
  // Started together: exactly one writes same.h5, the other exits 2; no temp file remains.
  for (int round = 0; round < 3; ++round) {
    fs::remove(path("same.h5"));
    std::vector<pid_t> pids;
    std::vector<std::string> logs;
    for (int k = 0; k < 2; ++k) {
      const std::string base = (scratch_ / ("ed" + std::to_string(k))).string();
      pids.push_back(testing::spawn_naqs({"ed", "--L", "12", "--out", "same.h5"}, base + ".out",
                                         base + ".err", dir_.string()));
      logs.push_back(base);
    }
    int ok = 0, refused = 0;
    for (int k = 0; k < 2; ++k) {
      const ExeRun r = testing::finish_naqs(pids[k], logs[k] + ".out", logs[k] + ".err");
      ok += r.rc == 0;
      refused += r.rc == 2;
      if (r.rc == 2) EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
    }
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(refused, 1);
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
    EXPECT_EQ(files, 1) << "a temp file was left";
  }
}

TEST_F(Robust, StaleTempFilesOfDeadProcessesAreRemovedByTheNextRun) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);  // `pid` is dead now
  const std::string host = this_host();
  for (const std::string& name : {cat("e.h5.tmp.", pid, "@", host), cat("v.h5.ckpt.tmp.", pid),
                                  cat("v.h5.ckpt.tmp.", pid, "@", host)})
    std::ofstream(path(name)) << "half-written";
  ASSERT_EQ(run({"ed", "--L", "6", "--out", "e.h5"}).rc, 0);
  ASSERT_EQ(run(tiny_vmc("v.h5")).rc, 0);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"e.h5", "v.h5", "v.h5.ckpt"}));
}

TEST_F(Robust, CollectListsABrokenEntryAndMergesTheRest) {
  ASSERT_EQ(run({"sweep", "--methods", "ed", "--L", "6", "--h", "0.5,1,1.5", "--out", "sw",
                 "--no-report", "--quiet"})
                .rc,
            0);
  // One task file becomes a symlink loop.
  std::string victim;
  for (const auto& e : fs::directory_iterator(path("sw")))
    if (e.path().filename().string().rfind("task", 0) == 0 && e.path().extension() == ".h5")
      victim = e.path().string();
  ASSERT_FALSE(victim.empty());
  fs::remove(victim);
  fs::create_symlink(fs::path(victim).filename(), victim);
  const ExeRun r = run({"collect", "sw"});
  EXPECT_NE(r.err.find("unreadable"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("filesystem error"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(path("sw/collected.h5"))) << r.out << r.err;
  const H5File f = H5File::open_read(path("sw/collected.h5"));
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/collect", "n_merged")), 2);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/collect", "n_unreadable")), 1);
}

TEST_F(Robust, ReportOnAnythingButACollectedTableIsOneLineAndWritesNothing) {
  ASSERT_EQ(run({"ed", "--L", "6", "--out", "ed.h5"}).rc, 0);
  std::ofstream(path("junk.h5")) << "not hdf5";
  for (const char* input : {"ed.h5", "junk.h5"}) {
    const ExeRun r = run({"report", input, "--out", "rep"});
    expect_usage_error(r, std::string("report ") + input);
    EXPECT_EQ(r.err.find("Traceback"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("rep"))) << "an empty report folder was left";
  }
}


TEST_F(Robust, EarlySignalHandlersGiveOtherCommandsTheDefaultActionBack) {
  // The executable catches stop signals from its first instant (a constructor); a command that
  // does not stop gracefully (ed) must still die by a SIGTERM that arrived meanwhile (pending at
  // exec here), not lose it.
  const int status =
      testing::run_naqs_with_pending_sigterm({"ed", "--L", "4", "--out", path("e.h5")});
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  EXPECT_FALSE(fs::exists(path("e.h5")));
}


TEST_F(Robust, AFailingReportScriptIsOneLineAndLeavesNoFolder) {
  ASSERT_EQ(run({"sweep", "--methods", "ed", "--L", "6", "--h", "0.5,1", "--out", "sw",
                 "--no-report", "--quiet"})
                .rc,
            0);
  ASSERT_EQ(run({"collect", "sw"}).rc, 0);
  // A "python" that passes the import check and then fails like a script with a traceback.
  const std::string fake = path("fake_python.sh");
  std::ofstream(fake) << "#!/bin/sh\n"
                         "case \"$2\" in *'import numpy, h5py'*) exit 0;; esac\n"
                         "echo 'Traceback (most recent call last):' >&2\n"
                         "echo '  File \"<string>\", line 1' >&2\n"
                         "echo 'ValueError: boom' >&2\n"
                         "exit 1\n";
  fs::permissions(fake, fs::perms::owner_all);
  const ExeRun r = run({"report", "sw", "--python", fake});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("ValueError: boom"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Traceback"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("sw/report"))) << "an empty report folder was left";
}

}  // namespace
}  // namespace naqs
