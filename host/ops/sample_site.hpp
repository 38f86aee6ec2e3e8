// The per-site decision of exact ancestral sampling (used by physics/sampler/autoregressive.cpp),
// on the batch's device, so a CUDA sampling run never copies logits or spins to the host per site.
//
// For every sample b, from the logits of site t (column `column` of re, im (B,2,L); s = 0 is
// sigma_t = +1, s = 1 is -1):
//   x_s = 2 re[b,s]; log p_s = x_s - logsumexp(x_up, x_down)   (log |psi_t(s | sigma_<t)|^2)
//   magnetisation constraint (when spec.n_up_target >= 0): up is allowed iff n_up[b] < target,
//   down iff t - n_up[b] < n_sites - target; a forbidden state is never drawn (its partner gets
//   probability 1; both forbidden cannot happen for n_up[b] <= target <= n_sites)
//   u = philox_uniform_f64(seed, stream, (first_sample + b) * n_sites + t)
//   sigma_t = +1 iff u < exp(log p_up)
// and writes: sigma[b,t] = sigma_t[b] = +-1, n_up[b] += (sigma_t == +1),
//   log_re[b] += log p_s / 2, log_im[b] += im[b,s,column].
//
//   re, im (B,2,L) f32/f64; sigma (B,N) and sigma_t (B) in the same dtype; log_re, log_im (B) f64
//   accumulators; n_up (B) i32.
// CPU reference: host/ops/sample_site.cpp; CUDA twin: cuda/sample_site.cu (one thread per sample);
// both call sample_site_one below. Tests: tests/unit/test_naqs1d_sampler.cpp (cached == naive,
// constraint), tests/op_cases/sample_site.cpp (decisions and n_up exact; log accumulators
// within 1e-13 absolute + 1e-13 relative: exp/log differ by an ulp or two between libm and CUDA
// on |log p| <= 8 + log 2 (|x| <= 4), halved, over 11 sites: about 2e-14; the decision u < p can
// only differ when u is within an ulp of p, which the fixed seeds avoid).
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

struct SampleSiteSpec {
  uint64_t seed = 0;
  uint64_t stream = 0;
  int64_t first_sample = 0;  // global index of sample 0 of the batch
  int64_t site = 0;          // t
  int64_t n_sites = 0;       // N
  int64_t n_up_target = -1;  // number of +1 sites of every sample; -1: unconstrained
};

void sample_site(const Tensor& re, const Tensor& im, int64_t column, const SampleSiteSpec& spec,
                 Tensor& sigma, Tensor& sigma_t, Tensor& log_re, Tensor& log_im, Tensor& n_up);

// Sample b's decision; returns +1 or -1 and accumulates into log_re, log_im, n_up.
NAQS_HD int sample_site_one(double re_up, double re_down, double im_up, double im_down,
                            uint64_t sample, const SampleSiteSpec& spec, double& log_re,
                            double& log_im, int32_t& n_up) {
  bool up_ok = true, down_ok = true;
  if (spec.n_up_target >= 0) {
    up_ok = n_up < spec.n_up_target;
    down_ok = spec.site - n_up < spec.n_sites - spec.n_up_target;
  }
  double log_p_up = 0, log_p_down = 0;
  if (up_ok && down_ok) {
    const double x_up = 2 * re_up, x_down = 2 * re_down;
    const double m = x_up > x_down ? x_up : x_down;
    const double lse = m + ::log(::exp(x_up - m) + ::exp(x_down - m));
    log_p_up = x_up - lse;
    log_p_down = x_down - lse;
  }
  // Forbidden up: log_p_up stays unused and u < 0 is false; forbidden down: log_p_up = 0.
  const uint64_t index = sample * static_cast<uint64_t>(spec.n_sites) +
                         static_cast<uint64_t>(spec.site);
  const double u = philox_uniform_f64(spec.seed, spec.stream, index);
  const bool up = up_ok && u < ::exp(log_p_up);
  if (up) ++n_up;
  log_re += 0.5 * (up ? log_p_up : log_p_down);
  log_im += up ? im_up : im_down;
  return up ? 1 : -1;
}

// Sample b of a batch: reads its logits at `column` of re, im (B,2,L), decides, writes
// sigma[b, site] and sigma_t[b] and accumulates (the loop body of both implementations).
template <class T>
NAQS_HD void sample_site_row(int64_t b, int64_t length, const T* re, const T* im, int64_t column,
                             const SampleSiteSpec& spec, T* sigma, T* sigma_t, double* log_re,
                             double* log_im, int32_t* n_up) {
  const int64_t up = (b * 2) * length + column, down = up + length;
  const int x = sample_site_one(static_cast<double>(re[up]), static_cast<double>(re[down]),
                                static_cast<double>(im[up]), static_cast<double>(im[down]),
                                static_cast<uint64_t>(spec.first_sample + b), spec, log_re[b],
                                log_im[b], n_up[b]);
  sigma_t[b] = static_cast<T>(x);
  sigma[b * spec.n_sites + spec.site] = static_cast<T>(x);
}

namespace detail {
void sample_site_cuda(DType dtype, int64_t batch, int64_t length, const void* re, const void* im,
                      int64_t column, const SampleSiteSpec& spec, void* sigma, void* sigma_t,
                      double* log_re, double* log_im, int32_t* n_up);
}  // namespace detail

}  // namespace naqs::ops
