// Op cases of host/ops/group_norm.hpp (CUDA twin cuda/group_norm.cu): forward (y and the (B, G)
// statistics) and backward (overwrite and accumulate), gamma / beta shared (C) or per sample
// (B, C), beta absent in one shape, f32 and f64. Shapes: S = 1 (rank 2), one channel per group,
// one group, odd spatial sizes, a U-Net level (4x32x10x10, 8 groups) and rows of 1025 and 6400.
// The backward gets the CPU's mean / rstd on both sides.
//
// Tolerance (common.hpp's sum_atol / sum_rtol): sum_atol(N, 4) for y, rstd and dx: row sums of
// N = (C/G) S terms (|xhat|, |gamma|, |dy| <= ~2 for inputs in [-1, 1], so |terms| <= 4);
// sum_atol(N, 1) for mean; sum_atol(B S, 4) for dgamma / dbeta (S positions per partial, B
// partials for a shared gamma).
// Gradient cases (f64, up to 630 elements, y only: mean and rstd are saved statistics): d/dx,
// d/dgamma (, d/dbeta) from group_norm_backward.
#include "host/ops/group_norm.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

constexpr double kGroupNormEps = 1e-5;

struct GroupNormShape {
  const char* shape;
  int64_t groups;
  bool beta;  // with a shift
};

// Inputs x, gamma (C) or (B, C), then beta of gamma's shape when the case has one.
std::vector<Tensor> group_norm_inputs(const OpCase& c) {
  const Shape s = c.params.shape("shape");
  const Shape p = c.params.i("ps") != 0 ? Shape{s[0], s[1]} : Shape{s[1]};
  std::vector<Tensor> in{random_tensor(s, c.dtype, c.seed), random_tensor(p, c.dtype, c.seed + 1)};
  if (c.params.i("beta") != 0) in.push_back(random_tensor(p, c.dtype, c.seed + 2));
  return in;
}

Tensor beta_of(const std::vector<Tensor>& in) { return in.size() > 2 ? in[2] : Tensor(); }

void forward(const std::vector<Tensor>& in, int64_t groups, Tensor& y, Tensor& mean,
             Tensor& rstd) {
  group_norm_forward(in[0], groups, in[1], beta_of(in), kGroupNormEps, y, mean, rstd);
}

