// Op cases of host/ops/complex_elementwise.hpp (CUDA twin cuda/complex_elementwise.cu):
// complex_unary log 2cosh and tanh, complex and real arguments, f32 and f64, sizes 1, 17, 1025
// of values in [-6, 6] x [-4, 4].
//
// Tolerance: both evaluate the same NAQS_HD formulas in double; CUDA's exp/log1p/sin/cos/sinh/
// cosh/atan2 are within 2 ulp of glibc's, and a formula combines a handful of them: f64 within
// 1e-14 relative + 1e-14 absolute (values O(1..10)); f32 within 2 ulp (the double results agree
// far below f32 resolution; only a value straddling an f32 rounding boundary moves).
#include <cfloat>

#include "host/ops/complex_elementwise.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

NAQS_OP_CASES(complex_unary_cases) {
  uint64_t seed = 2100;
  for (DType dt : kFloatTypes)
    for (int64_t n : {1, 17, 1025})
      for (ComplexUnary f : {ComplexUnary::log_2cosh, ComplexUnary::tanh})
        for (bool complex : {false, true}) {
          OpCase c;
          c.op = "complex_unary";
          c.params = OpParams(cat("f=", complex_unary_name(f), " n=", n,
                                  " complex=", int(complex)));
          c.dtype = dt;
          c.seed = ++seed;
          c.atol = c.rtol = dt == DType::f32 ? 2 * FLT_EPSILON : 1e-14;
          c.why = dt == DType::f32 ? "2 ulp: double results agree far below f32 resolution"
                                   : "CUDA's exp/log1p/sin/cos/sinh/cosh/atan2 within 2 ulp of "
                                     "glibc's, a handful per formula";
          // inputs x_re (, x_im); outputs y_re (, y_im)
          c.make = [complex](const OpCase& c) {
            const int64_t n = c.params.i("n");
            std::vector<Tensor> in{random_tensor({n}, c.dtype, c.seed, -6, 6)};
            std::vector<Tensor> out{Tensor::zeros({n}, c.dtype)};
            if (complex) {
              in.push_back(random_tensor({n}, c.dtype, c.seed + 1, -4, 4));
              out.push_back(Tensor::zeros({n}, c.dtype));
            }
            return OpTensors{in, out};
          };
          c.run = [f, complex](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
            Tensor no_im;
            complex_unary(f, in[0], complex ? in[1] : Tensor(), out[0],
                          complex ? out[1] : no_im);
          };
          cases.push_back(c);
        }
}

}  // namespace
}  // namespace naqs::testing
