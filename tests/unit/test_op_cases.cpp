// The op-case harness on every machine (tests/support/op_case.hpp): the gradient mode of every
// case that has a backward (float64 central differences), and every case run through the parity
// path on the CPU against itself (the case builds, runs, and writes no guard: a case that cannot
// run fails here rather than on the first GPU). Plus the harness's own checks.
#include <memory>
#include <set>

#include "tests/support/op_case.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {
namespace {

class OpGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(OpGradient, MatchesCentralDifferences) {
  int n = 0;
  for (const OpCase& c : op_cases()) {
    if (c.op != GetParam() || !c.backward) continue;
    ++n;
    const std::string fail = gradient_failure(c);
    EXPECT_TRUE(fail.empty()) << c.name() << " (" << c.params.text() << "): " << fail;
  }
  EXPECT_GT(n, 0);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGradient, ::testing::ValuesIn(op_names(true)),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(OpCases, NamesAreUniqueAndEveryCaseRunsOnTheCpu) {
  std::set<std::string> names;
  int with_backward = 0;
  for (const OpCase& c : op_cases()) {
    EXPECT_TRUE(names.insert(c.name()).second) << "duplicate case name " << c.name();
    EXPECT_FALSE(c.why.empty()) << c.name() << " states no reason for its tolerance";
    EXPECT_EQ(parity_failure(c, Device::cpu()), "") << c.name();
    with_backward += c.backward ? 1 : 0;
  }
  EXPECT_GT(names.size(), 100u);
  EXPECT_GT(with_backward, 10);
}

// The harness can fail: a wrong backward and an out-of-bounds write are caught.
TEST(OpCases, HarnessCatchesAWrongGradientAndAGuardWrite) {
  OpCase c;
  c.op = "square";
  c.params = OpParams("n=5");
  c.seed = 1;
  c.why = "test";
  c.make = [](const OpCase& c) {
    return OpTensors{{random_tensor({5}, DType::f64, c.seed)}, {Tensor::zeros({5}, DType::f64)}};
  };
  c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const std::vector<double> x = in[0].to_vector<double>();
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * x[i];
    out[0].copy_from(Tensor::from_vector(y, out[0].shape()));
  };
  c.grad_of = {0};
  c.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
    const std::vector<double> x = in[0].to_vector<double>(), w = dout[0].to_vector<double>();
    std::vector<double> g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = 2 * x[i] * w[i];
    return std::vector<Tensor>{Tensor::from_vector(g, in[0].shape())};
  };
  EXPECT_EQ(gradient_failure(c), "");
  OpCase wrong = c;
  wrong.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
    (void)dout;
    return std::vector<Tensor>{in[0].clone()};  // not the derivative
  };
  EXPECT_NE(gradient_failure(wrong), "");
  OpCase overrun = c;
  overrun.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    (void)in;
    double* p = out[0].data<double>();
    p[out[0].numel()] = 1.0;  // one past the end: lands in the guard region
  };
  EXPECT_NE(parity_failure(overrun, Device::cpu()).find("guard region overwritten"),
            std::string::npos);
}

// Per-output tolerances apply to their output, and an exact check's failure is reported: the
// run under test (the second call) writes 1e-3 more than the reference (the first).
TEST(OpCases, HarnessAppliesPerOutputTolerancesAndExactChecks) {
  OpCase c;
  c.op = "offset";
  c.params = OpParams("n=5");
  c.seed = 1;
  c.why = "test";
  c.make = [](const OpCase& c) {
    return OpTensors{{random_tensor({5}, DType::f64, c.seed)},
                     {Tensor::zeros({5}, DType::f64), Tensor::zeros({5}, DType::f64)}};
  };
  auto calls = std::make_shared<int>(0);
  c.run = [calls](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const double shift = (*calls)++ % 2 ? 1e-3 : 0.0;
    std::vector<double> x = in[0].to_vector<double>();
    for (double& v : x) v += shift;
    out[0].copy_from(Tensor::from_vector(x, out[0].shape()));
    out[1].copy_from(in[0]);
  };
  c.out_tol = {{2e-3, 0}, {0, 0}};
  EXPECT_EQ(parity_failure(c, Device::cpu()), "");
  c.out_tol = {{0, 0}, {2e-3, 0}};
  EXPECT_NE(parity_failure(c, Device::cpu()).find("output 0"), std::string::npos);
  c.out_tol = {{2e-3, 0}};
  EXPECT_THROW(parity_failure(c, Device::cpu()), Error);  // one tolerance for two outputs
  c.out_tol = {{2e-3, 0}, {0, 0}};
  c.check = [](const std::vector<Tensor>&, const std::vector<Tensor>&,
               const std::vector<Tensor>&) { return std::string("check failed"); };
  EXPECT_NE(parity_failure(c, Device::cpu()).find("check failed"), std::string::npos);
}

TEST(OpCases, ParamsParseShapesAndRefuseMalformedText) {
  const OpParams p("m=17 shape=5x1x3 lr=0.5");
  EXPECT_EQ(p.i("m"), 17);
  EXPECT_EQ(p.shape("shape"), (Shape{5, 1, 3}));
  EXPECT_EQ(p.f("lr"), 0.5);
  EXPECT_THROW(p.i("n"), Error);
  EXPECT_THROW(OpParams("m17"), Error);
}

}  // namespace
}  // namespace naqs::testing
