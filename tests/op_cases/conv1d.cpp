// Op cases of host/ops/conv1d.hpp (CUDA twin cuda/conv1d.cu): the causal 1-D convolution
// forward (with and without bias), the fused conv1d_forward_act (relu + residual, with and
// without pre), both backwards (overwrite and accumulate) and the per-sample weight gradient.
// Inputs uniform in [-1, 1]; sizes include 1, 17 and 1025.
//
// Tolerance: each output is a sum of n products of inputs in [-1, 1]; the CPU (GEMM) and the GPU
// add them in different orders, so they differ by a few eps * n: atol = 8 eps n with
// eps = 2^-24 (f32), 2^-53 (f64) and n = Cin K + 1 (forward), Cout K + 1 (backward input),
// B L + 1 (weight gradient, summed over the batch), L (per sample). Gradient cases (small, f64):
// d/dx = conv1d_backward_input, d/dw = conv1d_backward_weight, d/dbias = bias_backward(axis 1).
#include "host/ops/conv1d.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

struct ConvSize {
  int64_t n_batch, c_in, c_out, length;
  Conv1dSpec spec;
};

const ConvSize kConvSizes[] = {
    {1, 1, 1, 1, {1, 1, false}},    {1, 1, 1, 1, {3, 1, true}},
    {17, 3, 5, 17, {3, 1, false}},  {17, 3, 5, 17, {3, 2, true}},
    {2, 17, 1, 1025, {2, 4, false}}, {3, 8, 17, 64, {5, 3, true}},
    {1025, 2, 3, 5, {3, 1, true}},
};

// Unit roundoff (half of eps(dt)): the bound the conv tolerances were written with.
double unit_roundoff(DType dt) { return dt == DType::f32 ? 0x1p-24 : 0x1p-53; }

std::string conv_params(const ConvSize& z) {
  return cat("b=", z.n_batch, " cin=", z.c_in, " cout=", z.c_out, " l=", z.length,
             " k=", z.spec.kernel, " d=", z.spec.dilation, " excl=", int(z.spec.exclusive));
}

Shape x_shape(const OpParams& p) { return {p.i("b"), p.i("cin"), p.i("l")}; }
Shape y_shape(const OpParams& p) { return {p.i("b"), p.i("cout"), p.i("l")}; }
Shape w_shape(const OpParams& p) { return {p.i("cout"), p.i("cin"), p.i("k")}; }

