// The slurm/ templates and scripts/naqs-submit against a real Slurm (label cluster; the local
// single-node cluster of scripts/slurm_local.sh, which scripts/test.sh starts; skipped when no
// Slurm answers). The local cluster has no GPUs, so the jobs are submitted with --gres none and
// --device cpu: the same template a GPU cluster gets, without the gres request.
//
// SlurmSweep.ArrayJobCollectsIntoOneTable: naqs-submit a 3-task array, wait, `naqs collect`,
//   check the merged table (ED = closed form to 1e-10; NAQS within 2 % after 40 steps); then
//   delete one task file and resubmit: only that task runs again, the others are left as they
//   were (idempotent tasks).
// SlurmSweep.RequeuedTaskResumesWithTheSameResult: scancel --signal=USR1 --batch on a running
//   task; the template forwards the signal, naqs checkpoints (exit 3), the template requeues,
//   the requeued task resumes; the final file holds every step exactly once and is bitwise the
//   file of an uninterrupted run of the same task (one thread each: the resume guarantee).
// SlurmSubmit.BadInputIsRefusedAndNothingWritten: malformed options and sweep settings exit 2
//   with a clear message, create no directory and submit no job.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <regex>

#include "host/dist/comm.hpp"
#include "host/io/hdf5.hpp"
#include "tests/cluster/cluster_support.hpp"

namespace naqs {
namespace {

using namespace cluster_test;

std::string submit_cmd() { return q(source_dir() + "/scripts/naqs-submit"); }

// The closed-form ground-state energy of the periodic TFIM chain (DESIGN.md §1).
double tfim_chain_energy(int n, double J, double h) {
  double e = 0;
  for (int k = 0; k < n; ++k)
    e -= std::sqrt(J * J + h * h - 2 * J * h * std::cos((2 * k + 1) * std::numbers::pi / n));
  return e;
}

// Submits; returns the job id (the last stdout line), failing the test otherwise.
std::string submit(const std::string& env, const std::string& args) {
  const ShellRun r = sh(env + "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " + submit_cmd() +
                        " --naqs " + q(naqs_exe()) + " --gres none --cpus 1 --time 10 " + args +
                        " 2>/dev/null", 120);
  EXPECT_EQ(r.status, 0) << r.output;
  std::smatch m;
  const std::regex id("([0-9]+)\\s*$");
  return std::regex_search(r.output, m, id) ? m[1].str() : std::string();
}

const char* kSmallSweep =
    " --methods naqs,ed --L 6 --width 4 --depth 1 --batch 128 --obs-samples 1024 --quiet"
    " --device cpu";

TEST(SlurmSweep, ArrayJobCollectsIntoOneTable) {
  const std::string env = slurm_env();
  NAQS_SKIP_WITHOUT_SLURM(env);
  const fs::path dir = scratch("slurm_sweep") / "tfim6";
  const std::string job = submit(env, "-- --out " + q(dir.string()) + " --h 0.6,1.0,1.4" +
                                          " --steps 40" + kSmallSweep);
  ASSERT_FALSE(job.empty());
  ASSERT_TRUE(wait_for_job(env, job, 600)) << "array job " << job << " still queued after 600 s";
  for (int k = 0; k < 3; ++k) {
    const std::string log = read_text(dir / "slurm/logs" / (job + "_" + std::to_string(k) + ".log"));
    EXPECT_NE(log.find("naqs exited with status 0"), std::string::npos) << "task " << k << ":\n"
                                                                         << log;
  }
  ShellRun r = sh(q(naqs_exe()) + " collect " + q(dir.string()), 120);
  ASSERT_EQ(r.status, 0) << r.output;
  {
    const H5File f = H5File::open_read((dir / "collected.h5").string());
    EXPECT_EQ(f.read_doubles("/table/h"), (std::vector<double>{0.6, 1.0, 1.4}));
    EXPECT_EQ(std::get<std::string>(f.get_attr("/table", "methods")), "naqs,ed");
    const std::string obs = std::get<std::string>(f.get_attr("/table", "observables"));
    ASSERT_EQ(obs.rfind("energy,", 0), 0u) << obs;  // observable 0 is the energy
    for (int64_t p : f.read_int64s("/table/present")) EXPECT_EQ(p, 1);
    const std::vector<int64_t> dims = f.dims("/table/value");  // (h, method, observable)
    ASSERT_EQ(dims.size(), 3u);
    const std::vector<double> v = f.read_doubles("/table/value");
    for (int i = 0; i < 3; ++i) {
      const double h = 0.6 + 0.4 * i, exact = tfim_chain_energy(6, 1.0, h);
      const double naqs = v[(i * dims[1] + 0) * dims[2]], ed = v[(i * dims[1] + 1) * dims[2]];
      EXPECT_NEAR(ed, exact, 1e-10 * std::abs(exact)) << "h " << h;
      // 40 SR steps of a 144-parameter model on 6 sites: within 2 % (measured ~0.5 %).
      EXPECT_LE(std::abs(naqs - exact), 0.02 * std::abs(exact)) << "h " << h;
    }
  }
  // Resubmission fills only the hole.
  const fs::path t0 = dir / "task-0000_h0.6.h5", t1 = dir / "task-0001_h1.h5";
  ASSERT_TRUE(fs::exists(t0) && fs::exists(t1));
  const auto t0_time = fs::last_write_time(t0);
  fs::remove(t1);
  const std::string job2 = submit(env, "-- --out " + q(dir.string()) + " --h 0.6,1.0,1.4" +
                                           " --steps 40" + kSmallSweep);
  ASSERT_TRUE(wait_for_job(env, job2, 600));
  EXPECT_TRUE(fs::exists(t1));
  EXPECT_EQ(fs::last_write_time(t0), t0_time) << "a finished task was redone";
}

TEST(SlurmSweep, RequeuedTaskResumesWithTheSameResult) {
  const std::string env = slurm_env();
  NAQS_SKIP_WITHOUT_SLURM(env);
  const fs::path root = scratch("slurm_requeue");
  const std::string opts = std::string(" --h 1.0 --steps 80 --checkpoint-every 5") + kSmallSweep;
  // Reference: the same task, uninterrupted, outside Slurm.
  ShellRun r = sh("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " + q(naqs_exe()) +
                  " sweep --task 0 --out " + q((root / "ref").string()) + opts, 600);
  ASSERT_EQ(r.status, 0) << r.output;

  const fs::path dir = root / "slurm";
  const std::string job = submit(env, "-- --out " + q(dir.string()) + opts);
  ASSERT_FALSE(job.empty());
  // Wait for the first checkpoint, then the preemption warning to the batch shell only.
  bool have_ckpt = false;
  for (int i = 0; i < 1200 && !have_ckpt; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (fs::exists(dir))
      for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().extension() == ".ckpt") have_ckpt = true;
  }
  ASSERT_TRUE(have_ckpt) << "no checkpoint appeared within 120 s";
  r = sh(env + "scancel --signal=USR1 --batch " + job + "_0", 30);
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(wait_for_job(env, job, 600)) << "job " << job << " still queued after 600 s";

