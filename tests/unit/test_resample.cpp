// host/ops/resample.hpp beyond the op-case harness (tests/op_cases/resample.cpp: parity and
// float64 central differences): hand values, the adjoint identities, accumulate, the errors.
#include "host/core/error.hpp"
#include "host/ops/resample.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::random_tensor;

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> u = a.to_vector<double>(), v = b.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
  return s;
}

TEST(Resample, HandValues) {
  // one 2x4 plane -> 1x2
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6, 7, 9}, {1, 1, 2, 4});
  Tensor y = Tensor::zeros({1, 1, 1, 2}, DType::f64);
  ops::avg_pool2x2(x, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{3.5, 5.75}));
  Tensor up = Tensor::zeros({1, 1, 2, 4}, DType::f64);
  ops::upsample_nearest2x(y, up);
  EXPECT_EQ(up.to_vector<double>(), (std::vector<double>{3.5, 3.5, 5.75, 5.75, 3.5, 3.5, 5.75, 5.75}));
  // backwards: the pooling's spreads dy / 4, the upsampling's sums the block
  Tensor dx = Tensor::full({1, 1, 2, 4}, 1.0, DType::f64);
  ops::avg_pool2x2_backward(Tensor::from_vector<double>({4, 8}, {1, 1, 1, 2}), dx, true);
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{2, 2, 3, 3, 2, 2, 3, 3}));
  Tensor ds = Tensor::zeros({1, 1, 1, 2}, DType::f64);
  ops::upsample_nearest2x_backward(x, ds);
  EXPECT_EQ(ds.to_vector<double>(), (std::vector<double>{14, 23}));
}

// <P x, y> = <x, P^T y> with P^T = upsample / 4 = avg_pool2x2_backward, and
// <U x, y> = <x, U^T y> with U^T = 4 P = upsample_nearest2x_backward.
TEST(Resample, AdjointPair) {
  const Tensor big = random_tensor({2, 3, 6, 10}, DType::f64, 1);
  const Tensor small = random_tensor({2, 3, 3, 5}, DType::f64, 2);
  Tensor px = Tensor::zeros(small.shape(), DType::f64), pty = Tensor::zeros(big.shape(), DType::f64);
  ops::avg_pool2x2(big, px);
  ops::avg_pool2x2_backward(small, pty);
  EXPECT_NEAR(dot(px, small), dot(big, pty), 1e-13);
  Tensor up = Tensor::zeros(big.shape(), DType::f64);
  ops::upsample_nearest2x(small, up);
  std::vector<double> quarter = up.to_vector<double>();
  for (double& v : quarter) v /= 4;
  EXPECT_TRUE(testing::all_close(Tensor::from_vector(quarter, big.shape()), pty, 0, 0));
  Tensor ux = Tensor::zeros(big.shape(), DType::f64), uty = Tensor::zeros(small.shape(), DType::f64);
  ops::upsample_nearest2x(small, ux);
  ops::upsample_nearest2x_backward(big, uty);
  EXPECT_NEAR(dot(ux, big), dot(small, uty), 1e-13);
  std::vector<double> four_p = px.to_vector<double>();
  for (double& v : four_p) v *= 4;
  EXPECT_TRUE(testing::all_close(uty, Tensor::from_vector(four_p, small.shape()), 1e-15, 0));
}

TEST(Resample, Errors) {
  Tensor y = Tensor::zeros({1, 1, 1, 2}, DType::f64);
  try {
    ops::avg_pool2x2(Tensor::zeros({1, 1, 3, 4}, DType::f64), y);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("3 x 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::upsample_nearest2x_backward(Tensor::zeros({2, 5}, DType::f64), y), UsageError);
  Tensor wrong = Tensor::zeros({1, 1, 2, 2}, DType::f64);
  EXPECT_THROW(ops::upsample_nearest2x(y, wrong), Error);  // wants (1, 1, 2, 4)
  Tensor f32 = Tensor::zeros({1, 1, 1, 2}, DType::f32);
  EXPECT_THROW(ops::avg_pool2x2(Tensor::zeros({1, 1, 2, 4}, DType::f64), f32), Error);
  Tensor u8 = Tensor::zeros({1, 1, 1, 2}, DType::u8);
  EXPECT_THROW(ops::avg_pool2x2(Tensor::zeros({1, 1, 2, 4}, DType::u8), u8), Error);
}

}  // namespace
}  // namespace naqs
