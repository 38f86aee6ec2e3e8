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

using detail::MaskedSoftmaxDims;

// One row: z_j = x_j + mask_j (mask_stride 0: one value for the row) over the visible keys
// j < visible; y = 0 for the rest and for a row with no finite z.
template <class T>
void masked_softmax_row(const T* x, const T* mask, int64_t mask_stride, int64_t n,
                        int64_t visible, T* y) {
  auto z = [&](int64_t j) {
    return double(x[j]) + (mask != nullptr ? double(mask[j * mask_stride]) : 0.0);
  };
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < visible; ++j) m = std::max(m, z(j));
  if (m == -std::numeric_limits<double>::infinity()) {
    for (int64_t j = 0; j < n; ++j) y[j] = T(0);
    return;
  }
  double s = 0;
  for (int64_t j = 0; j < visible; ++j) s += std::exp(z(j) - m);
  for (int64_t j = 0; j < n; ++j)  // reads x[j] before writing y[j]: y may alias x
    y[j] = static_cast<T>(j < visible ? std::exp(z(j) - m) / s : 0.0);
}

MaskedSoftmaxDims masked_softmax_dims(const char* op, const Tensor& x, const SoftmaxMask& mask) {
  MaskedSoftmaxDims d{};
  d.rank = x.rank();
  if (d.rank < 1) throw Error(cat(op, ": x ", x.str(), " has rank 0"));
  for (int k = 0; k < d.rank; ++k) d.dims[k] = x.size(k);
  d.n_keys = x.size(-1);
  d.n_queries = d.rank >= 2 ? x.size(-2) : 1;
  d.rows = d.n_keys > 0 ? x.numel() / d.n_keys : 0;
  d.causal = mask.causal;
  d.query_offset = mask.query_offset;
  if (mask.query_offset < 0)
    throw Error(cat(op, ": query_offset ", mask.query_offset, " must be >= 0"));
  d.has_mask = mask.additive.defined();
  if (!d.has_mask) return d;
  const Tensor& a = mask.additive;
  check_contiguous(op, a, "mask.additive");
  check_same_device(op, {&x, &a});
  check_same_dtype(op, {&x, &a});
  bool ok = a.rank() <= d.rank;
  int64_t stride = 1;
  for (int k = d.rank - 1; ok && k >= 0; --k) {
    const int ka = k - (d.rank - a.rank());
    const int64_t size = ka >= 0 ? a.size(ka) : 1;
    ok = size == d.dims[k] || size == 1;
    d.mask_strides[k] = size == 1 ? 0 : stride;
    stride *= size;
  }
  if (!ok)
    throw Error(cat(op, ": additive mask ", a.str(), " does not broadcast to x ", x.str(),
                    " (each dim, aligned from the right, equal to x's or 1)"));
  return d;
}

}  // namespace

void masked_softmax(const Tensor& x, const SoftmaxMask& mask, Tensor& y) {
  const char* op = "masked_softmax";
  check_float_alike(op, {&x, &y}, {"x", "y"});
  const MaskedSoftmaxDims d = masked_softmax_dims(op, x, mask);
  if (x.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      const T* pm = d.has_mask ? mask.additive.data<T>() : nullptr;
      T* py = y.data<T>();
#pragma omp parallel for if (x.numel() > kMinParallelElements)
      for (int64_t r = 0; r < d.rows; ++r)
        masked_softmax_row(px + r * d.n_keys,
                           pm != nullptr ? pm + detail::masked_softmax_mask_offset(d, r) : nullptr,
                           d.mask_strides[d.rank - 1], d.n_keys,
                           detail::masked_softmax_visible_keys(d, r), py + r * d.n_keys);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::masked_softmax_cuda(x, mask.additive, d, y));
  }
}

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
