// Gather along an axis (torch.gather semantics) and its adjoint, scatter-add.
//   gather(src, index, axis, out):      out[o,j,i] = src[o, index[o,j,i], i]
//       index (i32) has out's shape; src has out's shape except along `axis` (size n_src).
//   scatter_add(src, index, axis, out): out[o, index[o,j,i], i] += src[o,j,i]  (out not zeroed)
//       index (i32) has src's shape; out has src's shape except along `axis`.
// (o, j, i) is the (outer, axis, inner) view around `axis`. src/out are f32 or f64.
// An index outside [0, n) is an Error naming the op, the position and the value; on CUDA a
// device-side check records the first bad position and the host turns it into the same Error
// (the CPU checks before writing; on CUDA the valid entries have been written by then).
// CUDA twin in cuda/gather.cu (scatter_add with atomicAdd, so its summation order varies).
// Tests: tests/unit/test_ops_dense_axis.cpp (hand values; scatter_add is the adjoint of gather:
// <gather(x), w> = <x, scatter_add(w)> and central differences); tests/op_cases/gather.cpp
// (gather exact; scatter_add: atomics sum colliding terms in any order).
#pragma once
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

void gather(const Tensor& src, const Tensor& index, int axis, Tensor& out);
void scatter_add(const Tensor& src, const Tensor& index, int axis, Tensor& out);

namespace detail {
// The out-of-range report shared with host/ops/embedding: the smallest flat position of an entry
// of `index` (i32, cpu) outside [0, n), or -1; and the Error for a position >= 0 ("<op>: index
// <value> at flat position <p> of <index> is outside [0, n)"; reads the value from any device).
int64_t first_bad_index_cpu(const Tensor& index, int64_t n);
void throw_if_bad_index(const char* op, const Tensor& index, int64_t position, int64_t n);

// `index_split` is index viewed around the axis; `n_table` the axis size of the gathered-from
// (gather: src) or scattered-into (scatter_add: out) tensor. Entries with an index outside
// [0, n_table) are skipped; the return value is the smallest flat position of one, or -1.
int64_t gather_cuda(const Tensor& src, const Tensor& index, const AxisSplit& index_split,
                    int64_t n_table, Tensor& out);
int64_t scatter_add_cuda(const Tensor& src, const Tensor& index, const AxisSplit& index_split,
                         int64_t n_table, Tensor& out);
}  // namespace detail

}  // namespace naqs::ops
