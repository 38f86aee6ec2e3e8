// u8 quantisation of images (Atari frames are stored as u8, the networks see floats):
//   dequantize_u8(q, scale, offset, x)   x = q * scale + offset       q u8, x f32 / f64
//   quantize_u8(x, scale, offset, q)     q = clamp(round_half_even((x - offset) / scale), 0, 255)
//                                        NaN -> 0, -inf -> 0, +inf -> 255
// Any shape (q and x of one shape, contiguous, one device). Frames use kFrameScale = 2/255 and
// kFrameOffset = -1 (u8 0..255 <-> [-1, 1]); the round trip q -> x -> q is exact for every u8
// value in f32 and f64. Both backends compute each element with the same NAQS_HD function in
// double: the dequantisation as one fused multiply-add fma(q, scale, offset) (correctly rounded
// everywhere, so nvcc's contraction cannot change it), the quantisation as (x - offset) / scale
// and rint() (round half to even in the default rounding mode): CPU and CUDA agree bit for bit.
// scale must be finite and nonzero and offset finite (an Error naming the value otherwise).
// CUDA twin in cuda/quantize.cu.
// Tests: tests/unit/test_quantize.cpp (the edges -inf, +inf, NaN, -0.5, 0.5, 254.5, 255.5,
// the exact round trip, errors); tests/op_cases/quantize.cpp (parity with tolerance 0).
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

inline constexpr double kFrameScale = 2.0 / 255.0;
inline constexpr double kFrameOffset = -1.0;

void dequantize_u8(const Tensor& q, double scale, double offset, Tensor& x);
void quantize_u8(const Tensor& x, double scale, double offset, Tensor& q);

namespace detail {
NAQS_HD double dequantize_u8_value(uint8_t q, double scale, double offset) {
  return fma(double(q), scale, offset);
}
NAQS_HD uint8_t quantize_u8_value(double x, double scale, double offset) {
  const double v = (x - offset) / scale;
  if (!(v > 0)) return 0;  // NaN, -inf and everything <= 0
  if (v >= 255) return 255;
  return static_cast<uint8_t>(rint(v));
}
void dequantize_u8_cuda(const Tensor& q, double scale, double offset, Tensor& x);
void quantize_u8_cuda(const Tensor& x, double scale, double offset, Tensor& q);
}  // namespace detail

}  // namespace naqs::ops
