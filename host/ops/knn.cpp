#include "host/ops/knn.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

// x is a matrix whose rows may be spaced out (a narrow of a wider matrix) but whose columns are
// adjacent.
void check_row_matrix(const char* op, const Tensor& x, const char* name) {
  check_defined(op, x, name);
  check_rank(op, x, 2, name);
  NAQS_CHECK(x.size(0) <= 1 || x.size(1) <= 1 || (x.stride(1) == 1 && x.stride(0) >= x.size(1)),
             op, ": ", name, " ", x.str(), " needs column stride 1 and row stride >= its columns");
}

// (a, i) comes before (b, j) in topk_rows' order.
template <class T>
inline bool before(T a, int64_t i, T b, int64_t j) {
  return a > b || (a == b && i < j);
}

template <class T>
void topk_rows_cpu(const Tensor& x, int64_t k, Tensor& values, Tensor& index,
                   int64_t skip_offset) {
  const int64_t rows = x.size(0), cols = x.size(1);
  const int64_t ld = rows > 1 ? x.stride(0) : cols;
  const T* px = x.strided_data<T>();
  int32_t* pi = index.data<int32_t>();
  T* pv = values.defined() ? values.data<T>() : nullptr;
#pragma omp parallel if (rows * cols > kMinParallelElements)
  {
    std::vector<T> buf_v(static_cast<std::size_t>(k));
    std::vector<int64_t> buf_i(static_cast<std::size_t>(k));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = px + r * ld;
      const int64_t skip = skip_offset >= 0 ? skip_offset + r : -1;
      int64_t filled = 0;
      for (int64_t c = 0; c < cols; ++c) {
        if (c == skip) continue;
        const T v = row[c];
        // columns arrive in increasing order, so a tie with the last kept entry loses
        if (filled == k && !(v > buf_v[k - 1])) continue;
        int64_t p = filled < k ? filled++ : k - 1;
        while (p > 0 && before(v, c, buf_v[p - 1], buf_i[p - 1])) {
          buf_v[p] = buf_v[p - 1];
          buf_i[p] = buf_i[p - 1];
          --p;
        }
        buf_v[p] = v;
        buf_i[p] = c;
      }
      for (int64_t j = 0; j < k; ++j) {
        pi[r * k + j] = static_cast<int32_t>(buf_i[j]);
        if (pv) pv[r * k + j] = buf_v[j];
      }
    }
  }
}

void knn_overlap_cpu(const Tensor& a, const Tensor& b, Tensor& count) {
  const int64_t rows = a.size(0), ka = a.size(1), kb = b.size(1);
  const int32_t* pa = a.data<int32_t>();
  const int32_t* pb = b.data<int32_t>();
  int32_t* pc = count.data<int32_t>();
#pragma omp parallel for schedule(static) if (rows * ka * kb > kMinParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    int32_t n = 0;
    for (int64_t i = 0; i < ka; ++i)
      for (int64_t j = 0; j < kb; ++j)
        if (pa[r * ka + i] == pb[r * kb + j]) {
          ++n;
          break;
        }
    pc[r] = n;
  }
}

}  // namespace

void topk_rows(const Tensor& x, int64_t k, Tensor& values, Tensor& index, int64_t skip_offset) {
  const char* op = "topk_rows";
  check_row_matrix(op, x, "x");
  dispatch_float(x.dtype(), op, [](auto) {});
  const int64_t rows = x.size(0), cols = x.size(1);
  // a row's left-out column may lie beyond the columns (a block below the diagonal)
  const int64_t available = cols - (skip_offset >= 0 && skip_offset < cols ? 1 : 0);
  NAQS_CHECK(k >= 1 && k <= available, op, ": k = ", k, " is not allowed for ", x.str(),
               skip_offset >= 0 ? " with its diagonal left out" : "", ": use 1 <= k <= ",
               available);
  NAQS_CHECK(cols <= INT32_MAX, op, ": ", cols, " columns do not fit the i32 index");
  check_defined(op, index, "index");
  check_contiguous(op, index, "index");
  check_dtype(op, index, DType::i32, "index");
  check_shape(op, index, Shape{rows, k}, "index");
  if (values.defined()) {
    check_contiguous(op, values, "values");
    check_shape(op, values, Shape{rows, k}, "values");
    check_same_dtype(op, {&x, &values});
    check_same_device(op, {&x, &values, &index});
  } else {
    check_same_device(op, {&x, &index});
  }
  if (rows == 0) return;
  if (x.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      topk_rows_cpu<decltype(tag)>(x, k, values, index, skip_offset);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::topk_rows_cuda(x, k, values, index, skip_offset));
  }
}

void knn_overlap(const Tensor& a, const Tensor& b, Tensor& count) {
  const char* op = "knn_overlap";
  for (auto [t, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}}) {
    check_defined(op, *t, name);
    check_rank(op, *t, 2, name);
    check_contiguous(op, *t, name);
    check_dtype(op, *t, DType::i32, name);
  }
  NAQS_CHECK(a.size(0) == b.size(0), op, ": a ", a.str(), " and b ", b.str(),
             " have different numbers of rows");
  check_defined(op, count, "count");
  check_contiguous(op, count, "count");
  check_dtype(op, count, DType::i32, "count");
  check_shape(op, count, Shape{a.size(0)}, "count");
  check_same_device(op, {&a, &b, &count});
  if (a.size(0) == 0) return;
  if (a.device().is_cpu()) {
    knn_overlap_cpu(a, b, count);
  } else {
    NAQS_CUDA_BRANCH(op, detail::knn_overlap_cuda(a, b, count));
  }
}

}  // namespace naqs::ops
