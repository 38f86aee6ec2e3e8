// Op cases of host/ops/elementwise.hpp (CUDA twin cuda/elementwise.cu): unary (+ backward, in
// place), binary, axpby/scale, bias_add, bias_backward.
#include "host/ops/elementwise.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// ---- elementwise -------------------------------------------------------------------------
// Unary: 8 eps absolute and relative: CUDA's exp/log/tanh/expm1/log1p are within 2 ulp of the
// correctly rounded value (CUDA Programming Guide, mathematical functions), glibc within 1;
// cancellation in 1 - tanh^2 and s (1 - s) turns that into a few eps absolute. gelu's erfc is
// within 5 ulp on CUDA, but only in its tail (x << 0), where |gelu| << 1 and the absolute 8 eps
// covers it; gelu_tanh and silu go through sigmoid's exp.
NAQS_OP_CASES(unary_cases) {
  const Unary all[] = {Unary::relu, Unary::selu, Unary::tanh,     Unary::sigmoid,
                       Unary::exp,  Unary::log,  Unary::softplus, Unary::square,
                       Unary::sqrt, Unary::abs,  Unary::neg,      Unary::gelu,
                       Unary::gelu_tanh, Unary::silu};
  uint64_t seed = 300;
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (Unary f : all) {
        const bool positive = f == Unary::log || f == Unary::sqrt;
        OpCase c;
        c.params = OpParams(cat("f=", unary_name(f), " n=", n));
        c.dtype = dt;
        c.seed = ++seed;
        c.atol = c.rtol = 8 * eps(dt);
        c.why = "device exp/log/tanh within 2 ulp, glibc within 1, cancellation: 8 eps";
        c.make = [positive](const OpCase& c) {
          const int64_t n = c.params.i("n");
          return OpTensors{{random_tensor({n}, c.dtype, c.seed, positive ? 0.1 : -3.0, 3.0),
                            random_tensor({n}, c.dtype, c.seed + 1)},
                           {Tensor::zeros({n}, c.dtype)}};
        };
        OpCase fwd = c;
        fwd.op = "unary";
        fwd.run = [f](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          unary(f, in[0], out[0]);
        };
        if (dt == DType::f64 && n == 17 && f != Unary::abs && f != Unary::relu) {
          fwd.grad_of = {0};  // |x| and relu: kinks, but inputs stay away from 0 with h = 1e-6
          fwd.backward = [f](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
            Tensor dx = zeros_like(in[0]);
            unary_backward(f, in[0], dout[0], dx);
            return std::vector<Tensor>{dx};
          };
        }
        cases.push_back(fwd);
        cases.push_back(in_place_case(fwd, "unary_in_place",  // y may alias x
                                      [f](const std::vector<Tensor>&, Tensor& y) {
                                        unary(f, y, y);
                                      }));
        OpCase bwd = c;
        bwd.op = "unary_backward";
        bwd.run = [f](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          unary_backward(f, in[0], in[1], out[0]);
        };
        cases.push_back(bwd);
      }
}

