// Op cases of host/ops/reduce.hpp (CUDA twin cuda/reduce.cu): sum, mean, max, logsumexp along
// every axis, and their backwards.
#include "host/ops/fill.hpp"
#include "host/ops/reduce.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- reductions ---------------------------------------------------------------------------
NAQS_OP_CASES(reduce_cases) {
  const Reduce kinds[] = {Reduce::sum, Reduce::mean, Reduce::max, Reduce::logsumexp};
  uint64_t seed = 600;
  for (DType dt : kFloatTypes)
    for (const char* shape : kAxisShapes) {
      const Shape s = OpParams(cat("s=", shape)).shape("s");
      for (int axis = 0; axis < s.rank; ++axis)
        for (Reduce kind : kinds) {
          OpCase c;
          c.params = OpParams(cat("kind=", reduce_name(kind), " shape=", shape, " axis=", axis));
          c.dtype = dt;
          c.seed = ++seed;
          set_axis_tolerance(c, s[axis]);
          OpCase fwd = c;
          fwd.op = "reduce";
          fwd.make = [axis](const OpCase& c) {
            Tensor x = random_tensor(c.params.shape("shape"), c.dtype, c.seed);
            return OpTensors{{x}, {Tensor::zeros(reduced_shape(x, axis), c.dtype)}};
          };
          fwd.run = [kind, axis](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            reduce(kind, in[0], axis, out[0]);
          };
          if (dt == DType::f64 && s.numel() <= 256) {
            fwd.grad_of = {0};
            fwd.backward = [kind, axis](const std::vector<Tensor>& in,
                                        const std::vector<Tensor>& dout) {
              Tensor out = Tensor::zeros(reduced_shape(in[0], axis), in[0].dtype());
              reduce(kind, in[0], axis, out);
              Tensor dx = zeros_like(in[0]);
              reduce_backward(kind, in[0], out, dout[0], axis, dx);
              return std::vector<Tensor>{dx};
            };
          }
          cases.push_back(fwd);
          OpCase bwd = c;  // from the same (CPU) out and dout on both sides
          bwd.op = "reduce_backward";
          bwd.make = [kind, axis](const OpCase& c) {
            Tensor x = random_tensor(c.params.shape("shape"), c.dtype, c.seed);
            Tensor out = Tensor::zeros(reduced_shape(x, axis), c.dtype);
            reduce(kind, x, axis, out);
            return OpTensors{{x, out, random_tensor(out.shape(), c.dtype, c.seed + 1)},
                             {zeros_like(x)}};
          };
          bwd.run = [kind, axis](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            reduce_backward(kind, in[0], in[1], in[2], axis, out[0]);
          };
          cases.push_back(bwd);
        }
    }
}

// max_backward where the first element of a row is NaN (max skips NaN on both sides, so the
// gradient goes to the first real maximum; an all-NaN row gets none): the CPU used to send it
// to position 0 while the kernel picked the maximum.
NAQS_OP_CASES(reduce_max_nan_cases) {
  for (DType dt : kFloatTypes) {
    OpCase c;
    c.op = "reduce_backward";
    c.params = OpParams("kind=max nan=first shape=37x33 axis=1");
    c.dtype = dt;
    c.seed = 690;
    c.why = "exact: the gradient is dout copied to one position";
    c.make = [](const OpCase& c) {
      Tensor x = random_tensor({37, 33}, DType::f64, c.seed);
      double* p = x.data<double>();
      for (int64_t r = 0; r < 37; ++r) p[r * 33] = NAN;
      for (int64_t j = 0; j < 33; ++j) p[36 * 33 + j] = NAN;  // a whole row of NaN
      Tensor xt = Tensor::empty({37, 33}, c.dtype);
      cast(x, xt);
      Tensor out = Tensor::zeros({37}, c.dtype);
      reduce(Reduce::max, xt, 1, out);
      return OpTensors{{xt, out, random_tensor({37}, c.dtype, c.seed + 1)}, {zeros_like(xt)}};
    };
    c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
      reduce_backward(Reduce::max, in[0], in[1], in[2], 1, out[0]);
    };
    cases.push_back(c);
  }
}

}  // namespace
}  // namespace naqs::testing
