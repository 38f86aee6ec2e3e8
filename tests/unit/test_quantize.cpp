// host/ops/quantize.hpp beyond the op-case harness (tests/op_cases/quantize.cpp: parity): the
// edges of the rounding and clamping, the exact frame round trip, the errors.
#include <cmath>
#include <limits>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/quantize.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using ops::kFrameOffset;
using ops::kFrameScale;

TEST(Quantize, EdgesRoundHalfToEvenAndClamp) {
  const double inf = std::numeric_limits<double>::infinity();
  // in q units (scale 1, offset 0)
  const std::vector<double> x{-inf, inf, std::nan(""), 254.5, 255.5, -0.5, 0.5, 1.5, 2.5,
                              253.5, 0.49999, 0.50001, -1e300, 1e300, 127.0, -0.0};
  const std::vector<uint8_t> want{0, 255, 0, 254, 255, 0, 0, 2, 2, 254, 0, 1, 0, 255, 127, 0};
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor xt = dt == DType::f64 ? Tensor::from_vector(x, {int64_t(x.size())})
                                 : Tensor::from_vector(std::vector<float>(x.begin(), x.end()),
                                                       {int64_t(x.size())});
    Tensor q = Tensor::zeros({int64_t(x.size())}, DType::u8);
    ops::quantize_u8(xt, 1.0, 0.0, q);
    EXPECT_EQ(q.to_vector<uint8_t>(), want) << dtype_name(dt);
  }
  // with the frame scale: -1 -> 0, 1 -> 255, 0 -> 127.5 -> 128 (even), beyond clamps
  Tensor q = Tensor::zeros({5}, DType::u8);
  ops::quantize_u8(Tensor::from_vector<double>({-1, 1, 0, -3, 7}, {5}), kFrameScale, kFrameOffset, q);
  EXPECT_EQ(q.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255, 128, 0, 255}));
}

TEST(Quantize, FrameRoundTripIsExact) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = uint8_t(i);
  const Tensor q = Tensor::from_vector(all, {16, 16});
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = Tensor::zeros({16, 16}, dt), back = Tensor::zeros({16, 16}, DType::u8);
    ops::dequantize_u8(q, kFrameScale, kFrameOffset, x);
    const std::vector<double> xv = to_host_f64(x);
    EXPECT_EQ(xv.front(), -1.0);
    for (int i = 0; i < 256; ++i)
      EXPECT_NEAR(xv[i], i * 2.0 / 255 - 1, dt == DType::f32 ? 6e-8 : 4.5e-16) << i;
    ops::quantize_u8(x, kFrameScale, kFrameOffset, back);
    EXPECT_EQ(back.to_vector<uint8_t>(), all) << dtype_name(dt);
  }
}

TEST(Quantize, Errors) {
  Tensor q = Tensor::zeros({4}, DType::u8), x = Tensor::zeros({4}, DType::f32);
  EXPECT_THROW(ops::quantize_u8(x, 0.0, 0.0, q), Error);
  EXPECT_THROW(ops::dequantize_u8(q, std::nan(""), 0.0, x), Error);
  EXPECT_THROW(ops::dequantize_u8(q, 1.0, INFINITY, x), Error);
  Tensor x5 = Tensor::zeros({5}, DType::f32), qi = Tensor::zeros({4}, DType::i32);
  EXPECT_THROW(ops::dequantize_u8(q, 1.0, 0.0, x5), Error);  // shapes differ
  EXPECT_THROW(ops::dequantize_u8(qi, 1.0, 0.0, x), Error);  // q not u8
  Tensor xi = Tensor::zeros({4}, DType::i32);
  EXPECT_THROW(ops::quantize_u8(xi, 1.0, 0.0, q), Error);  // x not f32 / f64
}

}  // namespace
}  // namespace naqs
