// reduce_backward(max) with NaN in a row (host/ops/reduce.hpp): the forward skips NaN (as CUDA's
// fmax does), so the gradient goes to the first position holding that max, not to a NaN in
// front of it, and an all-NaN row gets none; the CUDA kernel does the same
// (tests/op_cases/reduce.cpp, "nan=first").
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/ops/reduce.hpp"

using namespace naqs;

TEST(ReduceMaxNan, GradientSkipsNaN) {
  const Tensor x = Tensor::from_vector<double>({NAN, 1, 3, 2, NAN, NAN, NAN, NAN}, {2, 4});
  Tensor out = Tensor::zeros({2}, DType::f64);
  ops::reduce(ops::Reduce::max, x, 1, out);
  EXPECT_EQ(out.to_vector<double>()[0], 3.0);
  EXPECT_EQ(out.to_vector<double>()[1], -INFINITY);  // a row of NaN: nothing to take the max of
  const Tensor dout = Tensor::from_vector<double>({5, 7}, {2});
  Tensor dx = Tensor::zeros({2, 4}, DType::f64);
  ops::reduce_backward(ops::Reduce::max, x, out, dout, 1, dx);
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{0, 0, 5, 0, 0, 0, 0, 0}));
}
