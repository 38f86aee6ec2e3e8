// Dense ops, part 2: ops along an axis — reduce (+ backward), softmax / log_softmax (+ backward),
// gather / scatter_add. Hand-computed values on the first, a middle and the last axis; f64
// central-difference checks of every backward; error messages. Ops: host/ops/{reduce,softmax,
// gather}.hpp.
#include <cmath>
#include <limits>

#include "host/ops/gather.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/softmax.hpp"
#include "tests/unit/test_ops_dense.hpp"

using namespace naqs;
using namespace naqs::ops;
using naqs::testing::all_close;
using naqs::testing::expect_error;
using naqs::testing::f32;
using naqs::testing::f64;
using naqs::testing::finite_difference;
using naqs::testing::random_tensor;
using naqs::testing::weighted_sum;

namespace {

const std::vector<double> k1to12 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

Tensor reduced(Reduce kind, const Tensor& x, int axis) {
  Tensor out = Tensor::full(reduced_shape(x, axis), NAN, x.dtype());
  reduce(kind, x, axis, out);
  return out;
}

Tensor ints(const std::vector<int32_t>& v, const Shape& s) {
  return Tensor::from_vector<int32_t>(v, s);
}

}  // namespace

// ---- reduce ------------------------------------------------------------------------------

TEST(Reduce, HandValuesFirstMiddleLastAxis) {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(all_close(reduced(Reduce::sum, x, 0), f64({5, 7, 9}, {3}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::sum, x, -1), f64({6, 15}, {2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::mean, x, 1), f64({2, 5}, {2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::max, x, 0), f64({4, 5, 6}, {3}), 0, 0));
  // (2,3,2) holding 1..12 over the middle axis: x[o,:,i] = {1,3,5}, {2,4,6}, {7,9,11}, {8,10,12}
  Tensor x3 = f64(k1to12, {2, 3, 2});
  EXPECT_TRUE(all_close(reduced(Reduce::sum, x3, 1), f64({9, 12, 27, 30}, {2, 2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::mean, x3, 1), f64({3, 4, 9, 10}, {2, 2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::max, x3, 1), f64({5, 6, 11, 12}, {2, 2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::sum, x3, 0), f64({8, 10, 12, 14, 16, 18}, {3, 2}), 0, 0));
  EXPECT_TRUE(all_close(reduced(Reduce::max, x3, 2), f64({2, 4, 6, 8, 10, 12}, {2, 3}), 0, 0));
  Tensor x32 = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(all_close(reduced(Reduce::sum, x32, 1), f32({6, 15}, {2}), 0, 0));
}

TEST(Reduce, LogsumexpIsStable) {
  // rank 1 -> shape (1): log(1 + 2 + 5) = log 8
  Tensor x = f64({0, std::log(2.0), std::log(5.0)}, {3});
  Tensor out = reduced(Reduce::logsumexp, x, 0);
  EXPECT_EQ(out.shape(), Shape({1}));
  EXPECT_NEAR(out.item(), std::log(8.0), 1e-15);
  // (2,2) along axis 0: columns {0, log 3} -> log 4 and {1000, 1000} -> 1000 + log 2
  Tensor y = f64({0, 1000, std::log(3.0), 1000}, {2, 2});
  EXPECT_TRUE(all_close(reduced(Reduce::logsumexp, y, 0),
                        f64({std::log(4.0), 1000 + std::log(2.0)}, {2}), 0, 1e-15));
  Tensor f = f32({-1000, -1000}, {2});  // exp underflows without the shift
  EXPECT_NEAR(reduced(Reduce::logsumexp, f, 0).item(), -1000 + std::log(2.0), 1e-4);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(reduced(Reduce::logsumexp, f64({-inf, -inf}, {2}), 0).item(), -inf);
}

TEST(Reduce, BackwardHandValues) {
  Tensor x = f64({1, 5, 2, 7, 0, 7}, {2, 3});
  Tensor dx = Tensor::full({2, 3}, NAN, DType::f64);
  Tensor out = reduced(Reduce::max, x, 1);
  reduce_backward(Reduce::max, x, out, f64({1, 2}, {2}), 1, dx);  // tie: the first 7 wins
  EXPECT_TRUE(all_close(dx, f64({0, 1, 0, 2, 0, 0}, {2, 3}), 0, 0));
  out = reduced(Reduce::sum, x, 0);
  reduce_backward(Reduce::sum, x, out, f64({1, 2, 3}, {3}), 0, dx);
  EXPECT_TRUE(all_close(dx, f64({1, 2, 3, 1, 2, 3}, {2, 3}), 0, 0));
  out = reduced(Reduce::mean, x, 0);
  reduce_backward(Reduce::mean, x, out, f64({1, 2, 3}, {3}), 0, dx);
  EXPECT_TRUE(all_close(dx, f64({0.5, 1, 1.5, 0.5, 1, 1.5}, {2, 3}), 0, 0));
  Tensor l = f64({0, std::log(3.0)}, {2});  // softmax weights 1/4, 3/4
  Tensor dl = Tensor::zeros({2}, DType::f64);
  reduce_backward(Reduce::logsumexp, l, reduced(Reduce::logsumexp, l, 0), f64({2}, {1}), 0, dl);
  EXPECT_TRUE(all_close(dl, f64({0.5, 1.5}, {2}), 0, 1e-15));
}

// d/dx sum(w * reduce(x)) = reduce_backward(x, out, w) for every kind and axis.
// Tolerance 1e-8 + 1e-7|g|: O(h^2) truncation (h = 1e-6) and rounding eps*|f|/h ~ 1e-9.
TEST(Reduce, BackwardMatchesFiniteDifferences) {
  const Reduce kinds[] = {Reduce::sum, Reduce::mean, Reduce::max, Reduce::logsumexp};
  const Shape shape{3, 4, 5};
  for (Reduce kind : kinds)
    for (int axis : {0, 1, 2}) {
      Tensor x = random_tensor(shape, DType::f64, 31);  // distinct values: max is differentiable
      Tensor out = reduced(kind, x, axis);
      Tensor w = random_tensor(out.shape(), DType::f64, 32);
      Tensor g = Tensor::zeros(shape, DType::f64);
      reduce_backward(kind, x, out, w, axis, g);
      Tensor fd = finite_difference(x, [&] { return weighted_sum(w, reduced(kind, x, axis)); });
      EXPECT_TRUE(all_close(g, fd, 1e-8, 1e-7)) << reduce_name(kind) << " axis " << axis;
    }
}

TEST(Reduce, ErrorsNameOpAndTensors) {
  Tensor x = Tensor::zeros({2, 3}, DType::f32);
  Tensor bad = Tensor::zeros({2}, DType::f32);
  expect_error([&] { reduce(Reduce::sum, x, 0, bad); }, {"reduce", "'out'", "f32[2]@cpu", "[3]"});
  Tensor o64 = Tensor::zeros({3}, DType::f64);
  expect_error([&] { reduce(Reduce::sum, x, 0, o64); }, {"reduce", "f32[2,3]@cpu", "f64[3]@cpu"});
  expect_error([&] { reduce(Reduce::sum, x, 2, bad); }, {"reduce", "axis 2", "f32[2,3]@cpu"});
  Tensor e = Tensor::zeros({0, 3}, DType::f32);
  expect_error([&] { reduce(Reduce::max, e, 0, bad); }, {"reduce", "max", "empty", "f32[0,3]"});
  Tensor s = Tensor::full({3}, NAN, DType::f32);
  reduce(Reduce::sum, e, 0, s);  // an empty sum is 0
  EXPECT_TRUE(all_close(s, Tensor::zeros({3}, DType::f32), 0, 0));
  Tensor dx = Tensor::zeros({3, 2}, DType::f32), out = Tensor::zeros({2}, DType::f32);
  expect_error([&] { reduce_backward(Reduce::sum, x, out, out, 1, dx); },
               {"reduce_backward", "'dx'", "f32[3,2]@cpu", "[2,3]"});
}

// ---- softmax -----------------------------------------------------------------------------

TEST(Softmax, HandValuesFirstMiddleLastAxis) {
  const double l3 = std::log(3.0), l4 = std::log(4.0);
  Tensor y = Tensor::zeros({2}, DType::f64);
  softmax(f64({1000, 1000 + l3}, {2}), 0, y);  // shift-invariant and stable
  // atol 2e-14: storing 1000 + log 3 rounds it by up to ulp(1000)/2 = 5.7e-14, and
  // d softmax / d x = y0*y1 = 3/16 turns that into <= 1.1e-14.
  EXPECT_TRUE(all_close(y, f64({0.25, 0.75}, {2}), 2e-14, 0));
  log_softmax(f64({0, l3}, {2}), -1, y);
  EXPECT_TRUE(all_close(y, f64({-l4, l3 - l4}, {2}), 1e-15, 0));
  // (2,2) along axis 0: columns {0, log 3} and {0, 0}
  Tensor y2 = Tensor::zeros({2, 2}, DType::f64);
  softmax(f64({0, 0, l3, 0}, {2, 2}), 0, y2);
  EXPECT_TRUE(all_close(y2, f64({0.25, 0.5, 0.75, 0.5}, {2, 2}), 1e-15, 0));
  // (1,2,2) along the middle axis, in place (y aliases x): columns {log 3, 0} and {0, 0}
  Tensor x3 = f32({(float)l3, 0, 0, 0}, {1, 2, 2});
  softmax(x3, 1, x3);
  EXPECT_TRUE(all_close(x3, f32({0.75f, 0.5f, 0.25f, 0.5f}, {1, 2, 2}), 1e-7, 0));
}

TEST(Softmax, BackwardHandValues) {
  Tensor dx = Tensor::zeros({2}, DType::f64);
  // softmax: y = (1/4, 3/4), dy = (1, 0): sum dy*y = 1/4, dx = y*(dy - 1/4)
  softmax_backward(f64({0.25, 0.75}, {2}), f64({1, 0}, {2}), 0, dx);
  EXPECT_TRUE(all_close(dx, f64({0.1875, -0.1875}, {2}), 1e-16, 0));
  // log_softmax: y = log(1/4, 3/4), dy = (1, 0): dx = dy - exp(y)*sum(dy)
  log_softmax_backward(f64({std::log(0.25), std::log(0.75)}, {2}), f64({1, 0}, {2}), 0, dx);
  EXPECT_TRUE(all_close(dx, f64({0.75, -0.75}, {2}), 1e-15, 0));
}

// d/dx sum(w * softmax(x)) = softmax_backward(softmax(x), w), same for log_softmax, every axis.
// Tolerance 1e-8 + 1e-7|g|: O(h^2) truncation (h = 1e-6) and rounding eps*|f|/h ~ 1e-9.
TEST(Softmax, BackwardMatchesFiniteDifferences) {
  const Shape shape{3, 4, 5};
  for (bool log : {false, true})
    for (int axis : {0, 1, 2}) {
      Tensor x = random_tensor(shape, DType::f64, 41, -2, 2);
      Tensor w = random_tensor(shape, DType::f64, 42);
      Tensor y = Tensor::zeros(shape, DType::f64), g = Tensor::zeros(shape, DType::f64);
      auto forward = [&] { log ? log_softmax(x, axis, y) : softmax(x, axis, y); };
      forward();
      if (log) {
        log_softmax_backward(y, w, axis, g);
      } else {
        softmax_backward(y, w, axis, g);
      }
      Tensor fd = finite_difference(x, [&] {
        forward();
        return weighted_sum(w, y);
      });
      EXPECT_TRUE(all_close(g, fd, 1e-8, 1e-7))
          << (log ? "log_softmax" : "softmax") << " axis " << axis;
    }
}

TEST(Softmax, ErrorsNameOpAndTensors) {
  Tensor x = Tensor::zeros({2, 3}, DType::f32), y = Tensor::zeros({3, 2}, DType::f32);
  Tensor y64 = Tensor::zeros({2, 3}, DType::f64);
  expect_error([&] { softmax(x, 1, y); }, {"softmax", "'y'", "f32[3,2]@cpu", "[2,3]"});
  expect_error([&] { log_softmax(x, 1, y64); }, {"log_softmax", "f64[2,3]@cpu"});
  expect_error([&] { softmax_backward(x, x, -3, x); }, {"softmax_backward", "axis -3"});
  expect_error([&] { log_softmax_backward(x, y, 0, x); }, {"log_softmax_backward", "'dy'"});
}

// ---- gather / scatter_add -----------------------------------------------------------------

TEST(Gather, HandValuesFirstMiddleLastAxis) {
  Tensor src = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor out = Tensor::full({2, 2}, NAN, DType::f64);
  gather(src, ints({2, 0, 1, 1}, {2, 2}), 1, out);  // out[o,j] = src[o, index[o,j]]
  EXPECT_TRUE(all_close(out, f64({3, 1, 5, 5}, {2, 2}), 0, 0));
  Tensor out0 = Tensor::zeros({2, 3}, DType::f64);
  gather(src, ints({1, 0, 1, 0, 0, 0}, {2, 3}), 0, out0);  // out[j,i] = src[index[j,i], i]
  EXPECT_TRUE(all_close(out0, f64({4, 2, 6, 1, 2, 3}, {2, 3}), 0, 0));
  // (1,3,2) along the middle axis: out[0,j,i] = src[0, index[0,j,i], i]
  Tensor src3 = f32({1, 2, 3, 4, 5, 6}, {1, 3, 2});
  Tensor out3 = Tensor::zeros({1, 2, 2}, DType::f32);
  gather(src3, ints({2, 0, 0, 1}, {1, 2, 2}), 1, out3);
  EXPECT_TRUE(all_close(out3, f32({5, 2, 1, 4}, {1, 2, 2}), 0, 0));
}

TEST(Gather, ScatterAddHandValues) {
  Tensor out = Tensor::full({2, 3}, 1.0, DType::f64);  // not zeroed by scatter_add
  scatter_add(f64({1, 2, 3, 4}, {2, 2}), ints({2, 0, 1, 1}, {2, 2}), 1, out);
  EXPECT_TRUE(all_close(out, f64({3, 1, 2, 1, 8, 1}, {2, 3}), 0, 0));
  Tensor out0 = Tensor::zeros({2, 3}, DType::f32);  // axis 0: out[index[j,i], i] += src[j,i]
  scatter_add(f32({1, 2, 3, 4, 5, 6}, {2, 3}), ints({1, 0, 1, 1, 1, 0}, {2, 3}), 0, out0);
  EXPECT_TRUE(all_close(out0, f32({0, 2, 6, 5, 5, 3}, {2, 3}), 0, 0));
}

// scatter_add is the adjoint of gather: <gather(x), w> = <x, scatter_add(w)>, and it is the
// gradient of sum(w * gather(x)) (checked by central differences; tolerance 1e-8: linear in x,
// so only the rounding of f, eps*|f|/h ~ 1e-9 for |f| ~ 5 and h = 1e-6, remains).
TEST(Gather, ScatterAddIsTheAdjointOfGather) {
  for (int axis : {0, 1, 2}) {
    Shape src_shape{3, 4, 5}, idx_shape{3, 4, 5};
    src_shape[axis] = 6;
    idx_shape[axis] = 7;  // more gathers than rows: some rows are picked twice
    Tensor x = random_tensor(src_shape, DType::f64, 51);
    Tensor w = random_tensor(idx_shape, DType::f64, 52);
    Tensor index = random_tensor(idx_shape, DType::i32, 53, 0, 6);
    Tensor y = Tensor::zeros(idx_shape, DType::f64), g = Tensor::zeros(src_shape, DType::f64);
    scatter_add(w, index, axis, g);
    auto forward = [&] {
      gather(x, index, axis, y);
      return weighted_sum(w, y);
    };
    EXPECT_NEAR(forward(), weighted_sum(x, g), 1e-12) << "axis " << axis;
    EXPECT_TRUE(all_close(g, finite_difference(x, forward), 1e-8, 1e-8)) << "axis " << axis;
  }
}

TEST(Gather, ErrorsNameOpAndTensors) {
  Tensor src = Tensor::zeros({2, 3}, DType::f32), out = Tensor::zeros({2, 2}, DType::f32);
  expect_error(
      [&] {
        gather(src, ints({0, 3, 1, 1}, {2, 2}), 1, out);
      },
      {"gather", "index 3", "position 1", "i32[2,2]@cpu", "[0, 3)"});
  expect_error(
      [&] {
        scatter_add(out, ints({0, 0, -1, 0}, {2, 2}), 1, src);
      },
      {"scatter_add", "index -1", "position 2", "[0, 3)"});
  expect_error(
      [&] {
        gather(src, ints({0, 1, 1}, {3, 1}), 1, out);
      },
      {"gather", "'index'", "i32[3,1]@cpu", "[2,2]"});
  expect_error(
      [&] {
        gather(src, Tensor::zeros({2, 2}, DType::f32), 1, out);
      },
      {"gather", "'index'", "i32"});
  Tensor src_bad = Tensor::zeros({3, 3}, DType::f32);  // differs from out off the axis
  expect_error(
      [&] {
        gather(src_bad, ints({0, 0, 0, 0}, {2, 2}), 1, out);
      },
      {"gather", "'src'", "f32[3,3]@cpu", "[2,3]"});
  Tensor out64 = Tensor::zeros({2, 2}, DType::f64);
  expect_error(
      [&] {
        gather(src, ints({0, 0, 0, 0}, {2, 2}), 1, out64);
      },
      {"gather", "different dtypes", "f64[2,2]@cpu"});
}
