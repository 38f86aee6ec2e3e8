// Op cases of host/ops/gemm.hpp (CUDA twin cuda/gemm.cu): gemm with every transpose, gemm_batched.
#include "host/ops/gemm.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- gemm ------------------------------------------------------------------------------------
// Tolerance 2 (|alpha| K + |beta|) eps: inputs in [-1, 1], so sum |a||b| <= K; cuBLAS and
// OpenBLAS add the K products in different orders (blocking, FMA), each within K eps of the exact
// sum. Gradient cases (small, f64): d/da = alpha dc op(b)^T, d/db = alpha op(a)^T dc.
NAQS_OP_CASES(gemm_cases) {
  const char* const sizes[] = {"m=1 n=1 k=1",     "m=17 n=33 k=1025", "m=1025 n=17 k=33",
                               "m=33 n=1025 k=17", "m=1 n=1025 k=17",  "m=3 n=5 k=7"};
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const char* size : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          OpCase c;
          c.op = "gemm";
          c.params = OpParams(cat(size, " ta=", ta, " tb=", tb));
          c.dtype = dt;
          c.seed = ++seed;
          const double alpha = 1.5, beta = (ta + tb) % 2 ? 0.5 : 0.0;
          const int64_t k = c.params.i("k");
          c.atol = 2 * (alpha * k + beta) * eps(dt);
          c.why = "K products summed in different orders (cuBLAS vs OpenBLAS), 2 (1.5K + beta) eps";
          c.make = [ta, tb](const OpCase& c) {
            const int64_t m = c.params.i("m"), n = c.params.i("n"), k = c.params.i("k");
            return OpTensors{{random_tensor(ta ? Shape{k, m} : Shape{m, k}, c.dtype, c.seed),
                              random_tensor(tb ? Shape{n, k} : Shape{k, n}, c.dtype, c.seed + 1)},
                             {random_tensor({m, n}, c.dtype, c.seed + 2)}};
          };
          c.run = [=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            gemm(in[0], in[1], out[0], ta, tb, alpha, beta);
          };
          if (dt == DType::f64 && k <= 7) {
            c.grad_of = {0, 1};
            c.backward = [=](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor da = zeros_like(in[0]), db = zeros_like(in[1]);
              // c = op(a) op(b): d op(a) = dc op(b)^T, d op(b) = op(a)^T dc; transposed back.
              if (ta) {
                gemm(in[1], dout[0], da, tb, true, alpha);  // da = op(b) dc^T
              } else {
                gemm(dout[0], in[1], da, false, !tb, alpha);  // da = dc op(b)^T
              }
              if (tb) {
                gemm(dout[0], in[0], db, true, ta, alpha);  // db = dc^T op(a)
              } else {
                gemm(in[0], dout[0], db, !ta, false, alpha);  // db = op(a)^T dc
              }
              return std::vector<Tensor>{da, db};
            };
          }
          cases.push_back(c);
        }
  // Batched: the same tolerance with K = 65.
  for (DType dt : kFloatTypes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        OpCase c;
        c.op = "gemm_batched";
        c.params = OpParams(cat("batch=3 m=17 n=33 k=65 ta=", ta, " tb=", tb));
        c.dtype = dt;
        c.seed = ++seed;
        c.atol = 2 * (65 + 2) * eps(dt);
        c.why = "K products summed in different orders per batch entry, 2 (K + |beta|) eps";
        c.make = [ta, tb](const OpCase& c) {
          const int64_t b = 3, m = 17, n = 33, k = 65;
          return OpTensors{
              {random_tensor(ta ? Shape{b, k, m} : Shape{b, m, k}, c.dtype, c.seed),
               random_tensor(tb ? Shape{b, n, k} : Shape{b, k, n}, c.dtype, c.seed + 1)},
              {random_tensor({b, m, n}, c.dtype, c.seed + 2)}};
        };
        c.run = [ta, tb](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          gemm_batched(in[0], in[1], out[0], ta, tb, -1.0, 2.0);
        };
        cases.push_back(c);
      }
}

}  // namespace
}  // namespace naqs::testing
