// Op cases of host/ops/reduce.hpp (CUDA twin cuda/reduce.cu): sum, mean, max, logsumexp along
// every axis, and their backwards.
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

}  // namespace
}  // namespace naqs::testing
