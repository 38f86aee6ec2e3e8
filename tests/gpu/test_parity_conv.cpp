// CUDA vs CPU parity of conv1d (host/ops/conv1d.hpp, including the fused conv1d_forward_act) and the Philox fills (host/ops/random.hpp).
// Inputs uniform in [-1, 1] from a fixed seed; outputs written into Guarded buffers (guard
// regions catch out-of-bounds writes); sizes include 1, 17 and 1025. Skipped without a GPU.
//
// Tolerances. Fills: 0 (bitwise) — both sides run the same NAQS_HD code built only from
// correctly rounded operations (host/core/philox.hpp). Conv: each output is a sum of n products
// of inputs in [-1, 1]; the CPU (GEMM) and the GPU add them in different orders, so the
// difference is bounded by a few eps * n: atol = 8 * eps * n (eps = 2^-24 f32, 2^-53 f64).
#include <gtest/gtest.h>

#include "host/ops/conv1d.hpp"
#include "host/ops/random.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::random_tensor;
using ops::Conv1dSpec;

namespace {

struct ConvCase {
  int64_t n_batch, c_in, c_out, length;
  Conv1dSpec spec;
};

const ConvCase kCases[] = {
    {1, 1, 1, 1, {1, 1, false}},    {1, 1, 1, 1, {3, 1, true}},
    {17, 3, 5, 17, {3, 1, false}},  {17, 3, 5, 17, {3, 2, true}},
    {2, 17, 1, 1025, {2, 4, false}}, {3, 8, 17, 64, {5, 3, true}},
    {1025, 2, 3, 5, {3, 1, true}},
};

double eps_of(DType dtype) { return dtype == DType::f32 ? 0x1p-24 : 0x1p-53; }

std::string name(const ConvCase& c, DType dtype) {
  return cat(dtype_name(dtype), " B=", c.n_batch, " Cin=", c.c_in, " Cout=", c.c_out,
             " L=", c.length, " K=", c.spec.kernel, " d=", c.spec.dilation,
             c.spec.exclusive ? " exclusive" : " inclusive");
}

}  // namespace

TEST(ParityConv, Forward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dtype : {DType::f32, DType::f64})
    for (const ConvCase& c : kCases)
      for (bool with_bias : {false, true}) {
        const int K = c.spec.kernel;
        Tensor x = random_tensor({c.n_batch, c.c_in, c.length}, dtype, 1);
        Tensor w = random_tensor({c.c_out, c.c_in, K}, dtype, 2);
        Tensor bias = with_bias ? random_tensor({c.c_out}, dtype, 3) : Tensor();
        Tensor y = Tensor::empty({c.n_batch, c.c_out, c.length}, dtype);
        ops::conv1d_forward(x, w, bias, c.spec, y);
        Guarded y_gpu({c.n_batch, c.c_out, c.length}, dtype, gpu);
        ops::conv1d_forward(x.to(gpu), w.to(gpu), with_bias ? bias.to(gpu) : Tensor(), c.spec,
                            y_gpu.out);
        EXPECT_TRUE(all_close(y_gpu.out, y, 8 * eps_of(dtype) * (c.c_in * K + 1), 0))
            << name(c, dtype);
        EXPECT_TRUE(y_gpu.guards_intact()) << name(c, dtype);

        // fused activation + residual (CUDA composes conv, unary and binary): relu is
        // 1-Lipschitz and the residual add rounds once more, so the conv tolerance + 2 eps.
        Tensor residual = random_tensor({c.n_batch, c.c_out, c.length}, dtype, 4);
        Tensor out = Tensor::empty({c.n_batch, c.c_out, c.length}, dtype);
        Tensor no_pre;
        ops::conv1d_forward_act(x, w, bias, c.spec, ops::Unary::relu, no_pre, out, residual);
        Guarded pre_gpu({c.n_batch, c.c_out, c.length}, dtype, gpu);
        Guarded out_gpu({c.n_batch, c.c_out, c.length}, dtype, gpu);
        ops::conv1d_forward_act(x.to(gpu), w.to(gpu), with_bias ? bias.to(gpu) : Tensor(),
                                c.spec, ops::Unary::relu, pre_gpu.out, out_gpu.out,
                                residual.to(gpu));
        const double tol_act = 8 * eps_of(dtype) * (c.c_in * K + 1) + 2 * eps_of(dtype);
        EXPECT_TRUE(all_close(pre_gpu.out, y, 8 * eps_of(dtype) * (c.c_in * K + 1), 0))
            << name(c, dtype);
        EXPECT_TRUE(all_close(out_gpu.out, out, tol_act, 0)) << name(c, dtype);
        EXPECT_TRUE(pre_gpu.guards_intact() && out_gpu.guards_intact()) << name(c, dtype);
      }
}

