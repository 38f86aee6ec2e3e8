// Op cases of host/ops/gather.hpp (CUDA twin cuda/gather.cu): gather and scatter_add along every
// axis.
#include "host/ops/gather.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- gather / scatter_add ---------------------------------------------------------------------
// gather: tolerance 0 (a copy). scatter_add: CUDA adds colliding entries with atomics in any
// order; each element receives at most n_index terms of size <= 1, so atol n_index eps.
// The scatter source is random (not a gather), so colliding values differ and the order of the
// atomic additions matters.
NAQS_OP_CASES(gather_cases) {
  uint64_t seed = 800;
  for (DType dt : kFloatTypes)
    for (const char* shape : kAxisShapes) {
      const Shape s = OpParams(cat("s=", shape)).shape("s");
      for (int axis = 0; axis < s.rank; ++axis)
        for (int64_t n_index : {int64_t{1}, int64_t{17}, int64_t{1025}}) {
          OpCase c;
          c.params = OpParams(cat("shape=", shape, " axis=", axis, " n_index=", n_index));
          c.dtype = dt;
          c.seed = ++seed;
          auto index_shape = [axis, n_index](Shape s) {
            s[axis] = n_index;
            return s;
          };
          OpCase g = c;
          g.op = "gather";
          g.why = "a copy";
          g.make = [=](const OpCase& c) {
            const Shape s = c.params.shape("shape");
            return OpTensors{{random_tensor(s, c.dtype, c.seed),
                              random_tensor(index_shape(s), DType::i32, c.seed + 1, 0,
                                            double(s[axis]))},
                             {Tensor::zeros(index_shape(s), c.dtype)}};
          };
          g.run = [axis](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            gather(in[0], in[1], axis, out[0]);
          };
          if (dt == DType::f64 && s.numel() <= 256 && n_index <= 17) {
            g.grad_of = {0};
            g.backward = [axis](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor dsrc = zeros_like(in[0]);
              scatter_add(dout[0], in[1], axis, dsrc);
              return std::vector<Tensor>{dsrc};
            };
          }
          cases.push_back(g);
          OpCase sa = c;
          sa.op = "scatter_add";
          sa.atol = n_index * eps(dt);
          sa.why = "atomic additions in any order: at most n_index terms <= 1 per element";
          sa.make = [=](const OpCase& c) {
            const Shape s = c.params.shape("shape");
            return OpTensors{{random_tensor(index_shape(s), c.dtype, c.seed + 2),
                              random_tensor(index_shape(s), DType::i32, c.seed + 1, 0,
                                            double(s[axis]))},
                             {random_tensor(s, c.dtype, c.seed)}};
          };
          sa.run = [axis](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            scatter_add(in[0], in[1], axis, out[0]);
          };
          cases.push_back(sa);
        }
    }
}

}  // namespace
}  // namespace naqs::testing
