// Embedding lookup (token ids -> rows of a table) and its adjoint, deterministic without atomics.
//   embedding_forward(ids, table, out, accumulate)
//       ids (...) i32 with N = numel positions, table (V, C), out (ids' shape..., C):
//       out[p, :] = table[ids[p], :]   (accumulate: +=, e.g. token + position embeddings)
//   embedding_backward(ids, dout, dtable, accumulate)
//       dout (ids' shape..., C); dtable (V, C):
//           dtable[v, :] = sum over positions p with ids[p] == v, in ascending p, of dout[p, :]
//       or dtable (G, V, C), per-sample: group g holds positions [g N/G, (g+1) N/G) (ids (B, T),
//       G = B). Rows no position selects are zeroed; accumulate: every row is added to instead.
// table/out/dout/dtable are f32 or f64 (one dtype, one device with ids). An id outside [0, V) is
// an Error naming the op, the flat position and the value (the same line as ops::gather), raised
// before anything is written on the CPU; on CUDA the forward has written the valid rows by then,
// the backward nothing.
// Determinism: each output element is one double sum over its positions in ascending order,
// rounded once, on both backends. CPU: positions bucketed by (group, id) with a counting sort,
// threads split the buckets, so the result is bitwise the same for any thread count. CUDA twin
// in cuda/embedding.cu: a stable radix sort of (group * V + id, position) (CUB), then one thread
// per (sorted position that starts a run of one key, channel) sums the run in order; CPU and CUDA
// perform the same additions and agree bit for bit.
// Tests: tests/unit/test_nn_layers.cpp (hand values; backward = adjoint of forward and float64
// central differences; bitwise identical on 1 and 2 threads; per-sample rows sum to the summed
// gradient; bad ids); tests/op_cases/embedding.cpp (forward exact, a copy; backward exact, the
// same additions in the same order); tests/gpu/test_embedding_errors_gpu.cpp (bad ids on CUDA).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out,
                       bool accumulate = false);
void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable,
                        bool accumulate = false);

namespace detail {
// n positions, groups G, vocabulary V, channels C. Return the smallest flat position of an id
// outside [0, V), or -1 (nothing of the backward is written then).
struct EmbeddingDims {
  int64_t n, groups, vocab, channels;
};
int64_t embedding_forward_cuda(const Tensor& ids, const Tensor& table, const EmbeddingDims& d,
                               Tensor& out, bool accumulate);
int64_t embedding_backward_cuda(const Tensor& ids, const Tensor& dout, const EmbeddingDims& d,
                                Tensor& dtable, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
