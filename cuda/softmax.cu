// CUDA twin of host/ops/softmax.hpp: softmax / log-softmax along an axis and the backward,
// one block per row, in double. Parity tests: tests/gpu/test_parity_dense.cpp.
#include "cuda/kernel_util.cuh"
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

}  // namespace

void softmax_cuda(const Tensor& x, const AxisSplit& s, bool log, Tensor& y) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(x.dtype(), "softmax_cuda", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(x.data<T>(), y.data<T>(), rows,
                                                                   s.n, s.inner, log);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void softmax_backward_cuda(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                           Tensor& dx) {
  use_device_of(y);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(y.dtype(), "softmax_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(
        y.data<T>(), dy.data<T>(), dx.data<T>(), rows, s.n, s.inner, log);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace naqs::ops::detail
