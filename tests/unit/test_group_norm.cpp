// host/ops/group_norm.hpp beyond the op-case harness (tests/op_cases/group_norm.cpp: parity and
// float64 central differences): hand values, the per-sample affine against the shared one,
// thread-count determinism, the errors.
#include <omp.h>

#include <cmath>

#include "host/core/error.hpp"
#include "host/ops/group_norm.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using ops::group_norm_backward;
using ops::group_norm_forward;
using testing::random_tensor;

Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s); }
Tensor zeros(const Shape& s, DType t = DType::f64) { return Tensor::zeros(s, t); }

TEST(GroupNorm, HandValues) {
  // x (1, 2, 2), two groups of one channel: group 0 = {1, 2}, group 1 = {3, 5}: means 1.5 and
  // 4, biased variances 1/4 and 1, so xhat = -1, +1 in both; y = xhat * gamma[c] + beta[c].
  const Tensor x = f64({1, 2, 3, 5}, {1, 2, 2});
  const Tensor gamma = f64({2, -1}, {2}), beta = f64({0.5, 1}, {2});
  Tensor y = zeros({1, 2, 2}), mean = zeros({1, 2}), rstd = zeros({1, 2});
  group_norm_forward(x, 2, gamma, beta, 0.0, y, mean, rstd);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{-1.5, 2.5, 2, 0}));
  EXPECT_EQ(mean.to_vector<double>(), (std::vector<double>{1.5, 4}));
  EXPECT_EQ(rstd.to_vector<double>(), (std::vector<double>{2, 1}));
  // one group of both channels: mean 11/4, variance (1 + 4 + 9 + 25)/4 - (11/4)^2 = 2.1875
  Tensor m1 = zeros({1, 1}), r1 = zeros({1, 1});
  group_norm_forward(x, 1, gamma, Tensor(), 0.0, y, m1, r1);
  const double s = 1 / std::sqrt(2.1875);
  EXPECT_DOUBLE_EQ(m1.item(), 2.75);
  EXPECT_DOUBLE_EQ(r1.item(), s);
  const std::vector<double> yv = y.to_vector<double>();
  const double want[] = {(1 - 2.75) * s * 2, (2 - 2.75) * s * 2, (3 - 2.75) * s * -1,
                         (5 - 2.75) * s * -1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(yv[i], want[i], 1e-15) << i;
  // backward of the two-group case with dy = 1 everywhere: dbeta sums dy over S, dgamma sums
  // dy * xhat = -1 + 1 = 0, and dx = rstd (h - mean h - xhat mean(h xhat)) = 0 (h constant)
  Tensor dx = zeros({1, 2, 2}), dgamma = zeros({2}), dbeta = zeros({2});
  group_norm_forward(x, 2, gamma, beta, 0.0, y, mean, rstd);
  group_norm_backward(Tensor::full({1, 2, 2}, 1.0, DType::f64), x, 2, gamma, mean, rstd, dx,
                      dgamma, dbeta);
  EXPECT_EQ(dbeta.to_vector<double>(), (std::vector<double>{2, 2}));
  EXPECT_EQ(dgamma.to_vector<double>(), (std::vector<double>{0, 0}));
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
  // dy = xhat-shaped (-1, 1 in group 0): dgamma[0] = 2; dx of group 0 = rstd (h - h xhat) with
  // h = dy gamma = (-2, 2): mean h = 0, mean h xhat = 2 -> dx = 2 ((-2, 2) - 2 (-1, 1)) = 0
  group_norm_backward(f64({-1, 1, 0, 0}, {1, 2, 2}), x, 2, gamma, mean, rstd, dx, dgamma, dbeta);
  EXPECT_EQ(dgamma.to_vector<double>(), (std::vector<double>{2, 0}));
  EXPECT_EQ(dbeta.to_vector<double>(), (std::vector<double>{0, 0}));
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
}

