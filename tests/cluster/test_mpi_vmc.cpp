// `naqs vmc` over MPI ranks with real launchers (label cluster; skipped without MPI / Slurm).
// The results of a run do not depend on the number of ranks: the whole /train/energy_mean
// trace and the final energy of one process, of mpirun -np 1 and -np 2, of srun --mpi=pmix
// -n 2, and of the slurm/vmc_mpi.sbatch job (2 ranks, interrupted by SIGUSR1, requeued and
// resumed) are BITWISE equal, for SR at the default CG tolerance, minSR and Adam with exact
// samples of a NAQS, and for an RBM with Metropolis chains split over the ranks. Why bitwise:
// the samples are keyed by global sample or chain index, the per-sample values are gathered in
// global order, and every sum over samples (gradient, SR's column means, force and S v) goes
// through the fixed block tree of host/dist/reduce_blocks.hpp, so every rank count does the same
// floating-point operations in the same order. (Before that tree, SR at the default --cg-rtol
// 1e-6 differed by 2e-6 between 1 and 2 ranks: one ulp in S v changed the CG iteration count.)
// That needs per-sample values that do not depend on how many rows a BLAS call has: the RBM pads
// its theta GEMM to whole row tiles for this (physics/models/rbm.cpp), which the uneven case below
// (16 chains on 3 ranks: 6, 5, 5) checks.
#include <gtest/gtest.h>

#include <cmath>

#include "host/dist/comm.hpp"
#include "host/io/hdf5.hpp"
#include "tests/cluster/cluster_support.hpp"

