// CUDA twin of complex_unary (host/ops/complex_elementwise.hpp; checks and the CPU reference in
// complex_elementwise.cpp): one thread per element, grid-stride, the shared NAQS_HD formulas.
// Parity: tests/op_cases/complex_elementwise.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/complex_elementwise.hpp"

namespace naqs::ops::detail {
namespace {

template <class T, bool LogCosh>
__global__ void complex_unary_kernel(const T* xr, const T* xi, T* yr, T* yi, int64_t n) {
  NAQS_GRID_STRIDE(i, n) {
    const double x = static_cast<double>(xr[i]);
    if (xi == nullptr) {
      yr[i] = static_cast<T>(LogCosh ? real_log_2cosh(x) : tanh(x));
      continue;
    }
    double re, im;
    if (LogCosh)
      complex_log_2cosh(x, static_cast<double>(xi[i]), re, im);
    else
      complex_tanh(x, static_cast<double>(xi[i]), re, im);
    yr[i] = static_cast<T>(re);
    yi[i] = static_cast<T>(im);
  }
}

}  // namespace

void complex_unary_cuda(ComplexUnary f, const Tensor& x_re, const Tensor& x_im, Tensor& y_re,
                        Tensor& y_im) {
  const int64_t n = x_re.numel();
  if (n == 0) return;
  use_device_of(x_re);
  const bool complex = x_im.defined();
  dispatch_float(x_re.dtype(), "complex_unary_cuda", [&](auto tag) {
    using T = decltype(tag);
    const T* xi = complex ? x_im.data<T>() : nullptr;
    T* yi = complex ? y_im.data<T>() : nullptr;
    if (f == ComplexUnary::log_2cosh)
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, complex_unary_kernel<T, true>)(
          x_re.data<T>(), xi, y_re.data<T>(), yi, n);
    else
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, complex_unary_kernel<T, false>)(
          x_re.data<T>(), xi, y_re.data<T>(), yi, n);
  });
}

}  // namespace naqs::ops::detail
