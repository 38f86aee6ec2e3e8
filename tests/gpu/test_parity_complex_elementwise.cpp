// CUDA vs CPU parity of complex_unary (host/ops/complex_elementwise.hpp, twin
// cuda/complex_elementwise.cu): log 2cosh and tanh, complex and real arguments, f32 and f64,
// sizes 1, 17, 1025 of values in [-6, 6] x [-4, 4], outputs in Guarded buffers. Both evaluate
// the same NAQS_HD formulas in double; CUDA's exp/log1p/sin/cos/sinh/cosh/atan2 are within
// 2 ulp of glibc's, and a formula combines a handful of them: f64 within 1e-14 relative +
// 1e-14 absolute (values O(1..10)); f32 within 2 ulp (the double results agree far below f32
// resolution; only a value straddling an f32 rounding boundary moves). Skipped without a GPU.
#include <cfloat>

#include "host/ops/complex_elementwise.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::random_tensor;

TEST(ParityComplexUnary, LogCoshAndTanh) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  uint64_t seed = 700;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t n : {1, 17, 1025})
      for (ops::ComplexUnary f : {ops::ComplexUnary::log_2cosh, ops::ComplexUnary::tanh})
        for (bool complex : {false, true}) {
          const Tensor x_re = random_tensor({n}, dt, ++seed, -6, 6);
          const Tensor x_im = complex ? random_tensor({n}, dt, ++seed, -4, 4) : Tensor();
          Tensor y_re = Tensor::empty({n}, dt), y_im;
          if (complex) y_im = Tensor::empty({n}, dt);
          ops::complex_unary(f, x_re, x_im, y_re, y_im);
          Guarded re_d({n}, dt, gpu), im_d({complex ? n : 1}, dt, gpu);
          Tensor im_out = complex ? im_d.out : Tensor();
          ops::complex_unary(f, x_re.to(gpu), complex ? x_im.to(gpu) : Tensor(), re_d.out, im_out);
          const double atol = dt == DType::f32 ? 2 * FLT_EPSILON : 1e-14;
          const double rtol = dt == DType::f32 ? 2 * FLT_EPSILON : 1e-14;
          const std::string what = std::string(ops::complex_unary_name(f)) + " " +
                                   dtype_name(dt) + " n " + std::to_string(n) +
                                   (complex ? " complex" : " real");
          EXPECT_TRUE(all_close(re_d.out.to(Device::cpu()), y_re, atol, rtol)) << what;
          if (complex) EXPECT_TRUE(all_close(im_d.out.to(Device::cpu()), y_im, atol, rtol)) << what;
          EXPECT_TRUE(re_d.guards_intact() && im_d.guards_intact()) << what;
        }
}
