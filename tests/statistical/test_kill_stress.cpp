// kill -9 stress (issue 21): `naqs vmc` with a checkpoint after every step is SIGKILLed at random
// instants (at least 30 times, from the process start to the final measurement) and resumed each
// time; afterwards the output equals an uninterrupted run's bitwise (except wall time), no file
// was ever left unreadable, and no temp file remains. Statistical tier: ~15-30 s on 2 cores.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/io/hdf5.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/h5_compare.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> stress_args(const std::string& out, bool resume) {
  std::vector<std::string> a = {"vmc", "--L", "8", "--width", "4", "--depth", "1", "--steps",
                                "300", "--batch", "256", "--checkpoint-every", "1",
                                "--observe-every", "4", "--observe-samples", "256",
                                "--obs-samples", "4096", "--ed-max-sites", "0", "--quiet",
                                "--optimizer", "adam", "--lr", "0.01", "--seed", "11", "-o", out};
  if (resume) a.push_back("--resume");
  return a;
}

TEST(KillStress, ThirtyRandomKillsThenBitwiseEqualOutputAndNoTempFiles) {
  if (testing::naqs_exe().empty()) GTEST_SKIP() << "NAQS_EXE not set";
  const fs::path dir = fs::temp_directory_path() / ("naqs_kill_stress_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "logs");
  const std::string logs = (dir / "logs").string();
  const std::string ref = (dir / "ref.h5").string(), out = (dir / "run.h5").string();
  const testing::ExeRun r0 = testing::run_naqs_args(stress_args(ref, false), logs);
  ASSERT_EQ(r0.rc, 0) << r0.err;
  // How long an uninterrupted run takes, to spread the kill instants over all of it.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(testing::run_naqs_args(stress_args((dir / "timing.h5").string(), false), logs).rc, 0);
  const double full_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  const std::vector<std::string> compared = {"/train", "/observables", "/results", "/exact",
                                             "/model"};
  std::mt19937_64 rng(20261206);
  int kills = 0, starts = 0, finished_runs = 0;
  bool fresh = true;
  // 30 kills in all: when the restarts carry a run to its end first (the kill instants are
  // spread over the uninterrupted run's time, which the machine's load changes), that run is
  // checked like the last one and a fresh run starts, until 30 kills have happened.
  while (kills < 30) {
    const bool resume = !fresh;
    fresh = false;
    ++starts;
    const std::string o = logs + "/o", e = logs + "/e";
    const pid_t pid = testing::spawn_naqs(stress_args(out, resume), o, e);
    // Mostly short lives (many restarts), sometimes long ones (progress to the end).
    const double life = std::uniform_real_distribution<double>(0, 1)(rng) < 0.8
                            ? std::uniform_real_distribution<double>(0, 1.0 / 40)(rng) * full_ms
                            : std::uniform_real_distribution<double>(0, 1.0 / 8)(rng) * full_ms;
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(life * 1000)));
    ::kill(pid, SIGKILL);
    const testing::ExeRun r = testing::finish_naqs(pid, o, e);
    if (r.rc == -SIGKILL) {
      ++kills;
    } else {
      ASSERT_EQ(r.rc, 0) << "start " << starts << ": " << r.err;
      EXPECT_EQ(testing::compare_groups(ref, out, compared, {"/train/seconds"}), "")
          << "run finished at start " << starts;
      ++finished_runs;
      fs::remove(out);
      fs::remove(out + ".ckpt");
      fresh = true;
      continue;
    }
    // Whatever exists is readable: the output and the checkpoint are never torn.
    for (const std::string& f : {out, out + ".ckpt"})
      if (fs::exists(f)) EXPECT_NO_THROW(H5File::open_read(f)) << f << " after start " << starts;
  }
  const testing::ExeRun r = testing::run_naqs_args(stress_args(out, !fresh), logs);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(testing::compare_groups(ref, out, compared, {"/train/seconds"}), "");
  EXPECT_EQ(std::get<int64_t>(H5File::open_read(out).get_attr("/", "complete")), 1);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos)
      left.push_back(e.path().filename());
  EXPECT_TRUE(left.empty()) << left.size() << " temp files left, e.g. " << left[0];
  std::printf("kill stress: %d kills in %d starts, %d runs finished between kills (uninterrupted "
              "run %.0f ms)\n", kills, starts, finished_runs, full_ms);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs
