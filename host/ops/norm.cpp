#include "host/ops/norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/op_checks.hpp"
#include "host/ops/reduce.hpp"

namespace naqs::ops {
namespace {

using detail::NormDims;

// Checks shared by the forward and backward: x (..., C) of float dtype, gamma (and beta) (C),
// mean and rstd x's shape without the last dim (each checked when defined). Returns R and C
// (groups = 1).
NormDims check_norm(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                    const Tensor& mean, const Tensor& rstd) {
  check_defined(op, x, "x");
  check_contiguous(op, x, "x");
  dispatch_float(x.dtype(), op, [](auto) {});
  const int64_t c = x.size(-1);
  if (c == 0) throw Error(cat(op, ": x ", x.str(), " has an empty last dim"));
  check_optional_like(op, x, gamma, Shape{c}, "gamma");
  check_optional_like(op, x, beta, Shape{c}, "beta");
  const Shape stat_shape = reduced_shape(x, -1);
  check_optional_like(op, x, mean, stat_shape, "mean");
  check_optional_like(op, x, rstd, stat_shape, "rstd");
  return {x.numel() / c, c, 1};
}

// dgamma / dbeta: (C) or (G, C) with G dividing R. Returns G (1 when both are undefined).
int64_t check_param_grads(const char* op, const Tensor& x, const NormDims& d, const Tensor& dgamma,
                          const Tensor& dbeta) {
  const Tensor* first = dgamma.defined() ? &dgamma : (dbeta.defined() ? &dbeta : nullptr);
  if (first == nullptr) return 1;
  const int64_t groups = first->rank() == 2 ? first->size(0) : 1;
  if (first->rank() > 2 || groups == 0 || d.rows % groups != 0)
    throw Error(cat(op, ": parameter gradient ", first->str(), " is neither (C) = (", d.channels,
                    ") nor (G, C) with G dividing the ", d.rows, " rows of x ", x.str()));
  const Shape want = first->rank() == 2 ? Shape{groups, d.channels} : Shape{d.channels};
  check_optional_like(op, x, dgamma, want, "dgamma");
  check_optional_like(op, x, dbeta, want, "dbeta");
  return groups;
}

template <class T>
void norm_forward_cpu(const T* x, const T* gamma, const T* beta, double eps, const NormDims& d,
                      T* y, T* mean, T* rstd) {
  const int64_t c_n = d.channels;
#pragma omp parallel for if (d.rows * c_n > kMinParallelElements)
  for (int64_t r = 0; r < d.rows; ++r) {
    const T* xr = x + r * c_n;
    double m = 0;
    if (mean != nullptr) {
      for (int64_t c = 0; c < c_n; ++c) m += xr[c];
      m /= static_cast<double>(c_n);
    }
    double ss = 0;
    for (int64_t c = 0; c < c_n; ++c) {
      const double v = xr[c] - m;
      ss += v * v;
    }
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(c_n) + eps);
    T* yr = y + r * c_n;
    for (int64_t c = 0; c < c_n; ++c) {  // reads xr[c] before writing yr[c]: y may alias x
      const double v = (xr[c] - m) * s * gamma[c] + (beta != nullptr ? double(beta[c]) : 0.0);
      yr[c] = static_cast<T>(v);
    }
    if (mean != nullptr) mean[r] = static_cast<T>(m);
    rstd[r] = static_cast<T>(s);
  }
}

template <class T>
void norm_backward_input_cpu(const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                             const NormDims& d, T* dx, bool accumulate) {
  const int64_t c_n = d.channels;
#pragma omp parallel for if (d.rows * c_n > kMinParallelElements)
  for (int64_t r = 0; r < d.rows; ++r) {
    const T* xr = x + r * c_n;
    const T* dyr = dy + r * c_n;
    const double m = mean != nullptr ? double(mean[r]) : 0.0, s = rstd[r];
    double g_sum = 0, gx_sum = 0;
    for (int64_t c = 0; c < c_n; ++c) {
      const double g = double(dyr[c]) * gamma[c];
      g_sum += g;
      gx_sum += g * ((xr[c] - m) * s);
    }
    const double g_mean = mean != nullptr ? g_sum / static_cast<double>(c_n) : 0.0;
    const double gx_mean = gx_sum / static_cast<double>(c_n);
    T* dxr = dx + r * c_n;
    for (int64_t c = 0; c < c_n; ++c) {  // reads dyr[c] before writing dxr[c]: dx may alias dy
      const double xhat = (xr[c] - m) * s;
      const double v = s * (double(dyr[c]) * gamma[c] - g_mean - xhat * gx_mean);
      dxr[c] = static_cast<T>(accumulate ? dxr[c] + v : v);
    }
  }
}

// Per group g and channel c: sums over the group's rows in row order, in double. Threads split
// the channels only, so the sums do not depend on the thread count.
template <class T>
void norm_backward_params_cpu(const T* dy, const T* x, const T* mean, const T* rstd,
                              const NormDims& d, T* dgamma, T* dbeta, bool accumulate) {
  constexpr int64_t kChannelBlock = 64;
  const int64_t c_n = d.channels, rows_per_group = d.rows / d.groups;
  const int64_t n_blocks = (c_n + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for collapse(2) if (d.rows * c_n > kMinParallelElements)
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t b = 0; b < n_blocks; ++b) {
      const int64_t c0 = b * kChannelBlock, c1 = std::min(c_n, c0 + kChannelBlock);
      double sg[kChannelBlock] = {}, sb[kChannelBlock] = {};
      for (int64_t r = g * rows_per_group; r < (g + 1) * rows_per_group; ++r) {
        const T* xr = x + r * c_n;
        const T* dyr = dy + r * c_n;
        const double m = mean != nullptr ? double(mean[r]) : 0.0, s = rstd[r];
        for (int64_t c = c0; c < c1; ++c) {
          sg[c - c0] += double(dyr[c]) * ((xr[c] - m) * s);
          sb[c - c0] += dyr[c];
        }
      }
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t o = g * c_n + c;
        if (dgamma != nullptr)
          dgamma[o] = static_cast<T>(accumulate ? dgamma[o] + sg[c - c0] : sg[c - c0]);
        if (dbeta != nullptr)
          dbeta[o] = static_cast<T>(accumulate ? dbeta[o] + sb[c - c0] : sb[c - c0]);
      }
    }
}

