// MPI data parallelism with real launchers (label cluster; skipped without MPI / Slurm).
//
// DistRanks.*: rank-agnostic checks of host/dist/comm.hpp, host/dist/reduce_blocks.hpp and of
//   the distributed SR algebra. Run on their own they skip (one rank proves nothing);
//   MpiLaunch.* starts this same executable with mpirun -np 2 and with srun --mpi=pmix -n 2 on
//   the DistRanks filter. Distributed SR / minSR vs the one-rank solve with the same reduction
//   blocks: bitwise equal (tolerance 0), because every sum over samples is grouped by the
//   blocks' fixed tree, not by the ranks.
#include <gtest/gtest.h>

#include "host/dist/comm.hpp"
#include "host/dist/reduce_blocks.hpp"
#include "host/ops/elementwise.hpp"
#include "physics/optim/sr.hpp"
#include "tests/cluster/cluster_support.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using naqs::testing::all_close;
using naqs::testing::random_tensor;

using namespace cluster_test;

#define NAQS_SKIP_UNLESS_SEVERAL_RANKS()                                               \
  do {                                                                                \
    if (dist::world().size() < 2)                                                     \
      GTEST_SKIP() << "rank test: run by MpiLaunch.* under mpirun / srun with 2 ranks"; \
  } while (0)

TEST(DistRanks, Collectives) {
  NAQS_SKIP_UNLESS_SEVERAL_RANKS();
  dist::Communicator& c = dist::world();
  const int r = c.rank(), n = c.size();
  std::printf("rank %d: %s\n", r, c.description().c_str());
  EXPECT_EQ(dist::sum(c, r + 1), int64_t{n} * (n + 1) / 2);
  EXPECT_TRUE(dist::any(c, r == n - 1));
  EXPECT_FALSE(dist::any(c, false));
  std::vector<double> v{0.5 * r, 1.0};
  dist::all_reduce_sum(c, v);
  EXPECT_EQ(v[0], 0.25 * (n - 1) * n);
  EXPECT_EQ(v[1], n);
  // Uneven all-gather: rank k contributes k + 1 values 10 k + j.
  std::vector<double> mine;
  for (int j = 0; j <= r; ++j) mine.push_back(10.0 * r + j);
  std::vector<double> want;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j <= k; ++j) want.push_back(10.0 * k + j);
  EXPECT_EQ(dist::all_gather(c, mine), want);
  // Rows of a tensor; f32 sum.
  const dist::Slice s = dist::block_slice(7, r, n);
  const Tensor full = random_tensor({7, 3}, DType::f64, 11);
  const Tensor rows = full.narrow(s.first, s.count).clone();
  EXPECT_TRUE(all_close(dist::all_gather_rows(c, rows), full, 0, 0));
  Tensor f = Tensor::full({5}, 1.5, DType::f32);
  dist::all_reduce_sum(c, f);
  EXPECT_TRUE(all_close(f, Tensor::full({5}, 1.5 * n, DType::f32), 0, 0));
  int64_t token = r == 0 ? 42 : 0;
  c.broadcast_bytes(&token, sizeof token, 0);
  EXPECT_EQ(token, 42);
  c.barrier();
}

