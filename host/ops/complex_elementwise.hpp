// Elementwise functions of complex numbers stored as pairs of real tensors (re, im), the
// physics/ convention for complex values:
//   complex_unary(f, x_re, x_im, y_re, y_im)     y = f(x) elementwise
//       f = log_2cosh:  log(2 cosh z)   (the RBM's hidden-unit sum; principal branch of
//                        log(1 + e^{-2z}) after z -> -z for Re z < 0, cosh being even)
//       f = tanh:       tanh z          (d log(2 cosh z) / dz)
//   x_im undefined: real arguments, y_im must be undefined too and the real formulas are used.
// All tensors contiguous, of one shape, dtype (f32/f64) and device; y may alias x. Evaluated in
// double for both dtypes and rounded once. The formulas (complex_log_2cosh, complex_tanh,
// real_log_2cosh below, NAQS_HD) are shared by the CPU loop, the CUDA kernel and the RBM's host
// fast-ratio path:
//   real log 2cosh x  = |x| + log1p(e^{-2|x|})
//   complex, z = x + iy with x >= 0 (else z -> -z), e = e^{-2x}, c = cos 2y, s = sin 2y:
//     Re log 2cosh z  = x + log(hypot(1 + ec, es))       (1 + e^{-2z} = 1 + ec - i es)
//     Im log 2cosh z  = y + atan2(-es, 1 + ec)           (1 + ec > 0: one branch for x >= 0)
//   complex tanh (glibc's ctanh): sh = sinh x, ch = cosh x, den = sh^2 + cos^2 y:
//     tanh z = (sh ch + i sin y cos y) / den; for |x| > 354 (sh^2 would overflow):
//     (sign x, 4 sin y cos y e^{-2|x|}).
// Errors: shapes, dtypes, devices, or y_im given for real x (Error naming the op and tensor).
// CUDA twin: cuda/complex_elementwise.cu. Tests: tests/unit/test_complex_elementwise.cpp (vs
// std::complex, 1e-15 relative + 1e-15: both are accurate to a few ulp; the derivative
// relation d log 2cosh / dz = tanh by central differences); tests/op_cases/
// complex_elementwise.cpp (CUDA's exp/log1p/sin/cos/sinh/cosh/atan2 are within
// 2 ulp of glibc's: f64 within 1e-14 relative to max(1, |y|), f32 within 2 ulp).
#pragma once
#include <cmath>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

enum class ComplexUnary { log_2cosh, tanh };
void complex_unary(ComplexUnary f, const Tensor& x_re, const Tensor& x_im, Tensor& y_re,
                   Tensor& y_im);
const char* complex_unary_name(ComplexUnary f);  // "log_2cosh" | "tanh"

NAQS_HD double real_log_2cosh(double x) {
  const double ax = x < 0 ? -x : x;
  return ax + std::log1p(std::exp(-2.0 * ax));
}

NAQS_HD void complex_log_2cosh(double x, double y, double& out_re, double& out_im) {
  if (x < 0) {
    x = -x;
    y = -y;
  }
  const double e = std::exp(-2.0 * x), c = std::cos(2.0 * y), s = std::sin(2.0 * y);
  out_re = x + std::log(std::hypot(1.0 + e * c, e * s));
  out_im = y + std::atan2(-e * s, 1.0 + e * c);
}

NAQS_HD void complex_tanh(double x, double y, double& out_re, double& out_im) {
  const double sy = std::sin(y), cy = std::cos(y);
  if ((x < 0 ? -x : x) > 354.0) {
    out_re = x < 0 ? -1.0 : 1.0;
    out_im = 4.0 * sy * cy * std::exp(-2.0 * (x < 0 ? -x : x));
    return;
  }
  const double sh = std::sinh(x), ch = std::cosh(x);
  const double den = sh * sh + cy * cy;
  out_re = sh * ch / den;
  out_im = sy * cy / den;
}

namespace detail {
void complex_unary_cuda(ComplexUnary f, const Tensor& x_re, const Tensor& x_im, Tensor& y_re,
                        Tensor& y_im);
}  // namespace detail

}  // namespace naqs::ops