TEST(ParityConv, BackwardInput) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dtype : {DType::f32, DType::f64})
    for (const ConvCase& c : kCases)
      for (bool accumulate : {false, true}) {
        const int K = c.spec.kernel;
        Tensor dy = random_tensor({c.n_batch, c.c_out, c.length}, dtype, 4);
        Tensor w = random_tensor({c.c_out, c.c_in, K}, dtype, 5);
        Tensor dx0 = random_tensor({c.n_batch, c.c_in, c.length}, dtype, 6);
        Tensor dx = dx0.clone();
        ops::conv1d_backward_input(dy, w, c.spec, dx, accumulate);
        Guarded dx_gpu({c.n_batch, c.c_in, c.length}, dtype, gpu);
        dx_gpu.out.copy_from(dx0);
        ops::conv1d_backward_input(dy.to(gpu), w.to(gpu), c.spec, dx_gpu.out, accumulate);
        EXPECT_TRUE(all_close(dx_gpu.out, dx, 8 * eps_of(dtype) * (c.c_out * K + 1), 0))
            << name(c, dtype);
        EXPECT_TRUE(dx_gpu.guards_intact()) << name(c, dtype);
      }
}

TEST(ParityConv, BackwardWeight) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dtype : {DType::f32, DType::f64})
    for (const ConvCase& c : kCases) {
      const int K = c.spec.kernel;
      Tensor x = random_tensor({c.n_batch, c.c_in, c.length}, dtype, 7);
      Tensor dy = random_tensor({c.n_batch, c.c_out, c.length}, dtype, 8);
      for (bool accumulate : {false, true}) {
        Tensor dw0 = random_tensor({c.c_out, c.c_in, K}, dtype, 9);
        Tensor dw = dw0.clone();
        ops::conv1d_backward_weight(x, dy, c.spec, dw, accumulate);
        Guarded dw_gpu({c.c_out, c.c_in, K}, dtype, gpu);
        dw_gpu.out.copy_from(dw0);
        ops::conv1d_backward_weight(x.to(gpu), dy.to(gpu), c.spec, dw_gpu.out, accumulate);
        EXPECT_TRUE(
            all_close(dw_gpu.out, dw, 8 * eps_of(dtype) * (c.n_batch * c.length + 1), 0))
            << name(c, dtype);
        EXPECT_TRUE(dw_gpu.guards_intact()) << name(c, dtype);
      }
      Tensor dw_ps = Tensor::empty({c.n_batch, c.c_out, c.c_in, K}, dtype);
      ops::conv1d_backward_weight_per_sample(x, dy, c.spec, dw_ps);
      Guarded dw_ps_gpu({c.n_batch, c.c_out, c.c_in, K}, dtype, gpu);
      ops::conv1d_backward_weight_per_sample(x.to(gpu), dy.to(gpu), c.spec, dw_ps_gpu.out);
      EXPECT_TRUE(all_close(dw_ps_gpu.out, dw_ps, 8 * eps_of(dtype) * c.length, 0))
          << name(c, dtype);
      EXPECT_TRUE(dw_ps_gpu.guards_intact()) << name(c, dtype);
    }
}

TEST(ParityConv, RandomFillsAreBitwiseEqual) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dtype : {DType::f32, DType::f64})
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{1025}, int64_t{100003}})
      for (uint64_t offset : {uint64_t{0}, uint64_t{1} << 33}) {
        Tensor u = Tensor::empty({n}, dtype);
        ops::fill_uniform(u, 2026, 3, offset);
        Guarded u_gpu({n}, dtype, gpu);
        ops::fill_uniform(u_gpu.out, 2026, 3, offset);
        EXPECT_TRUE(all_close(u_gpu.out, u, 0, 0)) << dtype_name(dtype) << " n=" << n;
        EXPECT_TRUE(u_gpu.guards_intact());

        Tensor z = Tensor::empty({n}, dtype);
        ops::fill_normal(z, 2026, 4, offset, 0.25, 1.5);
        Guarded z_gpu({n}, dtype, gpu);
        ops::fill_normal(z_gpu.out, 2026, 4, offset, 0.25, 1.5);
        EXPECT_TRUE(all_close(z_gpu.out, z, 0, 0)) << dtype_name(dtype) << " n=" << n;
        EXPECT_TRUE(z_gpu.guards_intact());
      }
}
