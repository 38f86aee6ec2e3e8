// CUDA twin of host/ops/resample.hpp: the block sum (2x2 average pooling, the upsampling's
// backward) and the broadcast (nearest upsampling, the pooling's backward), one thread per
// output element, each through the same NAQS_HD element function as the CPU (bit-equal).
// Parity tests: tests/op_cases/resample.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/resample.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void block_sum_kernel(const T* big, ResampleDims d, double scale, T* small,
                                 bool accumulate) {
  const int64_t n = d.planes * d.h * d.w;
  for (int64_t o = first_index(); o < n; o += grid_stride()) {
    const int64_t p = o / (d.h * d.w), i = (o / d.w) % d.h, j = o % d.w;
    small[o] = block_sum_at(big + p * 4 * d.h * d.w, d.w, i, j, scale,
                            accumulate ? small + o : nullptr);
  }
}

template <class T>
__global__ void broadcast_kernel(const T* small, ResampleDims d, double scale, T* big,
                                 bool accumulate) {
  const int64_t n = d.planes * 4 * d.h * d.w;
  for (int64_t o = first_index(); o < n; o += grid_stride()) {
    const int64_t p = o / (4 * d.h * d.w), h = (o / (2 * d.w)) % (2 * d.h), w = o % (2 * d.w);
    big[o] = broadcast_at(small + p * d.h * d.w, d.w, h, w, scale, accumulate ? big + o : nullptr);
  }
}

}  // namespace

void resample_block_sum_cuda(const Tensor& big, const ResampleDims& d, double scale, Tensor& small,
                             bool accumulate) {
  use_device_of(big);
  dispatch_float(big.dtype(), "resample_block_sum_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(small.numel()), kBlock, 0, block_sum_kernel<T>)(
        big.data<T>(), d, scale, small.data<T>(), accumulate);
  });
}

void resample_broadcast_cuda(const Tensor& small, const ResampleDims& d, double scale, Tensor& big,
                             bool accumulate) {
  use_device_of(small);
  dispatch_float(small.dtype(), "resample_broadcast_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(big.numel()), kBlock, 0, broadcast_kernel<T>)(
        small.data<T>(), d, scale, big.data<T>(), accumulate);
  });
}

}  // namespace naqs::ops::detail
