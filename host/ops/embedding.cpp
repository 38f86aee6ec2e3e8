#include "host/ops/embedding.hpp"

#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/gather.hpp"

namespace naqs::ops {
namespace {

using detail::EmbeddingDims;

// ids' shape with a last dim C appended: the shape of out and dout.
Shape rows_shape(const char* op, const Tensor& ids, int64_t channels) {
  if (ids.rank() >= kMaxRank)
    throw Error(cat(op, ": ids ", ids.str(), " has rank ", ids.rank(), "; at most ", kMaxRank - 1,
                    " (the output appends the channel dim)"));
  std::vector<int64_t> dims;
  for (int k = 0; k < ids.rank(); ++k) dims.push_back(ids.size(k));
  dims.push_back(channels);
  return Shape(dims);
}

void check_ids(const char* op, const Tensor& ids, const Tensor& dense, const char* dense_name) {
  check_defined(op, ids, "ids");
  check_contiguous(op, ids, "ids");
  check_defined(op, dense, dense_name);
  check_contiguous(op, dense, dense_name);
  check_dtype(op, ids, DType::i32, "ids");
  check_same_device(op, {&ids, &dense});
  dispatch_float(dense.dtype(), op, [](auto) {});
}

template <class T>
void embedding_forward_cpu(const int32_t* ids, const T* table, const EmbeddingDims& d, T* out,
                           bool accumulate) {
  const int64_t c_n = d.channels;
#pragma omp parallel for if (d.n * c_n > kMinParallelElements)
  for (int64_t p = 0; p < d.n; ++p) {
    const T* row = table + static_cast<int64_t>(ids[p]) * c_n;
    T* o = out + p * c_n;
    for (int64_t c = 0; c < c_n; ++c) o[c] = accumulate ? o[c] + row[c] : row[c];
  }
}

// Positions bucketed by key = group * V + id (a counting sort, stable: ascending positions within
// a bucket); each bucket's rows are summed in that order in double. Threads split the buckets.
template <class T>
void embedding_backward_cpu(const int32_t* ids, const T* dout, const EmbeddingDims& d, T* dtable,
                            bool accumulate) {
  const int64_t n_keys = d.groups * d.vocab, c_n = d.channels;
  const int64_t per_group = d.groups > 0 ? d.n / d.groups : 0;
  std::vector<int64_t> start(static_cast<std::size_t>(n_keys + 1), 0);
  auto key_of = [&](int64_t p) { return (p / per_group) * d.vocab + ids[p]; };
  for (int64_t p = 0; p < d.n; ++p) ++start[key_of(p) + 1];
  for (int64_t k = 0; k < n_keys; ++k) start[k + 1] += start[k];
  std::vector<int64_t> order(static_cast<std::size_t>(d.n));
  {
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    for (int64_t p = 0; p < d.n; ++p) order[cursor[key_of(p)]++] = p;
  }
#pragma omp parallel if ((d.n + n_keys) * c_n > kMinParallelElements)
  {
    std::vector<double> acc(static_cast<std::size_t>(c_n));
#pragma omp for schedule(static)
    for (int64_t k = 0; k < n_keys; ++k) {
      T* row = dtable + k * c_n;
      if (start[k] == start[k + 1]) {
        if (!accumulate)
          for (int64_t c = 0; c < c_n; ++c) row[c] = T(0);
        continue;
      }
      for (int64_t c = 0; c < c_n; ++c) acc[c] = 0;
      for (int64_t q = start[k]; q < start[k + 1]; ++q) {
        const T* src = dout + order[q] * c_n;
        for (int64_t c = 0; c < c_n; ++c) acc[c] += double(src[c]);
      }
      for (int64_t c = 0; c < c_n; ++c)
        row[c] = static_cast<T>(accumulate ? double(row[c]) + acc[c] : acc[c]);
    }
  }
}

}  // namespace

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out, bool accumulate) {
  const char* op = "embedding_forward";
  check_ids(op, ids, table, "table");
  check_rank(op, table, 2, "table");
  check_defined(op, out, "out");
  check_contiguous(op, out, "out");
  check_same_device(op, {&ids, &table, &out});
  check_same_dtype(op, {&table, &out});
  check_shape(op, out, rows_shape(op, ids, table.size(1)), "out");
  const EmbeddingDims d{ids.numel(), 1, table.size(0), table.size(1)};
  if (ids.device().is_cpu()) {
    detail::throw_if_bad_index(op, ids, detail::first_bad_index_cpu(ids, d.vocab), d.vocab);
    dispatch_float(table.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      embedding_forward_cpu<T>(ids.data<int32_t>(), table.data<T>(), d, out.data<T>(), accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::throw_if_bad_index(
                             op, ids, detail::embedding_forward_cuda(ids, table, d, out, accumulate),
                             d.vocab));
  }
}

void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable, bool accumulate) {
  const char* op = "embedding_backward";
  check_ids(op, ids, dout, "dout");
  check_defined(op, dtable, "dtable");
  check_contiguous(op, dtable, "dtable");
  check_same_device(op, {&ids, &dout, &dtable});
  check_same_dtype(op, {&dout, &dtable});
  const int64_t n = ids.numel();
  const int64_t groups = dtable.rank() == 3 ? dtable.size(0) : 1;
  if ((dtable.rank() != 2 && dtable.rank() != 3) || groups == 0 || n % groups != 0)
    throw Error(cat(op, ": dtable ", dtable.str(), " is neither (V, C) nor (G, V, C) with G dividing",
                    " the ", n, " positions of ids ", ids.str()));
  const EmbeddingDims d{n, groups, dtable.size(-2), dtable.size(-1)};
  check_shape(op, dout, rows_shape(op, ids, d.channels), "dout");
  if (ids.device().is_cpu()) {
    detail::throw_if_bad_index(op, ids, detail::first_bad_index_cpu(ids, d.vocab), d.vocab);
    dispatch_float(dout.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      embedding_backward_cpu<T>(ids.data<int32_t>(), dout.data<T>(), d, dtable.data<T>(),
                                accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::throw_if_bad_index(
                             op, ids,
                             detail::embedding_backward_cuda(ids, dout, d, dtable, accumulate),
                             d.vocab));
  }
}

}  // namespace naqs::ops
