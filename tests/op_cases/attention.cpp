// Op cases of host/ops/attention.hpp (CUDA twin cuda/attention.cu): attention forward (out and
// the saved probabilities) over full causal, decode (Tq = 1 at the last position) and chunked
// (Tq < Tk with an offset) shapes, MHA / GQA / MQA, with and without the saved probabilities
// (training and inference paths), K and V read as prefixes of a larger cache
// buffer (strided views); attention backward; RoPE forward and backward.
//
// Tolerance: both backends sum Dh products (scores) and Tk products (outputs) in the dtype in
// different orders (CUDA contracts to FMA) and exp differs by an ulp; inputs in [-1, 1] keep
// every |term| <= 1, so atol 8 (Dh + Tk + 1) eps and rtol 8 eps of the dtype. RoPE: one rotation
// of cos/sin that may differ by an ulp (libm vs CUDA): 8 eps.
// Gradients (f64): attention's out with respect to q, k, v; RoPE's y with respect to x.
#include "host/core/tensor_convert.hpp"
#include "host/ops/attention.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

const char* const kAttnShapes[] = {
    "b=2 tq=5 tk=5 hq=4 hkv=2 dh=8 off=0 cap=5",    // full causal, GQA
    "b=1 tq=1 tk=7 hq=4 hkv=1 dh=16 off=6 cap=9",   // decode step, MQA, cache prefix
    "b=3 tq=4 tk=9 hq=6 hkv=3 dh=8 off=5 cap=12",   // chunked prefill
    "b=1 tq=17 tk=17 hq=2 hkv=2 dh=32 off=0 cap=17", // MHA
    "b=2 tq=33 tk=33 hq=2 hkv=1 dh=4 off=0 cap=40"};

// q (B,Tq,Hq,Dh); k, v buffers (B,cap,Hkv,Dh) read as their first tk positions.
std::vector<Tensor> attention_inputs(const OpCase& c) {
  const OpParams& p = c.params;
  return {random_tensor({p.i("b"), p.i("tq"), p.i("hq"), p.i("dh")}, c.dtype, c.seed),
          random_tensor({p.i("b"), p.i("cap"), p.i("hkv"), p.i("dh")}, c.dtype, c.seed + 1),
          random_tensor({p.i("b"), p.i("cap"), p.i("hkv"), p.i("dh")}, c.dtype, c.seed + 2)};
}
double scale_of(const OpParams& p) { return 1.0 / std::sqrt(double(p.i("dh"))); }