namespace naqs {
namespace {

using namespace cluster_test;

std::string omp1() { return "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "; }

struct VmcTrace {
  std::vector<double> energy, steps;
  double final_energy = 0;
  int64_t ranks = 0;
};

VmcTrace read_trace(const fs::path& file) {
  const H5File f = H5File::open_read(file.string());
  VmcTrace t;
  t.energy = f.read_doubles("/train/energy_mean");
  t.steps = f.read_doubles("/train/step");
  t.final_energy = f.read_doubles("/results/energy_mean").at(0);
  t.ranks = std::get<int64_t>(f.get_attr("/", "mpi_ranks"));
  return t;
}

void expect_same_trace(const VmcTrace& a, const VmcTrace& b, const std::string& what,
                       double rtol = 0) {
  ASSERT_EQ(a.energy.size(), b.energy.size()) << what;
  EXPECT_EQ(a.steps, b.steps) << what;
  double worst = 0;
  for (std::size_t k = 0; k < a.energy.size(); ++k)
    worst = std::max(worst, std::abs(a.energy[k] - b.energy[k]) / std::abs(b.energy[k]));
  EXPECT_LE(worst, rtol) << what << ": worst relative energy difference over the trace";
  EXPECT_LE(std::abs(a.final_energy - b.final_energy) / std::abs(b.final_energy), rtol) << what;
  std::printf("%s: %zu steps, worst relative difference %.2e, final E %.15g vs %.15g\n",
              what.c_str(), a.energy.size(), worst, a.final_energy, b.final_energy);
}

// model "naqs" (exact samples) or "rbm" (Metropolis, 16 chains split over the ranks).
std::string vmc_args(const std::string& optimizer, int64_t steps,
                     const std::string& model = "naqs") {
  return " --model " + model + " --L 8 --width 4 --depth 1 --steps " + std::to_string(steps) +
         " --batch 64:6,96 --minibatch 40 --optimizer " + optimizer +
         (optimizer == "adam" ? " --lr 0.02" : " --lr 0.05") +
         " --obs-samples 512 --ed-max-sites 0 --checkpoint-every 2 --seed 3 --quiet";
}

std::string vmc(const std::string& optimizer, const fs::path& output, int64_t steps = 12,
                const std::string& model = "naqs") {
  return " vmc" + vmc_args(optimizer, steps, model) + " --out " + q(output.string());
}

bool has_pmix(const std::string& env) {
  return !env.empty() && sh(env + "srun --mpi=list").output.find("pmix") != std::string::npos;
}

TEST(MpiVmc, TraceIndependentOfRanks) {
  NAQS_SKIP_WITHOUT_MPI_BUILD();
  const std::string m = mpirun();
  if (m.empty()) GTEST_SKIP() << "mpirun not found (Debian: openmpi-bin)";
  const std::string env = slurm_env();
  const fs::path dir = scratch("mpi_vmc");
  for (const std::string model : {"naqs", "rbm"})
    for (const std::string opt : {"sr", "minsr", "adam"}) {
      const std::string name = model + "-" + opt;
      const fs::path serial = dir / (name + "-serial.h5");
      ShellRun r = sh(omp1() + q(naqs_exe()) + vmc(opt, serial, 12, model), 300);
      ASSERT_EQ(r.status, 0) << r.output;
      const VmcTrace ref = read_trace(serial);
      EXPECT_EQ(ref.ranks, 1);
      for (int np : {1, 2, 3}) {
        if (np == 3 && model != "rbm") continue;  // batch 64 has 2 blocks: 2 ranks at most
        const fs::path out = dir / (name + "-mpirun" + std::to_string(np) + ".h5");
        r = sh(omp1() + m + " -np " + std::to_string(np) + " " + q(naqs_exe()) +
                   vmc(opt, out, 12, model), 300);
        ASSERT_EQ(r.status, 0) << r.output;
        const VmcTrace t = read_trace(out);
        EXPECT_EQ(t.ranks, np);
        expect_same_trace(t, ref, name + ": mpirun -np " + std::to_string(np) + " vs one process");
      }
      if (has_pmix(env) && model == "naqs") {
        const fs::path out = dir / (name + "-srun2.h5");
        r = sh(env + omp1() + "srun --mpi=pmix -n 2 -t 5 " + q(naqs_exe()) +
                   vmc(opt, out, 12, model), 300);
        ASSERT_EQ(r.status, 0) << r.output;
        expect_same_trace(read_trace(out), ref, name + ": srun --mpi=pmix -n 2 vs one process");
      }
    }
}

// Two srun tasks that MPI cannot join are refused (exit 2), never two copies of one run.
TEST(MpiVmc, SrunWithoutMpiPluginIsRefused) {
  const std::string env = slurm_env();
  NAQS_SKIP_WITHOUT_SLURM(env);
  const fs::path dir = scratch("srun_no_mpi");
  const ShellRun r = sh(env + "cd " + q(dir.string()) + " && srun --mpi=none -n 2 -t 5 " +
                        q(naqs_exe()) + " vmc --steps 1 --quiet --out x.h5", 120);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("without an MPI launcher"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "x.h5"));
}

// slurm/vmc_mpi.sbatch on 2 ranks, RBM with Metropolis chains split over the ranks: SIGUSR1 to
// the batch shell mid-run -> every rank stops after the same step, the chains of both ranks are
// gathered into rank 0's checkpoint, the job requeues itself and resumes (each rank taking its
// chains back); the result equals the one-process run bitwise and every step is there once.
TEST(MpiVmc, SbatchJobRequeuesAndMatchesOneProcess) {
  NAQS_SKIP_WITHOUT_MPI_BUILD();
  const std::string env = slurm_env();
  NAQS_SKIP_WITHOUT_SLURM(env);
  if (!has_pmix(env)) GTEST_SKIP() << "this Slurm has no mpi/pmix plugin";
  const fs::path dir = scratch("mpi_sbatch");
  const int64_t steps = 60;
  ShellRun r = sh(omp1() + q(naqs_exe()) + vmc("minsr", dir / "serial.h5", steps, "rbm"), 600);
  ASSERT_EQ(r.status, 0) << r.output;

  const fs::path out = dir / "mpi.h5";
  r = sh(env + "cd " + q(dir.string()) + " && " + omp1() +
             "sbatch --parsable --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --gres=none "
             "--time=10 --output=" + q((dir / "%j.log").string()) +
             " --export=ALL,NAQS_EXE=" + q(naqs_exe()) + " " +
             q(source_dir() + "/slurm/vmc_mpi.sbatch") + vmc_args("minsr", steps, "rbm") +
             " --out " + q(out.string()), 60);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string job = r.output.substr(0, r.output.find_first_of(";\n"));
  bool have_ckpt = false;
  for (int i = 0; i < 1200 && !have_ckpt; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    have_ckpt = fs::exists(out.string() + ".ckpt");
  }
  ASSERT_TRUE(have_ckpt) << "no checkpoint within 120 s\n" << read_text(dir / (job + ".log"));
  r = sh(env + "scancel --signal=USR1 --batch " + job, 30);
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(wait_for_job(env, job, 600)) << "job " << job << " still queued after 600 s";
  const std::string log = read_text(dir / (job + ".log"));
  EXPECT_NE(log.find("requeueing"), std::string::npos) << log;
  EXPECT_NE(log.find("restart 1"), std::string::npos) << log;
  EXPECT_NE(log.find("srun exited with status 0"), std::string::npos) << log;
  const VmcTrace t = read_trace(out);
  EXPECT_EQ(t.ranks, 2);
  expect_same_trace(t, read_trace(dir / "serial.h5"), "vmc_mpi.sbatch (2 ranks, requeued)");
}

}  // namespace
}  // namespace naqs
