// A killed `naqs vmc` run, resumed with --resume, ends with exactly the result of the
// uninterrupted run (bitwise on the CPU with the same thread count: the randomness is keyed by
// (seed, step, sample) and the checkpoint holds the complete state). The executable comes from
// the environment variable NAQS_EXE (set by CMake for every test).
//   1. uninterrupted run A;
//   2. run B is SIGKILLed right after its first checkpoint, then resumed;
//   3. run C gets SIGTERM: it must checkpoint, exit with status 3, and resume the same way;
//   4. the same SIGKILL test for an RBM trained by SR on Metropolis samples (the chain states and
//      the Metropolis step counter must come back from the checkpoint).
// Compared bitwise: the whole /train/energy_mean trace and the final /results.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "host/io/hdf5.hpp"
#include "tests/support/h5_compare.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

std::string exe() {
  const char* e = std::getenv("NAQS_EXE");
  return e ? e : "";
}

std::vector<std::string> vmc_args(const std::string& output, bool resume, bool rbm = false) {
  std::vector<std::string> a = {exe(), "vmc", "--L", "10", "--steps", "60",
                                "--batch", "128:20,256", "--checkpoint-every", "5",
                                "--obs-samples", "2048", "--ed-max-sites", "0", "--quiet",
                                "--out", output, "--seed", "7"};
  // Adam: the optimiser with the most state (moments and step counter) to restore.
  const std::vector<std::string> naqs = {"--width", "4", "--depth", "1", "--optimizer", "adam",
                                         "--lr", "0.01"};
  // Metropolis with global flips: chains, step counter and every move kind must be restored.
  const std::vector<std::string> metropolis = {"--model", "rbm", "--alpha", "1", "--optimizer",
                                               "sr", "--lr", "0.02", "--sampler", "metropolis",
                                               "--mc-chains", "16", "--mc-burn-in", "2",
                                               "--mc-global-flip", "0.05"};
  const std::vector<std::string>& m = rbm ? metropolis : naqs;
  a.insert(a.end(), m.begin(), m.end());
  if (resume) a.push_back("--resume");
  return a;
}

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

int run_to_end(const std::vector<std::string>& args) {
  const int status = wait_status(spawn(args));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Starts the run, waits for its first checkpoint, then sends `sig`; returns the wait status.
int run_and_signal(const std::vector<std::string>& args, const std::string& ckpt, int sig) {
  const pid_t pid = spawn(args);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(ckpt) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;  // finished or died early
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, sig);
  return wait_status(pid);
}

struct Outcome {
  std::vector<double> energy_trace, step_trace;
  double energy = 0, energy_err = 0, abs_mz = 0, x = 0;
  int64_t complete = 0;
};

Outcome read(const std::string& path) {
  const H5File f = H5File::open_read(path);
  Outcome o;
  o.energy_trace = f.read_doubles("/train/energy_mean");
  o.step_trace = f.read_doubles("/train/step");
  o.energy = f.read_doubles("/results/energy_mean").at(0);
  o.energy_err = f.read_doubles("/results/energy_err").at(0);
  o.abs_mz = f.read_doubles("/results/abs_mz_mean").at(0);
  o.x = f.read_doubles("/results/x_mean").at(0);
  o.complete = std::get<int64_t>(f.get_attr("/", "complete"));
  return o;
}

void expect_same(const Outcome& a, const Outcome& b) {
  ASSERT_EQ(a.energy_trace.size(), 60u);
  ASSERT_EQ(b.energy_trace.size(), a.energy_trace.size());
  for (std::size_t i = 0; i < a.energy_trace.size(); ++i) {
    EXPECT_EQ(b.step_trace[i], static_cast<double>(i));
    EXPECT_EQ(b.energy_trace[i], a.energy_trace[i]) << "step " << i;  // bitwise
  }
  EXPECT_EQ(b.energy, a.energy);
  EXPECT_EQ(b.energy_err, a.energy_err);
  EXPECT_EQ(b.abs_mz, a.abs_mz);
  EXPECT_EQ(b.x, a.x);
  EXPECT_EQ(b.complete, 1);
}

