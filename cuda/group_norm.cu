// CUDA twin of host/ops/group_norm.hpp: group norm with a shared (C) or per-sample (B, C)
// affine, forward and backward. y and dx: one block per row (b, g) of N = (C/G) S contiguous
// elements, row sums in double (block_reduce). dgamma / dbeta without atomics: one block per
// (b, c) writes double partials over the S positions (a fixed block tree), then one thread per
// output adds its partials of b = 0..B-1 in order (a (C) gamma) or converts its own ((B, C)).
// Parity tests: tests/op_cases/group_norm.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/core/tensor_convert.hpp"
#include "host/ops/group_norm.hpp"

namespace naqs::ops::detail {
namespace {

// gamma[b, c] (per sample) or gamma[c]
template <class T>
__device__ double param_at(const T* p, bool per_sample, int64_t b, int64_t n_ch, int64_t c) {
  return double(p[(per_sample ? b * n_ch : 0) + c]);
}

template <class T>
__global__ void group_norm_forward_kernel(const T* x, const T* gamma, const T* beta, double eps,
                                          GroupNormDims d, T* y, T* mean, T* rstd) {
  const int64_t rows = d.batch * d.groups, n = d.row_size(), cg = d.group_channels();
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t b = r / d.groups, c0 = (r % d.groups) * cg;
    const T* xr = x + r * n;
    double s1 = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s1 += double(xr[i]);
    const double m = block_reduce(s1, SumOp{}) / double(n);
    double ss = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const double v = double(xr[i]) - m;
      ss += v * v;
    }
    const double s = 1.0 / sqrt(block_reduce(ss, SumOp{}) / double(n) + eps);
    T* yr = y + r * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t c = c0 + i / d.spatial;
      const double v = (double(xr[i]) - m) * s * param_at(gamma, d.per_sample, b, d.channels, c) +
                       (beta != nullptr ? param_at(beta, d.per_sample, b, d.channels, c) : 0.0);
      yr[i] = static_cast<T>(v);
    }
    if (threadIdx.x == 0) {
      mean[r] = static_cast<T>(m);
      rstd[r] = static_cast<T>(s);
    }
  }
}

template <class T>
__global__ void group_norm_backward_input_kernel(const T* dy, const T* x, const T* gamma,
                                                 const T* mean, const T* rstd, GroupNormDims d,
                                                 T* dx, bool accumulate) {
  const int64_t rows = d.batch * d.groups, n = d.row_size(), cg = d.group_channels();
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t b = r / d.groups, c0 = (r % d.groups) * cg;
    const T* xr = x + r * n;
    const T* dyr = dy + r * n;
    const double m = mean[r], s = rstd[r];
    double h_sum = 0, hx_sum = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const double h =
          double(dyr[i]) * param_at(gamma, d.per_sample, b, d.channels, c0 + i / d.spatial);
      h_sum += h;
      hx_sum += h * ((double(xr[i]) - m) * s);
    }
    const double h_mean = block_reduce(h_sum, SumOp{}) / double(n);
    const double hx_mean = block_reduce(hx_sum, SumOp{}) / double(n);
    T* dxr = dx + r * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const double xhat = (double(xr[i]) - m) * s;
      const double g = param_at(gamma, d.per_sample, b, d.channels, c0 + i / d.spatial);
      const double v = s * (double(dyr[i]) * g - h_mean - xhat * hx_mean);
      dxr[i] = static_cast<T>(accumulate ? double(dxr[i]) + v : v);
    }
  }
}

// part_g / part_b [b * C + c]: sums over the S positions of channel c of sample b.
template <class T>
__global__ void group_norm_params_partial_kernel(const T* dy, const T* x, const T* mean,
                                                 const T* rstd, GroupNormDims d, double* part_g,
                                                 double* part_b) {
  const int64_t bc = d.batch * d.channels, cg = d.group_channels();
  for (int64_t k = blockIdx.x; k < bc; k += gridDim.x) {
    const int64_t r = (k / d.channels) * d.groups + (k % d.channels) / cg;  // row (b, g)
    const double m = mean[r], s = rstd[r];
    const T* xk = x + k * d.spatial;
    const T* dyk = dy + k * d.spatial;
    double sg = 0, sb = 0;
    for (int64_t p = threadIdx.x; p < d.spatial; p += blockDim.x) {
      sg += double(dyk[p]) * ((double(xk[p]) - m) * s);
      sb += double(dyk[p]);
    }
    sg = block_reduce(sg, SumOp{});
    sb = block_reduce(sb, SumOp{});
    if (threadIdx.x == 0) {
      part_g[k] = sg;
      part_b[k] = sb;
    }
  }
}

// Output o adds part[k * C + o] for k < reps (reps = B for a (C) gamma, 1 for (B, C)).
template <class T>
__global__ void group_norm_params_final_kernel(const double* part_g, const double* part_b,
                                               int64_t n_out, int64_t reps, int64_t n_ch,
                                               T* dgamma, T* dbeta, bool accumulate) {
  for (int64_t o = first_index(); o < n_out; o += grid_stride()) {
    double sg = 0, sb = 0;
    for (int64_t k = 0; k < reps; ++k) {
      sg += part_g[k * n_ch + o];
      sb += part_b[k * n_ch + o];
    }
    if (dgamma != nullptr) dgamma[o] = static_cast<T>(accumulate ? double(dgamma[o]) + sg : sg);
    if (dbeta != nullptr) dbeta[o] = static_cast<T>(accumulate ? double(dbeta[o]) + sb : sb);
  }
}

}  // namespace

void group_norm_forward_cuda(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                             const GroupNormDims& d, Tensor& y, Tensor& mean, Tensor& rstd) {
  use_device_of(x);
  dispatch_float(x.dtype(), "group_norm_forward_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(d.batch * d.groups), block_for_row(d.row_size()), 0,
                group_norm_forward_kernel<T>)(x.data<T>(), gamma.data<T>(),
                                              data_or_null<T>(beta), eps, d, y.data<T>(),
                                              mean.data<T>(), rstd.data<T>());
  });
}

void group_norm_backward_input_cuda(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                    const Tensor& mean, const Tensor& rstd,
                                    const GroupNormDims& d, Tensor& dx, bool accumulate) {
  use_device_of(x);
  dispatch_float(x.dtype(), "group_norm_backward_input_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(d.batch * d.groups), block_for_row(d.row_size()), 0,
                group_norm_backward_input_kernel<T>)(dy.data<T>(), x.data<T>(), gamma.data<T>(),
                                                     mean.data<T>(), rstd.data<T>(), d,
                                                     dx.data<T>(), accumulate);
  });
}

void group_norm_backward_params_cuda(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& rstd, const GroupNormDims& d, Tensor& dgamma,
                                     Tensor& dbeta, bool accumulate) {
  use_device_of(x);
  const int64_t bc = d.batch * d.channels;
  Tensor part = Tensor::empty({2, bc}, DType::f64, x.device());
  double* part_g = part.data<double>();
  double* part_b = part_g + bc;
  const int64_t n_out = d.per_sample ? bc : d.channels, reps = d.per_sample ? 1 : d.batch;
  dispatch_float(x.dtype(), "group_norm_backward_params_cuda", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_for_rows(bc), block_for_row(d.spatial), 0,
                group_norm_params_partial_kernel<T>)(dy.data<T>(), x.data<T>(), mean.data<T>(),
                                                     rstd.data<T>(), d, part_g, part_b);
    NAQS_LAUNCH(cuda_rt::grid_for(n_out), kBlock, 0, group_norm_params_final_kernel<T>)(
        part_g, part_b, n_out, reps, d.channels, data_or_null<T>(dgamma), data_or_null<T>(dbeta),
        accumulate);
  });
}

}  // namespace naqs::ops::detail
