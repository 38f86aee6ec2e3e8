// ops::complex_unary (host/ops/complex_elementwise.hpp) on the CPU: log(2 cosh z) and tanh z
// against std::complex (glibc) on a grid that covers both signs, |Re z| up to 40 and Im z over
// more than a period, within 1e-15 + 1e-15|ref| for log 2cosh (accurate to a few ulp, and
// std::log(2 cosh z) itself overflows beyond |Re z| ~ 700, so the grid stays below) and tanh;
// the real forms; the derivative relation d/dz log 2cosh z = tanh z by central differences
// (1e-8 + 1e-7|ref|: O(h^2) truncation, h = 1e-6); f32 = the f64 value rounded once; errors.
#include <gtest/gtest.h>

#include <complex>
#include <vector>

#include "host/core/error.hpp"
#include "host/ops/complex_elementwise.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using cplx = std::complex<double>;

// Away from the zeros of cosh (x = 0, y = pi/2 + k pi), where log 2cosh is ill-conditioned
// (condition ~ 1/|z - zero|) and neither evaluation is accurate to the digit.
std::vector<cplx> grid() {
  std::vector<cplx> z;
  for (double x : {-40.0, -3.0, -0.7, -1e-9, 0.0, 1e-9, 0.3, 1.0, 2.5, 19.0, 40.0})
    for (double y : {-4.0, -1.2, -0.4, 0.0, 1e-12, 0.9, 3.1, 7.0}) z.emplace_back(x, y);
  return z;
}

void eval(ops::ComplexUnary f, const std::vector<cplx>& z, std::vector<double>& re,
          std::vector<double>& im) {
  const int64_t n = static_cast<int64_t>(z.size());
  std::vector<double> xr(z.size()), xi(z.size());
  for (std::size_t k = 0; k < z.size(); ++k) {
    xr[k] = z[k].real();
    xi[k] = z[k].imag();
  }
  const Tensor x_re = Tensor::from_vector(xr, {n}), x_im = Tensor::from_vector(xi, {n});
  Tensor y_re = Tensor::empty({n}, DType::f64), y_im = Tensor::empty({n}, DType::f64);
  ops::complex_unary(f, x_re, x_im, y_re, y_im);
  re = y_re.to_vector<double>();
  im = y_im.to_vector<double>();
}

TEST(ComplexUnary, MatchesStdComplex) {
  const std::vector<cplx> z = grid();
  std::vector<double> lr, li, tr, ti;
  eval(ops::ComplexUnary::log_2cosh, z, lr, li);
  eval(ops::ComplexUnary::tanh, z, tr, ti);
  for (std::size_t k = 0; k < z.size(); ++k) {
    // log(2 cosh z) on the principal branch of log(1 + e^{-2z}) after z -> -z for Re z < 0.
    const cplx w = z[k].real() < 0 ? -z[k] : z[k];
    const cplx ref = w + std::log(1.0 + std::exp(-2.0 * w));
    EXPECT_NEAR(lr[k], ref.real(), 1e-15 + 1e-15 * std::abs(ref.real())) << z[k];
    EXPECT_NEAR(li[k], ref.imag(), 1e-15 + 1e-15 * std::abs(ref.imag())) << z[k];
    // exp(log 2cosh) = 2 cosh: the branch is a log of 2 cosh z (checked where cosh is finite).
    if (std::abs(z[k].real()) < 5) {
      const cplx back = std::exp(cplx(lr[k], li[k]));
      EXPECT_NEAR(std::abs(back - 2.0 * std::cosh(z[k])), 0.0, 1e-13 * std::abs(back)) << z[k];
    }
    const cplx t = std::tanh(z[k]);
    EXPECT_NEAR(tr[k], t.real(), 1e-15 + 1e-15 * std::abs(t.real())) << z[k];
    EXPECT_NEAR(ti[k], t.imag(), 1e-15 + 1e-15 * std::abs(t.imag())) << z[k];
  }
}

TEST(ComplexUnary, TanhIsTheDerivativeOfLog2Cosh) {
  const double h = 1e-6;
  for (const cplx& z : grid()) {
    // Central differences in x must not straddle x = 0, where the z -> -z flip changes the
    // branch of the imaginary part (by a multiple of 2 pi).
    if (std::abs(z.real()) > 20 || std::abs(z.real()) < 2 * h) continue;
    double pr, pi, mr, mi, tr, ti;
    ops::complex_log_2cosh(z.real() + h, z.imag(), pr, pi);
    ops::complex_log_2cosh(z.real() - h, z.imag(), mr, mi);
    ops::complex_tanh(z.real(), z.imag(), tr, ti);
    // Holomorphic: d/dz = d/dx. For x >= 0, 1 + e^{-2z} has a positive real part, so atan2
    // stays on one branch.
    EXPECT_NEAR((pr - mr) / (2 * h), tr, 1e-8 + 1e-7 * std::abs(tr)) << z;
    EXPECT_NEAR((pi - mi) / (2 * h), ti, 1e-8 + 1e-7 * std::abs(ti)) << z;
  }
}

TEST(ComplexUnary, RealFormsAndFloat32) {
  const std::vector<double> x{-30.0, -1.2, 0.0, 0.4, 17.0};
  const int64_t n = static_cast<int64_t>(x.size());
  const Tensor x64 = Tensor::from_vector(x, {n});
  Tensor y = Tensor::empty({n}, DType::f64), none;
  ops::complex_unary(ops::ComplexUnary::log_2cosh, x64, Tensor(), y, none);
  for (int64_t k = 0; k < n; ++k)
    EXPECT_NEAR(y.to_vector<double>()[k], std::log(2 * std::cosh(x[k])), 1e-14) << x[k];
  ops::complex_unary(ops::ComplexUnary::tanh, x64, Tensor(), y, none);
  for (int64_t k = 0; k < n; ++k) EXPECT_EQ(y.to_vector<double>()[k], std::tanh(x[k]));
  std::vector<float> xf(x.begin(), x.end());
  const Tensor x32 = Tensor::from_vector(xf, {n});
  Tensor y32 = Tensor::empty({n}, DType::f32);
  ops::complex_unary(ops::ComplexUnary::log_2cosh, x32, Tensor(), y32, none);
  for (int64_t k = 0; k < n; ++k)
    EXPECT_EQ(y32.to_vector<float>()[k],
              static_cast<float>(ops::real_log_2cosh(static_cast<double>(xf[k]))));
}

TEST(ComplexUnary, Refusals) {
  const Tensor x = Tensor::zeros({3}, DType::f64);
  Tensor y = Tensor::empty({3}, DType::f64), y_im = Tensor::empty({3}, DType::f64);
  EXPECT_THROW(ops::complex_unary(ops::ComplexUnary::tanh, x, Tensor(), y, y_im), Error);
  Tensor short_y = Tensor::empty({2}, DType::f64);
  Tensor none;
  EXPECT_THROW(ops::complex_unary(ops::ComplexUnary::tanh, x, Tensor(), short_y, none), Error);
  Tensor f32 = Tensor::empty({3}, DType::f32);
  EXPECT_THROW(ops::complex_unary(ops::ComplexUnary::tanh, x, x, f32, y_im), Error);
}

}  // namespace
}  // namespace naqs
