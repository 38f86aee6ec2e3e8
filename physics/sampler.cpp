// Exact ancestral sampling (see sampler.hpp for the random-number keying and the strategies).
#include "physics/sampler.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/philox.hpp"

namespace naqs {

namespace {

// The per-site decision shared by both strategies. Tracks the host copy of a chunk.
struct ChunkState {
  int64_t first = 0, batch = 0, n_sites = 0;
  uint64_t seed = 0, stream = 0;
  std::vector<double> sigma, log_re, log_im;  // (B,N), (B), (B)
  std::vector<int64_t> n_up;                  // (B) +1 sites so far
  std::vector<double> sigma_t;                // (B) the column just decided

  // re, im: logits of site t for every sample, re[b*2 + s] (s = 0: +1, 1: -1).
  void decide(int64_t t, const std::vector<double>& re, const std::vector<double>& im,
              const std::optional<MagnetisationConstraint>& constraint) {
    for (int64_t b = 0; b < batch; ++b) {
      double x_up = 2 * re[b * 2 + 0], x_down = 2 * re[b * 2 + 1];
      bool up_ok = true, down_ok = true;
      if (constraint) {
        up_ok = constraint->up_allowed(t, n_up[b]);
        down_ok = constraint->down_allowed(t, n_up[b]);
        NAQS_CHECK(up_ok || down_ok, "sampler: no allowed local state at site ", t);
      }
      double log_p_up, log_p_down;  // log |psi_t(s)|^2
      if (!up_ok) {
        log_p_up = -kMaskLogit;
        log_p_down = 0;
      } else if (!down_ok) {
        log_p_up = 0;
        log_p_down = -kMaskLogit;
      } else {
        const double m = std::max(x_up, x_down);
        const double lse = m + std::log(std::exp(x_up - m) + std::exp(x_down - m));
        log_p_up = x_up - lse;
        log_p_down = x_down - lse;
      }
      const uint64_t index = static_cast<uint64_t>(first + b) * static_cast<uint64_t>(n_sites) +
                             static_cast<uint64_t>(t);
      const double u = philox_uniform_f64(seed, stream, index);
      const bool up = u < std::exp(log_p_up);
      const int s = up ? 0 : 1;
      sigma_t[b] = up ? 1.0 : -1.0;
      sigma[b * n_sites + t] = sigma_t[b];
      if (up) ++n_up[b];
      log_re[b] += 0.5 * (up ? log_p_up : log_p_down);
      log_im[b] += im[b * 2 + s];
    }
  }
};

// Column t of a (B,2,N) host array as (B,2).
std::vector<double> column(const std::vector<double>& v, int64_t batch, int64_t n, int64_t t) {
  std::vector<double> out(static_cast<std::size_t>(batch * 2));
  for (int64_t b = 0; b < batch; ++b)
    for (int s = 0; s < 2; ++s) out[b * 2 + s] = v[(b * 2 + s) * n + t];
  return out;
}

}  // namespace

void sample_autoregressive(AutoregressiveWavefunction& psi, int64_t first_sample,
                           const SamplerOptions& options, Tensor& sigma, Tensor& log_re,
                           Tensor& log_im) {
  const char* op = "sample_autoregressive";
  const int64_t n = psi.n_sites();
  check_rank(op, sigma, 2, "sigma");
  const int64_t n_samples = sigma.size(0);
  check_shape(op, sigma, {n_samples, n}, "sigma");
  check_shape(op, log_re, {n_samples}, "log_re");
  check_shape(op, log_im, {n_samples}, "log_im");
  NAQS_REQUIRE(options.batch_size >= 1, "sampler batch size must be >= 1, got ",
               options.batch_size);
  NAQS_CHECK(first_sample >= 0, op, ": first_sample must be >= 0");
  const DType dtype = psi.dtype();
  const Device device = psi.device();

  for (int64_t start = 0; start < n_samples; start += options.batch_size) {
    ChunkState c;
    c.first = first_sample + start;
    c.batch = std::min(options.batch_size, n_samples - start);
    c.n_sites = n;
    c.seed = options.seed;
    c.stream = options.stream;
    c.sigma.assign(static_cast<std::size_t>(c.batch * n), 0.0);
    c.log_re.assign(static_cast<std::size_t>(c.batch), 0.0);
    c.log_im.assign(static_cast<std::size_t>(c.batch), 0.0);
    c.n_up.assign(static_cast<std::size_t>(c.batch), 0);
    c.sigma_t.assign(static_cast<std::size_t>(c.batch), 0.0);

    if (options.cached) {
      psi.cache_begin(c.batch);
      Tensor re_t = Tensor::empty({c.batch, 2}, dtype, device);
      Tensor im_t = Tensor::empty({c.batch, 2}, dtype, device);
      for (int64_t t = 0; t < n; ++t) {
        psi.cache_logits(t, re_t, im_t);
        c.decide(t, to_host_f64(re_t), to_host_f64(im_t), psi.constraint());
        psi.cache_set_site(t, from_host_f64(c.sigma_t, {c.batch}, dtype, device));
      }
    } else {
      Tensor re = Tensor::empty({c.batch, 2, n}, dtype, device);
      Tensor im = Tensor::empty({c.batch, 2, n}, dtype, device);
      for (int64_t t = 0; t < n; ++t) {
        psi.logits(from_host_f64(c.sigma, {c.batch, n}, dtype, device), re, im);
        c.decide(t, column(to_host_f64(re), c.batch, n, t), column(to_host_f64(im), c.batch, n, t),
                 psi.constraint());
      }
    }
    sigma.narrow(start, c.batch).copy_from(from_host_f64(c.sigma, {c.batch, n}, dtype, device));
    log_re.narrow(start, c.batch).copy_from(from_host_f64(c.log_re, {c.batch}, dtype, device));
    log_im.narrow(start, c.batch).copy_from(from_host_f64(c.log_im, {c.batch}, dtype, device));
  }
}

}  // namespace naqs
