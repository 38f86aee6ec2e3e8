// copy(src, dst): dst = src elementwise, for any strides on either side (views from narrow,
// select, permute, transpose, expand), same shape and dtype (all dtypes), any devices
// (host<->device included). Tensor::contiguous(), clone(), to() and copy_from() use it.
//   Same device: when both are contiguous, one memcpy; otherwise a strided walk, CPU reference
//   here (row by row over the innermost dim, OpenMP from kMinParallelElements elements) and the
//   CUDA twin copy_cuda in cuda/copy.cu (one thread per element, 64-bit index split over up to
//   six dims, grid-stride loop). Dims are collapsed first (size-1 dims dropped, neighbours
//   merged where both sides step through them as one), so a copy between two dense layouts of
//   the same order is one flat loop.
//   Across devices: a strided source is made contiguous on its own device, moved with one
//   memcpy, and scattered on the destination device when dst is strided.
// Strides: src any (stride 0 included); dst must not have elements sharing memory
// (check_no_overlap) and must not overlap src.
// Tests: tests/unit/test_copy.cpp (exact: copies do no arithmetic); tests/op_cases/copy.cpp
// (CUDA parity, exact, destination views inside guarded buffers; float64 gradients).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void copy(const Tensor& src, Tensor& dst);

namespace detail {
// A same-device strided copy: collapse_dims({&src, &dst}) (host/core/tensor.hpp), rank 0 for a
// single element; stride[0] walks src, stride[1] dst, from the views' first elements.
CollapsedDims plan_copy(const Tensor& src, const Tensor& dst);
void copy_cuda(const Tensor& src, Tensor& dst, const CollapsedDims& plan);
}  // namespace detail

}  // namespace naqs::ops