  const std::string log = read_text(dir / "slurm/logs" / (job + "_0.log"));
  EXPECT_NE(log.find("SIGUSR1 received"), std::string::npos) << log;
  EXPECT_NE(log.find("requeueing"), std::string::npos) << log;
  EXPECT_NE(log.find("restart 1"), std::string::npos) << log;
  EXPECT_NE(log.find("naqs exited with status 0"), std::string::npos) << log;

  const H5File a = H5File::open_read((dir / "task-0000_h1.h5").string());
  const H5File b = H5File::open_read((root / "ref/task-0000_h1.h5").string());
  EXPECT_EQ(std::get<int64_t>(a.get_attr("/", "complete")), 1);
  std::vector<double> steps = a.read_doubles("/methods/naqs/train/step");
  ASSERT_EQ(steps.size(), 80u) << "steps lost or repeated";
  for (std::size_t k = 0; k < steps.size(); ++k) EXPECT_EQ(steps[k], static_cast<double>(k));
  EXPECT_EQ(a.read_doubles("/methods/naqs/train/energy_mean"),
            b.read_doubles("/methods/naqs/train/energy_mean"));
  EXPECT_EQ(a.read_doubles("/methods/naqs/results/energy_mean"),
            b.read_doubles("/methods/naqs/results/energy_mean"));
  EXPECT_EQ(a.read_doubles("/methods/naqs/model/parameters"),
            b.read_doubles("/methods/naqs/model/parameters"));
}

TEST(SlurmSubmit, BadInputIsRefusedAndNothingWritten) {
  const fs::path root = scratch("submit_bad");
  const std::string dir = (root / "sweep").string();
  const std::string base = submit_cmd() + " --naqs " + q(naqs_exe()) + " --gres none ";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--time 1h -- --out " + q(dir), "--time must be a Slurm time"},
      {"--cpus 0 -- --out " + q(dir), "--cpus must be a positive integer"},
      {"--frobnicate 3 -- --out " + q(dir), "unknown submit option '--frobnicate'"},
      {"--gres 'gpu 1' -- --out " + q(dir), "--gres must be a Slurm gres"},
      {"-- --h 0.5:1.5:0.25", "need --out DIR"},
      {"", "no naqs sweep options"},
      {"-- --out " + q(dir) + " --h 1.5:0.5:abc", "naqs sweep refused"},
      {"-- --out " + q(dir) + " --h 0.5 --methods naqs,dmrg", "naqs sweep refused"},
      {"--array 0-7 -- --out " + q(dir) + " --h 0.5,1.0", "--array index 7 does not exist"},
      {"--array 1-x -- --out " + q(dir) + " --h 0.5,1.0", "--array must be indices"},
  };
  for (const Case& c : cases) {
    const ShellRun r = sh(base + c.args, 60);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir)) << c.args << ": the sweep directory was created";
  }
  const ShellRun bad_naqs = sh(submit_cmd() + " --naqs /nonexistent/naqs -- --out " + q(dir), 60);
  EXPECT_EQ(bad_naqs.status, 2) << bad_naqs.output;
  EXPECT_NE(bad_naqs.output.find("is not an executable"), std::string::npos) << bad_naqs.output;
  // A dry run writes the job script and the sbatch command, and submits nothing.
  const ShellRun dry = sh(base + "--dry-run -- --out " + q(dir) + " --h 0.5,1.0", 60);
  EXPECT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.output.find("--array=0-1"), std::string::npos) << dry.output;
  EXPECT_TRUE(fs::exists(fs::path(dir) / "slurm/sweep_array.sbatch"));
  EXPECT_NE(read_text(fs::path(dir) / "slurm/last_submit.sh").find("--gres=none"),
            std::string::npos);
}

}  // namespace
}  // namespace naqs