NAQS_OP_CASES(conv1d_cases) {
  uint64_t seed = 1100;
  for (DType dt : kFloatTypes)
    for (const ConvSize& z : kConvSizes) {
      const Conv1dSpec s = z.spec;
      const int64_t k = s.kernel;
      const double u = unit_roundoff(dt);
      const double fwd_atol = 8 * u * double(z.c_in * k + 1);
      for (bool with_bias : {false, true}) {
        OpCase c;
        c.op = "conv1d_forward";
        c.params = OpParams(cat(conv_params(z), " bias=", int(with_bias)));
        c.dtype = dt;
        c.seed = ++seed;
        c.atol = fwd_atol;
        c.why = "Cin K products (+ bias) summed in different orders (GEMM vs CUDA), 8 eps n";
        c.make = [with_bias](const OpCase& c) {
          std::vector<Tensor> in{random_tensor(x_shape(c.params), c.dtype, c.seed),
                                 random_tensor(w_shape(c.params), c.dtype, c.seed + 1)};
          if (with_bias) in.push_back(random_tensor({c.params.i("cout")}, c.dtype, c.seed + 2));
          return OpTensors{in, {Tensor::zeros(y_shape(c.params), c.dtype)}};
        };
        c.run = [s, with_bias](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          conv1d_forward(in[0], in[1], with_bias ? in[2] : Tensor(), s, out[0]);
        };
        if (dt == DType::f64 && z.n_batch * z.c_in * z.length <= 1024) {
          c.grad_of = with_bias ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 1};
          c.backward = [s, with_bias](const std::vector<Tensor>& in,
                                      const std::vector<Tensor>& dout) {
            Tensor dx = zeros_like(in[0]), dw = zeros_like(in[1]);
            conv1d_backward_input(dout[0], in[1], s, dx);
            conv1d_backward_weight(in[0], dout[0], s, dw);
            std::vector<Tensor> grads{dx, dw};
            if (with_bias) {
              Tensor db = zeros_like(in[2]);
              bias_backward(dout[0], 1, db);
              grads.push_back(db);
            }
            return grads;
          };
        }
        cases.push_back(c);

        // Fused relu + residual: relu is 1-Lipschitz and the residual add rounds once more, so
        // out gets the conv tolerance + 2 eps; pre (when given) is the conv output itself. Without
        // pre, only out is written (the inference path).
        for (bool with_pre : {true, false}) {
          OpCase a = c;
          a.op = "conv1d_forward_act";
          a.params = OpParams(cat(conv_params(z), " bias=", int(with_bias), " pre=", int(with_pre)));
          a.seed = ++seed;
          a.grad_of.clear();
          a.backward = nullptr;
          a.why = "conv: 8 eps n (sums in different orders); out: + 2 eps (relu, residual add)";
          const OpTolerance out_tol{fwd_atol + 2 * u, 0};
          a.out_tol = with_pre ? std::vector<OpTolerance>{{fwd_atol, 0}, out_tol}
                               : std::vector<OpTolerance>{out_tol};
          a.make = [with_bias, with_pre](const OpCase& c) {
            std::vector<Tensor> in{random_tensor(x_shape(c.params), c.dtype, c.seed),
                                   random_tensor(w_shape(c.params), c.dtype, c.seed + 1),
                                   random_tensor(y_shape(c.params), c.dtype, c.seed + 3)};
            if (with_bias) in.push_back(random_tensor({c.params.i("cout")}, c.dtype, c.seed + 2));
            std::vector<Tensor> out{Tensor::zeros(y_shape(c.params), c.dtype)};
            if (with_pre) out.push_back(Tensor::zeros(y_shape(c.params), c.dtype));
            return OpTensors{in, out};
          };
          a.run = [s, with_bias, with_pre](const std::vector<Tensor>& in,
                                           std::vector<Tensor>& out) {
            Tensor no_pre;
            conv1d_forward_act(in[0], in[1], with_bias ? in[3] : Tensor(), s, Unary::relu,
                               with_pre ? out[0] : no_pre, with_pre ? out[1] : out[0], in[2]);
          };
          cases.push_back(a);
        }
      }
      for (bool accumulate : {false, true}) {
        OpCase c;
        c.op = "conv1d_backward_input";
        c.params = OpParams(cat(conv_params(z), " acc=", int(accumulate)));
        c.dtype = dt;
        c.seed = ++seed;
        c.atol = 8 * u * double(z.c_out * k + 1);
        c.why = "Cout K products (+ old value) summed in different orders, 8 eps n";
        c.make = [](const OpCase& c) {
          return OpTensors{{random_tensor(y_shape(c.params), c.dtype, c.seed),
                            random_tensor(w_shape(c.params), c.dtype, c.seed + 1)},
                           {random_tensor(x_shape(c.params), c.dtype, c.seed + 2)}};
        };
        c.run = [s, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          conv1d_backward_input(in[0], in[1], s, out[0], accumulate);
        };
        cases.push_back(c);

        OpCase w = c;
        w.op = "conv1d_backward_weight";
        w.seed = ++seed;
        w.atol = 8 * u * double(z.n_batch * z.length + 1);
        w.why = "B L products (+ old value) summed in different orders, 8 eps n";
        w.make = [](const OpCase& c) {
          return OpTensors{{random_tensor(x_shape(c.params), c.dtype, c.seed),
                            random_tensor(y_shape(c.params), c.dtype, c.seed + 1)},
                           {random_tensor(w_shape(c.params), c.dtype, c.seed + 2)}};
        };
        w.run = [s, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          conv1d_backward_weight(in[0], in[1], s, out[0], accumulate);
        };
        cases.push_back(w);
      }
      OpCase p;
      p.op = "conv1d_backward_weight_per_sample";
      p.params = OpParams(conv_params(z));
      p.dtype = dt;
      p.seed = ++seed;
      p.atol = 8 * u * double(z.length);
      p.why = "L products per sample summed in different orders, 8 eps L";
      p.make = [](const OpCase& c) {
        const OpParams& q = c.params;
        return OpTensors{{random_tensor(x_shape(q), c.dtype, c.seed),
                          random_tensor(y_shape(q), c.dtype, c.seed + 1)},
                         {Tensor::zeros({q.i("b"), q.i("cout"), q.i("cin"), q.i("k")}, c.dtype)}};
      };
      p.run = [s](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        conv1d_backward_weight_per_sample(in[0], in[1], s, out[0]);
      };
      cases.push_back(p);
    }
}

}  // namespace
}  // namespace naqs::testing
