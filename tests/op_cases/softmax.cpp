// Op cases of host/ops/softmax.hpp (CUDA twin cuda/softmax.cu): softmax and log-softmax along
// every axis, in place, and their backwards; the masked softmax over the last dim (causal with a
// query offset, additive masks broadcast from lower ranks with masked keys and a fully masked
// row), out of place and in place.
#include <limits>

#include "host/core/tensor_convert.hpp"
#include "host/ops/fill.hpp"
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
          cases.push_back(in_place_case(fwd, "softmax_in_place",  // y may alias x
                                        [forward](const std::vector<Tensor>&, Tensor& y) {
                                          forward(y, y);
                                        }));
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

// ---- masked softmax --------------------------------------------------------------------------
// Tolerance set_axis_tolerance(Tk) as the plain softmax: double row sums in different orders and
// exp within 2 ulp (CUDA) vs 1 ulp (glibc). Masked entries and fully masked rows are exactly 0 on
// both sides (checked: zeros exactly where the CPU has them). Gradient cases (f64, up to 4096
// elements): the backward is softmax_backward(y, dy, -1) with no mask (y = 0 at masked entries).
struct MaskedSoftmaxCase {
  const char* x;
  const char* mask;  // "": none
  bool causal;
  int64_t offset;
};

// An additive mask in [-2, 2] with every 7th entry -inf (some masked keys) and its last row all
// -inf (every key of the rows it broadcasts to).
Tensor random_additive_mask(const Shape& shape, DType dtype, uint64_t seed) {
  Tensor m = random_tensor(shape, DType::f64, seed, -2, 2);
  double* pm = m.data<double>();
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < m.numel(); i += 7) pm[i] = -inf;
  const int64_t tk = shape[shape.rank - 1];
  for (int64_t j = 0; j < tk; ++j) pm[(m.numel() / tk - 1) * tk + j] = -inf;
  Tensor out = Tensor::empty(shape, dtype);
  cast(m, out);
  return out;
}

std::string zeros_agree(const std::vector<Tensor>&, const std::vector<Tensor>& got,
                        const std::vector<Tensor>& want) {
  const std::vector<double> g = to_host_f64(got[0]), w = to_host_f64(want[0]);
  int64_t differ = 0;
  for (std::size_t i = 0; i < g.size(); ++i) differ += (g[i] == 0.0) != (w[i] == 0.0);
  return differ == 0 ? "" : cat(differ, " entries are exactly 0 on one side only");
}

NAQS_OP_CASES(masked_softmax_cases) {
  const MaskedSoftmaxCase sizes[] = {
      {"1x1x1x1", "", true, 0},           {"2x3x17x17", "", true, 0},
      {"1x2x1x1025", "", true, 1024},     {"3x1x17x1025", "3x1x1x1025", true, 1008},
      {"2x3x17x33", "17x33", false, 0},   {"1025x17", "1025x17", true, 3},
      {"5x17x1025", "5x1x1025", false, 0},
  };
  uint64_t seed = 3000;
  for (DType dt : kFloatTypes)
    for (const MaskedSoftmaxCase& z : sizes) {
      const bool has_mask = z.mask[0] != '\0';
      OpCase c;
      c.op = "masked_softmax";
      c.params = OpParams(cat("x=", z.x, has_mask ? cat(" mask=", z.mask) : std::string(),
                              " causal=", int(z.causal), " offset=", z.offset));
      c.dtype = dt;
      c.seed = ++seed;
      const Shape x_shape = c.params.shape("x");
      set_axis_tolerance(c, x_shape[x_shape.rank - 1]);
      c.check = zeros_agree;
      // inputs: x in [-5, 5], then the additive mask if any
      c.make = [has_mask](const OpCase& c) {
        const Shape s = c.params.shape("x");
        std::vector<Tensor> in{random_tensor(s, c.dtype, c.seed, -5, 5)};
        if (has_mask) in.push_back(random_additive_mask(c.params.shape("mask"), c.dtype, c.seed + 1));
        return OpTensors{in, {Tensor::zeros(s, c.dtype)}};
      };
      auto mask_of = [z, has_mask](const std::vector<Tensor>& in) {
        SoftmaxMask mask;
        mask.causal = z.causal;
        mask.query_offset = z.offset;
        if (has_mask) mask.additive = in[1];
        return mask;
      };
      c.run = [mask_of](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        masked_softmax(in[0], mask_of(in), out[0]);
      };
      if (dt == DType::f64 && x_shape.numel() <= 4096) {
        c.grad_of = {0};
        c.backward = [mask_of](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
          Tensor y = zeros_like(in[0]), dx = zeros_like(in[0]);
          masked_softmax(in[0], mask_of(in), y);
          softmax_backward(y, dout[0], -1, dx);
          return std::vector<Tensor>{dx};
        };
      }
      cases.push_back(c);
      cases.push_back(in_place_case(c, "masked_softmax_in_place",  // y may alias x
                                    [mask_of](const std::vector<Tensor>& in, Tensor& y) {
                                      masked_softmax(y, mask_of(in), y);
                                    }));
    }
}

}  // namespace
}  // namespace naqs::testing
