// Op cases of the op-level layers of nn/layers.hpp that are compositions of ops rather than ops
// of their own (their norm, embedding and softmax ops have cases in norm.cpp, embedding.cpp,
// softmax.cpp): linear_forward, linear_backward and linear_backward_per_sample (ops::gemm and
// the bias ops underneath; CUDA through cuda/gemm.cu and cuda/elementwise.cu), overwrite and
// accumulate, f32 and f64.
//
// Tolerance 2 * K * eps(dtype) * 2, i.e. 4 (K + 1) eps (K products of inputs in [-1, 1] in
// different orders by cuBLAS and OpenBLAS, plus the accumulated operand) as the GEMM cases;
// K = C for out, OC for dinp, the rows N for dweight, the rows per sample T for the per-sample
// dweight; bias sums as sum_atol (common.hpp) + 2 eps. Gradient cases (f64, small):
// d/dinp, d/dweight, d/dbias from linear_backward.
#include "nn/layers.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::testing::op_cases_common;

struct LinearSize {
  int64_t batch, t_len, c, oc;
};

Shape in_shape(const OpParams& p) { return {p.i("b"), p.i("t"), p.i("c")}; }
Shape out_shape(const OpParams& p) { return {p.i("b"), p.i("t"), p.i("oc")}; }

NAQS_OP_CASES(linear_cases) {
  // {2, 3, 5, 7}: small enough for the gradient mode
  const LinearSize sizes[] = {
      {1, 1, 1, 1}, {3, 17, 33, 1025}, {17, 1, 1025, 17}, {5, 205, 17, 33}, {2, 3, 5, 7}};
  uint64_t seed = 4000;
  for (DType dt : kFloatTypes)
    for (const LinearSize& z : sizes) {
      const std::string size = cat("b=", z.batch, " t=", z.t_len, " c=", z.c, " oc=", z.oc);
      const int64_t n = z.batch * z.t_len;
      OpCase fwd;
      fwd.op = "linear_forward";
      fwd.params = OpParams(size);
      fwd.dtype = dt;
      fwd.seed = ++seed;
      fwd.atol = 4 * (z.c + 1) * eps(dt);
      fwd.why = "C products summed in different orders (cuBLAS vs OpenBLAS), 4 (C + 1) eps";
      // inputs: inp (B,T,C), weight (OC,C), bias (OC)
      fwd.make = [](const OpCase& c) {
        const OpParams& p = c.params;
        return OpTensors{{random_tensor(in_shape(p), c.dtype, c.seed),
                          random_tensor({p.i("oc"), p.i("c")}, c.dtype, c.seed + 1),
                          random_tensor({p.i("oc")}, c.dtype, c.seed + 2)},
                         {Tensor::zeros(out_shape(p), c.dtype)}};
      };
      fwd.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        nn::linear_forward(out[0], in[0], in[1], in[2]);
      };
      if (dt == DType::f64 && n * z.c <= 64 && z.oc * z.c <= 64) {
        fwd.grad_of = {0, 1, 2};
        fwd.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
          Tensor dinp = zeros_like(in[0]), dweight = zeros_like(in[1]), dbias = zeros_like(in[2]);
          nn::linear_backward(dinp, dweight, dbias, dout[0], in[0], in[1]);
          return std::vector<Tensor>{dinp, dweight, dbias};
        };
      }
      cases.push_back(fwd);

      for (bool accumulate : {false, true}) {
        OpCase bwd;
        bwd.op = "linear_backward";
        bwd.params = OpParams(cat(size, " acc=", int(accumulate)));
        bwd.dtype = dt;
        bwd.seed = ++seed;
        bwd.why = "K products summed in different orders, 4 (K + 1) eps (K = OC for dinp, N rows "
                  "for dweight); dbias: double row sums, sum_atol(N, 1) + 2 eps";
        // outputs: dinp (B,T,C), dweight (OC,C), dbias (OC), random (accumulate adds to them)
        bwd.out_tol = {{4 * (z.oc + 1) * eps(dt), 0},
                       {4 * (n + 1) * eps(dt), 0},
                       {sum_atol(n, 1) + 2 * eps(dt), sum_rtol(dt)}};
        // inputs: dout (B,T,OC), inp (B,T,C), weight (OC,C)
        bwd.make = [](const OpCase& c) {
          const OpParams& p = c.params;
          return OpTensors{{random_tensor(out_shape(p), c.dtype, c.seed),
                            random_tensor(in_shape(p), c.dtype, c.seed + 1),
                            random_tensor({p.i("oc"), p.i("c")}, c.dtype, c.seed + 2)},
                           {random_tensor(in_shape(p), c.dtype, c.seed + 3),
                            random_tensor({p.i("oc"), p.i("c")}, c.dtype, c.seed + 4),
                            random_tensor({p.i("oc")}, c.dtype, c.seed + 5)}};
        };
        bwd.run = [accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          nn::linear_backward(out[0], out[1], out[2], in[0], in[1], in[2], accumulate);
        };
        cases.push_back(bwd);

        OpCase per = bwd;
        per.op = "linear_backward_per_sample";
        per.seed = ++seed;
        per.why = "T products per sample summed in different orders, 4 (T + 1) eps; dbias: "
                  "double row sums, sum_atol(T, 1) + 2 eps";
        // outputs: dweight (B,OC,C), dbias (B,OC)
        per.out_tol = {{4 * (z.t_len + 1) * eps(dt), 0},
                       {sum_atol(z.t_len, 1) + 2 * eps(dt), sum_rtol(dt)}};
        per.make = [](const OpCase& c) {
          const OpParams& p = c.params;
          return OpTensors{{random_tensor(out_shape(p), c.dtype, c.seed),
                            random_tensor(in_shape(p), c.dtype, c.seed + 1)},
                           {random_tensor({p.i("b"), p.i("oc"), p.i("c")}, c.dtype, c.seed + 2),
                            random_tensor({p.i("b"), p.i("oc")}, c.dtype, c.seed + 3)}};
        };
        per.run = [accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          nn::linear_backward_per_sample(out[0], out[1], in[0], in[1], accumulate);
        };
        cases.push_back(per);
      }
    }
}

}  // namespace
}  // namespace naqs::testing
