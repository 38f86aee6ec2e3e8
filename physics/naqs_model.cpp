// Shared part of the NAQS convolutional models (see naqs_model.hpp).
#include "physics/naqs_model.hpp"

#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs {

NaqsConvModel::NaqsConvModel(const char* model, const NaqsModelOptions& options, DType dtype,
                             Device device)
    : dtype_(dtype), device_(device), phase_mode_(options.phase_mode) {
  NAQS_REQUIRE(options.width >= 1, model, ": width must be >= 1, got ", options.width);
  NAQS_REQUIRE(options.depth >= 0, model, ": depth must be >= 0, got ", options.depth);
  NAQS_REQUIRE(options.kernel >= 1, model, ": kernel must be >= 1, got ", options.kernel);
  NAQS_REQUIRE(dtype == DType::f32 || dtype == DType::f64, model, ": dtype must be f32 or f64");
}

void NaqsConvModel::hand_over_gradient(const std::vector<double>& grad_host, Tensor& grad_or_jac,
                                       bool accumulate) const {
  Tensor grad = from_host_f64(grad_host, grad_or_jac.shape(), dtype_, device_);
  if (accumulate)
    ops::binary(ops::Binary::add, grad_or_jac, grad, grad_or_jac);
  else
    ops::copy(grad, grad_or_jac);
}

Tensor NaqsConvModel::site_major_weight(const std::vector<double>& w, int64_t c_out,
                                        int64_t c_in, int64_t taps) const {
  NAQS_CHECK(static_cast<int64_t>(w.size()) == c_out * c_in * taps,
             "site_major_weight: ", w.size(), " weights for (", c_out, ",", c_in, ",", taps, ")");
  std::vector<double> wt(w.size());
  for (int64_t o = 0; o < c_out; ++o)
    for (int64_t c = 0; c < c_in; ++c)
      for (int64_t k = 0; k < taps; ++k)
        wt[(k * c_in + c) * c_out + o] = w[(o * c_in + c) * taps + k];
  return from_host_f64(wt, {taps, c_in, c_out}, dtype_, device_);
}

void NaqsConvModel::cache_set_site(int64_t t, const Tensor& sigma_t) {
  const char* op = "NaqsConvModel::cache_set_site";
  NAQS_CHECK(cache_batch_ > 0, op, ": cache_begin was not called");
  NAQS_CHECK(t >= 0 && t < n_sites(), op, ": site ", t, " out of range");
  check_shape(op, sigma_t, {cache_batch_}, "sigma_t");
  cache_x_.site(t).reshape({cache_batch_}).copy_from(sigma_t);
}

Tensor& NaqsConvModel::pre_activation(Tensor& t, const Shape& shape) const {
  if (activations_kept_)
    ensure_tensor(t, shape, dtype_, device_);
  else
    t = Tensor();
  return t;
}

void SiteCache::allocate(int64_t n_rows, int64_t batch, int64_t channels, DType dtype,
                         Device device) {
  rows = n_rows;
  data = Tensor::zeros({n_rows, batch, channels}, dtype, device);
}

}  // namespace naqs
