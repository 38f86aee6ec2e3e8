// CUDA twin of host/ops/softmax.hpp: softmax / log-softmax along an axis and the backward, and
// the masked (additive / causal) softmax over the last dim; one block per row, in double.
// Parity tests: tests/op_cases/softmax.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/softmax.hpp"

namespace naqs::ops::detail {
namespace {

// y may alias x: each thread reads x[j] (after the block-wide max and sum) before writing y[j].
template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t n, int64_t inner,
                               bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    const double m = row_max(x + start, n, inner);
    const double s = row_sum_exp(x + start, n, inner, m);
    const double log_s = log(s);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double v = double(x[start + j * inner]) - m;
      y[start + j * inner] = static_cast<T>(log_out ? v - log_s : exp(v) / s);
    }
  }
}

template <class T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t n,
                                        int64_t inner, bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    double s = 0;  // log: sum dy; softmax: sum dy*y
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double d = dy[start + j * inner];
      s += log_out ? d : d * double(y[start + j * inner]);
    }
    s = block_reduce(s, SumOp{});
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double yj = y[start + j * inner], d = dy[start + j * inner];
      dx[start + j * inner] = static_cast<T>(log_out ? d - exp(yj) * s : yj * (d - s));
    }
  }
}

// Masked softmax, rows of n contiguous keys; the same row logic as the CPU loop (softmax.cpp).
// y may alias x: each thread reads x[j] (after the block-wide max and sum) before writing y[j].
template <class T>
__global__ void masked_softmax_kernel(const T* x, const T* mask, MaskedSoftmaxDims d, T* y) {
  const int64_t n = d.n_keys, mask_stride = d.mask_strides[d.rank - 1];
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    const T* xr = x + r * n;
    const T* mr = mask != nullptr ? mask + masked_softmax_mask_offset(d, r) : nullptr;
    const int64_t visible = masked_softmax_visible_keys(d, r);
    auto z = [&](int64_t j) {
      return double(xr[j]) + (mr != nullptr ? double(mr[j * mask_stride]) : 0.0);
    };
    double m = -HUGE_VAL;
    for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) m = fmax(m, z(j));
    m = block_reduce(m, MaxOp{});
    T* yr = y + r * n;
    if (m == -HUGE_VAL) {  // every key masked: a zero row (block-uniform branch)
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = T(0);
      continue;
    }
    double s = 0;
    for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) s += exp(z(j) - m);
    s = block_reduce(s, SumOp{});
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      yr[j] = static_cast<T>(j < visible ? exp(z(j) - m) / s : 0.0);
  }
}

}  // namespace

void masked_softmax_cuda(const Tensor& x, const Tensor& additive, const MaskedSoftmaxDims& d,
                         Tensor& y) {
  use_device_of(x);
  if (d.rows == 0) return;
  dispatch_float(x.dtype(), "masked_softmax_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(d.rows), block_for_row(d.n_keys), 0, masked_softmax_kernel<T>)(
        x.data<T>(), d.has_mask ? additive.data<T>() : nullptr, d, y.data<T>());
  });
}

void softmax_cuda(const Tensor& x, const AxisSplit& s, bool log, Tensor& y) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(x.dtype(), "softmax_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(rows), block_for_row(s.n), 0, softmax_kernel<T>)(
        x.data<T>(), y.data<T>(), rows, s.n, s.inner, log);
  });
}

void softmax_backward_cuda(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                           Tensor& dx) {
  use_device_of(y);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(y.dtype(), "softmax_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(rows), block_for_row(s.n), 0, softmax_backward_kernel<T>)(
        y.data<T>(), dy.data<T>(), dx.data<T>(), rows, s.n, s.inner, log);
  });
}

}  // namespace naqs::ops::detail
