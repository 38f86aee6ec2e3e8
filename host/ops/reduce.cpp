#include "host/ops/reduce.hpp"

#include <cmath>
#include <limits>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

template <class T>
double row_max(const AxisRow<const T>& x, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(x[j]));
  return m;
}

template <class T>
double reduce_row(Reduce kind, const AxisRow<const T>& x, int64_t n) {
  if (kind == Reduce::max) return row_max(x, n);
  if (kind == Reduce::logsumexp) {
    const double m = row_max(x, n);
    if (std::isinf(m)) return m;  // all -inf (or a +inf): the shift would give NaN
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
    return m + std::log(s);
  }
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += x[j];
  return kind == Reduce::mean ? s / static_cast<double>(n) : s;
}

template <class T>
void reduce_backward_row(Reduce kind, const AxisRow<const T>& x, double out, double dout, int64_t n,
                         const AxisRow<T>& dx) {
  switch (kind) {
    case Reduce::sum:
      for (int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(dout);
      break;
    case Reduce::mean:
      for (int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(dout / static_cast<double>(n));
      break;
    case Reduce::max: {
      // The first position holding the forward's max, as the CUDA kernel picks it: NaN never
      // does (max skips NaN, like CUDA's fmax), so a row of NaN gets no gradient.
      const double m = row_max(x, n);
      int64_t arg = -1;
      for (int64_t j = 0; j < n && arg < 0; ++j)
        if (static_cast<double>(x[j]) == m) arg = j;
      for (int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(j == arg ? dout : 0.0);
      break;
    }
    case Reduce::logsumexp:
      for (int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(std::exp(x[j] - out) * dout);
      break;
  }
}

void reduce_cpu(Reduce kind, const Tensor& x, const AxisSplit& s, Tensor& out) {
  dispatch_float(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for collapse(2) if (x.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        po[o * s.inner + i] = static_cast<T>(reduce_row(kind, axis_row(px, s, o, i), s.n));
  });
}

void reduce_backward_cpu(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout,
                         const AxisSplit& s, Tensor& dx) {
  dispatch_float(x.dtype(), "reduce_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pout = out.data<T>();
    const T* pdout = dout.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) if (x.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        reduce_backward_row(kind, axis_row(px, s, o, i), pout[o * s.inner + i],
                            pdout[o * s.inner + i], s.n, axis_row(pdx, s, o, i));
  });
}

AxisSplit check_reduce(const char* op, Reduce kind, const Tensor& x, int axis) {
  check_defined(op, x, "x");
  check_contiguous(op, x, "x");
  dispatch_float(x.dtype(), op, [](auto) {});
  const AxisSplit s = split_axis(op, x, axis);
  if (s.n == 0 && kind != Reduce::sum)
    throw Error(cat(op, ": ", reduce_name(kind), " over the empty axis ", axis, " of ", x.str()));
  return s;
}

}  // namespace

const char* reduce_name(Reduce kind) {
  static const char* const names[] = {"sum", "mean", "max", "logsumexp"};
  return names[static_cast<int>(kind)];
}

Shape reduced_shape(const Tensor& x, int axis) {
  const AxisSplit s = split_axis("reduced_shape", x, axis);
  if (x.rank() == 1) return Shape{1};
  Shape out;
  out.rank = x.rank() - 1;
  for (int d = 0, k = 0; d < x.rank(); ++d)
    if (d != s.axis) out[k++] = x.size(d);
  return out;
}

void reduce(Reduce kind, const Tensor& x, int axis, Tensor& out) {
  const AxisSplit s = check_reduce("reduce", kind, x, axis);
  check_defined("reduce", out, "out");
  check_contiguous("reduce", out, "out");
  check_same_device("reduce", {&x, &out});
  check_same_dtype("reduce", {&x, &out});
  check_shape("reduce", out, reduced_shape(x, axis), "out");
  if (x.device().is_cpu()) {
    reduce_cpu(kind, x, s, out);
  } else {
    NAQS_CUDA_BRANCH("reduce", detail::reduce_cuda(kind, x, s, out));
  }
}

void reduce_backward(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout, int axis,
                     Tensor& dx) {
  const char* op = "reduce_backward";
  const AxisSplit s = check_reduce(op, kind, x, axis);
  check_defined(op, out, "out");
  check_contiguous(op, out, "out");
  check_defined(op, dout, "dout");
  check_contiguous(op, dout, "dout");
  check_defined(op, dx, "dx");
  check_contiguous(op, dx, "dx");
  check_same_device(op, {&x, &out, &dout, &dx});
  check_same_dtype(op, {&x, &out, &dout, &dx});
  const Shape reduced = reduced_shape(x, axis);
  check_shape(op, out, reduced, "out");
  check_shape(op, dout, reduced, "dout");
  check_shape(op, dx, x.shape(), "dx");
  if (x.device().is_cpu()) {
    reduce_backward_cpu(kind, x, out, dout, s, dx);
  } else {
    NAQS_CUDA_BRANCH(op, detail::reduce_backward_cuda(kind, x, out, dout, s, dx));
  }
}

}  // namespace naqs::ops
