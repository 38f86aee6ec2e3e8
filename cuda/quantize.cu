// CUDA twin of host/ops/quantize.hpp: u8 <-> float, one thread per element through the same
// NAQS_HD element functions as the CPU (bit-equal). Parity tests: tests/op_cases/quantize.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/quantize.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void dequantize_u8_kernel(const uint8_t* q, double scale, double offset, T* x,
                                     int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    x[i] = static_cast<T>(dequantize_u8_value(q[i], scale, offset));
}

template <class T>
__global__ void quantize_u8_kernel(const T* x, double scale, double offset, uint8_t* q,
                                   int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    q[i] = quantize_u8_value(double(x[i]), scale, offset);
}

}  // namespace

void dequantize_u8_cuda(const Tensor& q, double scale, double offset, Tensor& x) {
  use_device_of(q);
  const int64_t n = q.numel();
  dispatch_float(x.dtype(), "dequantize_u8_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, dequantize_u8_kernel<T>)(
        q.data<uint8_t>(), scale, offset, x.data<T>(), n);
  });
}

void quantize_u8_cuda(const Tensor& x, double scale, double offset, Tensor& q) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "quantize_u8_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, quantize_u8_kernel<T>)(
        x.data<T>(), scale, offset, q.data<uint8_t>(), n);
  });
}

}  // namespace naqs::ops::detail
