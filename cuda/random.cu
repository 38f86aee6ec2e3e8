// CUDA twin of the random fills of host/ops/random.hpp, sharing the NAQS_HD Philox code of
// host/core/philox.hpp. Parity tests: tests/op_cases/random.cpp.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/core/philox.hpp"
#include "host/ops/random.hpp"

namespace naqs::ops::detail {

// ---- random fills: one thread per element (grid-stride), element i uses index offset + i ----

template <class T>
__global__ void fill_uniform_kernel(T* x, int64_t n, uint64_t seed, uint64_t stream,
                                    uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint64_t index = offset + static_cast<uint64_t>(i);
    if constexpr (sizeof(T) == 4)
      x[i] = philox_uniform_f32(seed, stream, index);
    else
      x[i] = philox_uniform_f64(seed, stream, index);
  }
}

template <class T>
__global__ void fill_normal_kernel(T* x, int64_t n, uint64_t seed, uint64_t stream,
                                   uint64_t offset, double mean, double stddev) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = static_cast<T>(
        philox_normal_f64(seed, stream, offset + static_cast<uint64_t>(i), mean, stddev));
}

void fill_uniform_cuda(void* x, DType x_dtype, int64_t n, uint64_t seed, uint64_t stream,
                       uint64_t offset) {
  if (n == 0) return;
  dispatch_float(x_dtype, "fill_uniform", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, fill_uniform_kernel<T>)(
        static_cast<T*>(x), n, seed, stream, offset);
  });
}

void fill_normal_cuda(void* x, DType x_dtype, int64_t n, uint64_t seed, uint64_t stream,
                      uint64_t offset, double mean, double stddev) {
  if (n == 0) return;
  dispatch_float(x_dtype, "fill_normal", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, fill_normal_kernel<T>)(
        static_cast<T*>(x), n, seed, stream, offset, mean, stddev);
  });
}

}  // namespace naqs::ops::detail