void norm_forward(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  double eps, Tensor& y, Tensor& mean, Tensor& rstd) {
  check_defined(op, gamma, "gamma");
  check_contiguous(op, gamma, "gamma");
  check_defined(op, rstd, "rstd");
  check_contiguous(op, rstd, "rstd");
  const NormDims d = check_norm(op, x, gamma, beta, mean, rstd);
  check_defined(op, y, "y");
  check_contiguous(op, y, "y");
  check_optional_like(op, x, y, x.shape(), "y");
  if (!(eps >= 0)) throw Error(cat(op, ": eps ", eps, " must be >= 0"));
  if (x.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      norm_forward_cpu<T>(x.data<T>(), gamma.data<T>(), data_or_null<T>(beta), eps, d,
                          y.data<T>(), data_or_null<T>(mean), rstd.data<T>());
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::norm_forward_cuda(x, gamma, beta, eps, d, y, mean, rstd));
  }
}

void norm_backward(const char* op, const Tensor& dy, const Tensor& x, const Tensor& gamma,
                   const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dgamma,
                   Tensor& dbeta, bool accumulate) {
  check_defined(op, dy, "dy");
  check_contiguous(op, dy, "dy");
  if (dx.defined()) check_defined(op, gamma, "gamma");  // read only for dx
  check_defined(op, rstd, "rstd");
  check_contiguous(op, rstd, "rstd");
  NormDims d = check_norm(op, x, gamma, Tensor(), mean, rstd);
  check_optional_like(op, x, dy, x.shape(), "dy");
  check_optional_like(op, x, dx, x.shape(), "dx");
  d.groups = check_param_grads(op, x, d, dgamma, dbeta);
  const bool on_cpu = x.device().is_cpu();
  // Parameters first: dx may alias dy.
  if (dgamma.defined() || dbeta.defined()) {
    if (on_cpu) {
      dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        norm_backward_params_cpu<T>(dy.data<T>(), x.data<T>(), data_or_null<T>(mean),
                                    rstd.data<T>(), d, data_or_null<T>(dgamma),
                                    data_or_null<T>(dbeta), accumulate);
      });
    } else {
      NAQS_CUDA_BRANCH(op, detail::norm_backward_params_cuda(dy, x, mean, rstd, d, dgamma, dbeta,
                                                             accumulate));
    }
  }
  if (dx.defined()) {
    if (on_cpu) {
      dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        norm_backward_input_cpu<T>(dy.data<T>(), x.data<T>(), gamma.data<T>(),
                                   data_or_null<T>(mean), rstd.data<T>(), d, dx.data<T>(),
                                   accumulate);
      });
    } else {
      NAQS_CUDA_BRANCH(op, detail::norm_backward_input_cuda(dy, x, gamma, mean, rstd, d, dx,
                                                            accumulate));
    }
  }
}

}  // namespace

void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  check_defined("layernorm_forward", mean, "mean");
  check_contiguous("layernorm_forward", mean, "mean");
  norm_forward("layernorm_forward", x, gamma, beta, eps, y, mean, rstd);
}

void rmsnorm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd) {
  Tensor none;
  norm_forward("rmsnorm_forward", x, gamma, Tensor(), eps, y, none, rstd);
}

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                        bool accumulate) {
  check_defined("layernorm_backward", mean, "mean");
  check_contiguous("layernorm_backward", mean, "mean");
  norm_backward("layernorm_backward", dy, x, gamma, mean, rstd, dx, dgamma, dbeta, accumulate);
}

void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                      Tensor& dx, Tensor& dgamma, bool accumulate) {
  Tensor none;
  norm_backward("rmsnorm_backward", dy, x, gamma, Tensor(), rstd, dx, dgamma, none, accumulate);
}

}  // namespace naqs::ops
