// CUDA twin of host/ops/norm.hpp: layernorm / rmsnorm over the last dim, forward and backward.
// y and dx: one block per row, row sums in double (block_reduce). dgamma / dbeta without atomics:
// one thread per (channel, chunk of kNormChunkRows rows of one group) writes a double partial,
// then one thread per (group, channel) adds its chunks in order, so the result is deterministic.
// Parity tests: tests/op_cases/norm.cpp.
#include <algorithm>

#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/core/tensor_convert.hpp"
#include "host/ops/norm.hpp"

namespace naqs::ops::detail {
namespace {

// mean == nullptr: rmsnorm (no centring, nothing stored for the mean).
template <class T>
__global__ void norm_forward_kernel(const T* x, const T* gamma, const T* beta, double eps,
                                    int64_t rows, int64_t n_ch, T* y, T* mean, T* rstd) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n_ch;
    double m = 0;
    if (mean != nullptr) {
      double s = 0;
      for (int64_t c = threadIdx.x; c < n_ch; c += blockDim.x) s += double(xr[c]);
      m = block_reduce(s, SumOp{}) / double(n_ch);
    }
    double ss = 0;
    for (int64_t c = threadIdx.x; c < n_ch; c += blockDim.x) {
      const double v = double(xr[c]) - m;
      ss += v * v;
    }
    const double s = 1.0 / sqrt(block_reduce(ss, SumOp{}) / double(n_ch) + eps);
    T* yr = y + r * n_ch;
    for (int64_t c = threadIdx.x; c < n_ch; c += blockDim.x) {
      const double v = (double(xr[c]) - m) * s * double(gamma[c]) +
                       (beta != nullptr ? double(beta[c]) : 0.0);
      yr[c] = static_cast<T>(v);
    }
    if (threadIdx.x == 0) {
      if (mean != nullptr) mean[r] = static_cast<T>(m);
      rstd[r] = static_cast<T>(s);
    }
  }
}

template <class T>
__global__ void norm_backward_input_kernel(const T* dy, const T* x, const T* gamma, const T* mean,
                                           const T* rstd, int64_t rows, int64_t n_ch, T* dx,
                                           bool accumulate) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n_ch;
    const T* dyr = dy + r * n_ch;
    const double m = mean != nullptr ? double(mean[r]) : 0.0, s = rstd[r];
    double g_sum = 0, gx_sum = 0;
    for (int64_t c = threadIdx.x; c < n_ch; c += blockDim.x) {
      const double g = double(dyr[c]) * double(gamma[c]);
      g_sum += g;
      gx_sum += g * ((double(xr[c]) - m) * s);
    }
    const double g_mean = mean != nullptr ? block_reduce(g_sum, SumOp{}) / double(n_ch) : 0.0;
    const double gx_mean = block_reduce(gx_sum, SumOp{}) / double(n_ch);
    T* dxr = dx + r * n_ch;
    for (int64_t c = threadIdx.x; c < n_ch; c += blockDim.x) {
      const double xhat = (double(xr[c]) - m) * s;
      const double v = s * (double(dyr[c]) * double(gamma[c]) - g_mean - xhat * gx_mean);
      dxr[c] = static_cast<T>(accumulate ? double(dxr[c]) + v : v);
    }
  }
}

// Partial sums of one chunk: part_g / part_b [(group * n_chunks + chunk) * n_ch + c].
template <class T>
__global__ void norm_params_partial_kernel(const T* dy, const T* x, const T* mean, const T* rstd,
                                           int64_t groups, int64_t rows_per_group,
                                           int64_t n_chunks, int64_t n_ch, double* part_g,
                                           double* part_b) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= n_ch) return;
  for (int64_t gk = blockIdx.y; gk < groups * n_chunks; gk += gridDim.y) {
    const int64_t g = gk / n_chunks, k = gk % n_chunks;
    const int64_t r0 = g * rows_per_group + k * kNormChunkRows;
    const int64_t r1 = min(r0 + kNormChunkRows, (g + 1) * rows_per_group);
    double sg = 0, sb = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const double m = mean != nullptr ? double(mean[r]) : 0.0;
      const double d = dy[r * n_ch + c];
      sg += d * ((double(x[r * n_ch + c]) - m) * double(rstd[r]));
      sb += d;
    }
    part_g[gk * n_ch + c] = sg;
    part_b[gk * n_ch + c] = sb;
  }
}