// Binary: tolerance 0: +, -, *, / (nvcc's default IEEE division), max, min are correctly
// rounded on both sides. axpby: 2 eps (|alpha x| + |beta y|) <= 4 eps absolute, because nvcc
// fuses alpha x + beta y into an FMA (one rounding fewer); scale after it: 12 eps.
NAQS_OP_CASES(binary_cases) {
  const Binary all[] = {Binary::add, Binary::sub,     Binary::mul,
                        Binary::div, Binary::maximum, Binary::minimum};
  uint64_t seed = 400;
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes) {
      auto make = [](const OpCase& c) {
        const int64_t n = c.params.i("n");
        return OpTensors{{random_tensor({n}, c.dtype, c.seed),
                          random_tensor({n}, c.dtype, c.seed + 1, 0.5, 1.5)},
                         {random_tensor({n}, c.dtype, c.seed + 2, 0.5, 1.5)}};
      };
      for (Binary f : all) {
        OpCase c;
        c.op = "binary";
        c.params = OpParams(cat("f=", binary_name(f), " n=", n));
        c.dtype = dt;
        c.seed = ++seed;
        c.why = "one correctly rounded operation per element on both sides";
        c.make = make;
        c.run = [f](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          binary(f, in[0], in[1], out[0]);
        };
        cases.push_back(c);
      }
      OpCase c;
      c.op = "axpby_scale";
      c.params = OpParams(cat("n=", n));
      c.dtype = dt;
      c.seed = ++seed;
      c.atol = 12 * eps(dt);
      c.why = "nvcc fuses alpha x + beta y into an FMA (4 eps), then x3 by scale: 12 eps";
      c.make = make;
      c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        axpby(0.75, in[0], -1.25, out[0]);
        scale(out[0], 3.0);
      };
      if (dt == DType::f64) {
        c.grad_of = {0};
        c.backward = [](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
          Tensor dx = zeros_like(in[0]);
          axpby(0.75 * 3.0, dout[0], 0.0, dx);
          return std::vector<Tensor>{dx};
        };
      }
      cases.push_back(c);
    }
}

// bias_add: tolerance 0 (one correctly rounded addition per element on both sides).
// bias_backward: both sides sum in double in different orders, then round to the dtype: atol
// count eps64 sum|dy| (the order error of a double sum), rtol eps (f32: the double sums may
// round to neighbouring floats). accumulate on odd axes.
NAQS_OP_CASES(bias_cases) {
  const char* const shapes[] = {"1", "17x1025", "3x17x5", "1025x1x17"};
  uint64_t seed = 500;
  for (DType dt : kFloatTypes)
    for (const char* shape : shapes) {
      const Shape s = OpParams(cat("s=", shape)).shape("s");
      for (int axis = 0; axis < s.rank; ++axis) {
        OpCase c;
        c.params = OpParams(cat("shape=", shape, " axis=", axis));
        c.dtype = dt;
        c.seed = ++seed;
        c.make = [](const OpCase& c) {
          const Shape s = c.params.shape("shape");
          const int64_t n = s[static_cast<int>(c.params.i("axis"))];
          return OpTensors{{random_tensor({n}, c.dtype, c.seed + 1)},
                           {random_tensor(s, c.dtype, c.seed)}};
        };
        OpCase add = c;
        add.op = "bias_add";
        add.why = "one correctly rounded addition per element";
        add.run = [axis](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          bias_add(out[0], in[0], axis);
        };
        if (dt == DType::f64 && s.numel() <= 256) {
          add.grad_of = {0};
          add.backward = [axis](const std::vector<Tensor>& in, const std::vector<Tensor>& dout) {
            Tensor db = zeros_like(in[0]);
            bias_backward(dout[0], axis, db);
            return std::vector<Tensor>{db};
          };
        }
        cases.push_back(add);
        OpCase back = c;
        back.op = "bias_backward";
        const bool accumulate = axis % 2 == 1;
        back.make = [accumulate](const OpCase& c) {
          const Shape s = c.params.shape("shape");
          const int64_t n = s[static_cast<int>(c.params.i("axis"))];
          return OpTensors{{random_tensor(s, c.dtype, c.seed)},
                           {random_tensor({n}, c.dtype, c.seed + 1)}};
        };
        const double count = static_cast<double>(s.numel() / s[axis]);
        back.atol = count * count * DBL_EPSILON;
        back.rtol = dt == DType::f32 ? FLT_EPSILON : 0.0;
        back.why = "double sums of `count` terms |dy| <= 1 in different orders: count eps64 "
                   "sum|dy| <= count^2 eps64 abs; f32 rounding of close doubles: eps rel";
        back.run = [axis, accumulate](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          bias_backward(in[0], axis, out[0], accumulate);
        };
        cases.push_back(back);
      }
    }
}

}  // namespace
}  // namespace naqs::testing
