// ops::weight_norm_forward / weight_norm_backward (host/ops/weight_norm.hpp) on the CPU: the
// forward by hand, the backward against float64 central differences of a random linear
// functional of w (|err| <= 1e-8 + 1e-7|g|: h = 1e-6 leaves O(h^2) ~ 1e-12 truncation and
// ~eps|f|/h ~ 1e-10 rounding), per-sample rows equal to single backwards bit for bit (the same
// loop), dv = dw in place, accumulate, f32 = f64 rounded once, and the zero-row error.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/weight_norm.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::all_close;
using testing::random_tensor;

// sum_{o,m} c[o,m] w[o,m] for w = weight_norm(v, g).
double functional(const Tensor& v, const Tensor& g, const Tensor& c) {
  Tensor w = Tensor::empty(v.shape(), DType::f64);
  ops::weight_norm_forward(v, g, w);
  const std::vector<double> pw = w.to_vector<double>(), pc = c.to_vector<double>();
  double sum = 0;
  for (std::size_t i = 0; i < pw.size(); ++i) sum += pw[i] * pc[i];
  return sum;
}

TEST(WeightNorm, ForwardByHand) {
  const Tensor v = Tensor::from_vector<double>({3, 4, 0, 0, -2, 0}, {2, 3});
  const Tensor g = Tensor::from_vector<double>({10, 0.5}, {2});
  Tensor w = Tensor::empty({2, 3}, DType::f64);
  ops::weight_norm_forward(v, g, w);
  EXPECT_TRUE(all_close(w, Tensor::from_vector<double>({6, 8, 0, 0, -0.5, 0}, {2, 3}), 1e-15,
                        1e-15));
}

TEST(WeightNorm, BackwardMatchesCentralDifferences) {
  for (auto [c_out, f] : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {5, 27}}) {
    Tensor v = random_tensor({c_out, f}, DType::f64, 1 + f);
    Tensor g = random_tensor({c_out}, DType::f64, 2 + f, 0.5, 2.0);
    const Tensor c = random_tensor({c_out, f}, DType::f64, 3 + f);
    Tensor dv = Tensor::empty({c_out, f}, DType::f64), dg = Tensor::empty({c_out}, DType::f64);
    ops::weight_norm_backward(v, g, c, dv, dg);
    const auto fv = [&] { return functional(v, g, c); };
    EXPECT_TRUE(all_close(dv, testing::finite_difference(v, fv), 1e-8, 1e-7)) << c_out << "x" << f;
    EXPECT_TRUE(all_close(dg, testing::finite_difference(g, fv), 1e-8, 1e-7)) << c_out << "x" << f;
  }
}

TEST(WeightNorm, PerSampleRowsInPlaceAndAccumulate) {
  const int64_t rows = 4, c_out = 3, f = 5;
  const Tensor v = random_tensor({c_out, f}, DType::f64, 11);
  const Tensor g = random_tensor({c_out}, DType::f64, 12);
  const Tensor dw = random_tensor({rows, c_out, f}, DType::f64, 13);
  Tensor dv = Tensor::empty({rows, c_out, f}, DType::f64), dg = Tensor::empty({rows, c_out}, DType::f64);
  ops::weight_norm_backward(v, g, dw, dv, dg);
  for (int64_t r = 0; r < rows; ++r) {
    Tensor dv1 = Tensor::empty({c_out, f}, DType::f64), dg1 = Tensor::empty({c_out}, DType::f64);
    ops::weight_norm_backward(v, g, dw.select(r), dv1, dg1);
    EXPECT_EQ(dv.select(r).to_vector<double>(), dv1.to_vector<double>());
    EXPECT_EQ(dg.select(r).to_vector<double>(), dg1.to_vector<double>());
  }
  Tensor in_place = dw.clone(), dg2 = Tensor::empty({rows, c_out}, DType::f64);
  ops::weight_norm_backward(v, g, in_place, in_place, dg2);
  EXPECT_EQ(in_place.to_vector<double>(), dv.to_vector<double>());
  // accumulate: dv = double(dv) + value; on top of one gradient that is 2x exactly.
  ops::weight_norm_backward(v, g, dw, dv, dg, /*accumulate=*/true);
  Tensor two_dv = in_place.clone(), two_dg = dg2.clone();
  ops::scale(two_dv, 2.0);
  ops::scale(two_dg, 2.0);
  EXPECT_EQ(dv.to_vector<double>(), two_dv.to_vector<double>());
  EXPECT_EQ(dg.to_vector<double>(), two_dg.to_vector<double>());
}

TEST(WeightNorm, Float32IsTheFloat64ResultRoundedOnce) {
  const Tensor v64 = random_tensor({4, 9}, DType::f64, 21), g64 = random_tensor({4}, DType::f64, 22);
  Tensor v32 = Tensor::empty({4, 9}, DType::f32), g32 = Tensor::empty({4}, DType::f32);
  ops::cast(v64, v32);
  ops::cast(g64, g32);
  // The f64 evaluation on the f32 inputs, rounded to f32, is what f32 must give exactly.
  Tensor v_back = Tensor::empty({4, 9}, DType::f64), g_back = Tensor::empty({4}, DType::f64);
  ops::cast(v32, v_back);
  ops::cast(g32, g_back);
  Tensor w64 = Tensor::empty({4, 9}, DType::f64), w32 = Tensor::empty({4, 9}, DType::f32);
  ops::weight_norm_forward(v_back, g_back, w64);
  ops::weight_norm_forward(v32, g32, w32);
  const std::vector<double> a = to_host_f64(w64), b = to_host_f64(w32);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(static_cast<float>(a[i]), static_cast<float>(b[i])) << i;
}

TEST(WeightNorm, ZeroDirectionNamesLayerAndChannel) {
  const Tensor v = Tensor::from_vector<double>({1, 2, 0, 0}, {2, 2});
  const Tensor g = Tensor::from_vector<double>({1, 1}, {2});
  Tensor w = Tensor::empty({2, 2}, DType::f64);
  try {
    ops::weight_norm_forward(v, g, w, "block3.a");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "weight_norm_forward: direction of block3.a channel 1 is zero");
  }
  Tensor dv = Tensor::empty({3, 2, 2}, DType::f64), dg = Tensor::empty({3, 2}, DType::f64);
  const Tensor dw = Tensor::zeros({3, 2, 2}, DType::f64);
  EXPECT_THROW(ops::weight_norm_backward(v, g, dw, dv, dg, false, "x"), Error);
  // Shape and dtype mismatches.
  Tensor w_bad = Tensor::empty({2, 3}, DType::f64);
  EXPECT_THROW(ops::weight_norm_forward(v, g, w_bad), Error);
  Tensor w32 = Tensor::empty({2, 2}, DType::f32);
  EXPECT_THROW(ops::weight_norm_forward(v, g, w32), Error);
  Tensor dg_bad = Tensor::empty({2}, DType::f64);
  EXPECT_THROW(ops::weight_norm_backward(v, g, dw, dv, dg_bad), Error);
}

}  // namespace
}  // namespace naqs
