// Argument checks shared by the ops' host code (beyond host/core/tensor.hpp's check_*).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

// An optional tensor of an op, checked only when defined: contiguous, on ref's device, of ref's
// dtype and of shape `want` (a norm's gamma, beta, statistics and gradients against its x).
inline void check_optional_like(const char* op, const Tensor& ref, const Tensor& t,
                                const Shape& want, const char* name) {
  if (!t.defined()) return;
  check_contiguous(op, t, name);
  check_same_device(op, {&ref, &t});
  check_same_dtype(op, {&ref, &t});
  check_shape(op, t, want, name);
}

}  // namespace naqs::ops
