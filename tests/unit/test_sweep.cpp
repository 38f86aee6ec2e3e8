// `naqs sweep`, `naqs collect`, `naqs report` end to end through the built executable
// ($NAQS_EXE, set for every ctest test) on tiny systems (4-site chains, a few training steps):
// a local sweep with collect and report, the idempotent skip, single tasks (--task and
// SLURM_ARRAY_TASK_ID), the warm start, resume after a stop signal, collect with a missing and a
// truncated task file, bad input (exit 2, one line, nothing written), every per-field option of
// `naqs vmc` reaching the methods' runs, and the methods' seconds across a stop and resume.
// Library-level: the driver's warm start (VmcConfig::init_parameters) and the method parser.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "physics/vmc/driver.hpp"
#include "physics/ed/tfim_exact.hpp"
#include "workflow/report.hpp"
#include "workflow/sweep.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int code;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A tiny sweep: 4-site periodic chain, 3 fields, NAQS (4 steps, warm 2) and ED.
const std::string kTinyLoud =
    " --L 4 --h 0.5,1,1.5 --methods naqs,mcmc,ed --steps 4 --warm-steps 2 --batch 32 "
    "--warm-batch 48 "
    "--obs-samples 64 --width 4 --depth 1 --dilations 1";
const std::string kTiny = kTinyLoud + " --quiet";

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* exe = std::getenv("NAQS_EXE");
    if (!exe) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
    exe_ = exe;
    dir_ = fs::temp_directory_path() /
           ("naqs_sweep_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Runs `naqs <args>` with an optional environment prefix ("VAR=value ").
  RunResult run(const std::string& args, const std::string& env = "") {
    const fs::path o = dir_ / "logs" / "stdout", e = dir_ / "logs" / "stderr";
    // Tests may run inside a Slurm job: only the cases that ask for a task id get one.
    const std::string cmd = "unset SLURM_ARRAY_TASK_ID; " + env + "OMP_NUM_THREADS=1 " + exe_ + " " + args + " >" + o.string() +
                            " 2>" + e.string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(o), slurp(e)};
  }
  std::string sweep_dir() const { return (dir_ / "sw").string(); }
  // Everything in the test directory except the captured logs.
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::recursive_directory_iterator(dir_))
      if (e.path().parent_path() != dir_ / "logs" && e.path() != dir_ / "logs")
        v.push_back(fs::relative(e.path(), dir_).string());
    return v;
  }
  std::string exe_;
  fs::path dir_;
};

int64_t attr_int(const H5File& f, const std::string& obj, const std::string& name) {
  return std::get<int64_t>(f.get_attr(obj, name));
}

