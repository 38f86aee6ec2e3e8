// Op cases of host/ops/gemm_rows.hpp (the CUDA path is cuBLAS gemm): products with M = 1, 5,
// 67, N = 1, 33, 130, K = 1, 64, 257. Tolerance 2 K eps max|a||w| (inputs in [-1, 1]): the
// backends sum the K products in different orders. Gradient (f64) through gemm: d/da, d/dw.
#include "host/ops/gemm.hpp"
#include "host/ops/gemm_rows.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(gemm_rows_cases) {
  uint64_t seed = 2200;
  for (DType dt : kFloatTypes)
    for (int64_t m : {1, 5, 67})
      for (int64_t n : {1, 33, 130})
        for (int64_t k : {1, 64, 257}) {
          OpCase c;
          c.op = "gemm_rows";
          c.params = OpParams(cat("m=", m, " n=", n, " k=", k));
          c.dtype = dt;
          c.seed = ++seed;
          c.atol = 2.0 * double(k) * eps(dt);
          c.rtol = eps(dt);
          c.why = "K products summed in different orders";
          c.make = [](const OpCase& c) {
            const int64_t m = c.params.i("m"), n = c.params.i("n"), k = c.params.i("k");
            return OpTensors{{random_tensor({m, k}, c.dtype, c.seed),
                              random_tensor({n, k}, c.dtype, c.seed + 1)},
                             {Tensor::zeros({m, n}, c.dtype)}};
          };
          c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            gemm_rows(in[0], in[1], out[0]);
          };
          if (dt == DType::f64 && m * n * k <= 5 * 33 * 64) {
            c.grad_of = {0, 1};
            c.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor da = zeros_like(in[0]), dw = zeros_like(in[1]);
              gemm(dout[0], in[1], da);              // (M,N)(N,K)
              gemm(dout[0], in[0], dw, true, false);  // (M,N)^T (M,K)
              return std::vector<Tensor>{da, dw};
            };
          }
          cases.push_back(c);
        }
}

}  // namespace
}  // namespace naqs::testing
