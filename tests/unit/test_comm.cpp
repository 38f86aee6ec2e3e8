// The serial communicator and the helpers of host/dist/comm.hpp: block slices cover every item
// once in rank order, launcher detection from the environment, and the collectives' one-rank
// semantics (sum = identity, gather = copy). The same collectives on 2 real ranks:
// tests/cluster/test_mpi.cpp.
#include <gtest/gtest.h>

#include <cstdlib>

#include "host/core/error.hpp"
#include "host/dist/comm.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using naqs::testing::all_close;
using naqs::testing::random_tensor;

TEST(Comm, BlockSliceCoversEveryItemOnceInRankOrder) {
  for (int64_t n : {0, 1, 5, 16, 17, 1025}) {
    for (int size : {1, 2, 3, 7}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const dist::Slice s = dist::block_slice(n, r, size);
        EXPECT_EQ(s.first, next) << "n " << n << " rank " << r << " of " << size;
        EXPECT_GE(s.count, n / size);
        EXPECT_LE(s.count, n / size + 1);
        next += s.count;
      }
      EXPECT_EQ(next, n);
    }
  }
  // Hand-computed: 5 items over 2 ranks -> [0,3) and [3,5).
  EXPECT_EQ(dist::block_slice(5, 0, 2).count, 3);
  EXPECT_EQ(dist::block_slice(5, 1, 2).first, 3);
  EXPECT_EQ(dist::block_slice(5, 1, 2).count, 2);
  EXPECT_THROW(dist::block_slice(5, 2, 2), Error);
}

TEST(Comm, SerialCollectivesAreIdentityAndCopy) {
  dist::Communicator& c = dist::serial();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_TRUE(c.is_root());
  EXPECT_EQ(dist::sum(c, 41), 41);
  EXPECT_TRUE(dist::any(c, true));
  EXPECT_FALSE(dist::any(c, false));
  std::vector<double> v{1.5, -2.0};
  dist::all_reduce_sum(c, v);
  EXPECT_EQ(v, (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(dist::all_gather(c, v), v);
  const Tensor t = random_tensor({3, 4}, DType::f64, 5);
  const Tensor g = dist::all_gather_rows(c, t);
  EXPECT_TRUE(all_close(g, t, 0, 0));
  Tensor u = t.clone();
  dist::all_reduce_sum(c, u);
  EXPECT_TRUE(all_close(u, t, 0, 0));
  Tensor undefined;
  EXPECT_THROW(dist::all_reduce_sum(c, undefined), Error);
  EXPECT_EQ(dist::rank_device(c, "cuda"), "cuda");
  EXPECT_EQ(dist::rank_tag(), "");
}

// Sets environment variables for the lifetime of the object, restoring the old values.
class EnvGuard {
 public:
  void set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.push_back({name, old ? std::string(old) : std::string(), old != nullptr});
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~EnvGuard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->had) setenv(it->name.c_str(), it->value.c_str(), 1);
      else unsetenv(it->name.c_str());
    }
  }
 private:
  struct Saved { std::string name, value; bool had; };
  std::vector<Saved> saved_;
};

TEST(Comm, LaunchInfoFromTheLauncherEnvironment) {
  EnvGuard env;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                        "SLURM_STEP_NUM_TASKS"})
    env.set(v, nullptr);
  dist::LaunchInfo li = dist::launch_info();
  EXPECT_FALSE(li.mpi_launcher);
  EXPECT_EQ(li.ranks, 1);
  env.set("OMPI_COMM_WORLD_SIZE", "4");  // mpirun -np 4
  li = dist::launch_info();
  EXPECT_TRUE(li.mpi_launcher);
  EXPECT_EQ(li.ranks, 4);
  env.set("OMPI_COMM_WORLD_SIZE", nullptr);
  env.set("PMIX_RANK", "1");  // srun --mpi=pmix -n 3
  env.set("SLURM_STEP_NUM_TASKS", "3");
  li = dist::launch_info();
  EXPECT_TRUE(li.mpi_launcher);
  EXPECT_EQ(li.ranks, 3);
  EXPECT_EQ(li.slurm_tasks, 3);
  env.set("PMIX_RANK", nullptr);  // srun -n 3 without an MPI plugin
  li = dist::launch_info();
  EXPECT_FALSE(li.mpi_launcher);
  EXPECT_EQ(li.slurm_tasks, 3);
  env.set("SLURM_STEP_NUM_TASKS", "x");  // garbage counts as unset
  EXPECT_EQ(dist::launch_info().slurm_tasks, 1);
}

}  // namespace
}  // namespace naqs