NAQS_OP_CASES(attention_cases) {
  uint64_t seed = 2100;
  for (DType dt : kFloatTypes)
    for (const char* shape : kAttnShapes) {
      const OpParams p(shape);
      const int64_t tk = p.i("tk"), off = p.i("off");
      const double atol = 8.0 * double(p.i("dh") + tk + 1) * eps(dt), rtol = 8 * eps(dt);
      auto kv = [tk](const Tensor& buf) { return buf.narrow(1, 0, tk); };

      OpCase fwd;
      fwd.op = "attention_forward";
      fwd.params = p;
      fwd.dtype = dt;
      fwd.seed = ++seed;
      fwd.atol = atol;
      fwd.rtol = rtol;
      fwd.why = "Dh- and Tk-term sums in the dtype in different orders (FMA on CUDA), exp ulps";
      fwd.make = [](const OpCase& c) {
        const OpParams& p = c.params;
        return OpTensors{attention_inputs(c),
                         {Tensor::zeros({p.i("b"), p.i("tq"), p.i("hq"), p.i("dh")}, c.dtype),
                          Tensor::zeros({p.i("b"), p.i("hq"), p.i("tq"), p.i("tk")}, c.dtype)}};
      };
      const double scale = scale_of(p);
      fwd.run = [kv, off, scale](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        attention_forward(in[0], kv(in[1]), kv(in[2]), off, scale, out[0], out[1]);
      };
      // masked probabilities exactly zero where the CPU has them
      fwd.check = [](const std::vector<Tensor>&, const std::vector<Tensor>& got,
                     const std::vector<Tensor>& want) -> std::string {
        const std::vector<double> g = to_host_f64(got[1]), w = to_host_f64(want[1]);
        for (size_t i = 0; i < w.size(); ++i)
          if (w[i] == 0 && g[i] != 0) return cat("probs[", i, "] = ", g[i], " where masked");
        return "";
      };
      cases.push_back(fwd);

      {  // the inference path (no probabilities saved); the gradient check in f64
        OpCase grad = fwd;
        grad.params = OpParams(cat(shape, " probs=0"));
        grad.seed = ++seed;
        grad.check = nullptr;
        grad.make = [](const OpCase& c) {
          const OpParams& p = c.params;
          return OpTensors{attention_inputs(c),
                           {Tensor::zeros({p.i("b"), p.i("tq"), p.i("hq"), p.i("dh")}, c.dtype)}};
        };
        grad.run = [kv, off, scale](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          Tensor no_probs;
          attention_forward(in[0], kv(in[1]), kv(in[2]), off, scale, out[0], no_probs);
        };
        if (dt == DType::f64) grad.grad_of = {0, 1, 2};
        if (dt == DType::f64) grad.backward = [kv, off, scale](const std::vector<Tensor>& in,
                                         const std::vector<Tensor>& dout) {
          const Tensor k = kv(in[1]), v = kv(in[2]);
          Tensor out = zeros_like(in[0]);
          Tensor probs = Tensor::zeros({in[0].size(0), in[0].size(2), in[0].size(1), k.size(1)},
                                       DType::f64);
          attention_forward(in[0], k, v, off, scale, out, probs);
          Tensor dq = zeros_like(in[0]);
          Tensor dk = Tensor::zeros(k.shape(), DType::f64), dv = Tensor::zeros(v.shape(), DType::f64);
          attention_backward(dout[0], in[0], k, v, probs, off, scale, dq, dk, dv);
          // gradients of the whole cache buffers: zero beyond tk
          Tensor dkb = zeros_like(in[1]), dvb = zeros_like(in[2]);
          Tensor dkn = dkb.narrow(1, 0, k.size(1)), dvn = dvb.narrow(1, 0, v.size(1));
          dkn.copy_from(dk);
          dvn.copy_from(dv);
          return std::vector<Tensor>{dq, dkb, dvb};
        };
        cases.push_back(grad);
      }

      OpCase bwd;
      bwd.op = "attention_backward";
      bwd.params = p;
      bwd.dtype = dt;
      bwd.seed = ++seed;
      bwd.atol = 4 * atol * double(p.i("hq") / p.i("hkv")) * double(p.i("tq"));
      bwd.rtol = rtol;
      bwd.why = "as the forward, dk/dv summed over the group's heads and Tq queries";
      // inputs: dout, q, kbuf, vbuf, probs (CPU forward); outputs dq, dk, dv
      bwd.make = [kv, off, scale](const OpCase& c) {
        const OpParams& p = c.params;
        std::vector<Tensor> in = attention_inputs(c);
        Tensor out = zeros_like(in[0]);
        Tensor probs = Tensor::zeros({p.i("b"), p.i("hq"), p.i("tq"), p.i("tk")}, c.dtype);
        attention_forward(in[0], kv(in[1]), kv(in[2]), off, scale, out, probs);
        const Shape kshape{p.i("b"), p.i("tk"), p.i("hkv"), p.i("dh")};
        return OpTensors{{random_tensor(in[0].shape(), c.dtype, c.seed + 3), in[0], in[1], in[2],
                          probs},
                         {random_tensor(in[0].shape(), c.dtype, c.seed + 4),
                          random_tensor(kshape, c.dtype, c.seed + 5),
                          random_tensor(kshape, c.dtype, c.seed + 6)}};
      };
      bwd.run = [kv, off, scale](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        attention_backward(in[0], in[1], kv(in[2]), kv(in[3]), in[4], off, scale, out[0],
                           out[1], out[2]);
      };
      cases.push_back(bwd);
    }

  const char* const rope_shapes[] = {"2x5x3x8", "1x1x4x16", "3x17x2x32"};
  for (DType dt : kFloatTypes)
    for (const char* shape : rope_shapes)
      for (int64_t off : {0, 37})
        for (bool inverse : {false, true}) {
          OpCase c;
          c.op = inverse ? "rope_backward" : "rope_forward";
          c.params = OpParams(cat("shape=", shape, " off=", off));
          c.dtype = dt;
          c.seed = ++seed;
          c.atol = 8 * eps(dt);
          c.rtol = 8 * eps(dt);
          c.why = "one rotation; cos/sin may differ by an ulp (libm vs CUDA)";
          c.make = [](const OpCase& c) {
            Tensor x = random_tensor(c.params.shape("shape"), c.dtype, c.seed);
            return OpTensors{{x}, {zeros_like(x)}};
          };
          c.run = [off, inverse](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            inverse ? rope_backward(in[0], off, 10000.0, out[0])
                    : rope_forward(in[0], off, 10000.0, out[0]);
          };
          if (dt == DType::f64 && !inverse) {
            c.grad_of = {0};
            c.backward = [off](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor dx = zeros_like(in[0]);
              rope_backward(dout[0], off, 10000.0, dx);
              return std::vector<Tensor>{dx};
            };
          }
          cases.push_back(c);
          cases.push_back(in_place_case(c, cat(c.op, "_in_place"),
                                        [off, inverse](const std::vector<Tensor>&, Tensor& y) {
                                          inverse ? rope_backward(y, off, 10000.0, y)
                                                  : rope_forward(y, off, 10000.0, y);
                                        }));
        }
}

}  // namespace
}  // namespace naqs::testing