NAQS_OP_CASES(group_norm_cases) {
  const GroupNormShape shapes[] = {{"2x4", 2, true},        {"3x6x5x7", 3, true},
                                   {"17x6x3", 6, false},   {"2x3x1025", 1, true},
                                   {"4x32x10x10", 8, true}, {"2x16x20x20", 4, true}};
  uint64_t seed = 1900;
  for (DType dt : kFloatTypes)
    for (const GroupNormShape& gs : shapes)
      for (int per_sample : {0, 1}) {
        const Shape shape = OpParams(cat("s=", gs.shape)).shape("s");
        const int64_t b = shape[0], groups = gs.groups;
        const int64_t s_n = shape.numel() / (shape[0] * shape[1]);
        const int64_t n = shape[1] / groups * s_n;
        const double rtol = sum_rtol(dt), row_atol = sum_atol(n, 4);
        const std::string params = cat("shape=", gs.shape, " g=", groups, " ps=", per_sample,
                                       " beta=", int(gs.beta));
        const Shape stats{b, groups};

        OpCase fwd;
        fwd.op = "group_norm_forward";
        fwd.params = OpParams(params);
        fwd.dtype = dt;
        fwd.seed = ++seed;
        fwd.why = "double row sums of N terms <= 4 (<= 1 for mean) in different orders, rounded "
                  "once to the dtype";
        fwd.out_tol = {{row_atol, rtol}, {sum_atol(n, 1), rtol}, {row_atol, rtol}};
        fwd.make = [stats](const OpCase& c) {
          return OpTensors{group_norm_inputs(c),
                           {Tensor::zeros(c.params.shape("shape"), c.dtype),
                            Tensor::zeros(stats, c.dtype), Tensor::zeros(stats, c.dtype)}};
        };
        fwd.run = [groups](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          forward(in, groups, out[0], out[1], out[2]);
        };
        cases.push_back(fwd);
        cases.push_back(in_place_case(fwd, "group_norm_forward_in_place",
                                      [groups, stats](const std::vector<Tensor>& in, Tensor& y) {
                                        Tensor mean = Tensor::zeros(stats, y.dtype(), y.device());
                                        Tensor rstd = zeros_like(mean);
                                        forward({y, in[1], beta_of(in)}, groups, y, mean, rstd);
                                      }));
        cases.back().params = OpParams(params + " inplace=1");
        cases.back().out_tol.clear();
        cases.back().atol = row_atol;
        cases.back().rtol = rtol;
        cases.back().make = [](const OpCase& c) {
          return OpTensors{group_norm_inputs(c),
                           {Tensor::zeros(c.params.shape("shape"), c.dtype)}};
        };

        // y alone, with the gradient check
        if (dt == DType::f64 && shape.numel() <= 630) {
          OpCase y_only = fwd;
          y_only.params = OpParams(params + " stats=0");
          y_only.seed = ++seed;
          y_only.out_tol.clear();
          y_only.atol = row_atol;
          y_only.rtol = rtol;
          y_only.make = [](const OpCase& c) {
            return OpTensors{group_norm_inputs(c),
                             {Tensor::zeros(c.params.shape("shape"), c.dtype)}};
          };
          auto forward_y = [groups, stats](const std::vector<Tensor>& in, Tensor& y, Tensor& mean,
                                           Tensor& rstd) {
            mean = Tensor::zeros(stats, in[0].dtype(), in[0].device());
            rstd = zeros_like(mean);
            forward(in, groups, y, mean, rstd);
          };
          y_only.run = [forward_y](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            Tensor mean, rstd;
            forward_y(in, out[0], mean, rstd);
          };
          y_only.grad_of = gs.beta ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 1};
          y_only.backward = [groups, forward_y](const std::vector<Tensor>& in,
                                                const std::vector<Tensor>& dout) {
            Tensor y = zeros_like(in[0]), mean, rstd;
            forward_y(in, y, mean, rstd);
            Tensor dx = zeros_like(in[0]), dgamma = zeros_like(in[1]), dbeta;
            if (in.size() > 2) dbeta = zeros_like(in[2]);
            group_norm_backward(dout[0], in[0], groups, in[1], mean, rstd, dx, dgamma, dbeta);
            std::vector<Tensor> grads{dx, dgamma};
            if (dbeta.defined()) grads.push_back(dbeta);
            return grads;
          };
          cases.push_back(y_only);
        }

        for (bool accumulate : {false, true}) {
          OpCase bwd;
          bwd.op = "group_norm_backward";
          bwd.params = OpParams(params + cat(" acc=", int(accumulate)));
          bwd.dtype = dt;
          bwd.seed = ++seed;
          bwd.why = "double sums in different orders: rows of N terms <= 4 (dx), B S terms <= 4 "
                    "(dgamma, dbeta); rounded once to the dtype";
          const OpTolerance param_tol{sum_atol(b * s_n, 4), rtol};
          bwd.out_tol = {{row_atol, rtol}, param_tol, param_tol};
          // inputs: dy, x, gamma, mean, rstd from the CPU forward; outputs dx, dgamma, dbeta
          // with random initial values (accumulate adds to them)
          bwd.make = [groups, stats](const OpCase& c) {
            const std::vector<Tensor> fin = group_norm_inputs(c);
            Tensor y = zeros_like(fin[0]), mean = Tensor::zeros(stats, c.dtype);
            Tensor rstd = zeros_like(mean);
            forward(fin, groups, y, mean, rstd);
            return OpTensors{{random_tensor(fin[0].shape(), c.dtype, c.seed + 3), fin[0], fin[1],
                              mean, rstd},
                             {random_tensor(fin[0].shape(), c.dtype, c.seed + 4),
                              random_tensor(fin[1].shape(), c.dtype, c.seed + 5),
                              random_tensor(fin[1].shape(), c.dtype, c.seed + 6)}};
          };
          bwd.run = [groups, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            group_norm_backward(in[0], in[1], groups, in[2], in[3], in[4], out[0], out[1], out[2],
                                accumulate);
          };
          cases.push_back(bwd);
        }
      }
}

}  // namespace
}  // namespace naqs::testing
