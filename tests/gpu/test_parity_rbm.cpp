// Whole-model CUDA vs CPU parity of an RBM Metropolis sampling run (physics/models/rbm.hpp,
// physics/sampler/metropolis.hpp). The op-level parity of the Metropolis step is in the op-case
// harness (tests/op_cases/metropolis_step.cpp, run by tests/gpu/test_op_cases.cpp). Skipped without
// a GPU.
#include <gtest/gtest.h>

#include "host/core/device.hpp"
#include "physics/models/rbm.hpp"
#include "physics/sampler/metropolis.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

// A whole run: the CUDA model evaluates ratios by full re-evaluation in f64, the CPU model by
// theta updates; decisions can only differ where hd_log(u) is within rounding (~1e-15) of
// 2 Re d, which the fixed seed avoids: the sampled states must be identical.
TEST(ParityRbm, MetropolisRunMatchesCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  Rbm cpu({9, 1.0, true}, DType::f64, Device::cpu());
  cpu.init_random(4, 0.4);
  Rbm gpu({9, 1.0, true}, DType::f64, Device::cuda(0));
  gpu.params().flat().copy_from(cpu.params().flat());
  MetropolisConfig cfg;
  cfg.n_chains = 17;
  cfg.n_burn_in_sweeps = 2;
  cfg.p_global = 0.05;
  Tensor s1, s2, l1, l2, i1, i2;
  MetropolisSampler(cpu, cfg).sample(3, s1, l1, i1);
  MetropolisSampler(gpu, cfg).sample(3, s2, l2, i2);
  EXPECT_EQ(s1.to_vector<double>(), s2.to_vector<double>());
  EXPECT_TRUE(testing::all_close(l2.to(Device::cpu()), l1, 1e-10, 1e-10));
}

}  // namespace
}  // namespace naqs
