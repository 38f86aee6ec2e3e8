// Exact ancestral sampling (see autoregressive.hpp for the random-number keying and the
// strategies).
#include "physics/sampler/autoregressive.hpp"

#include <algorithm>

#include "host/core/philox.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/sample_site.hpp"

namespace naqs {

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

  ops::SampleSiteSpec spec;
  spec.seed = options.seed;
  spec.stream = options.stream;
  spec.n_sites = n;
  const SpinHilbert hilbert = psi.hilbert();
  spec.n_up_target = hilbert.constrained() ? hilbert.n_up() : -1;
  for (int64_t start = 0; start < n_samples; start += options.batch_size) {
    const int64_t batch = std::min(options.batch_size, n_samples - start);
    spec.first_sample = first_sample + start;
    // Unset sites are 0 (the naive strategy feeds the partial configuration to the network).
    Tensor chunk = Tensor::zeros({batch, n}, dtype, device);
    Tensor sigma_t = Tensor::empty({batch}, dtype, device);
    Tensor acc_re = Tensor::zeros({batch}, DType::f64, device);
    Tensor acc_im = Tensor::zeros({batch}, DType::f64, device);
    Tensor n_up = Tensor::zeros({batch}, DType::i32, device);
    if (options.cached) {
      psi.cache_begin(batch);
      Tensor re_t = Tensor::empty({batch, 2}, dtype, device);
      Tensor im_t = Tensor::empty({batch, 2}, dtype, device);
      for (int64_t t = 0; t < n; ++t) {
        psi.cache_logits(t, re_t, im_t);
        spec.site = t;
        ops::sample_site(re_t.reshape({batch, 2, 1}), im_t.reshape({batch, 2, 1}), 0, spec, chunk,
                         sigma_t, acc_re, acc_im, n_up);
        psi.cache_set_site(t, sigma_t);
      }
    } else {
      Tensor re = Tensor::empty({batch, 2, n}, dtype, device);
      Tensor im = Tensor::empty({batch, 2, n}, dtype, device);
      for (int64_t t = 0; t < n; ++t) {
        psi.logits_no_backward(chunk, re, im);
        spec.site = t;
        ops::sample_site(re, im, t, spec, chunk, sigma_t, acc_re, acc_im, n_up);
      }
    }
    sigma.narrow(start, batch).copy_from(chunk);
    Tensor out_re = log_re.narrow(start, batch), out_im = log_im.narrow(start, batch);
    ops::cast(acc_re, out_re);
    ops::cast(acc_im, out_im);
  }
}

void sample_symmetric(SymmetricWavefunction& psi, int64_t first_sample,
                      const SamplerOptions& options, Tensor& sigma, Tensor& log_re,
                      Tensor& log_im) {
  sample_autoregressive(psi.base(), first_sample, options, sigma, log_re, log_im);
  const int64_t count = sigma.size(0), n = psi.n_sites(), n_group = psi.group().size();
  const std::vector<double> s = to_host_f64(sigma);
  std::vector<double> out(s.size());
  for (int64_t b = 0; b < count; ++b) {
    const double u = philox_uniform_f64(options.seed, options.stream ^ kSymmetryStreamTag,
                                        static_cast<uint64_t>(first_sample + b));
    const int64_t g = std::min<int64_t>(
        n_group - 1, static_cast<int64_t>(u * static_cast<double>(n_group)));
    psi.group().apply(g, s.data() + b * n, out.data() + b * n, 1);
  }
  sigma.copy_from(from_host_f64(out, sigma.shape(), sigma.dtype(), sigma.device()));
  psi.log_psi(sigma, log_re, log_im);
}

}  // namespace naqs
