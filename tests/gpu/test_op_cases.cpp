// Parity mode of the op-case harness (tests/support/op_case.hpp): every registered case
// (tests/op_cases/*.cpp) on CUDA against the CPU reference, CUDA outputs in guarded buffers.
// One ctest entry per op, each failing case named; skipped (reported as skipped) without a
// CUDA device. On cuda:1 where there are two devices, with device 0 current at each op
// (parity_device(), tests/support/testing.hpp).
#include "tests/support/op_case.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {
namespace {

class OpParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OpParity, CudaMatchesCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  int n = 0;
  for (const OpCase& c : op_cases()) {
    if (c.op != GetParam()) continue;
    ++n;
    const std::string fail = parity_failure(c, parity_device());
    EXPECT_TRUE(fail.empty()) << c.name() << " (" << c.params.text() << "): " << fail;
  }
  EXPECT_GT(n, 0);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpParity, ::testing::ValuesIn(op_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace naqs::testing
