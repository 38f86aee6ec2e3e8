// CUDA twin of host/ops/reduce.hpp: sum, mean, max, logsumexp along an axis and their
// backwards, one block per row, in double. Parity tests: tests/op_cases/reduce.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/reduce.hpp"

namespace naqs::ops::detail {
namespace {

// ---- reductions / softmax (one block per row) ---------------------------------------------
template <class T>
__global__ void reduce_kernel(Reduce kind, const T* x, T* out, int64_t rows, int64_t n,
                              int64_t inner) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + row_start(r, n, inner);
    double v;
    if (kind == Reduce::sum || kind == Reduce::mean) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += double(row[j * inner]);
      s = block_reduce(s, SumOp{});
      v = kind == Reduce::mean ? s / double(n) : s;
    } else {
      v = row_max(row, n, inner);
      if (kind == Reduce::logsumexp && !isinf(v)) v += log(row_sum_exp(row, n, inner, v));
    }
    if (threadIdx.x == 0) out[r] = static_cast<T>(v);
  }
}

template <class T>
__global__ void reduce_backward_kernel(Reduce kind, const T* x, const T* out, const T* dout, T* dx,
                                       int64_t rows, int64_t n, int64_t inner) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    const T* row = x + start;
    T* drow = dx + start;
    const double g = dout[r];
    if (kind == Reduce::max) {
      const double m = row_max(row, n, inner);
      double first = HUGE_VAL;  // first argmax
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        if (double(row[j * inner]) == m) first = fmin(first, double(j));
      first = block_reduce(first, MinOp{});
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        drow[j * inner] = static_cast<T>(double(j) == first ? g : 0.0);
    } else {
      const double o = out[r];
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        double d = g;
        if (kind == Reduce::mean) d = g / double(n);
        if (kind == Reduce::logsumexp) d = exp(double(row[j * inner]) - o) * g;
        drow[j * inner] = static_cast<T>(d);
      }
    }
  }
}

}  // namespace

// ---- reductions / softmax ----------------------------------------------------------------
void reduce_cuda(Reduce kind, const Tensor& x, const AxisSplit& s, Tensor& out) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0) return;
  dispatch_float(x.dtype(), "reduce_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(rows), block_for_row(s.n), 0, reduce_kernel<T>)(
        kind, x.data<T>(), out.data<T>(), rows, s.n, s.inner);
  });
}

void reduce_backward_cuda(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout,
                          const AxisSplit& s, Tensor& dx) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(x.dtype(), "reduce_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(rows), block_for_row(s.n), 0, reduce_backward_kernel<T>)(
        kind, x.data<T>(), out.data<T>(), dout.data<T>(), dx.data<T>(), rows, s.n, s.inner);
  });
}

}  // namespace naqs::ops::detail
