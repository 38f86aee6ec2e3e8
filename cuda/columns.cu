// CUDA twin of put_columns (host/ops/columns.hpp; checks and the CPU reference in columns.cpp):
// one thread per element, grid-stride. Parity: tests/op_cases/columns.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/columns.hpp"

namespace naqs::ops::detail {
namespace {

// Products that are never contracted into a fused multiply-add with the following addition,
// so CUDA rounds exactly as the CPU loop (multiply, round, add, round).
__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }

template <class T>
__global__ void put_columns_kernel(const T* src, T* dst, int64_t rows, int64_t c, int64_t d,
                                   int64_t col, T alpha, bool accumulate) {
  NAQS_GRID_STRIDE(i, rows * c) {
    const int64_t r = i / c, j = i % c;
    T* out = dst + r * d + col + j;
    const T value = mul_rn(alpha, src[i]);
    *out = accumulate ? *out + value : value;
  }
}

}  // namespace

void put_columns_cuda(const Tensor& src, Tensor& dst, int64_t col, double alpha,
                      bool accumulate) {
  use_device_of(src);
  const int64_t rows = src.size(0), c = src.size(1), d = dst.size(1);
  dispatch_float(src.dtype(), "put_columns_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(rows * c), kBlock, 0, put_columns_kernel<T>)(
        src.data<T>(), dst.data<T>(), rows, c, d, col, static_cast<T>(alpha), accumulate);
  });
}

}  // namespace naqs::ops::detail
