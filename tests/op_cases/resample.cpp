// Op cases of host/ops/resample.hpp (CUDA twin cuda/resample.cu): avg_pool2x2 and
// upsample_nearest2x, forward and backward (overwrite and accumulate), f32 and f64, on a single
// 2x2 (1x1) plane, rank 2 and 3 inputs, odd plane sizes, the U-Net's 40x40 and a wide plane.
// Tolerance 0: both backends add the same four terms in the same order in double through the
// same element function and multiply by 1/4 or 1 (exact).
// Gradient cases (f64, small shapes): d/dx of each forward from its backward.
#include "host/ops/resample.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// The small side's shape (H/2 x W/2 of the pooling's input, the upsampling's input).
const char* const kSmallShapes[] = {"1x1", "3x5", "2x3x7x9", "3x4x20x20", "1x2x3x513"};

Shape doubled(Shape s) {
  s[s.rank - 2] *= 2;
  s[s.rank - 1] *= 2;
  return s;
}

struct ResampleOp {
  const char* name;
  bool from_big;  // the input is the big side (pooling, the upsampling's backward)
  std::function<void(const Tensor&, Tensor&, bool)> run;  // (in, out, accumulate)
};

NAQS_OP_CASES(resample_cases) {
  const ResampleOp ops_[] = {
      {"avg_pool2x2", true, [](const Tensor& x, Tensor& y, bool) { avg_pool2x2(x, y); }},
      {"upsample_nearest2x", false,
       [](const Tensor& x, Tensor& y, bool) { upsample_nearest2x(x, y); }},
      {"avg_pool2x2_backward", false,
       [](const Tensor& dy, Tensor& dx, bool acc) { avg_pool2x2_backward(dy, dx, acc); }},
      {"upsample_nearest2x_backward", true,
       [](const Tensor& dy, Tensor& dx, bool acc) { upsample_nearest2x_backward(dy, dx, acc); }},
  };
  uint64_t seed = 2000;
  for (DType dt : kFloatTypes)
    for (const char* small_text : kSmallShapes)
      for (const ResampleOp& rop : ops_) {
        const bool backward = std::string(rop.name).find("backward") != std::string::npos;
        for (bool accumulate : backward ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
          OpCase c;
          c.op = rop.name;
          c.params = OpParams(cat("small=", small_text, " acc=", int(accumulate)));
          c.dtype = dt;
          c.seed = ++seed;
          c.why = "the same four double additions in the same order, times 1/4 or 1 (exact)";
          const bool from_big = rop.from_big;
          c.make = [from_big](const OpCase& k) {
            const Shape small = k.params.shape("small"), big = doubled(small);
            return OpTensors{{random_tensor(from_big ? big : small, k.dtype, k.seed)},
                             {random_tensor(from_big ? small : big, k.dtype, k.seed + 1)}};
          };
          auto run = rop.run;
          c.run = [run, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            run(in[0], out[0], accumulate);
          };
          const Shape small = OpParams(cat("s=", small_text)).shape("s");
          if (!backward && dt == DType::f64 && small.numel() <= 64) {
            c.grad_of = {0};
            const bool pool = from_big;
            c.backward = [pool](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
              Tensor dx = zeros_like(in[0]);
              if (pool) {
                avg_pool2x2_backward(dout[0], dx);
              } else {
                upsample_nearest2x_backward(dout[0], dx);
              }
              return std::vector<Tensor>{dx};
            };
          }
          cases.push_back(c);
        }
      }
}

}  // namespace
}  // namespace naqs::testing
