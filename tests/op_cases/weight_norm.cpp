// Op cases of host/ops/weight_norm.hpp (CUDA twin cuda/weight_norm.cu): weight_norm_forward and
// weight_norm_backward (summed (Cout, F) and per sample (R = 17, Cout, F), overwrite and
// accumulate), f32 and f64, rows 1, 3, 33 x fan-in 1, 27, 289 (one warp strides over
// 289 = 9 x 32 + 1 elements); v in [-1, 1], g in [0.5, 2].
//
// Tolerances: f64 1e-13 relative to each row's scale (|g| for w, |g|/||v|| max|dw| for dv,
// max|dw| for dg, plus the same relative to the value): both evaluate the same double formulas,
// only the order of the row sums (and FMA contraction) differs, a few ulp times at most 289
// terms; f32 2 ulp of the value: the double results differ far below f32 resolution, so an
// element moves only when it straddles an f32 rounding boundary. Gradient cases (f64, Cout F
// <= 1024): d/dv, d/dg from weight_norm_backward (summed).
// (The zero-direction error on CUDA: tests/gpu/test_weight_norm_errors_gpu.cpp.)
#include <cfloat>
#include <cmath>

#include "host/ops/weight_norm.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// The tolerance of an output of the given scale.
OpTolerance scaled_tolerance(DType dt, double scale) {
  if (dt == DType::f32) return {2 * FLT_EPSILON * scale * 1e-3, 2 * FLT_EPSILON};
  return {1e-13 * scale, 1e-13};
}

const char* const kWhy = "f64: 1e-13 of the row's scale (double row sums in another order); "
                         "f32: 2 ulp (double results agree far below f32 resolution)";

NAQS_OP_CASES(weight_norm_cases) {
  uint64_t seed = 2200;
  for (DType dt : kFloatTypes)
    for (int64_t c_out : {1, 3, 33})
      for (int64_t f : {1, 27, 289}) {
        // inputs v (Cout, F), g (Cout)
        auto v_and_g = [](const OpCase& c) {
          const int64_t c_out = c.params.i("cout");
          return std::vector<Tensor>{random_tensor({c_out, c.params.i("f")}, c.dtype, c.seed),
                                     random_tensor({c_out}, c.dtype, c.seed + 1, 0.5, 2.0)};
        };
        OpCase fwd;
        fwd.op = "weight_norm_forward";
        fwd.params = OpParams(cat("cout=", c_out, " f=", f));
        fwd.dtype = dt;
        fwd.seed = ++seed;
        const OpTolerance w_tol = scaled_tolerance(dt, 2.0);
        fwd.atol = w_tol.atol;
        fwd.rtol = w_tol.rtol;
        fwd.why = kWhy;
        fwd.make = [v_and_g](const OpCase& c) {
          return OpTensors{v_and_g(c), {Tensor::zeros({c.params.i("cout"), c.params.i("f")},
                                                      c.dtype)}};
        };
        fwd.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          weight_norm_forward(in[0], in[1], out[0]);
        };
        if (dt == DType::f64 && c_out * f <= 1024) {
          fwd.grad_of = {0, 1};
          fwd.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
            Tensor dv = zeros_like(in[0]), dg = zeros_like(in[1]);
            weight_norm_backward(in[0], in[1], dout[0], dv, dg);
            return std::vector<Tensor>{dv, dg};
          };
        }
        cases.push_back(fwd);

        for (int64_t rows : {0, 17})  // 0: summed (Cout, F); 17: per sample (17, Cout, F)
          for (bool accumulate : {false, true}) {
            OpCase bwd;
            bwd.op = "weight_norm_backward";
            bwd.params = OpParams(cat("cout=", c_out, " f=", f, " rows=", rows,
                                      " acc=", int(accumulate)));
            bwd.dtype = dt;
            bwd.seed = ++seed;
            bwd.why = kWhy;
            // |dv| <= (|g|/||v||) 2 max|dw| with ||v|| >= ~0.3 sqrt(F) for uniform [-1,1] v.
            bwd.out_tol = {scaled_tolerance(dt, 4.0 / 0.3),
                           scaled_tolerance(dt, 1.0 + std::sqrt(static_cast<double>(f)))};
            // inputs v, g, dw; outputs dv, dg (random: accumulate adds to them)
            bwd.make = [v_and_g](const OpCase& c) {
              const OpParams& p = c.params;
              const int64_t rows = p.i("rows"), c_out = p.i("cout"), f = p.i("f");
              const Shape dw_shape = rows ? Shape{rows, c_out, f} : Shape{c_out, f};
              const Shape dg_shape = rows ? Shape{rows, c_out} : Shape{c_out};
              std::vector<Tensor> in = v_and_g(c);
              in.push_back(random_tensor(dw_shape, c.dtype, c.seed + 2));
              return OpTensors{in, {random_tensor(dw_shape, c.dtype, c.seed + 3),
                                    random_tensor(dg_shape, c.dtype, c.seed + 4)}};
            };
            bwd.run = [accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
              weight_norm_backward(in[0], in[1], in[2], out[0], out[1], accumulate);
            };
            cases.push_back(bwd);
          }
      }
}

}  // namespace
}  // namespace naqs::testing
