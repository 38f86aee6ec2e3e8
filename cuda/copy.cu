// CUDA twin of host/ops/copy.hpp: the same-device strided copy (dense-to-dense copies are one
// cudaMemcpy in host/ops/copy.cpp and never reach here). One thread per element of the collapsed
// plan (grid-stride loop, 64-bit indices): the element's index is split over up to six dims,
// most-significant first as the CPU reference does, and each side's offset summed from its
// strides. Parity and gradient cases: tests/op_cases/copy.cpp (exact).
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/copy.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void strided_copy_kernel(const T* src, T* dst, CollapsedDims p, int64_t n) {
  NAQS_GRID_STRIDE(i, n) {
    int64_t rest = i, so = 0, dof = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= p.rank) continue;
      const int64_t k = rest % p.size[d];
      rest /= p.size[d];
      so += k * p.stride[0][d];
      dof += k * p.stride[1][d];
    }
    dst[dof] = src[so];
  }
}

}  // namespace

void copy_cuda(const Tensor& src, Tensor& dst, const CollapsedDims& plan) {
  use_device_of(dst);
  const int64_t n = plan.numel();
  if (n == 0) return;
  dispatch_all(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), kBlock, 0, strided_copy_kernel<T>)(
        src.strided_data<T>(), dst.strided_data<T>(), plan, n);
  });
}

}  // namespace naqs::ops::detail
