// complex_unary: checks, CPU reference and dispatch (see complex_elementwise.hpp).
#include "host/ops/complex_elementwise.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

const char* complex_unary_name(ComplexUnary f) {
  return f == ComplexUnary::log_2cosh ? "log_2cosh" : "tanh";
}

void complex_unary(ComplexUnary f, const Tensor& x_re, const Tensor& x_im, Tensor& y_re,
                   Tensor& y_im) {
  const char* op = "complex_unary";
  const bool complex = x_im.defined();
  if (complex)
    check_float_alike(op, {&x_re, &x_im, &y_re, &y_im}, {"x_re", "x_im", "y_re", "y_im"});
  else
    check_float_alike(op, {&x_re, &y_re}, {"x_re", "y_re"});
  NAQS_CHECK(complex || !y_im.defined(), op, "(", complex_unary_name(f), "): y_im ", y_im.str(),
             " given for real x_re ", x_re.str(), " (pass an undefined y_im)");
  if (!x_re.device().is_cpu()) {
    NAQS_CUDA_BRANCH(op, detail::complex_unary_cuda(f, x_re, x_im, y_re, y_im));
    return;
  }
  dispatch_float(x_re.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xr = x_re.data<T>();
    const T* xi = complex ? x_im.data<T>() : nullptr;
    T* yr = y_re.data<T>();
    T* yi = complex ? y_im.data<T>() : nullptr;
    const int64_t n = x_re.numel();
    const bool log_cosh = f == ComplexUnary::log_2cosh;
#pragma omp parallel for if (n > kMinParallelElements)
    for (int64_t i = 0; i < n; ++i) {
      const double x = xr[i];
      if (!complex) {
        yr[i] = static_cast<T>(log_cosh ? real_log_2cosh(x) : std::tanh(x));
        continue;
      }
      double re, im;
      if (log_cosh)
        complex_log_2cosh(x, xi[i], re, im);
      else
        complex_tanh(x, xi[i], re, im);
      yr[i] = static_cast<T>(re);
      yi[i] = static_cast<T>(im);
    }
  });
}

}  // namespace naqs::ops
