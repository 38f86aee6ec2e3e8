// ops::put_columns (host/ops/columns.hpp) on the CPU: copy, negation and accumulation into a
// column block by hand (exact: one multiply by +-1 and one addition per element), refusals.
#include <gtest/gtest.h>

#include "host/core/error.hpp"
#include "host/ops/columns.hpp"

namespace naqs {
namespace {

TEST(PutColumns, CopyNegateAccumulate) {
  const Tensor src = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor dst = Tensor::from_vector<double>({9, 9, 9, 9, 9, 9, 9, 9}, {2, 4});
  ops::put_columns(src, dst, 1);
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{9, 1, 2, 9, 9, 3, 4, 9}));
  ops::put_columns(src, dst, 2, -1.0, /*accumulate=*/true);
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{9, 1, 1, 7, 9, 3, 1, 5}));
  Tensor f = Tensor::zeros({2, 3}, DType::f32);
  ops::put_columns(Tensor::from_vector<float>({5, 6}, {2, 1}), f, 2, -1.0);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0, 0, -5, 0, 0, -6}));
}

TEST(PutColumns, Refusals) {
  const Tensor src = Tensor::zeros({2, 2}, DType::f64);
  Tensor dst = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_THROW(ops::put_columns(src, dst, 2), Error);   // past the last column
  EXPECT_THROW(ops::put_columns(src, dst, -1), Error);
  Tensor rows = Tensor::zeros({3, 3}, DType::f64);
  EXPECT_THROW(ops::put_columns(src, rows, 0), Error);  // row counts differ
  Tensor f32 = Tensor::zeros({2, 3}, DType::f32);
  EXPECT_THROW(ops::put_columns(src, f32, 0), Error);
}

}  // namespace
}  // namespace naqs
