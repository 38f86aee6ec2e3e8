// CPU reference of the ancestral-sampling site decision and device dispatch; see sample_site.hpp.
#include "host/ops/sample_site.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs::ops {

void sample_site(const Tensor& re, const Tensor& im, int64_t column, const SampleSiteSpec& spec,
                 Tensor& sigma, Tensor& sigma_t, Tensor& log_re, Tensor& log_im, Tensor& n_up) {
  const char* op = "sample_site";
  check_rank(op, re, 3, "re");
  const int64_t batch = re.size(0), length = re.size(2);
  check_shape(op, re, Shape{batch, 2, length}, "re");
  check_shape(op, im, Shape{batch, 2, length}, "im");
  NAQS_CHECK(column >= 0 && column < length, op, ": column ", column, " out of range for ",
             re.str());
  NAQS_CHECK(spec.site >= 0 && spec.site < spec.n_sites, op, ": site ", spec.site,
             " out of range for ", spec.n_sites, " sites");
  NAQS_CHECK(spec.n_up_target <= spec.n_sites, op, ": n_up_target ", spec.n_up_target, " > ",
             spec.n_sites, " sites");
  check_shape(op, sigma, Shape{batch, spec.n_sites}, "sigma");
  check_shape(op, sigma_t, Shape{batch}, "sigma_t");
  check_shape(op, log_re, Shape{batch}, "log_re");
  check_shape(op, log_im, Shape{batch}, "log_im");
  check_shape(op, n_up, Shape{batch}, "n_up");
  check_same_dtype(op, {&re, &im, &sigma, &sigma_t});
  check_dtype(op, log_re, DType::f64, "log_re");
  check_dtype(op, log_im, DType::f64, "log_im");
  check_dtype(op, n_up, DType::i32, "n_up");
  check_same_device(op, {&re, &im, &sigma, &sigma_t, &log_re, &log_im, &n_up});
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&re, "re"}, {&im, "im"},
                                {&sigma, "sigma"}, {&sigma_t, "sigma_t"}, {&log_re, "log_re"},
                                {&log_im, "log_im"}, {&n_up, "n_up"}})
    check_contiguous(op, *t, name);
  if (re.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(re.device().index));
    NAQS_CUDA_BRANCH(op, detail::sample_site_cuda(re.dtype(), batch, length, re.raw_data(),
                                                  im.raw_data(), column, spec, sigma.raw_data(),
                                                  sigma_t.raw_data(), log_re.data<double>(),
                                                  log_im.data<double>(), n_up.data<int32_t>()));
    return;
  }
  // Two exp, a log and one Philox block per sample: serial (threads cost more than the work
  // for the batch sizes the sampler uses).
  dispatch_float(re.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* r = re.data<T>();
    const T* i = im.data<T>();
    T* s = sigma.data<T>();
    T* st = sigma_t.data<T>();
    double* lr = log_re.data<double>();
    double* li = log_im.data<double>();
    int32_t* nu = n_up.data<int32_t>();
    for (int64_t b = 0; b < batch; ++b)
      sample_site_row(b, length, r, i, column, spec, s, st, lr, li, nu);
  });
}

}  // namespace naqs::ops