// Each rank owns its blocks' rows of the same random O; results vs the one-rank solve with the
// same blocks, bitwise.
void check_distributed_sr(int64_t B, int64_t P, int64_t n_blocks, bool complex_psi) {
  dist::Communicator& c = dist::world();
  SCOPED_TRACE(::testing::Message() << "B " << B << " P " << P << " blocks " << n_blocks
                                    << " complex " << complex_psi);
  const DType f64 = DType::f64;
  Tensor o_re = random_tensor({B, P}, f64, 100 + B), o_im;
  Tensor e_re = random_tensor({B}, f64, 200 + B), e_im;
  if (complex_psi) {
    o_im = random_tensor({B, P}, f64, 300 + B);
    e_im = random_tensor({B}, f64, 400 + B);
  }
  const dist::SampleSplit one(dist::serial(), B, 1, n_blocks), split(c, B, 1, n_blocks);
  const dist::Slice s = split.my_rows();
  auto rows = [&](const Tensor& t) { return t.defined() ? t.narrow(s.first, s.count).clone() : t; };
  Tensor lo_re = rows(o_re), lo_im = rows(o_im), le_re = rows(e_re), le_im = rows(e_im);

  optim::centre_samples(o_re, one);
  if (complex_psi) optim::centre_samples(o_im, one);
  optim::centre_samples(lo_re, split);
  if (complex_psi) optim::centre_samples(lo_im, split);
  EXPECT_TRUE(all_close(lo_re, rows(o_re), 0, 0));

  Tensor f = Tensor::empty({P}, f64), lf = Tensor::empty({P}, f64);
  optim::sr_force(o_re, o_im, e_re, e_im, f, one);
  optim::sr_force(lo_re, lo_im, le_re, le_im, lf, split);
  EXPECT_TRUE(all_close(lf, f, 0, 0));

  // The default CG tolerance: equal bits give equal iteration counts.
  const optim::SrOptions so{.diag_shift = 1e-3, .cg_max_iters = 500, .cg_rtol = 1e-6};
  Tensor d = Tensor::empty({P}, f64), ld = Tensor::empty({P}, f64);
  const optim::SrInfo a = optim::sr_solve_cg(o_re, o_im, f, so, d, one);
  const optim::SrInfo b = optim::sr_solve_cg(lo_re, lo_im, lf, so, ld, split);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_TRUE(all_close(ld, d, 0, 0)) << "CG";

  optim::minsr_solve(o_re, o_im, e_re, e_im, so.diag_shift, d, one);
  optim::minsr_solve(lo_re, lo_im, le_re, le_im, so.diag_shift, ld, split);
  EXPECT_TRUE(all_close(ld, d, 0, 0)) << "minSR";
}

// reduce_blocks on real ranks: every rank gets the one-rank tree sum, bitwise.
TEST(DistRanks, ReduceBlocksMatchesOneRank) {
  NAQS_SKIP_UNLESS_SEVERAL_RANKS();
  dist::Communicator& c = dist::world();
  for (const int64_t K : {2, 5, 64}) {
    const int64_t rows = 3 * K + 1;
    const Tensor x = random_tensor({rows, 4}, DType::f64, 500 + K);
    auto sum = [&](const dist::SampleSplit& sp) {
      Tensor out = Tensor::empty({4}, DType::f64);
      const int64_t row0 = sp.my_rows().first;
      dist::reduce_blocks(sp, out, [&](int64_t, dist::Slice local, Tensor& partial) {
        const Tensor block = x.narrow(row0 + local.first, local.count);
        Tensor p = Tensor::zeros({4}, DType::f64);
        for (int64_t r = 0; r < local.count; ++r)
          ops::axpby(1.0, block.narrow(r, 1).reshape({4}), 1.0, p);
        partial.copy_from(p);
      });
      return out;
    };
    EXPECT_TRUE(all_close(sum(dist::SampleSplit(c, rows, 1, K)),
                          sum(dist::SampleSplit(dist::serial(), rows, 1, K)), 0, 0))
        << K << " blocks";
  }
}

TEST(DistRanks, SrMatchesOneRank) {
  NAQS_SKIP_UNLESS_SEVERAL_RANKS();
  check_distributed_sr(37, 11, 5, true);   // B > P, uneven blocks per rank
  check_distributed_sr(17, 40, 4, false);  // B < P, real wavefunction
  check_distributed_sr(3, 5, 3, true);     // tiny: one or two rows per rank
}

// ---- launchers -------------------------------------------------------------------------------

std::string omp1() { return "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "; }

TEST(MpiLaunch, RankTestsUnderMpirun) {
  NAQS_SKIP_WITHOUT_MPI_BUILD();
  const std::string m = mpirun();
  if (m.empty()) GTEST_SKIP() << "mpirun not found (Debian: openmpi-bin)";
  const ShellRun r = sh(omp1() + m + " -np 2 " + q(self_exe()) + " --gtest_filter='DistRanks.*'", 300);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("MPI: 2 ranks"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[  skipped ]"), std::string::npos) << r.output;
}

TEST(MpiLaunch, RankTestsUnderSrunPmix) {
  NAQS_SKIP_WITHOUT_MPI_BUILD();
  const std::string env = slurm_env();
  NAQS_SKIP_WITHOUT_SLURM(env);
  if (sh(env + "srun --mpi=list").output.find("pmix") == std::string::npos)
    GTEST_SKIP() << "this Slurm has no mpi/pmix plugin (Debian: slurm-wlm-basic-plugins)";
  const ShellRun r = sh(env + omp1() + "srun --mpi=pmix -n 2 -t 5 " + q(self_exe()) +
                   " --gtest_filter='DistRanks.*'", 300);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("MPI: 2 ranks"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[  skipped ]"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace naqs
