// CUDA twin of host/ops/gather.hpp: gather and scatter_add along an axis (out-of-range indices
// reported, not written). Parity tests: tests/op_cases/gather.cpp.
#include "cuda/device_flag.cuh"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/gather.hpp"

namespace naqs::ops::detail {
namespace {

// ---- gather / scatter_add: one thread per index entry p = (o, j, i) ----------------------
// An out-of-range index is skipped and its position recorded with atomicMin in *bad
// (cuda/device_flag.cuh reads it back).
template <class T>
__global__ void gather_kernel(const T* src, const int32_t* index, T* out, int64_t total, int64_t n,
                              int64_t inner, int64_t n_src, unsigned long long* bad) {
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t k = index[p];
    if (k < 0 || k >= n_src) {
      atomicMin(bad, static_cast<unsigned long long>(p));
      continue;
    }
    const int64_t o = p / (n * inner), i = p % inner;
    out[p] = src[(o * n_src + k) * inner + i];
  }
}

template <class T>
__global__ void scatter_add_kernel(const T* src, const int32_t* index, T* out, int64_t total,
                                   int64_t n, int64_t inner, int64_t n_out,
                                   unsigned long long* bad) {
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t k = index[p];
    if (k < 0 || k >= n_out) {
      atomicMin(bad, static_cast<unsigned long long>(p));
      continue;
    }
    const int64_t o = p / (n * inner), i = p % inner;
    atomicAdd(out + (o * n_out + k) * inner + i, src[p]);
  }
}

}  // namespace

// ---- gather / scatter_add ----------------------------------------------------------------
int64_t gather_cuda(const Tensor& src, const Tensor& index, const AxisSplit& s, int64_t n_table,
                    Tensor& out) {
  use_device_of(out);
  const int64_t total = index.numel();
  if (total == 0) return -1;
  return cuda_rt::first_flagged(out.device(), [&](unsigned long long* bad) {
    dispatch_float(src.dtype(), "gather_cuda", [&](auto tag) {
      using T = decltype(tag);
      NAQS_LAUNCH(cuda_rt::grid_for(total), kBlock, 0, gather_kernel<T>)(
          src.data<T>(), index.data<int32_t>(), out.data<T>(), total, s.n, s.inner, n_table, bad);
    });
  });
}

int64_t scatter_add_cuda(const Tensor& src, const Tensor& index, const AxisSplit& s,
                         int64_t n_table, Tensor& out) {
  use_device_of(out);
  const int64_t total = index.numel();
  if (total == 0) return -1;
  return cuda_rt::first_flagged(out.device(), [&](unsigned long long* bad) {
    dispatch_float(src.dtype(), "scatter_add_cuda", [&](auto tag) {
      using T = decltype(tag);
      NAQS_LAUNCH(cuda_rt::grid_for(total), kBlock, 0, scatter_add_kernel<T>)(
          src.data<T>(), index.data<int32_t>(), out.data<T>(), total, s.n, s.inner, n_table, bad);
    });
  });
}

}  // namespace naqs::ops::detail