// A per-sample gamma whose rows all equal the shared gamma gives the same y and dx bit for bit,
// and its per-sample gradients summed over the batch give the shared ones.
TEST(GroupNorm, PerSampleAffineMatchesShared) {
  const int64_t b = 3, c = 6, groups = 3;
  const Tensor x = random_tensor({b, c, 4, 5}, DType::f64, 1);
  const Tensor gamma = random_tensor({c}, DType::f64, 2), beta = random_tensor({c}, DType::f64, 3);
  const Tensor gamma_b = gamma.reshape({1, c}).expand({b, c}).contiguous();
  const Tensor beta_b = beta.reshape({1, c}).expand({b, c}).contiguous();
  Tensor y = zeros(x.shape()), yb = zeros(x.shape()), mean = zeros({b, groups});
  Tensor rstd = zeros({b, groups});
  group_norm_forward(x, groups, gamma, beta, 1e-5, y, mean, rstd);
  group_norm_forward(x, groups, gamma_b, beta_b, 1e-5, yb, mean, rstd);
  EXPECT_TRUE(testing::all_close(yb, y, 0, 0));

  const Tensor dy = random_tensor(x.shape(), DType::f64, 4);
  Tensor dx = zeros(x.shape()), dg = zeros({c}), db = zeros({c});
  Tensor dxb = zeros(x.shape()), dgb = zeros({b, c}), dbb = zeros({b, c});
  group_norm_backward(dy, x, groups, gamma, mean, rstd, dx, dg, db);
  group_norm_backward(dy, x, groups, gamma_b, mean, rstd, dxb, dgb, dbb);
  EXPECT_TRUE(testing::all_close(dxb, dx, 0, 0));
  const std::vector<double> g = dgb.to_vector<double>(), bb = dbb.to_vector<double>();
  std::vector<double> g_sum(c, 0.0), b_sum(c, 0.0);
  for (int64_t k = 0; k < b; ++k)
    for (int64_t j = 0; j < c; ++j) {
      g_sum[j] += g[k * c + j];
      b_sum[j] += bb[k * c + j];
    }
  EXPECT_TRUE(testing::all_close(f64(g_sum, {c}), dg, 0, 0));  // same additions, same order
  EXPECT_TRUE(testing::all_close(f64(b_sum, {c}), db, 0, 0));

  // accumulate adds to what is there; dx may alias dy
  Tensor acc = Tensor::full({c}, 1.0, DType::f64), none;
  group_norm_backward(dy, x, groups, gamma, mean, rstd, none, acc, none, true);
  std::vector<double> want = dg.to_vector<double>();
  for (double& v : want) v += 1.0;
  EXPECT_TRUE(testing::all_close(acc, f64(want, {c}), 0, 0));
  Tensor alias = dy.clone();
  group_norm_backward(alias, x, groups, gamma, mean, rstd, alias, none, none);
  EXPECT_TRUE(testing::all_close(alias, dx, 0, 0));
}

TEST(GroupNorm, ThreadCountDoesNotChangeResults) {
  // 2^21 elements: above the 2^20 from which the loops run threaded
  const int64_t b = 8, c = 32, groups = 8;
  const Tensor x = random_tensor({b, c, 64, 128}, DType::f32, 5);
  const Tensor gamma = random_tensor({b, c}, DType::f32, 6), dy = random_tensor(x.shape(), DType::f32, 7);
  const Tensor gamma_c = random_tensor({c}, DType::f32, 8);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> results[2];
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Tensor y = zeros(x.shape(), DType::f32), mean = zeros({b, groups}, DType::f32);
    Tensor rstd = zeros({b, groups}, DType::f32);
    group_norm_forward(x, groups, gamma, Tensor(), 1e-5, y, mean, rstd);
    Tensor dx = zeros(x.shape(), DType::f32), dg = zeros({b, c}, DType::f32);
    Tensor dgc = zeros({c}, DType::f32), dbc = zeros({c}, DType::f32), none;
    group_norm_backward(dy, x, groups, gamma, mean, rstd, dx, dg, none);
    group_norm_backward(dy, x, groups, gamma_c, mean, rstd, none, dgc, dbc);
    for (const Tensor& t : {y, mean, rstd, dx, dg, dgc, dbc})
      results[threads - 1].push_back(t.to_vector<float>());
  }
  omp_set_num_threads(saved);
  for (std::size_t k = 0; k < results[0].size(); ++k)
    EXPECT_EQ(results[0][k], results[1][k]) << "output " << k;
}

TEST(GroupNorm, Errors) {
  const Tensor x = random_tensor({2, 6, 3}, DType::f64, 9), gamma = random_tensor({6}, DType::f64, 10);
  Tensor y = zeros({2, 6, 3}), mean = zeros({2, 4}), rstd = zeros({2, 4});
  try {
    group_norm_forward(x, 4, gamma, Tensor(), 1e-5, y, mean, rstd);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("groups 4"), std::string::npos) << m;
    EXPECT_NE(m.find("6 channels"), std::string::npos) << m;
  }
  Tensor m0 = zeros({2, 0}), r0 = zeros({2, 0});
  EXPECT_THROW(group_norm_forward(x, 0, gamma, Tensor(), 1e-5, y, m0, r0), UsageError);
  Tensor m3 = zeros({2, 3}), r3 = zeros({2, 3});
  // gamma neither (C) nor (B, C); beta not of gamma's shape; stats of the wrong shape
  EXPECT_THROW(group_norm_forward(x, 3, zeros({3, 6}), Tensor(), 1e-5, y, m3, r3), Error);
  EXPECT_THROW(group_norm_forward(x, 3, gamma, zeros({2, 6}), 1e-5, y, m3, r3), Error);
  EXPECT_THROW(group_norm_forward(x, 3, gamma, Tensor(), 1e-5, y, mean, rstd), Error);
  EXPECT_THROW(group_norm_forward(zeros({6}), 3, gamma, Tensor(), 1e-5, y, m3, r3), Error);
  Tensor dx = zeros({2, 6, 3}), dg = zeros({2, 6}), none;
  EXPECT_THROW(group_norm_backward(y, x, 3, gamma, m3, r3, dx, dg, none), Error);  // dgamma shape
}

}  // namespace
}  // namespace naqs
