// A block of columns of a matrix, written from a dense one:
//   put_columns(src, dst, col, alpha, accumulate):
//       dst[r, col + c] = alpha * src[r, c]            (accumulate: dst[r, col + c] + alpha src)
//       src (R, C), dst (R, D) with col + C <= D; contiguous, one device, one dtype (f32/f64).
// The per-sample Jacobian rows (B, P) of a model are assembled this way from per-layer
// (B, n_layer) gradients (physics/naqs_model.*, physics/rbm.*). alpha = 1 copies exactly,
// alpha = -1 negates exactly. With strided views this is dst.narrow(1, col, C) (+)= alpha src;
// the op stays because axpby (like the other elementwise ops) refuses strided tensors.
// Errors: shapes, a column range outside dst, dtypes, devices (Error naming the op and tensor).
// CUDA twin: cuda/columns.cu. Tests: tests/unit/test_columns.cpp (hand values, accumulate,
// refusals); tests/op_cases/columns.cpp (exact: one multiply-add per element, the same on both
// backends; the other columns and the guard region after dst are untouched).
#pragma once
#include <cstdint>

#include "host/core/tensor.hpp"

namespace naqs::ops {

void put_columns(const Tensor& src, Tensor& dst, int64_t col, double alpha = 1.0,
                 bool accumulate = false);

namespace detail {
void put_columns_cuda(const Tensor& src, Tensor& dst, int64_t col, double alpha, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
