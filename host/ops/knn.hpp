// Nearest-neighbour ops for representation alignment (ml/align/).
//   topk_rows(x, k, values, index, skip_offset):
//       per row r of x (R, C), the k largest entries in descending order, ties broken by the
//       lower column index (the order is total: (a, i) comes before (b, j) when a > b, or a == b
//       and i < j). index (R, k) i32 receives the columns; values (R, k), x's dtype, the entries
//       (optional: an undefined tensor is not written). skip_offset >= 0 leaves out column
//       skip_offset + r of row r (the diagonal of the row block [skip_offset, skip_offset + R) of
//       a Gram matrix: a point is not its own neighbour); skip_offset < 0 leaves out nothing.
//       1 <= k <= the columns left (UsageError otherwise). x: f32 or f64, column stride 1 and row
//       stride >= C (a row block of a Gram matrix, or a narrow of one). A NaN entry gives an
//       unspecified order (ml/align rejects NaN features before any op runs).
//   knn_overlap(a, b, count): count[r] = |{a[r, i]} ∩ {b[r, j]}|, the number of entries of row r
//       of a (R, ka) that appear in row r of b (R, kb); all i32, contiguous. Rows of neighbour
//       lists hold distinct entries; with repeats in a, each repeat found in b counts.
// Both are exact (no arithmetic on the values): the CPU and the CUDA twin give the same integers.
// CPU: topk_rows keeps a sorted buffer of k per row (one pass over the row, O(C) for C >> k);
// rows on OpenMP threads from 2^20 elements. CUDA twin (cuda/knn.cu): one block per row, k rounds
// of a block-wide arg-max over the entries that come after the previous pick in the order above
// (O(k C) per row, no scratch); knn_overlap one thread per row.
// Tests: tests/unit/test_align.cpp (topk_rows against a full stable sort, a documented tie case,
// errors); tests/op_cases/knn.cpp (CUDA parity, tolerance 0: both sides only compare and copy).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void topk_rows(const Tensor& x, int64_t k, Tensor& values, Tensor& index,
               int64_t skip_offset = -1);

void knn_overlap(const Tensor& a, const Tensor& b, Tensor& count);

namespace detail {
// Arguments checked by the host; values may be undefined.
void topk_rows_cuda(const Tensor& x, int64_t k, Tensor& values, Tensor& index,
                    int64_t skip_offset);
void knn_overlap_cuda(const Tensor& a, const Tensor& b, Tensor& count);
}  // namespace detail

}  // namespace naqs::ops