class VmcResume : public ::testing::Test {
 protected:
  void SetUp() override {
    if (exe().empty() || !fs::exists(exe())) GTEST_SKIP() << "NAQS_EXE not set";
    dir_ = fs::temp_directory_path() / ("naqs_test_resume_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(VmcResume, SigkillThenResumeEqualsUninterruptedRun) {
  const std::string a = path("a.h5"), b = path("b.h5");
  ASSERT_EQ(run_to_end(vmc_args(a, false)), 0);
  const int status = run_and_signal(vmc_args(b, false), b + ".ckpt", SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the run ended before it could be killed (status " << status << ")";
  ASSERT_EQ(std::get<int64_t>(H5File::open_read(b).get_attr("/", "complete")), 0);
  ASSERT_EQ(run_to_end(vmc_args(b, true)), 0);
  expect_same(read(a), read(b));
}

TEST_F(VmcResume, SigtermCheckpointsExitsWithThreeAndResumes) {
  const std::string a = path("a.h5"), c = path("c.h5");
  ASSERT_EQ(run_to_end(vmc_args(a, false)), 0);
  const int status = run_and_signal(vmc_args(c, false), c + ".ckpt", SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 3);
  ASSERT_EQ(run_to_end(vmc_args(c, true)), 0);
  expect_same(read(a), read(c));
}

TEST_F(VmcResume, MetropolisRbmSigkillThenResumeEqualsUninterruptedRun) {
  const std::string a = path("a.h5"), b = path("b.h5");
  ASSERT_EQ(run_to_end(vmc_args(a, false, true)), 0);
  const int status = run_and_signal(vmc_args(b, false, true), b + ".ckpt", SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the run ended before it could be killed (status " << status << ")";
  ASSERT_EQ(run_to_end(vmc_args(b, true, true)), 0);
  expect_same(read(a), read(b));
  // and the per-step acceptance rates, which depend on every chain state
  EXPECT_EQ(H5File::open_read(b).read_doubles("/train/acceptance"),
            H5File::open_read(a).read_doubles("/train/acceptance"));
}

TEST_F(VmcResume, CorruptCheckpointIsRefusedAndKept) {
  const std::string d = path("d.h5"), ckpt = d + ".ckpt";
  ASSERT_EQ(run_and_signal(vmc_args(d, false), ckpt, SIGKILL) != 0, true);
  { std::FILE* f = std::fopen(ckpt.c_str(), "wb"); std::fputs("garbage", f); std::fclose(f); }
  EXPECT_EQ(run_to_end(vmc_args(d, true)), 2);  // usage error, exit 2
  EXPECT_EQ(fs::file_size(ckpt), 7u);            // untouched
}


// ---- issue 21: every trace restored, second signal, final measurement, kill -9 stress ----------

std::vector<std::string> observe_args(const std::string& output, bool resume,
                                      const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = vmc_args(output, resume);
  for (const char* x : {"--observe-every", "5", "--observe-samples", "256"}) a.push_back(x);
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// Bitwise equal except the wall-time column /train/seconds.
void expect_same_file(const std::string& a, const std::string& b) {
  EXPECT_EQ(testing::compare_groups(a, b, {"/train", "/observables", "/results", "/exact",
                                          "/model"},
                                    {"/train/seconds"}),
            "");
  EXPECT_EQ(std::get<int64_t>(H5File::open_read(b).get_attr("/", "complete")), 1);
}

TEST_F(VmcResume, PeriodicObservablesSurviveSigtermAndSigkillBitwise) {
  const std::string a = path("a.h5"), c = path("c.h5"), k = path("k.h5");
  ASSERT_EQ(run_to_end(observe_args(a, false)), 0);
  ASSERT_EQ(H5File::open_read(a).read_doubles("/observables/step").size(), 12u);
  // SIGTERM after the first checkpoint (step 5 = an observation step): the row of step 5 must
  // be in the file before the checkpoint, and kept on resume.
  int status = run_and_signal(observe_args(c, false), c + ".ckpt", SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
  ASSERT_EQ(run_to_end(observe_args(c, true)), 0);
  expect_same_file(a, c);
  status = run_and_signal(observe_args(k, false), k + ".ckpt", SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  ASSERT_EQ(run_to_end(observe_args(k, true)), 0);
  expect_same_file(a, k);
  // Resuming the finished run changes nothing (it used to delete an observables row).
  const std::vector<double> before = H5File::open_read(k).read_doubles("/observables/step");
  ASSERT_EQ(run_to_end(observe_args(k, true)), 0);
  EXPECT_EQ(H5File::open_read(k).read_doubles("/observables/step"), before);
  expect_same_file(a, k);
}

TEST_F(VmcResume, SecondSignalStopsAtOnceKeepingTheLastCheckpoint) {
  // Steps of ~0.1 s: the second SIGINT lands inside a step, which must not be finished.
  const std::string a = path("a.h5"), b = path("b.h5");
  auto args = [&](const std::string& out, bool resume) {
    std::vector<std::string> v = vmc_args(out, resume);
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
      if (v[i] == "--steps") v[i + 1] = "12";
      if (v[i] == "--batch") v[i + 1] = "4096";
    }
    return v;
  };
  ASSERT_EQ(run_to_end(args(a, false)), 0);
  const pid_t pid = spawn(args(b, false));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(b + ".ckpt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGINT);
  const int status = wait_status(pid);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_LT(waited, 2.0);
  ASSERT_TRUE(fs::exists(b + ".ckpt"));
  // The step in progress was not finished: the checkpoint is still the first one (step 5); the
  // old handler finished the step and checkpointed step 6 (only a third signal killed).
  EXPECT_EQ(std::get<int64_t>(H5File::open_read(b + ".ckpt").get_attr("/", "step")), 5);
  ASSERT_EQ(run_to_end(args(b, true)), 0);
  expect_same_file(a, b);
}

TEST_F(VmcResume, SigtermDuringTheFinalMeasurementLeavesAResumableRun) {
  const std::string a = path("a.h5"), b = path("b.h5");
  auto args = [&](const std::string& out, bool resume) {
    std::vector<std::string> v = vmc_args(out, resume);
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
      if (v[i] == "--steps") v[i + 1] = "10";
      if (v[i] == "--checkpoint-every") v[i + 1] = "0";  // the checkpoint comes at the end
      if (v[i] == "--obs-samples") v[i + 1] = "131072";  // a final measurement of ~seconds
    }
    return v;
  };
  ASSERT_EQ(run_to_end(args(a, false)), 0);
  // The only checkpoint is written after the last step, right before the final measurement.
  const int status = run_and_signal(args(b, false), b + ".ckpt", SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(std::get<int64_t>(H5File::open_read(b).get_attr("/", "complete")), 0);
  ASSERT_EQ(run_to_end(args(b, true)), 0);
  expect_same_file(a, b);
}

}  // namespace
}  // namespace naqs