template <class T>
__global__ void norm_params_final_kernel(const double* part_g, const double* part_b,
                                         int64_t groups, int64_t n_chunks, int64_t n_ch,
                                         T* dgamma, T* dbeta, bool accumulate) {
  for (int64_t o = first_index(); o < groups * n_ch; o += grid_stride()) {
    const int64_t g = o / n_ch, c = o % n_ch;
    double sg = 0, sb = 0;
    for (int64_t k = 0; k < n_chunks; ++k) {
      sg += part_g[(g * n_chunks + k) * n_ch + c];
      sb += part_b[(g * n_chunks + k) * n_ch + c];
    }
    if (dgamma != nullptr) dgamma[o] = static_cast<T>(accumulate ? double(dgamma[o]) + sg : sg);
    if (dbeta != nullptr) dbeta[o] = static_cast<T>(accumulate ? double(dbeta[o]) + sb : sb);
  }
}

}  // namespace

void norm_forward_cuda(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                       const NormDims& d, Tensor& y, Tensor& mean, Tensor& rstd) {
  use_device_of(x);
  if (d.rows == 0) return;
  dispatch_float(x.dtype(), "norm_forward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(d.rows), block_for_row(d.channels), 0, norm_forward_kernel<T>)(
        x.data<T>(), gamma.data<T>(), data_or_null<T>(beta), eps, d.rows, d.channels, y.data<T>(),
        data_or_null<T>(mean), rstd.data<T>());
  });
}

void norm_backward_input_cuda(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& rstd, const NormDims& d,
                              Tensor& dx, bool accumulate) {
  use_device_of(x);
  if (d.rows == 0) return;
  dispatch_float(x.dtype(), "norm_backward_input_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(d.rows), block_for_row(d.channels), 0, norm_backward_input_kernel<T>)(
        dy.data<T>(), x.data<T>(), gamma.data<T>(), data_or_null<T>(mean), rstd.data<T>(), d.rows,
        d.channels, dx.data<T>(), accumulate);
  });
}

void norm_backward_params_cuda(const Tensor& dy, const Tensor& x, const Tensor& mean,
                               const Tensor& rstd, const NormDims& d, Tensor& dgamma,
                               Tensor& dbeta, bool accumulate) {
  use_device_of(x);
  const int64_t rows_per_group = d.rows / d.groups;
  const int64_t n_chunks =
      std::max<int64_t>(1, (rows_per_group + kNormChunkRows - 1) / kNormChunkRows);
  const int64_t n_part = d.groups * n_chunks * d.channels;
  Tensor part = Tensor::empty({2, n_part}, DType::f64, x.device());
  double* part_g = part.data<double>();
  double* part_b = part_g + n_part;
  dispatch_float(x.dtype(), "norm_backward_params_cuda", [&](auto tag) {
    using T = decltype(tag);
    const int64_t grid_y = std::min<int64_t>(d.groups * n_chunks, cuda_rt::grid_cap(65535));
    const dim3 grid(static_cast<unsigned>((d.channels + kBlock - 1) / kBlock),
                    static_cast<unsigned>(grid_y));
    NAQS_LAUNCH(grid, kBlock, 0, norm_params_partial_kernel<T>)(
        dy.data<T>(), x.data<T>(), data_or_null<T>(mean), rstd.data<T>(), d.groups, rows_per_group,
        n_chunks, d.channels, part_g, part_b);
    NAQS_LAUNCH(cuda_rt::grid_for(d.groups * d.channels), kBlock, 0, norm_params_final_kernel<T>)(
        part_g, part_b, d.groups, n_chunks, d.channels, data_or_null<T>(dgamma),
        data_or_null<T>(dbeta), accumulate);
  });
}

}  // namespace naqs::ops::detail
