// cast() and fill() to integer dtypes define NaN and out-of-range values (host/ops/fill.hpp,
// convert_value): NaN -> 0, beyond the range -> the dtype's lowest / max, else truncation toward
// zero; the CUDA kernels use the same function (parity: tests/op_cases/fill.cpp, cast_saturate).
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <vector>

#include "host/ops/fill.hpp"

using namespace naqs;

namespace {

template <class D>
std::vector<D> cast_to(const std::vector<double>& values, DType from, DType to) {
  Tensor src = Tensor::empty({static_cast<int64_t>(values.size())}, DType::f64);
  for (size_t i = 0; i < values.size(); ++i) src.data<double>()[i] = values[i];
  Tensor mid = Tensor::empty(src.shape(), from);
  ops::cast(src, mid);
  Tensor dst = Tensor::empty(src.shape(), to);
  ops::cast(mid, dst);
  const D* p = dst.data<D>();
  return std::vector<D>(p, p + values.size());
}

const std::vector<double> kValues = {NAN, 1e10, -1e10, 3.7, -3.7, 2.5e9, -2.5e9, 300, -5, 0.5};

}  // namespace

TEST(CastSaturate, FloatToInt32) {
  const std::vector<int32_t> want = {0, INT_MAX, INT_MIN, 3, -3, INT_MAX, INT_MIN, 300, -5, 0};
  EXPECT_EQ(cast_to<int32_t>(kValues, DType::f64, DType::i32), want);
  EXPECT_EQ(cast_to<int32_t>(kValues, DType::f32, DType::i32), want);
}

TEST(CastSaturate, FloatToU8) {
  const std::vector<uint8_t> want = {0, 255, 0, 3, 0, 255, 0, 255, 0, 0};
  EXPECT_EQ(cast_to<uint8_t>(kValues, DType::f64, DType::u8), want);
  EXPECT_EQ(cast_to<uint8_t>(kValues, DType::f32, DType::u8), want);
}

TEST(CastSaturate, Int32ToU8Saturates) {
  const std::vector<uint8_t> want = {255, 0, 7, 255};
  EXPECT_EQ(cast_to<uint8_t>({300, -5, 7, 1e6}, DType::i32, DType::u8), want);
}

TEST(CastSaturate, EdgesOfTheInt32Range) {
  // 2^31 - 1 is exact in f64 and stays; 2^31 saturates; f32 cannot hold 2^31 - 1 (rounds to
  // 2^31) and saturates to INT_MAX too.
  EXPECT_EQ(cast_to<int32_t>({2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0}, DType::f64,
                             DType::i32),
            (std::vector<int32_t>{INT_MAX, INT_MAX, INT_MIN, INT_MIN}));
  EXPECT_EQ(cast_to<int32_t>({2147483647.0, 2147483520.0}, DType::f32, DType::i32),
            (std::vector<int32_t>{INT_MAX, 2147483520}));
}

TEST(CastSaturate, FillOutOfRange) {
  Tensor t = Tensor::empty({3}, DType::i32);
  ops::fill(t, 1e12);
  EXPECT_EQ(t.data<int32_t>()[2], INT_MAX);
  ops::fill(t, NAN);
  EXPECT_EQ(t.data<int32_t>()[0], 0);
  Tensor u = Tensor::empty({2}, DType::u8);
  ops::fill(u, -1.0);
  EXPECT_EQ(u.data<uint8_t>()[1], 0);
}
