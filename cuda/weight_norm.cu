// CUDA twin of the weight-normalisation op (host/ops/weight_norm.hpp, whose .cpp holds the
// checks and the CPU reference). One warp per row: the lanes sum strided elements in double,
// a fixed shuffle tree combines them and lane 0's total is broadcast, so every lane uses the
// same bits and the result does not depend on the launch. A zero direction is recorded (first
// row, atomicMin) and reported by the host. Parity: tests/op_cases/weight_norm.cpp.
#include "cuda/device_flag.cuh"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/weight_norm.hpp"

namespace naqs::ops::detail {
namespace {

constexpr int kRowsPerBlock = kBlock / 32;  // one warp per row

__device__ double warp_sum(double x) {
  for (int off = 16; off > 0; off >>= 1) x += __shfl_down_sync(0xffffffffu, x, off);
  return __shfl_sync(0xffffffffu, x, 0);
}

template <class T>
__device__ double row_norm(const T* v, int64_t f, int lane) {
  double norm2 = 0;
  for (int64_t m = lane; m < f; m += 32) {
    const double x = static_cast<double>(v[m]);
    norm2 += x * x;
  }
  return sqrt(warp_sum(norm2));
}

unsigned blocks_for(int64_t rows) {
  return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
}

template <class T>
__global__ void weight_norm_forward_kernel(const T* v, const T* g, T* w, int64_t rows, int64_t f,
                                           unsigned long long* bad) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;  // the whole warp: rows are whole warps
  const T* vr = v + row * f;
  const double norm = row_norm(vr, f, lane);
  if (!(norm > 0)) {
    if (lane == 0) atomicMin(bad, static_cast<unsigned long long>(row));
    return;
  }
  const double go = static_cast<double>(g[row]);
  for (int64_t m = lane; m < f; m += 32)
    w[row * f + m] = static_cast<T>(go * weight_norm_unit(static_cast<double>(vr[m]), norm));
}

template <class T>
__global__ void weight_norm_backward_kernel(const T* v, const T* g, const T* dw, T* dv, T* dg,
                                            int64_t rows, int64_t c_out, int64_t f,
                                            bool accumulate, unsigned long long* bad) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int64_t o = row % c_out;
  const T* vo = v + o * f;
  const T* d = dw + row * f;
  const double norm = row_norm(vo, f, lane);
  if (!(norm > 0)) {
    if (lane == 0) atomicMin(bad, static_cast<unsigned long long>(row));
    return;
  }
  double dot = 0;
  for (int64_t m = lane; m < f; m += 32)
    dot += static_cast<double>(d[m]) * weight_norm_unit(static_cast<double>(vo[m]), norm);
  dot = warp_sum(dot);
  const double g_over_norm = static_cast<double>(g[o]) / norm;
  T* out = dv + row * f;
  for (int64_t m = lane; m < f; m += 32) {
    const double value = weight_norm_dv(g_over_norm, static_cast<double>(d[m]), dot,
                                        weight_norm_unit(static_cast<double>(vo[m]), norm));
    out[m] = static_cast<T>(accumulate ? static_cast<double>(out[m]) + value : value);
  }
  if (lane == 0) dg[row] = static_cast<T>(accumulate ? static_cast<double>(dg[row]) + dot : dot);
}

}  // namespace

int64_t weight_norm_forward_cuda(const Tensor& v, const Tensor& g, Tensor& w) {
  const int64_t rows = v.size(0), f = v.size(1);
  if (rows == 0) return -1;
  use_device_of(v);
  return cuda_rt::first_flagged(v.device(), [&](unsigned long long* bad) {
    dispatch_float(v.dtype(), "weight_norm_forward_cuda", [&](auto tag) {
      using T = decltype(tag);
      NAQS_LAUNCH(blocks_for(rows), kBlock, 0, weight_norm_forward_kernel<T>)(
          v.data<T>(), g.data<T>(), w.data<T>(), rows, f, bad);
    });
  });
}

int64_t weight_norm_backward_cuda(const Tensor& v, const Tensor& g, const Tensor& dw, Tensor& dv,
                                  Tensor& dg, int64_t rows, bool accumulate) {
  const int64_t c_out = v.size(0), f = v.size(1);
  if (rows == 0) return -1;
  use_device_of(v);
  return cuda_rt::first_flagged(v.device(), [&](unsigned long long* bad) {
    dispatch_float(v.dtype(), "weight_norm_backward_cuda", [&](auto tag) {
      using T = decltype(tag);
      NAQS_LAUNCH(blocks_for(rows), kBlock, 0, weight_norm_backward_kernel<T>)(
          v.data<T>(), g.data<T>(), dw.data<T>(), dv.data<T>(), dg.data<T>(), rows, c_out, f,
          accumulate, bad);
    });
  });
}

}  // namespace naqs::ops::detail
