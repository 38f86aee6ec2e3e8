#include "host/ops/group_norm.hpp"

#include <cmath>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/op_checks.hpp"

namespace naqs::ops {
namespace {

using detail::GroupNormDims;

// x (B, C, ...) of a float dtype, groups dividing C, mean / rstd (B, G) (defined), gamma (C)
// or (B, C) when defined. Returns the dims (per_sample from gamma).
GroupNormDims check_group_norm(const char* op, const Tensor& x, int64_t groups,
                               const Tensor& gamma, const Tensor& mean, const Tensor& rstd) {
  check_defined(op, x, "x");
  check_contiguous(op, x, "x");
  dispatch_float(x.dtype(), op, [](auto) {});
  if (x.rank() < 2) throw Error(cat(op, ": x ", x.str(), " is not (B, C, ...)"));
  const int64_t b_n = x.size(0), c_n = x.size(1);
  if (groups < 1 || c_n % groups != 0)
    throw UsageError(cat(op, ": groups ", groups, " does not divide the ", c_n,
                         " channels of x ", x.str(), " (groups must be a divisor of C)"));
  GroupNormDims d{b_n, c_n, groups, c_n == 0 || b_n == 0 ? 0 : x.numel() / (b_n * c_n), false};
  if (gamma.defined()) {
    d.per_sample = gamma.rank() == 2;
    if (!(gamma.rank() == 1 || (d.per_sample && gamma.size(0) == b_n)))
      throw Error(cat(op, ": gamma ", gamma.str(), " is neither (C) = (", c_n,
                      ") nor (B, C) = (", b_n, ", ", c_n, ") for x ", x.str()));
    check_optional_like(op, x, gamma, d.per_sample ? Shape{b_n, c_n} : Shape{c_n}, "gamma");
  }
  check_defined(op, mean, "mean");
  check_defined(op, rstd, "rstd");
  check_optional_like(op, x, mean, Shape{b_n, groups}, "mean");
  check_optional_like(op, x, rstd, Shape{b_n, groups}, "rstd");
  return d;
}

// gamma / beta of sample b (per sample) or shared.
template <class T>
const T* sample_params(const T* p, const GroupNormDims& d, int64_t b) {
  return p == nullptr ? nullptr : p + (d.per_sample ? b * d.channels : 0);
}

template <class T>
void group_norm_forward_cpu(const T* x, const T* gamma, const T* beta, double eps,
                            const GroupNormDims& d, T* y, T* mean, T* rstd) {
  const int64_t rows = d.batch * d.groups, n = d.row_size(), cg = d.group_channels();
  const int64_t s_n = d.spatial;
#pragma omp parallel for if (rows * n > kMinParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / d.groups, c0 = (r % d.groups) * cg;
    const T* xr = x + r * n;
    double m = 0;
    for (int64_t i = 0; i < n; ++i) m += xr[i];
    m /= static_cast<double>(n);
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = xr[i] - m;
      ss += v * v;
    }
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    const T* g = sample_params(gamma, d, b) + c0;
    const T* be = sample_params(beta, d, b);
    T* yr = y + r * n;
    for (int64_t j = 0; j < cg; ++j) {
      const double gj = g[j], bj = be != nullptr ? double(be[c0 + j]) : 0.0;
      for (int64_t p = j * s_n; p < (j + 1) * s_n; ++p)  // reads xr[p] first: y may alias x
        yr[p] = static_cast<T>((xr[p] - m) * s * gj + bj);
    }
    mean[r] = static_cast<T>(m);
    rstd[r] = static_cast<T>(s);
  }
}

template <class T>
void group_norm_backward_input_cpu(const T* dy, const T* x, const T* gamma, const T* mean,
                                   const T* rstd, const GroupNormDims& d, T* dx, bool accumulate) {
  const int64_t rows = d.batch * d.groups, n = d.row_size(), cg = d.group_channels();
  const int64_t s_n = d.spatial;
#pragma omp parallel for if (rows * n > kMinParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const T* dyr = dy + r * n;
    const T* g = sample_params(gamma, d, r / d.groups) + (r % d.groups) * cg;
    const double m = mean[r], s = rstd[r];
    double h_sum = 0, hx_sum = 0;
    for (int64_t j = 0; j < cg; ++j)
      for (int64_t p = j * s_n; p < (j + 1) * s_n; ++p) {
        const double h = double(dyr[p]) * g[j];
        h_sum += h;
        hx_sum += h * ((xr[p] - m) * s);
      }
    const double h_mean = h_sum / static_cast<double>(n);
    const double hx_mean = hx_sum / static_cast<double>(n);
    T* dxr = dx + r * n;
    for (int64_t j = 0; j < cg; ++j)
      for (int64_t p = j * s_n; p < (j + 1) * s_n; ++p) {  // reads dyr[p] first: dx may alias dy
        const double xhat = (xr[p] - m) * s;
        const double v = s * (double(dyr[p]) * g[j] - h_mean - xhat * hx_mean);
        dxr[p] = static_cast<T>(accumulate ? dxr[p] + v : v);
      }
  }
}

