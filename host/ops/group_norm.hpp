// Group normalisation (Wu & He 2018) with a shared or a per-sample affine (DIAMOND's adaptive
// group norm: the noise-level embedding gives each sample its own scale and shift).
// x is (B, C, ...): any trailing spatial dims, flattened to S positions; G groups of C/G
// consecutive channels. Row (b, g) is the C/G x S block of sample b's channels of group g
// (contiguous in x), N = (C/G) S elements:
//   group_norm_forward(x, groups, gamma, beta, eps, y, mean, rstd)
//       mean[b,g] = sum_row x / N,  rstd[b,g] = 1 / sqrt(sum_row (x - mean)^2 / N + eps)
//       y[b,c,s] = (x - mean) * rstd * gamma[c] + beta[c]        (biased variance, two-pass)
//       gamma, beta: (C) shared, or (B, C) per sample (gamma[b,c], beta[b,c]); beta may be
//       undefined (no shift), else of gamma's shape. mean, rstd: (B, G). y may alias x.
//   group_norm_backward(dy, x, groups, gamma, mean, rstd, dx, dgamma, dbeta, accumulate)
//       with xhat = (x - mean) * rstd and h = dy * gamma[c], per row (b, g):
//       dx = rstd * (h - mean_row(h) - xhat * mean_row(h * xhat))
//       dgamma[b,c] = sum_s dy * xhat,  dbeta[b,c] = sum_s dy          ((B, C) gamma)
//       dgamma[c] = sum_b (sum_s dy * xhat),  dbeta[c] = sum_b (sum_s dy)     ((C) gamma)
//       dgamma / dbeta have gamma's shape; dx, dgamma, dbeta may each be undefined (not
//       computed); accumulate: every output given is added to (+=) instead of overwritten.
//       dx may alias dy (the parameter gradients are computed first).
// All tensors contiguous, one float dtype (f32 or f64) and device. Sums are accumulated in
// double on both backends. The parameter gradients are deterministic with no atomics: one
// double partial per (b, c) (S positions in order on the CPU, a fixed block tree on CUDA), then
// for a (C) gamma the partials of b = 0..B-1 added in order; so the results do not depend on
// the thread count. C not divisible by groups, or groups < 1, is a UsageError naming both.
// CUDA twin in cuda/group_norm.cu (one block per row (b, g) for y and dx; one block per (b, c)
// for the partials).
// Tests: tests/unit/test_group_norm.cpp (hand values, per-sample gradient rows summing to the
// shared one, thread-count determinism, the errors); tests/op_cases/group_norm.cpp (parity: a
// few eps of the dtype over double sums of N terms; f64 central differences of the backward for
// x, gamma and beta, shared and per sample).
#pragma once
#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

void group_norm_forward(const Tensor& x, int64_t groups, const Tensor& gamma, const Tensor& beta,
                        double eps, Tensor& y, Tensor& mean, Tensor& rstd);

void group_norm_backward(const Tensor& dy, const Tensor& x, int64_t groups, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate = false);

namespace detail {
// batch B, channels C, groups G, spatial positions S; per_sample: gamma / beta (B, C).
struct GroupNormDims {
  int64_t batch, channels, groups, spatial;
  bool per_sample;
  NAQS_HD int64_t group_channels() const { return channels / groups; }
  NAQS_HD int64_t row_size() const { return channels / groups * spatial; }  // N
};
void group_norm_forward_cuda(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                             const GroupNormDims& d, Tensor& y, Tensor& mean, Tensor& rstd);
void group_norm_backward_input_cuda(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                    const Tensor& mean, const Tensor& rstd,
                                    const GroupNormDims& d, Tensor& dx, bool accumulate);
void group_norm_backward_params_cuda(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                     const Tensor& rstd, const GroupNormDims& d, Tensor& dgamma,
                                     Tensor& dbeta, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
