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

}  // namespace naqs
