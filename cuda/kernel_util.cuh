// Helpers shared by the CUDA twins of the ops (cuda/elementwise.cu, fill.cu, reduce.cu,
// softmax.cu, gather.cu, norm.cu, embedding.cu, columns.cu, ...): device selection, grid-stride
// indices, block reductions in double, and the block-per-row layout of an (outer, n, inner)
// array. Only .cu files include it. Bad-index / zero-row reporting: cuda/device_flag.cuh.
#pragma once
#include "cuda/check.cuh"
#include "host/core/tensor.hpp"

namespace naqs::ops::detail {

constexpr int kBlock = 256;

inline void use_device_of(const Tensor& t) { NAQS_CUDA_CHECK(cudaSetDevice(t.device().index)); }

// Grid-stride index helpers.
__device__ inline int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- block reductions (blockDim.x a multiple of 32, at most 1024) ------------------------
struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
  static constexpr double identity = 0.0;
};
struct MaxOp {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
  static constexpr double identity = -HUGE_VAL;
};
struct MinOp {
  __device__ double operator()(double a, double b) const { return a < b ? a : b; }
  static constexpr double identity = HUGE_VAL;
};

// Reduces v over the block; every thread gets the result.
template <class Op>
__device__ double block_reduce(double v, Op op) {
  __shared__ double warp_vals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int n_warps = blockDim.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < n_warps ? warp_vals[lane] : Op::identity;
    for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
    if (lane == 0) warp_vals[0] = v;
  }
  __syncthreads();
  v = warp_vals[0];
  __syncthreads();  // warp_vals may be reused by the next call
  return v;
}

// Block-per-row kernels over x viewed as (outer, n, inner): row r = o*inner + i holds the n
// elements x[o, j, i] (stride inner). Threads per block: a multiple of 32, <= 256, ~n.
inline int block_for_row(int64_t n) {
  int b = 32;
  while (b < kBlock && b < n) b *= 2;
  return b;
}
inline unsigned grid_for_rows(int64_t rows) {
  const int64_t cap = cuda_rt::grid_cap(1 << 20);
  return static_cast<unsigned>(rows < cap ? rows : cap);
}
__device__ inline int64_t row_start(int64_t r, int64_t n, int64_t inner) {
  return (r / inner) * n * inner + r % inner;
}

// Max and sum of exp(v - max) over a row, in double, known to every thread of the block.
template <class T>
__device__ double row_max(const T* row, int64_t n, int64_t inner) {
  double m = -HUGE_VAL;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, double(row[j * inner]));
  return block_reduce(m, MaxOp{});
}
template <class T>
__device__ double row_sum_exp(const T* row, int64_t n, int64_t inner, double m) {
  double s = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(double(row[j * inner]) - m);
  return block_reduce(s, SumOp{});
}

}  // namespace naqs::ops::detail
