#include "host/ops/gemm.hpp"

#include <algorithm>
#include <climits>
#include <optional>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/blas_cpu.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs::ops {
namespace detail {

void MatmulPlan::offsets(int64_t t, int dims, int64_t& oa, int64_t& ob, int64_t& oc) const {
  oa = ob = oc = 0;
  for (int d = dims - 1; d >= 0; --d) {
    const int64_t i = t % batch.size[d];
    t /= batch.size[d];
    oa += i * batch.stride[0][d];
    ob += i * batch.stride[1][d];
    oc += i * batch.stride[2][d];
  }
}

}  // namespace detail

namespace {

using detail::MatmulPlan;
using detail::MatrixLayout;

// The last two dims (R,C) of x read as `trans` says (see MatrixLayout), or nothing when its
// strides do not allow it. A dim of size <= 1 never constrains its stride.
std::optional<MatrixLayout> layout_as(const Tensor& x, bool trans) {
  const int64_t r = x.size(-2), c = x.size(-1), sr = x.stride(-2), sc = x.stride(-1);
  if (!trans && (c <= 1 || sc == 1)) {
    const int64_t ld = r <= 1 ? std::max<int64_t>(c, 1) : sr;
    if (ld >= std::max<int64_t>(c, 1)) return MatrixLayout{false, ld};
  }
  if (trans && (r <= 1 || sr == 1)) {
    const int64_t ld = c <= 1 ? std::max<int64_t>(r, 1) : sc;
    if (ld >= std::max<int64_t>(r, 1)) return MatrixLayout{true, ld};
  }
  return std::nullopt;
}

// x's BLAS layout: the one `prefer_trans` names when it fits (gemm's flags, so gemm passes BLAS
// the arguments it always did, even where a size-1 dim makes both readings valid), otherwise
// row-major when x is a dense row-major matrix, otherwise transposed; refused when neither fits
// (a broadcast or interleaved matrix).
MatrixLayout operand_layout(const char* op, const Tensor& x, const char* name,
                            std::optional<bool> prefer_trans) {
  const bool dense_rows = x.stride(-1) == 1 && x.stride(-2) >= std::max<int64_t>(x.size(-1), 1);
  const bool first = prefer_trans.value_or(!dense_rows);
  std::optional<MatrixLayout> l = layout_as(x, first);
  if (!l) l = layout_as(x, !first);
  if (!l)
    throw Error(cat(op, ": '", name, "' is ", x.str(), "; its last two dims need one stride 1 ",
                    "and the other >= that dim's length (a dense matrix or a transposed one): ",
                    "call contiguous() first"));
  return *l;
}

void check_int(const char* op, int64_t v, const char* what) {
  if (v > INT_MAX)
    throw Error(cat(op, ": ", what, " = ", v, " exceeds the BLAS int range (", INT_MAX, ")"));
}

MatmulPlan plan_matmul(const char* op, const Tensor& a, const Tensor& b, const Tensor& c,
                       std::optional<bool> trans_a, std::optional<bool> trans_b) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  check_defined(op, c, "c");
  check_same_device(op, {&a, &b, &c});
  check_same_dtype(op, {&a, &b, &c});
  dispatch_float(a.dtype(), op, [](auto) {});
  const int rank = a.rank();
  if (rank < 2 || b.rank() != rank || c.rank() != rank)
    throw Error(cat(op, ": a, b and c need the same rank, 2 to ", kMaxRank, ": a ", a.str(),
                    ", b ", b.str(), ", c ", c.str()));
  MatmulPlan p;
  p.m = a.size(-2);
  p.k = a.size(-1);
  p.n = b.size(-1);
  bool same_batch = true;
  for (int d = 0; d < rank - 2; ++d) same_batch = same_batch && a.size(d) == b.size(d);
  if (b.size(-2) != p.k || !same_batch)
    throw Error(cat(op, ": inner or batch dimensions differ: a ", a.str(), " (..., M, K), b ",
                    b.str(), " (..., K, N)"));
  Shape want = a.shape();
  want[rank - 1] = p.n;
  check_shape(op, c, want, "c");
  if (p.n > 1 && c.stride(-1) != 1)
    throw Error(cat(op, ": 'c' is ", c.str(), "; its last dim needs stride 1"));
  check_no_overlap(op, c, "c");
  p.a = operand_layout(op, a, "a", trans_a);
  p.b = operand_layout(op, b, "b", trans_b);
  p.ldc = p.m <= 1 ? std::max<int64_t>(p.n, 1) : c.stride(-2);
  check_int(op, p.m, "M");
  check_int(op, p.n, "N");
  check_int(op, p.k, "K");
  check_int(op, p.a.ld, "a's leading dimension");
  check_int(op, p.b.ld, "b's leading dimension");
  check_int(op, p.ldc, "c's leading dimension");
  p.batch = collapse_dims({&a, &b, &c}, rank - 2);
  return p;
}