TEST_F(Sweep, LocalSweepWritesTasksCollectsAndReports) {
  const RunResult r = run("sweep -o " + sweep_dir() + kTiny);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const fs::path d = sweep_dir();
  for (const char* name : {"sweep.h5", "task-0000_h0.5.h5", "task-0001_h1.h5",
                           "task-0002_h1.5.h5", "collected.h5"})
    EXPECT_TRUE(fs::exists(d / name)) << name << "\n" << r.out;
  EXPECT_FALSE(fs::exists(d / "work")) << "work files are removed when the task file is written";

  // One task file: complete, system, exact values, both methods.
  {
    H5File f = H5File::open_read((d / "task-0001_h1.h5").string());
    EXPECT_EQ(attr_int(f, "/", "complete"), 1);
    EXPECT_EQ(attr_int(f, "/sweep", "task"), 1);
    EXPECT_EQ(std::get<double>(f.get_attr("/system", "h")), 1.0);
    const double e_exact = tfim_chain_energy(4, 1.0, 1.0);
    EXPECT_NEAR(f.read_doubles("/exact/energy")[0], e_exact, 1e-12 * std::abs(e_exact));
    EXPECT_EQ(f.read_doubles("/methods/ed/results/energy_err")[0], 0.0);
    EXPECT_EQ(std::get<std::string>(f.get_attr("/methods/mcmc", "kind")), "vmc rbm");
    EXPECT_TRUE(f.exists("/methods/mcmc/results/energy_mean"));
    EXPECT_TRUE(f.exists("/methods/naqs/train/energy_mean"));
    EXPECT_EQ(f.dims("/methods/naqs/train/energy_mean")[0], 2) << "warm start: --warm-steps 2";
    for (const char* m : {"naqs", "mcmc"})
      EXPECT_EQ(f.read_doubles(std::string("/methods/") + m + "/train/batch_size"),
                (std::vector<double>{48, 48}))
          << m << ": warm start: --warm-batch 48";
    EXPECT_EQ(std::get<std::string>(f.get_attr("/sweep", "warm_start_from")),
              "task-0000_h0.5.h5");
    const double e = f.read_doubles("/methods/naqs/results/energy_mean")[0];
    EXPECT_NEAR(f.read_doubles("/methods/naqs/results/energy_rel_err")[0],
                std::abs(e - e_exact) / std::abs(e_exact), 1e-15);
  }
  // The collected table: 3 fields x 2 methods x observables, everything present.
  {
    H5File f = H5File::open_read((d / "collected.h5").string());
    EXPECT_EQ(f.read_doubles("/table/h"), (std::vector<double>{0.5, 1.0, 1.5}));
    EXPECT_EQ(std::get<std::string>(f.get_attr("/table", "methods")), "naqs,mcmc,ed");
    const auto& obs = workflow::sweep_observables();
    const int64_t Q = static_cast<int64_t>(obs.size());
    EXPECT_EQ(f.dims("/table/value"), (std::vector<int64_t>{3, 3, Q}));
    EXPECT_EQ(f.read_int64s("/table/present"), (std::vector<int64_t>(9, 1)));
    const std::vector<double> v = f.read_doubles("/table/value"),
                              ex = f.read_doubles("/table/exact");
    for (int k = 0; k < 3; ++k) {
      const double e = tfim_chain_energy(4, 1.0, 0.5 * (k + 1));
      EXPECT_NEAR(ex[k * Q + 0], e, 1e-12 * std::abs(e));
      EXPECT_NEAR(v[(k * 3 + 2) * Q + 0], e, 1e-10 * std::abs(e)) << "ed row, h index " << k;
      for (int m : {0, 1})  // 4 training steps: only sane, not accurate
        EXPECT_LT(std::abs(v[(k * 3 + m) * Q + 0] - e), 0.5 * std::abs(e)) << "method " << m;
    }
    EXPECT_EQ(attr_int(f, "/collect", "n_merged"), 3);
  }
  // The report (setup.sh installs matplotlib; without it the sweep says so and this skips).
  std::string why;
  if (!workflow::python_can_report(workflow::find_python(""), &why))
    GTEST_SKIP() << "report not checked: " << why << " (install python3-matplotlib python3-h5py)";
  for (const std::string& name : workflow::report_file_names()) {
    const fs::path p = d / "report" / name;
    ASSERT_TRUE(fs::exists(p)) << p << "\n" << r.out;
    EXPECT_GT(fs::file_size(p), 100u) << p;
    if (name.ends_with(".png")) EXPECT_EQ(slurp(p).substr(1, 3), "PNG") << p;
  }
  const std::string md = slurp(d / "report" / "summary.md");
  EXPECT_NE(md.find("| 1 | naqs |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.5 | ed |"), std::string::npos) << md;
  // The report never overwrites: a second one into the same place is refused.
  const RunResult again = run("report " + sweep_dir());
  EXPECT_EQ(again.code, 2) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST_F(Sweep, RerunSkipsCompleteTasksAndTaskModeRunsOne) {
  // Task mode from SLURM_ARRAY_TASK_ID, then --task: only those files appear.
  RunResult r = run("sweep -o " + sweep_dir() + kTiny, "SLURM_ARRAY_TASK_ID=2 ");
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path d = sweep_dir();
  EXPECT_TRUE(fs::exists(d / "task-0002_h1.5.h5"));
  EXPECT_FALSE(fs::exists(d / "task-0000_h0.5.h5"));
  EXPECT_FALSE(fs::exists(d / "collected.h5")) << "a single task does not collect";
  {
    H5File f = H5File::open_read((d / "task-0002_h1.5.h5").string());
    EXPECT_EQ(std::get<std::string>(f.get_attr("/sweep", "warm_start_from")), "")
        << "array tasks start cold";
    EXPECT_EQ(f.dims("/methods/naqs/train/energy_mean")[0], 4);
    EXPECT_EQ(f.read_doubles("/methods/naqs/train/batch_size"), std::vector<double>(4, 32.0))
        << "a cold start uses --batch";
    EXPECT_EQ(std::get<std::string>(f.get_attr("/", "slurm_array_task_id")), "2");
  }
  r = run("sweep --list -o " + sweep_dir() + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("--array=0-2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 0.5 task-0000_h0.5.h5 missing"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 1.5 task-0002_h1.5.h5 complete"), std::string::npos) << r.out;

  // The same task again: skipped, its file untouched (same bytes and modification time).
  const std::string before = slurp(d / "task-0002_h1.5.h5");
  const auto mtime = fs::last_write_time(d / "task-0002_h1.5.h5");
  r = run("sweep --task 2 -o " + sweep_dir() + kTinyLoud);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("already complete"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(d / "task-0002_h1.5.h5"), before);
  EXPECT_EQ(fs::last_write_time(d / "task-0002_h1.5.h5"), mtime);

  // The local sweep fills only the holes.
  r = run("sweep --no-report -o " + sweep_dir() + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2 tasks run, 1 already complete"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(d / "task-0002_h1.5.h5"), before);
  EXPECT_FALSE(fs::exists(d / "collected.h5")) << "--no-report";

  // A different sweep into the same directory is refused, nothing changes.
  r = run("sweep -o " + sweep_dir() + kTiny + " --seed 7");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("other settings"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("seed"), std::string::npos) << r.err;
  r = run("sweep -o " + sweep_dir() + kTiny + " --alpha 2");  // a setting of one method only
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("mcmc.alpha"), std::string::npos) << r.err;
}

TEST_F(Sweep, StoppedTaskResumesToTheUninterruptedResult) {
  // Long enough to be signalled mid-run on a loaded machine: 4 sites, 60 steps, checkpoints
  // every 2 steps. The reference is the same task run without interruption elsewhere.
  const std::string opts =
      " --L 4 --h 0.5,1 --methods naqs --steps 60 --batch 64 --obs-samples 64 --width 4 "
      "--depth 1 --dilations 1 --checkpoint-every 2 --quiet --task 1";
  RunResult ref = run("sweep -o " + (dir_ / "ref").string() + opts);
  ASSERT_EQ(ref.code, 0) << ref.err;

  const std::string cmd = "unset SLURM_ARRAY_TASK_ID; OMP_NUM_THREADS=1 exec " + exe_ + " sweep -o " + sweep_dir() + opts +
                          " >" + (dir_ / "logs" / "killed").string() + " 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path ckpt = fs::path(sweep_dir()) / "work" / "task-0001" / "naqs.ckpt";
  const auto t0 = std::chrono::steady_clock::now();
  while (!fs::exists(ckpt) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGUSR1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  const int code = WEXITSTATUS(status);
  const fs::path task = fs::path(sweep_dir()) / "task-0001_h1.h5";
  if (code == 3) {
    EXPECT_FALSE(fs::exists(task)) << "an interrupted task leaves no task file";
    EXPECT_TRUE(fs::exists(ckpt));
    const RunResult resumed = run("sweep -o " + sweep_dir() + opts);
    ASSERT_EQ(resumed.code, 0) << resumed.err;
  } else {
    ASSERT_EQ(code, 0) << slurp(dir_ / "logs" / "killed");
    std::printf("note: the task finished before the signal arrived; resume not exercised\n");
  }
  H5File a = H5File::open_read(task.string());
  H5File b = H5File::open_read((dir_ / "ref" / "task-0001_h1.h5").string());
  for (const char* q : {"energy_mean", "energy_err", "abs_mz_mean", "x_mean"}) {
    const std::string name = std::string("/methods/naqs/results/") + q;
    EXPECT_EQ(a.read_doubles(name)[0], b.read_doubles(name)[0]) << q << " (bitwise on the CPU)";
  }
  EXPECT_EQ(a.read_doubles("/methods/naqs/model/parameters"),
            b.read_doubles("/methods/naqs/model/parameters"));
}

TEST_F(Sweep, SweepAcceptsEveryPerFieldVmcOption) {
  // `naqs vmc`'s model, sampler, optimiser and observable options reach each method's VMC run:
  // the 2D NAQS by preset (from an INI file) beside a complex RBM on the preset's 3x3 square.
  const std::string ini = (dir_ / "logs" / "sweep.ini").string();
  std::ofstream(ini) << "lattice = square\nL = 3\nLy = 3\npreset = tiny3\nphase = real\n";
  // (--phase complex on the command line wins over the file's phase = real)
  const std::string opts =
      " --h 1 --methods naqs,mcmc,ed --steps 2 --batch 32 --obs-samples 32 --optimizer adam "
      "--beta1 0.8 --mc-global-flip 0.1 --init-scale 0.05 --observe-samples 16 --quiet "
      "--task 0 -o " + sweep_dir();
  RunResult r = run("sweep --config " + ini + " --phase complex --observe-every 1" + opts);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  {
    H5File f = H5File::open_read((fs::path(sweep_dir()) / "task-0000_h1.h5").string());
    EXPECT_EQ(std::get<std::string>(f.get_attr("/methods/naqs/model", "architecture")),
              "naqs_conv2d");
    EXPECT_EQ(std::get<std::string>(f.get_attr("/methods/naqs/model", "preset")), "tiny3");
    for (const char* m : {"naqs", "mcmc"}) {
      const std::string g = std::string("/methods/") + m;
      EXPECT_EQ(std::get<std::string>(f.get_attr(g + "/model", "phase")), "complex") << m;
      EXPECT_EQ(std::get<double>(f.get_attr(g + "/model", "init_scale")), 0.05) << m;
      EXPECT_TRUE(f.exists(g + "/observables")) << m << ": --observe-every 1";
    }
    const std::string fp = f.read_string("/sweep/fingerprint_text");
    for (const char* line : {"naqs.preset = tiny3", "mcmc.mc_p_global = 0.10000000000000001",
                             "beta1 = 0.80000000000000004", "observe_every = 1",
                             "observe_samples = 16", "mcmc.phase = complex"})
      EXPECT_NE(fp.find(line), std::string::npos) << line << "\n" << fp;
  }
  // The manifest's fingerprint includes them: another phase or observable cadence is refused.
  const std::pair<const char*, const char*> others[] = {
      {" --phase real --observe-every 1", "phase"},
      {" --phase complex --observe-every 2", "observe_every"}};
  for (const auto& [other, key] : others) {
    r = run("sweep --config " + ini + other + opts);
    EXPECT_EQ(r.code, 2) << other << ": " << r.err;
    EXPECT_NE(r.err.find(key), std::string::npos) << r.err;
  }

  // --magnetisation 0 reaches both methods: every sample has m_z = 0.
  const std::string d2 = (dir_ / "sz").string();
  r = run("sweep --task 0 -o " + d2 +
          " --L 4 --h 1 --methods naqs,mcmc --magnetisation 0 --steps 2 --batch 32 --obs-samples 32 "
          "--width 4 --depth 1 --dilations 1 --quiet");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  H5File f = H5File::open_read((fs::path(d2) / "task-0000_h1.h5").string());
  for (const char* m : {"naqs", "mcmc"}) {
    const std::string g = std::string("/methods/") + m + "/results/";
    EXPECT_EQ(f.read_doubles(g + "abs_mz_mean")[0], 0.0) << m;
    EXPECT_EQ(f.read_doubles(g + "mz2_mean")[0], 0.0) << m;
  }
  const std::string fp = f.read_string("/sweep/fingerprint_text");
  EXPECT_NE(fp.find("mcmc.magnetisation = 0"), std::string::npos) << fp;
  EXPECT_NE(fp.find("\nwarm_batch = 32\n"), std::string::npos)
      << "a --batch without --warm-batch applies to warm starts too\n" << fp;
}

TEST_F(Sweep, MethodSecondsSurviveAStop) {
  // naqs finishes quickly; mcmc is slow (long Metropolis burn-in) and is stopped by a signal once
  // naqs is done. The resumed task records naqs's seconds from the first attempt (not 0) and
  // mcmc's summed over both attempts.
  const std::string opts =
      " --L 4 --h 1 --methods naqs,mcmc --steps 10 --batch 32 --obs-samples 32 --width 4 "
      "--depth 1 --dilations 1 --mc-burn-in 1000 --checkpoint-every 1 --quiet --task 0 -o " +
      sweep_dir();
  const std::string cmd = "unset SLURM_ARRAY_TASK_ID; OMP_NUM_THREADS=1 exec " + exe_ +
                          " sweep" + opts + " >" + (dir_ / "logs" / "killed").string() + " 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path work = fs::path(sweep_dir()) / "work" / "task-0000";
  const auto t0 = std::chrono::steady_clock::now();
  while (!fs::exists(work / "mcmc.ckpt") &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) != 3) {
    ASSERT_EQ(WEXITSTATUS(status), 0) << slurp(dir_ / "logs" / "killed");
    GTEST_SKIP() << "the task finished before the signal arrived; resume not exercised";
  }
  const double naqs_first = std::stod(slurp(work / "naqs.seconds"));
  const double mcmc_first = std::stod(slurp(work / "mcmc.seconds"));
  EXPECT_GT(naqs_first, 0);
  EXPECT_GT(mcmc_first, 0);
  const RunResult r = run("sweep" + opts);
  ASSERT_EQ(r.code, 0) << r.err;
  H5File f = H5File::open_read((fs::path(sweep_dir()) / "task-0000_h1.h5").string());
  EXPECT_EQ(std::get<double>(f.get_attr("/methods/naqs", "seconds")), naqs_first)
      << "a method finished before the stop keeps its seconds";
  EXPECT_GT(std::get<double>(f.get_attr("/methods/mcmc", "seconds")), mcmc_first)
      << "the stopped method's seconds add up over the attempts";
}

TEST_F(Sweep, CollectListsMissingAndTruncatedFilesAndMergesTheRest) {
  ASSERT_EQ(run("sweep --no-report -o " + sweep_dir() + kTiny).code, 0);
  const fs::path d = sweep_dir();
  fs::remove(d / "task-0000_h0.5.h5");
  const fs::path trunc = d / "task-0001_h1.h5";
  fs::resize_file(trunc, fs::file_size(trunc) / 2);
  const std::string truncated = slurp(trunc);

  const fs::path out = dir_ / "table.h5";
  RunResult r = run("collect " + sweep_dir() + " -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("missing: task-0000_h0.5.h5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unreadable: task-0001_h1.h5"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("merged 1 of 3"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(trunc), truncated) << "task files are never modified";
  {
    H5File f = H5File::open_read(out.string());
    EXPECT_EQ(f.read_int64s("/table/present"), (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(attr_int(f, "/collect", "n_missing"), 1);
    EXPECT_EQ(attr_int(f, "/collect", "n_unreadable"), 1);
    EXPECT_EQ(f.read_string("/collect/missing"), "task-0000_h0.5.h5");
    const std::vector<double> v = f.read_doubles("/table/value");
    EXPECT_TRUE(std::isnan(v[0]));
    const double e = tfim_chain_energy(4, 1.0, 1.5);
    const int64_t Q = static_cast<int64_t>(workflow::sweep_observables().size());
    EXPECT_NEAR(v[(2 * 3 + 2) * Q], e, 1e-10 * std::abs(e));
  }
  // Nothing is overwritten: the same output again is refused and left as it was.
  const std::string table = slurp(out);
  r = run("collect " + sweep_dir() + " -o " + out.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(out), table);
  // --require-complete writes nothing; --force replaces atomically.
  r = run("collect " + sweep_dir() + " --require-complete -o " + (dir_ / "strict.h5").string());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "strict.h5"));
  r = run("collect --force " + sweep_dir() + " -o " + out.string());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));

  // Without a usable Python: one line naming the packages, exit 1, nothing written.
  r = run("report " + out.string() + " --python /nonexistent/python3 -o " +
          (dir_ / "nopy").string());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("python3-matplotlib"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "nopy"));

  // The report works from a partial table and lists what is missing.
  std::string why;
  if (!workflow::python_can_report(workflow::find_python(""), &why))
    GTEST_SKIP() << "report not checked: " << why;
  r = run("report " + out.string() + " -o " + (dir_ / "rep").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string md = slurp(dir_ / "rep" / "summary.md");
  EXPECT_NE(md.find("missing: `task-0000_h0.5.h5`"), std::string::npos) << md;
  EXPECT_NE(md.find("(missing)"), std::string::npos) << md;
}

TEST_F(Sweep, BadInputExitsTwoWithOneLineAndWritesNothing) {
  const std::string out = " -o " + sweep_dir();
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"sweep --L 4 --h 1:0:0.5", "", "--h"},
      {"sweep --L 4 --h 0.5,,1", "", "--h"},
      {"sweep --L 4 --h abc", "", "--h"},
      {"sweep --L 4 --h 0.5:1.5", "", "--h"},
      {"sweep --L 4 --h ''", "", "--h"},
      {"sweep --L 4 --methods naqs,foo", "", "unknown method 'foo'"},
      {"sweep --L 4 --methods naqs,naqs", "", "twice"},
      {"sweep --L 4 --methods ''", "", "--methods"},
      {"sweep --L 4 --task -1", "", "--task"},
      {"sweep --L 4 --task abc", "", "--task"},
      {"sweep --L 4 --h 0.5,1 --task 2", "", "task 2 does not exist"},
      {"sweep --L 4 --h 1", "SLURM_ARRAY_TASK_ID=x ", "SLURM_ARRAY_TASK_ID"},
      {"sweep --L 4 --h 1", "SLURM_ARRAY_TASK_ID=1 ", "task 1 does not exist"},
      {"sweep --L 0", "", "L"},
      {"sweep --L 4 --boundary twisted", "", "--boundary"},
      {"sweep --L 4 --lattice hexagonal", "", "lattice"},
      {"sweep --L 4 --optimizer lbfgs", "", "--optimizer"},
      {"sweep --L 4 --batch 0", "", "batch"},
      {"sweep --L 4 --methods mcmc --batch 40", "", "multiple of the 16 Metropolis chains"},
      {"sweep --L 4 --methods mcmc --obs-samples 100", "", "--obs-samples"},
      {"sweep --L 30 --methods ed", "", "ed-max-sites"},
      {"sweep --L 4 --warm-steps -1", "", "--warm-steps"},
      {"sweep --L 4 --warm-batch 0", "", "batch"},
      {"sweep --L 4 --methods mcmc --warm-batch 40", "", "--warm-batch size 40"},
      {"sweep --L 4 --no-such-option", "", "no-such-option"},
      // vmc's options, declared once for both commands, with their checks
      {"sweep --L 4 --network conv3d", "", "conv3d"},
      {"sweep --L 4 --network conv2d", "", "square"},
      {"sweep --lattice square --L 4 --Ly 4 --preset nosuch", "", "nosuch"},
      {"sweep --lattice square --L 4 --Ly 4 --preset tiny3", "", "tiny3"},
      {"sweep --L 4 --phase imaginary", "", "imaginary"},
      {"sweep --L 4 --activation tanh", "", "tanh"},
      {"sweep --L 4 --dilations 1,0", "", "--dilations"},
      {"sweep --L 4 --methods mcmc --mc-global-flip 2", "", "--mc-global-flip"},
      {"sweep --L 4 --optimizer adam --beta1 2", "", "beta1"},
      {"sweep --L 4 --cg-iters 0", "", "--cg-iters"},
      {"sweep --L 4 --diag-shift 0", "", "--diag-shift"},
      {"sweep --L 4 --memory-cap-mb 0", "", "--memory-cap-mb"},
      {"sweep --L 4 --observe-every -1", "", "--observe-every"},
      {"sweep --L 4 --dtype f16", "", "f16"},
      {"sweep --L 4 --hamiltonian heisenberg", "", "--hamiltonian"},
      {"collect " + (dir_ / "nowhere").string(), "", "does not exist"},
      {"collect " + (dir_ / "logs").string(), "", "not a sweep directory"},
      {"collect", "", "needs the sweep directory"},
      {"report " + (dir_ / "nowhere").string(), "", "does not exist"},
      {"report " + (dir_ / "logs").string(), "", "no collected.h5"},
      {"report", "", "needs a collected file"},
  };
  for (const auto& [args, env, needle] : cases) {
    const bool is_sweep = args.rfind("sweep", 0) == 0;
    const RunResult r = run(args + (is_sweep ? out : std::string()), env);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(files().empty()) << args << ": left " << files().front();
  }
  // A single task needs the shared directory.
  const RunResult r = run("sweep --L 4 --task 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

// ---- library level ----------------------------------------------------------------------------

TEST(SweepLibrary, ParseMethods) {
  using workflow::SweepMethod;
  EXPECT_EQ(workflow::parse_methods("ed,naqs"),
            (std::vector<SweepMethod>{SweepMethod::ed, SweepMethod::naqs}));
  EXPECT_EQ(workflow::join_methods(workflow::parse_methods("naqs,mcmc,ed")), "naqs,mcmc,ed");
  for (const char* bad : {"", ",", "naqs,", ",naqs", "NAQS", "naqs ed", "ed,ed"})
    EXPECT_THROW(workflow::parse_methods(bad), UsageError) << bad;
  EXPECT_EQ(workflow::task_file_name(3, 0.75), "task-0003_h0.75.h5");
  EXPECT_EQ(workflow::task_file_name(12345, -1), "task-12345_h-1.h5");
}

TEST(SweepLibrary, WarmStartReplacesTheInitialisation) {
  // Train 3 steps, then start a 0-step run from those parameters: its final parameters are
  // exactly the given ones; a wrong-sized vector is refused before anything is written.
  const fs::path dir = fs::temp_directory_path() / ("naqs_warm_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  vmc::VmcConfig c;
  c.length_x = 4;
  c.width = 4;
  c.depth = 1;
  c.dilations = {1};
  c.steps = 3;
  c.batch_schedule = "32";
  c.obs_samples = 16;
  c.quiet = true;
  c.output = (dir / "a.h5").string();
  vmc::run_vmc(c);
  const std::vector<double> trained =
      H5File::open_read(c.output).read_doubles("/model/parameters");
  vmc::VmcConfig w = c;
  w.steps = 0;
  w.output = (dir / "b.h5").string();
  w.init_parameters = trained;
  vmc::run_vmc(w);
  EXPECT_EQ(H5File::open_read(w.output).read_doubles("/model/parameters"), trained);
  vmc::VmcConfig cold = w;
  cold.init_parameters.clear();
  EXPECT_NE(vmc::fingerprint_text(w), vmc::fingerprint_text(cold)) << "warm start is recorded";
  w.init_parameters.pop_back();
  w.output = (dir / "c.h5").string();
  EXPECT_THROW(vmc::run_vmc(w), UsageError);
  EXPECT_FALSE(fs::exists(w.output));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs
