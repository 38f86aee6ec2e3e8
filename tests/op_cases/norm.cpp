// Op cases of host/ops/norm.hpp (CUDA twin cuda/norm.cu): layernorm and rmsnorm forward (y and
// the row statistics) and backward (overwrite and accumulate; dgamma/dbeta summed over all rows,
// or per group of rows for the rank-3 shape), rows 1, 17, 1025, f32 and f64. The backward gets
// the CPU's mean / rstd on both sides.
//
// Tolerance (common.hpp's sum_atol / sum_rtol): sum_atol(C, 4) for y, rstd and dx: row sums of
// C terms (|xhat|, |gamma|, |dy| <= ~2 for inputs in [-1, 1], so |terms| <= 4); sum_atol(C, 1)
// for mean; sum_atol(R/G, 4) for dgamma / dbeta (sums over the R/G rows of a group).
// Gradient cases (f64, up to 17x17, y only: mean and rstd are saved statistics, not outputs the
// backward differentiates): d/dx, d/dgamma (, d/dbeta) from *_backward.
#include "host/ops/norm.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

constexpr double kNormEps = 1e-5;

// x's shape without the last dim
Shape stat_shape(const Shape& x) { return x.rank == 3 ? Shape{x[0], x[1]} : Shape{x[0]}; }

// Runs the forward; mean is ignored for rmsnorm.
void norm_forward(bool rms, const std::vector<Tensor>& in, Tensor& y, Tensor& mean,
                  Tensor& rstd) {
  if (rms) {
    rmsnorm_forward(in[0], in[1], kNormEps, y, rstd);
  } else {
    layernorm_forward(in[0], in[1], in[2], kNormEps, y, mean, rstd);
  }
}

NAQS_OP_CASES(norm_cases) {
  const char* const shapes[] = {"1x1", "17x17", "1025x17", "17x1025", "3x5x257"};
  uint64_t seed = 1700;
  for (DType dt : kFloatTypes)
    for (const char* shape_text : shapes)
      for (bool rms : {false, true}) {
        const Shape shape = OpParams(cat("s=", shape_text)).shape("s");
        const int64_t c = shape[shape.rank - 1], rows = shape.numel() / c;
        const int64_t groups = shape.rank == 3 ? shape[0] : 1;
        const double rtol = sum_rtol(dt), row_atol = sum_atol(c, 4);
        const char* const name = rms ? "rmsnorm" : "layernorm";
        // inputs: x, gamma (C), then beta (C) for layernorm
        auto make_inputs = [rms](const OpCase& c) {
          const Shape s = c.params.shape("shape");
          const int64_t ch = s[s.rank - 1];
          std::vector<Tensor> in{random_tensor(s, c.dtype, c.seed),
                                 random_tensor({ch}, c.dtype, c.seed + 1)};
          if (!rms) in.push_back(random_tensor({ch}, c.dtype, c.seed + 2));
          return in;
        };

        OpCase fwd;
        fwd.op = cat(name, "_forward");
        fwd.params = OpParams(cat("shape=", shape_text));
        fwd.dtype = dt;
        fwd.seed = ++seed;
        fwd.why = "double row sums of C terms <= 4 (<= 1 for mean) in different orders, rounded "
                  "once to the dtype";
        // outputs: y, (mean,) rstd
        fwd.out_tol = rms ? std::vector<OpTolerance>{{row_atol, rtol}, {row_atol, rtol}}
                          : std::vector<OpTolerance>{
                                {row_atol, rtol}, {sum_atol(c, 1), rtol}, {row_atol, rtol}};
        fwd.make = [rms, make_inputs](const OpCase& c) {
          const Shape s = c.params.shape("shape");
          std::vector<Tensor> out{Tensor::zeros(s, c.dtype)};
          if (!rms) out.push_back(Tensor::zeros(stat_shape(s), c.dtype));
          out.push_back(Tensor::zeros(stat_shape(s), c.dtype));
          return OpTensors{make_inputs(c), out};
        };
        fwd.run = [rms](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          Tensor no_mean;
          norm_forward(rms, in, out[0], rms ? no_mean : out[1], out.back());
        };
        cases.push_back(fwd);

        // y alone (the statistics in scratch tensors on the device), with the gradient check
        if (dt == DType::f64 && shape.numel() <= 289) {
          OpCase y_only = fwd;
          y_only.params = OpParams(cat("shape=", shape_text, " stats=0"));
          y_only.seed = ++seed;
          y_only.out_tol.clear();
          y_only.atol = row_atol;
          y_only.rtol = rtol;
          y_only.make = [make_inputs](const OpCase& c) {
            return OpTensors{make_inputs(c), {Tensor::zeros(c.params.shape("shape"), c.dtype)}};
          };
          auto forward_y = [rms](const std::vector<Tensor>& in, Tensor& y, Tensor& mean,
                                 Tensor& rstd) {
            const Shape st = stat_shape(in[0].shape());
            mean = Tensor::zeros(st, in[0].dtype(), in[0].device());
            rstd = Tensor::zeros(st, in[0].dtype(), in[0].device());
            norm_forward(rms, in, y, mean, rstd);
          };
          y_only.run = [forward_y](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            Tensor mean, rstd;
            forward_y(in, out[0], mean, rstd);
          };
          y_only.grad_of = rms ? std::vector<int>{0, 1} : std::vector<int>{0, 1, 2};
          y_only.backward = [rms, forward_y](const std::vector<Tensor>& in,
                                             const std::vector<Tensor>& dout) {
            Tensor y = zeros_like(in[0]), mean, rstd;
            forward_y(in, y, mean, rstd);
            Tensor dx = zeros_like(in[0]), dgamma = zeros_like(in[1]);
            if (rms) {
              rmsnorm_backward(dout[0], in[0], in[1], rstd, dx, dgamma);
              return std::vector<Tensor>{dx, dgamma};
            }
            Tensor dbeta = zeros_like(in[2]);
            layernorm_backward(dout[0], in[0], in[1], mean, rstd, dx, dgamma, dbeta);
            return std::vector<Tensor>{dx, dgamma, dbeta};
          };
          cases.push_back(y_only);
        }

        for (bool accumulate : {false, true}) {
          OpCase bwd;
          bwd.op = cat(name, "_backward");
          bwd.params = OpParams(cat("shape=", shape_text, " acc=", int(accumulate)));
          bwd.dtype = dt;
          bwd.seed = ++seed;
          bwd.why = "double sums in different orders: rows of C terms <= 4 (dx), R/G rows of "
                    "terms <= 4 (dgamma, dbeta); rounded once to the dtype";
          const OpTolerance dx_tol{row_atol, rtol}, param_tol{sum_atol(rows / groups, 4), rtol};
          bwd.out_tol = rms ? std::vector<OpTolerance>{dx_tol, param_tol}
                            : std::vector<OpTolerance>{dx_tol, param_tol, param_tol};
          // inputs: dy, x, gamma, rstd (, mean) from the CPU forward; outputs dx, dgamma
          // (, dbeta) with random initial values (accumulate adds to them)
          bwd.make = [rms, make_inputs, groups](const OpCase& c) {
            const std::vector<Tensor> fin = make_inputs(c);
            const Shape s = fin[0].shape();
            const int64_t ch = s[s.rank - 1];
            Tensor y = zeros_like(fin[0]), mean = Tensor::zeros(stat_shape(s), c.dtype);
            Tensor rstd = Tensor::zeros(stat_shape(s), c.dtype);
            norm_forward(rms, fin, y, mean, rstd);
            std::vector<Tensor> in{random_tensor(s, c.dtype, c.seed + 3), fin[0], fin[1], rstd};
            std::vector<Tensor> out{random_tensor(s, c.dtype, c.seed + 4),
                                    random_tensor({groups, ch}, c.dtype, c.seed + 5)};
            if (!rms) {
              in.push_back(mean);
              out.push_back(random_tensor({groups, ch}, c.dtype, c.seed + 6));
            }
            return OpTensors{in, out};
          };
          bwd.run = [rms, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            if (rms) {
              rmsnorm_backward(in[0], in[1], in[2], in[3], out[0], out[1], accumulate);
            } else {
              layernorm_backward(in[0], in[1], in[2], in[4], in[3], out[0], out[1], out[2],
                                 accumulate);
            }
          };
          cases.push_back(bwd);
        }
      }
}

}  // namespace
}  // namespace naqs::testing
