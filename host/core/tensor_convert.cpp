// Tensor <-> host float64 conversions (see tensor_convert.hpp).
#include "host/core/tensor_convert.hpp"

namespace naqs {

std::vector<double> to_host_f64(const Tensor& t) {
  return dispatch_float(t.dtype(), "to_host_f64", [&](auto tag) {
    using T = decltype(tag);
    const std::vector<T> v = t.to_vector<T>();
    return std::vector<double>(v.begin(), v.end());
  });
}

Tensor from_host_f64(const std::vector<double>& values, const Shape& shape, DType dtype,
                     Device device) {
  return dispatch_float(dtype, "from_host_f64", [&](auto tag) {
    using T = decltype(tag);
    return Tensor::from_vector(std::vector<T>(values.begin(), values.end()), shape, device);
  });
}

void ensure_tensor(Tensor& t, const Shape& shape, DType dtype, Device device) {
  if (!t.defined() || !(t.shape() == shape) || t.dtype() != dtype || !(t.device() == device))
    t = Tensor::empty(shape, dtype, device);
}

}  // namespace naqs