// CPU: one OpenBLAS product per batch. A single product is left to OpenBLAS's own threads;
// several run as chunks of parallel_chunks (OpenBLAS single-threaded inside) once the call has
// kMinParallelMacs multiply-adds, so every product is computed the same way for any thread
// count.
template <class T>
void matmul_cpu(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta,
                const MatmulPlan& p) {
  const T* pa = a.strided_data<T>();
  const T* pb = b.strided_data<T>();
  T* pc = c.strided_data<T>();
  const auto product = [&](int64_t t) {
    int64_t oa, ob, oc;
    p.offsets(t, p.batch.rank, oa, ob, oc);
    gemm_rm<T>(p.a.trans, p.b.trans, p.m, p.n, p.k, static_cast<T>(alpha), pa + oa, p.a.ld,
               pb + ob, p.b.ld, static_cast<T>(beta), pc + oc, p.ldc);
  };
  const int64_t n_batch = p.batch.numel();
  if (n_batch == 1) {
    product(0);
    return;
  }
  const BlasSingleThreaded blas_threads;
  const int slots = n_batch * p.m * p.n * p.k >= kMinParallelMacs ? parallel_slots() : 1;
  parallel_chunks(n_batch, slots, [&](int64_t t, int) { product(t); });
}

// K = 0: c = beta * c, on a dense copy when c is strided.
void scale_output(Tensor& c, double beta) {
  Tensor dense = c.is_contiguous() ? c : Tensor::empty(c.shape(), c.dtype(), c.device());
  if (beta == 0.0) {
    fill(dense, 0.0);
  } else {
    if (!c.is_contiguous()) copy(c, dense);
    scale(dense, beta);
  }
  if (!c.is_contiguous()) copy(dense, c);
}

// trans_a / trans_b: gemm's flags (a and b are then the transposed views), none for matmul.
void matmul_any(const char* op, const Tensor& a, const Tensor& b, Tensor& c, double alpha,
                double beta, std::optional<bool> trans_a = {}, std::optional<bool> trans_b = {}) {
  const MatmulPlan p = plan_matmul(op, a, b, c, trans_a, trans_b);
  if (c.numel() == 0) return;
  if (p.k == 0) {  // empty sum (done here so neither BLAS sees K = 0)
    scale_output(c, beta);
    return;
  }
  if (c.device().is_cpu()) {
    dispatch_float(c.dtype(), op, [&](auto tag) {
      matmul_cpu<decltype(tag)>(a, b, c, alpha, beta, p);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::matmul_cuda(a, b, c, alpha, beta, p));
  }
}

// op(x) for gemm's trans flags: the transposed view of the last two dims.
Tensor op_view(const char* op, const Tensor& x, bool trans, int rank, const char* name) {
  check_defined(op, x, name);
  check_rank(op, x, rank, name);
  return trans ? x.transpose(-1, -2) : x;
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta) {
  matmul_any("matmul", a, b, c, alpha, beta);
}

void gemm(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b, double alpha,
          double beta) {
  matmul_any("gemm", op_view("gemm", a, trans_a, 2, "a"), op_view("gemm", b, trans_b, 2, "b"), c,
             alpha, beta, trans_a, trans_b);
}

void gemm_batched(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b,
                  double alpha, double beta) {
  const char* op = "gemm_batched";
  matmul_any(op, op_view(op, a, trans_a, 3, "a"), op_view(op, b, trans_b, 3, "b"), c, alpha,
             beta, trans_a, trans_b);
}

}  // namespace naqs::ops
