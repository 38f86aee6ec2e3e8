// Conversions between tensors and host float64 vectors, and the reuse-or-allocate helper for
// output buffers. Plain tensor plumbing shared by every layer (physics/, ml/, nn/, host/io,
// tests); in host/core because it needs nothing but Tensor. Cost: to_host_f64 and from_host_f64
// copy across devices (a device tensor makes one download or upload): for small per-chain
// vectors, setup and tests, never for per-step batch work on a CUDA tensor.
//   to_host_f64(t)                        any f32/f64 tensor, any device -> host doubles
//   from_host_f64(values, shape, dtype, device)   host doubles -> a new f32/f64 tensor there
//                                         (f32: each value rounded once, static_cast)
//   ensure_tensor(t, shape, dtype, device)         t keeps its buffer when shape, dtype and
//                                         device already match, else gets a new (uninitialised)
//                                         one
//   data_or_null<T>(t)                    t's data, or nullptr for an undefined (optional)
//                                         tensor (a bias, beta, dgamma, ...)
// Errors: another dtype than f32/f64 names the call and the dtype (dispatch_float).
// Tests: tests/unit/test_tensor_convert.cpp.
#pragma once
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

std::vector<double> to_host_f64(const Tensor& t);
Tensor from_host_f64(const std::vector<double>& values, const Shape& shape, DType dtype,
                     Device device);
void ensure_tensor(Tensor& t, const Shape& shape, DType dtype, Device device);

}  // namespace naqs