// One double partial per (b, c) over the S positions in order (threads split the (b, c) pairs),
// then, for a shared gamma, the partials of b = 0..B-1 added in order.
template <class T>
void group_norm_backward_params_cpu(const T* dy, const T* x, const T* mean, const T* rstd,
                                    const GroupNormDims& d, T* dgamma, T* dbeta,
                                    bool accumulate) {
  const int64_t bc = d.batch * d.channels, s_n = d.spatial, cg = d.group_channels();
  std::vector<double> part_g(bc), part_b(bc);
#pragma omp parallel for if (bc * s_n > kMinParallelElements)
  for (int64_t k = 0; k < bc; ++k) {
    const int64_t r = (k / d.channels) * d.groups + (k % d.channels) / cg;  // row (b, g)
    const double m = mean[r], s = rstd[r];
    const T* xk = x + k * s_n;
    const T* dyk = dy + k * s_n;
    double sg = 0, sb = 0;
    for (int64_t p = 0; p < s_n; ++p) {
      sg += double(dyk[p]) * ((xk[p] - m) * s);
      sb += dyk[p];
    }
    part_g[k] = sg;
    part_b[k] = sb;
  }
  const int64_t n_out = d.per_sample ? bc : d.channels, reps = d.per_sample ? 1 : d.batch;
  for (int64_t o = 0; o < n_out; ++o) {
    double sg = 0, sb = 0;
    for (int64_t k = 0; k < reps; ++k) {
      sg += part_g[k * d.channels + o];
      sb += part_b[k * d.channels + o];
    }
    if (dgamma != nullptr) dgamma[o] = static_cast<T>(accumulate ? dgamma[o] + sg : sg);
    if (dbeta != nullptr) dbeta[o] = static_cast<T>(accumulate ? dbeta[o] + sb : sb);
  }
}

}  // namespace

void group_norm_forward(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta,
                        double eps, Tensor& y, Tensor& mean, Tensor& rstd) {
  const char* op = "group_norm_forward";
  check_defined(op, gamma, "gamma");
  const GroupNormDims d = check_group_norm(op, x, groups, gamma, mean, rstd);
  check_optional_like(op, x, beta, gamma.shape(), "beta");
  check_defined(op, y, "y");
  check_optional_like(op, x, y, x.shape(), "y");
  if (!(eps >= 0)) throw Error(cat(op, ": eps ", eps, " must be >= 0"));
  if (d.row_size() == 0) return;
  if (x.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      group_norm_forward_cpu<T>(x.data<T>(), gamma.data<T>(), data_or_null<T>(beta), eps, d,
                                y.data<T>(), mean.data<T>(), rstd.data<T>());
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::group_norm_forward_cuda(x, gamma, beta, eps, d, y, mean, rstd));
  }
}

void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t groups, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate) {
  const char* op = "group_norm_backward";
  check_defined(op, gamma, "gamma");  // its shape says which dgamma / dbeta are wanted
  GroupNormDims d = check_group_norm(op, x, groups, gamma, mean, rstd);
  check_defined(op, dy, "dy");
  check_optional_like(op, x, dy, x.shape(), "dy");
  check_optional_like(op, x, dx, x.shape(), "dx");
  check_optional_like(op, x, dgamma, gamma.shape(), "dgamma");
  check_optional_like(op, x, dbeta, gamma.shape(), "dbeta");
  if (x.numel() == 0) {
    // No rows: the parameter gradients are empty sums.
    if (!accumulate) {
      if (dgamma.defined()) dgamma.copy_from(Tensor::zeros(dgamma.shape(), x.dtype()));
      if (dbeta.defined()) dbeta.copy_from(Tensor::zeros(dbeta.shape(), x.dtype()));
    }
    return;
  }
  const bool on_cpu = x.device().is_cpu();
  // Parameters first: dx may alias dy.
  if (dgamma.defined() || dbeta.defined()) {
    if (on_cpu) {
      dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        group_norm_backward_params_cpu<T>(dy.data<T>(), x.data<T>(), mean.data<T>(),
                                          rstd.data<T>(), d, data_or_null<T>(dgamma),
                                          data_or_null<T>(dbeta), accumulate);
      });
    } else {
      NAQS_CUDA_BRANCH(op, detail::group_norm_backward_params_cuda(dy, x, mean, rstd, d, dgamma,
                                                                   dbeta, accumulate));
    }
  }
  if (dx.defined()) {
    if (on_cpu) {
      dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        group_norm_backward_input_cpu<T>(dy.data<T>(), x.data<T>(), gamma.data<T>(),
                                         mean.data<T>(), rstd.data<T>(), d, dx.data<T>(),
                                         accumulate);
      });
    } else {
      NAQS_CUDA_BRANCH(op, detail::group_norm_backward_input_cuda(dy, x, gamma, mean, rstd, d, dx,
                                                                  accumulate));
    }
  }
}

}  // namespace naqs::ops
