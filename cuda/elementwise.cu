// CUDA twin of host/ops/elementwise.hpp: unary (and backward), binary, axpby, bias_add,
// bias_backward. The formulas live once in host/ops/elementwise_math.hpp (NAQS_HD).
// Parity tests: tests/op_cases/elementwise.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/elementwise.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops::detail {
namespace {

// ---- elementwise -----------------------------------------------------------------------
template <Unary F, class T>
__global__ void unary_kernel(const T* x, T* y, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = unary_value<F>(x[i]);
}

template <Unary F, class T>
__global__ void unary_backward_kernel(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    dx[i] = unary_derivative<F>(x[i]) * dy[i];
}

template <Binary F, class T>
__global__ void binary_kernel(const T* a, const T* b, T* c, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) c[i] = binary_value<F>(a[i], b[i]);
}

// A zero coefficient's operand is not read (as on the CPU).
template <class T>
__global__ void axpby_kernel(T alpha, const T* x, T beta, T* y, int64_t n, bool read_x,
                             bool read_y) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    y[i] = (read_x ? alpha * x[i] : T(0)) + (read_y ? beta * y[i] : T(0));
}

template <class T>
__global__ void bias_add_kernel(T* x, const T* bias, int64_t n_total, int64_t n, int64_t inner) {
  for (int64_t i = first_index(); i < n_total; i += grid_stride()) x[i] += bias[(i / inner) % n];
}

// One block per channel c: sums dy[o, c, i] over (o, i) in double.
template <class T>
__global__ void bias_backward_kernel(const T* dy, T* dbias, int64_t outer, int64_t n, int64_t inner,
                                     bool accumulate) {
  const int64_t c = blockIdx.x;
  double sum = 0;
  for (int64_t r = threadIdx.x; r < outer * inner; r += blockDim.x) {
    const int64_t o = r / inner, i = r % inner;
    sum += static_cast<double>(dy[(o * n + c) * inner + i]);
  }
  sum = block_reduce(sum, SumOp{});
  if (threadIdx.x == 0) dbias[c] = static_cast<T>(accumulate ? dbias[c] + sum : sum);
}

}  // namespace

// ---- elementwise -----------------------------------------------------------------------
void unary_cuda(Unary f, const Tensor& x, Tensor& y) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "unary_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_unary(f, [&](auto ft) {
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, unary_kernel<decltype(ft)::value, T>)(
          x.data<T>(), y.data<T>(), n);
    });
  });
}

void unary_backward_cuda(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "unary_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_unary(f, [&](auto ft) {
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, unary_backward_kernel<decltype(ft)::value, T>)(
          x.data<T>(), dy.data<T>(), dx.data<T>(), n);
    });
  });
}

void binary_cuda(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  use_device_of(a);
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), "binary_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_binary(f, [&](auto ft) {
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, binary_kernel<decltype(ft)::value, T>)(
          a.data<T>(), b.data<T>(), c.data<T>(), n);
    });
  });
}

void axpby_cuda(double alpha, const Tensor& x, double beta, Tensor& y) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "axpby_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, axpby_kernel<T>)(
        static_cast<T>(alpha), x.data<T>(), static_cast<T>(beta), y.data<T>(), n, alpha != 0.0,
        beta != 0.0);
  });
}

void bias_add_cuda(Tensor& x, const Tensor& bias, const AxisSplit& s) {
  use_device_of(x);
  const int64_t n_total = x.numel();
  if (n_total == 0) return;
  dispatch_float(x.dtype(), "bias_add_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n_total), kBlock, 0, bias_add_kernel<T>)(
        x.data<T>(), bias.data<T>(), n_total, s.n, s.inner);
  });
}

void bias_backward_cuda(const Tensor& dy, const AxisSplit& s, Tensor& dbias, bool accumulate) {
  use_device_of(dy);
  if (s.n == 0) return;
  dispatch_float(dy.dtype(), "bias_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(static_cast<unsigned>(s.n), kBlock, 0, bias_backward_kernel<T>)(
        dy.data<T>(), dbias.data<T>(), s.outer, s.n, s.inner, accumulate);
  });
}

}  // namespace naqs::ops::detail
