// Op cases of host/ops/softmax.hpp (CUDA twin cuda/softmax.cu): softmax and log-softmax along
// every axis, in place, and their backwards.
#include "host/ops/softmax.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(softmax_cases) {
  uint64_t seed = 700;
  for (DType dt : kFloatTypes)
    for (const char* shape : kAxisShapes) {
      const Shape s = OpParams(cat("s=", shape)).shape("s");
      for (int axis = 0; axis < s.rank; ++axis)
        for (bool log : {false, true}) {
          OpCase c;
          c.params = OpParams(cat("log=", int(log), " shape=", shape, " axis=", axis));
          c.dtype = dt;
          c.seed = ++seed;
          set_axis_tolerance(c, s[axis]);
          auto forward = [log, axis](const Tensor& x, Tensor& y) {
            log ? log_softmax(x, axis, y) : softmax(x, axis, y);
          };
          auto backward = [log, axis](const Tensor& y, const Tensor& dy, Tensor& dx) {
            log ? log_softmax_backward(y, dy, axis, dx) : softmax_backward(y, dy, axis, dx);
          };
          OpCase fwd = c;
          fwd.op = "softmax";
          fwd.make = [](const OpCase& c) {
            Tensor x = random_tensor(c.params.shape("shape"), c.dtype, c.seed, -5, 5);
            return OpTensors{{x}, {zeros_like(x)}};
          };
          fwd.run = [forward](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            forward(in[0], out[0]);
          };
          if (dt == DType::f64 && s.numel() <= 256) {
            fwd.grad_of = {0};
            fwd.backward = [=](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor y = zeros_like(in[0]), dx = zeros_like(in[0]);
              forward(in[0], y);
              backward(y, dout[0], dx);
              return std::vector<Tensor>{dx};
            };
          }
          cases.push_back(fwd);
          OpCase in_place = fwd;  // y may alias x
          in_place.op = "softmax_in_place";
          in_place.grad_of.clear();
          in_place.backward = nullptr;
          in_place.run = [forward](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            out[0].copy_from(in[0]);
            forward(out[0], out[0]);
          };
          cases.push_back(in_place);
          OpCase bwd = c;  // the same (CPU) y on both sides
          bwd.op = "softmax_backward";
          bwd.make = [forward](const OpCase& c) {
            Tensor x = random_tensor(c.params.shape("shape"), c.dtype, c.seed, -5, 5);
            Tensor y = zeros_like(x);
            forward(x, y);
            return OpTensors{{y, random_tensor(x.shape(), c.dtype, c.seed + 1)}, {zeros_like(x)}};
          };
          bwd.run = [backward](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            backward(in[0], in[1], out[0]);
          };
          cases.push_back(bwd);
        }
    }
}

}  // namespace
}  // namespace naqs::testing
