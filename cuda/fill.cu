// CUDA twin of host/ops/fill.hpp: fill and cast.
// Parity tests: tests/op_cases/fill.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/fill.hpp"

namespace naqs::ops::detail {
namespace {

// ---- fill / cast -----------------------------------------------------------------------
template <class T>
__global__ void fill_kernel(T* x, T value, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) x[i] = value;
}

template <class S, class D>
__global__ void cast_kernel(const S* src, D* dst, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dst[i] = convert_value<D>(src[i]);
}

}  // namespace

// ---- fill / cast -----------------------------------------------------------------------
void fill_cuda(Tensor& x, double value) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, fill_kernel<T>)(
        x.data<T>(), convert_value<T>(value), n);
  });
}

void cast_cuda(const Tensor& src, Tensor& dst) {
  use_device_of(src);
  const int64_t n = src.numel();
  dispatch_all(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dst.dtype(), [&](auto dtag) {
      using D = decltype(dtag);
      NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, cast_kernel<S, D>)(
          src.data<S>(), dst.data<D>(), n);
    });
  });
}

}  // namespace naqs::ops::detail
