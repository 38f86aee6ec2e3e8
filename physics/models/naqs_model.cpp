// Shared part of the NAQS convolutional models (see naqs_model.hpp).
#include "physics/models/naqs_model.hpp"

#include <cmath>

#include "host/ops/columns.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/random.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/weight_norm.hpp"

namespace naqs {

NaqsConvModel::NaqsConvModel(const char* model, const NaqsModelOptions& options, DType dtype,
                             Device device)
    : dtype_(dtype), device_(device), phase_mode_(options.phase_mode) {
  NAQS_REQUIRE(options.width >= 1, model, ": width must be >= 1, got ", options.width);
  NAQS_REQUIRE(options.depth >= 0, model, ": depth must be >= 0, got ", options.depth);
  NAQS_REQUIRE(options.kernel >= 1, model, ": kernel must be >= 1, got ", options.kernel);
  NAQS_REQUIRE(dtype == DType::f32 || dtype == DType::f64, model, ": dtype must be f32 or f64");
}

void NaqsConvModel::register_conv(NormedConv& l, const Shape& v_shape) {
  l.taps = v_shape.numel() / (l.c_out * l.c_in);
  NAQS_CHECK(v_shape[0] == l.c_out && v_shape[1] == l.c_in && l.n_weights() == v_shape.numel(),
             "register_conv: ", l.name, " has v ", v_shape.str(), " for (", l.c_out, ",", l.c_in,
             ")");
  l.v_shape = v_shape;
  l.offset = params_.add(l.name + ".v", v_shape);
  const int64_t g_offset = params_.add(l.name + ".g", {l.c_out});
  NAQS_CHECK(g_offset == l.offset + l.n_weights(), "register_conv: parameters of ", l.name,
             " are not contiguous");
  if (l.has_bias) {
    const int64_t b_offset = params_.add(l.name + ".b", {l.c_out});
    NAQS_CHECK(b_offset == g_offset + l.c_out, "register_conv: parameters of ", l.name,
               " are not contiguous");
  }
}

void NaqsConvModel::bind_biases() {
  for (std::size_t i = 0; i < n_convs(); ++i) {
    NormedConv& l = conv(i);
    if (l.has_bias) l.bias = params_.get(l.name + ".b");
  }
}

void NaqsConvModel::initialise_convs(uint64_t seed, double out_scale) {
  Tensor normal = Tensor::empty({params_.size()}, DType::f64, Device::cpu());
  ops::fill_normal(normal, seed, /*stream=*/0, /*offset=*/0);
  std::vector<double> p = normal.to_vector<double>();
  for (std::size_t i = 0; i < n_convs(); ++i) {
    const NormedConv& l = conv(i);
    double* v = p.data() + l.offset;
    double* g = v + l.n_weights();
    const int64_t fan_in = l.fan_in();
    const double root = std::sqrt(static_cast<double>(fan_in));
    for (int64_t o = 0; o < l.c_out; ++o) {
      double norm2 = 0;
      for (int64_t m = 0; m < fan_in; ++m) {
        v[o * fan_in + m] /= root;
        norm2 += v[o * fan_in + m] * v[o * fan_in + m];
      }
      g[o] = std::sqrt(norm2) * (l.output ? out_scale : 1.0);
    }
    if (l.has_bias) std::fill_n(g + l.c_out, l.c_out, 0.0);  // b
  }
  params_.flat().copy_from(from_host_f64(p, {params_.size()}, dtype_, device_));
}

void NaqsConvModel::refresh_weights(bool site_major) {
  const Tensor flat = params_.flat();
  for (std::size_t i = 0; i < n_convs(); ++i) {
    NormedConv& l = conv(i);
    const Tensor v = flat.narrow(l.offset, l.n_weights()).reshape({l.c_out, l.fan_in()});
    const Tensor g = flat.narrow(l.offset + l.n_weights(), l.c_out);
    ensure_tensor(l.w, l.v_shape, dtype_, device_);
    Tensor w2 = l.w.reshape({l.c_out, l.fan_in()});
    ops::weight_norm_forward(v, g, w2, l.name);
    if (!site_major) continue;
    // wt[k, c, o] = w[o, c, k]: a permuted view of w, copied on the device.
    ensure_tensor(l.wt, {l.taps, l.c_in, l.c_out}, dtype_, device_);
    l.wt.copy_from(l.w.reshape({l.c_out, l.c_in, l.taps}).permute({2, 1, 0}));
  }
}

void NaqsConvModel::check_gradient_output(const char* op, const Tensor& grad_or_jac,
                                          int64_t batch, bool per_sample) const {
  if (per_sample)
    check_shape(op, grad_or_jac, {batch, params_.size()}, "jac");
  else
    check_shape(op, grad_or_jac, {params_.size()}, "grad");
  check_dtype(op, grad_or_jac, dtype_, per_sample ? "jac" : "grad");
  NAQS_CHECK(grad_or_jac.device() == device_, op, ": ", per_sample ? "jac " : "grad ",
             grad_or_jac.str(), " is not on the model's device ", device_.str());
}

void NaqsConvModel::conv_gradient(const NormedConv& l, Tensor& dw, const Tensor& dy3,
                                  bool per_sample, Tensor& grad_or_jac, bool accumulate) const {
  const Tensor flat = params_.flat();
  const Tensor v = flat.narrow(l.offset, l.n_weights()).reshape({l.c_out, l.fan_in()});
  const Tensor g = flat.narrow(l.offset + l.n_weights(), l.c_out);
  const int64_t g_offset = l.offset + l.n_weights(), b_offset = g_offset + l.c_out;
  if (!per_sample) {
    Tensor dv = grad_or_jac.narrow(l.offset, l.n_weights()).reshape({l.c_out, l.fan_in()});
    Tensor dg = grad_or_jac.narrow(g_offset, l.c_out);
    ops::weight_norm_backward(v, g, dw.reshape({l.c_out, l.fan_in()}), dv, dg, accumulate,
                              l.name);
    if (l.has_bias) {
      Tensor db = grad_or_jac.narrow(b_offset, l.c_out);
      ops::bias_backward(dy3, 1, db, accumulate);
    }
    return;
  }
  // Per sample: the rows of dw become the v gradient in place, then each block goes into its
  // columns of jac.
  const int64_t batch = dy3.size(0);
  Tensor dw3 = dw.reshape({batch, l.c_out, l.fan_in()});
  Tensor dg = Tensor::empty({batch, l.c_out}, dtype_, device_);
  ops::weight_norm_backward(v, g, dw3, dw3, dg, /*accumulate=*/false, l.name);
  ops::put_columns(dw3.reshape({batch, l.n_weights()}), grad_or_jac, l.offset, 1.0, accumulate);
  ops::put_columns(dg, grad_or_jac, g_offset, 1.0, accumulate);
  if (l.has_bias) {
    Tensor db = Tensor::empty({batch, l.c_out}, dtype_, device_);
    ops::reduce(ops::Reduce::sum, dy3, 2, db);
    ops::put_columns(db, grad_or_jac, b_offset, 1.0, accumulate);
  }
}

void NaqsConvModel::cache_set_site(int64_t t, const Tensor& sigma_t) {
  const char* op = "NaqsConvModel::cache_set_site";
  NAQS_CHECK(cache_batch_ > 0, op, ": cache_begin was not called");
  NAQS_CHECK(t >= 0 && t < n_sites(), op, ": site ", t, " out of range");
  check_shape(op, sigma_t, {cache_batch_}, "sigma_t");
  cache_x_.write(t).reshape({cache_batch_}).copy_from(sigma_t);
}

Tensor& NaqsConvModel::pre_activation(Tensor& t, const Shape& shape) const {
  if (activations_kept_)
    ensure_tensor(t, shape, dtype_, device_);
  else
    t = Tensor();
  return t;
}

}  // namespace naqs
