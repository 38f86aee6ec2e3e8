// Layer normalisation and RMS normalisation over the last dim. x is (..., C), viewed as R rows of
// C; "stats" tensors (mean, rstd) have x's shape without the last dim ((1) for a rank-1 x).
//   layernorm_forward(x, gamma, beta, eps, y, mean, rstd)
//       mean = sum_c x / C,  rstd = 1 / sqrt(sum_c (x - mean)^2 / C + eps)  (biased variance)
//       y = (x - mean) * rstd * gamma + beta             gamma, beta (C); beta may be undefined
//   rmsnorm_forward(x, gamma, eps, y, rstd)
//       rstd = 1 / sqrt(sum_c x^2 / C + eps),  y = x * rstd * gamma
//   layernorm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, accumulate)
//   rmsnorm_backward(dy, x, gamma, rstd, dx, dgamma, accumulate)
//       with xhat = (x - mean) * rstd (mean = 0 for rmsnorm) and g = dy * gamma:
//       dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))    (rmsnorm: no mean_c(g) term)
//       dgamma = sum_rows dy * xhat,  dbeta = sum_rows dy
//       dgamma/dbeta are (C), summed over all R rows, or (G, C): G groups of R/G consecutive rows
//       each (per-sample parameter gradients: x (B,T,C) with G = B). dx, dgamma, dbeta may each be
//       undefined (not computed); gamma may be undefined when dx is. accumulate: every output given is added to (+=) instead of
//       overwritten.
// mean and rstd are stored in x's dtype (f32 or f64; all tensors one dtype and device). Row sums
// are accumulated in double on both backends; the forward is two-pass (mean, then the centred
// sum of squares). dgamma/dbeta sum rows in a fixed order (CPU: row order, parallel over
// channels only; CUDA: fixed chunks of kNormChunkRows rows, then the chunks in order), so both
// are deterministic for any thread count, with no atomics. y may alias x, dx may alias dy.
// CUDA twin in cuda/norm.cu (one block per row for y and dx; one thread per channel and chunk
// for dgamma/dbeta).
// Tests: tests/unit/test_nn_layers.cpp (hand values of a tiny layernorm; float64 central
// differences of every backward via nn/layers, 1e-8 + 1e-6|g|: O(h^2) truncation + eps|f|/h
// rounding; per-sample rows sum to the summed gradient); tests/op_cases/norm.cpp (a few eps of
// the dtype: double accumulation in another order leaves only the final rounding; f64 central
// differences of both backwards).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

inline constexpr int64_t kNormChunkRows = 64;

void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd);
void rmsnorm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd);

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                        bool accumulate = false);
void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                      Tensor& dx, Tensor& dgamma, bool accumulate = false);

namespace detail {
// rows R, channels C, groups G of the parameter gradients. mean undefined = rmsnorm (no
// centring); beta / dbeta / dx / dgamma undefined = absent.
struct NormDims {
  int64_t rows, channels, groups;
};
void norm_forward_cuda(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                       const NormDims& d, Tensor& y, Tensor& mean, Tensor& rstd);
void norm_backward_input_cuda(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& rstd, const NormDims& d,
                              Tensor& dx, bool accumulate);
void norm_backward_params_cuda(const Tensor& dy, const Tensor& x, const Tensor& mean,
                               const Tensor& rstd, const NormDims& d, Tensor& dgamma,
                               Tensor& dbeta, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
