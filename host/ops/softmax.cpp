#include "host/ops/softmax.hpp"

#include <cmath>
#include <limits>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

template <class T>
void softmax_row(const AxisRow<const T>& x, int64_t n, bool log, const AxisRow<T>& y) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(x[j]));
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
  const double log_s = std::log(s);
  for (int64_t j = 0; j < n; ++j)  // reads x[j] before writing y[j]: y may alias x
    y[j] = static_cast<T>(log ? x[j] - m - log_s : std::exp(x[j] - m) / s);
}

template <class T>
void softmax_backward_row(const AxisRow<const T>& y, const AxisRow<const T>& dy, int64_t n,
                          bool log, const AxisRow<T>& dx) {
  double s = 0;  // log: sum dy; softmax: sum dy*y
  for (int64_t j = 0; j < n; ++j) s += log ? dy[j] : static_cast<double>(dy[j]) * y[j];
  for (int64_t j = 0; j < n; ++j)
    dx[j] =
        static_cast<T>(log ? dy[j] - std::exp(static_cast<double>(y[j])) * s : y[j] * (dy[j] - s));
}

void softmax_cpu(const Tensor& x, const AxisSplit& s, bool log, Tensor& y) {
  dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for collapse(2) if (x.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        softmax_row(axis_row(px, s, o, i), s.n, log, axis_row(py, s, o, i));
  });
}

void softmax_backward_cpu(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                          Tensor& dx) {
  dispatch_float(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* py = y.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) if (y.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        softmax_backward_row(axis_row(py, s, o, i), axis_row(pdy, s, o, i), s.n, log,
                             axis_row(pdx, s, o, i));
  });
}

void softmax_any(const char* op, const Tensor& x, int axis, bool log, Tensor& y) {
  check_float_alike(op, {&x, &y}, {"x", "y"});
  const AxisSplit s = split_axis(op, x, axis);
  if (x.device().is_cpu()) {
    softmax_cpu(x, s, log, y);
  } else {
    NAQS_CUDA_BRANCH(op, detail::softmax_cuda(x, s, log, y));
  }
}

void softmax_backward_any(const char* op, const Tensor& y, const Tensor& dy, int axis, bool log,
                          Tensor& dx) {
  check_float_alike(op, {&y, &dy, &dx}, {"y", "dy", "dx"});
  const AxisSplit s = split_axis(op, y, axis);
  if (y.device().is_cpu()) {
    softmax_backward_cpu(y, dy, s, log, dx);
  } else {
    NAQS_CUDA_BRANCH(op, detail::softmax_backward_cuda(y, dy, s, log, dx));
  }
}

}  // namespace

void softmax(const Tensor& x, int axis, Tensor& y) { softmax_any("softmax", x, axis, false, y); }

void log_softmax(const Tensor& x, int axis, Tensor& y) {
  softmax_any("log_softmax", x, axis, true, y);
}

void softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx) {
  softmax_backward_any("softmax_backward", y, dy, axis, false, dx);
}

void log_softmax_backward(const Tensor& y, const Tensor& dy, int axis, Tensor& dx) {
  softmax_backward_any("log_softmax_backward", y, dy, axis, true, dx);
}

}  // namespace naqs::ops
