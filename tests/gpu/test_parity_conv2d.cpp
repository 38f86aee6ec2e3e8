// CUDA vs CPU parity of the shifted-window 2-D convolution (host/ops/conv2d.hpp,
// cuda/conv2d.cu): forward (+accumulate), the fused forward_act, backward input
// (+accumulate), backward weight
// (+accumulate), per-sample weight gradients. Random inputs in [-1,1), odd sizes (1x1, 3x5,
// 7x11, B = 1 and 17), every window kind; every output is written into a Guarded buffer whose
// guard region must stay intact.
//
// Tolerance: a worst-case rounding bound, not a fitted number. An output element is a sum of
// n products of factors with |.| <= 1 (plus a bias and an old value, |.| <= 1), so the sum of
// absolute terms is at most n + 2; a backend that adds them in `depth` sequential steps is
// within (depth + 1) * eps * (n + 2) of the exact value, and the two backends are compared
// with the sum of their two bounds. CPU weight gradients are summed in double and rounded once;
// the GPU sums n / 32 terms per lane, then 5 shuffle levels.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "host/ops/conv2d.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::guarded_copy;
using naqs::testing::random_tensor;

namespace {

struct Sizes {
  int64_t batch, n_in, n_out, height, width;
};

const Sizes kSizes[] = {{1, 1, 1, 1, 1}, {17, 3, 5, 3, 5}, {17, 4, 3, 7, 11}, {1, 5, 2, 7, 11},
                        {17, 32, 32, 3, 5}};

std::vector<Conv2dSpec> parity_specs() {
  return {conv2d_vertical_spec(3),         conv2d_vertical_spec(3, true),
          conv2d_horizontal_spec(3, true), conv2d_horizontal_spec(3, false),
          conv2d_pointwise_spec(1, 0),     conv2d_vertical_spec(5, true),
          Conv2dSpec{3, 3, -2, -2},        Conv2dSpec{2, 4, 1, -5}};
}

double eps_of(DType dt) {
  return dt == DType::f32 ? std::numeric_limits<float>::epsilon()
                          : std::numeric_limits<double>::epsilon();
}

// Bound for one backend adding n products in `depth` sequential steps (see the file comment).
double rounding_bound(DType dt, int64_t n, int64_t depth) {
  return static_cast<double>(depth + 1) * eps_of(dt) * static_cast<double>(n + 2);
}

// Weight gradient: the GPU adds n/32 terms per lane, 5 shuffle levels and the old value; the
// CPU sums in double (its own bound) and rounds once to T (depth 0).
double weight_tol(DType dt, int64_t n) {
  return rounding_bound(dt, n, (n + 31) / 32 + 6) + rounding_bound(DType::f64, n, n) +
         rounding_bound(dt, n, 0);
}

// Forward / backward input: both backends add the n products sequentially in T.
double sequential_tol(DType dt, int64_t n) { return 2 * rounding_bound(dt, n, n + 2); }

std::string label(DType dt, const Sizes& z, const Conv2dSpec& s) {
  return cat(dtype_name(dt), " B=", z.batch, " Cin=", z.n_in, " Cout=", z.n_out, " ", z.height,
             "x", z.width, " window ", s.kernel_h, "x", s.kernel_w, " at (", s.offset_h, ",",
             s.offset_w, ")");
}

}  // namespace

TEST(Conv2dParity, Forward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda();
  for (DType dt : {DType::f32, DType::f64}) {
    uint64_t seed = 1;
    for (const Sizes& z : kSizes) {
      for (const Conv2dSpec& s : parity_specs()) {
        SCOPED_TRACE(label(dt, z, s));
        const Tensor x = random_tensor({z.batch, z.n_in, z.height, z.width}, dt, ++seed);
        const Tensor w = random_tensor({z.n_out, z.n_in, s.kernel_h, s.kernel_w}, dt, ++seed);
        const Tensor bias = random_tensor({z.n_out}, dt, ++seed);
        const Tensor y0 = random_tensor({z.batch, z.n_out, z.height, z.width}, dt, ++seed);
        const Tensor xg = x.to(gpu), wg = w.to(gpu), bg = bias.to(gpu);
        const double tol = sequential_tol(dt, z.n_in * s.kernel_h * s.kernel_w);
        for (bool accumulate : {false, true}) {
          Tensor y = y0.clone();
          conv2d_forward(x, w, bias, s, y, accumulate);
          Guarded yg = guarded_copy(y0, Device::cuda());
          conv2d_forward(xg, wg, bg, s, yg.out, accumulate);
          EXPECT_TRUE(all_close(yg.out, y, tol, 0)) << "accumulate " << accumulate;
          EXPECT_TRUE(yg.guards_intact());
        }
      }
    }
  }
}

// The fused forward (two terms, as the horizontal stream) on the GPU against the CPU's, with and
// without pre and residual; n = the two terms' taps, and act / residual add two more roundings.
TEST(Conv2dParity, ForwardAct) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda();
  const Conv2dSpec sh = conv2d_horizontal_spec(3, false), sv = conv2d_vertical_spec(3, true);
  for (DType dt : {DType::f32, DType::f64}) {
    uint64_t seed = 500;
    for (const Sizes& z : kSizes) {
      SCOPED_TRACE(label(dt, z, sv));
      const Shape shape{z.batch, z.n_out, z.height, z.width};
      const Tensor h = random_tensor({z.batch, z.n_in, z.height, z.width}, dt, ++seed);
      const Tensor v = random_tensor({z.batch, z.n_in, z.height, z.width}, dt, ++seed);
      const Tensor wh = random_tensor({z.n_out, z.n_in, sh.kernel_h, sh.kernel_w}, dt, ++seed);
      const Tensor wv = random_tensor({z.n_out, z.n_in, sv.kernel_h, sv.kernel_w}, dt, ++seed);
      const Tensor bias = random_tensor({z.n_out}, dt, ++seed);
      const Tensor residual = random_tensor(shape, dt, ++seed);
      const Tensor hg = h.to(gpu), vg = v.to(gpu), whg = wh.to(gpu), wvg = wv.to(gpu);
      const Tensor bg = bias.to(gpu), rg = residual.to(gpu);
      const int64_t n = z.n_in * (sh.kernel_h * sh.kernel_w + sv.kernel_h * sv.kernel_w);
      const double tol = sequential_tol(dt, n + 2);
      for (Unary act : {Unary::relu, Unary::selu}) {
        Tensor pre = Tensor::empty(shape, dt), out = Tensor::empty(shape, dt);
        conv2d_forward_act({{h, wh, sh}, {v, wv, sv}}, bias, act, pre, out, residual);
        Guarded pre_g(shape, dt, gpu), out_g(shape, dt, gpu);
        conv2d_forward_act({{hg, whg, sh}, {vg, wvg, sv}}, bg, act, pre_g.out, out_g.out, rg);
        EXPECT_TRUE(all_close(pre_g.out, pre, tol, 0)) << unary_name(act);
        EXPECT_TRUE(all_close(out_g.out, out, 2 * tol, 0)) << unary_name(act);
        EXPECT_TRUE(pre_g.guards_intact());
        EXPECT_TRUE(out_g.guards_intact());
        Tensor no_pre;
        Guarded only_g(shape, dt, gpu);
        conv2d_forward_act({{hg, whg, sh}, {vg, wvg, sv}}, bg, act, no_pre, only_g.out);
        Tensor out_only = Tensor::empty(shape, dt);
        conv2d_forward_act({{h, wh, sh}, {v, wv, sv}}, bias, act, no_pre, out_only);
        EXPECT_TRUE(all_close(only_g.out, out_only, 2 * tol, 0)) << unary_name(act);
        EXPECT_TRUE(only_g.guards_intact());
      }
    }
  }
}

TEST(Conv2dParity, BackwardInput) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda();
  for (DType dt : {DType::f32, DType::f64}) {
    uint64_t seed = 100;
    for (const Sizes& z : kSizes) {
      for (const Conv2dSpec& s : parity_specs()) {
        SCOPED_TRACE(label(dt, z, s));
        const Tensor dy = random_tensor({z.batch, z.n_out, z.height, z.width}, dt, ++seed);
        const Tensor w = random_tensor({z.n_out, z.n_in, s.kernel_h, s.kernel_w}, dt, ++seed);
        const Tensor dx0 = random_tensor({z.batch, z.n_in, z.height, z.width}, dt, ++seed);
        const double tol = sequential_tol(dt, z.n_out * s.kernel_h * s.kernel_w);
        for (bool accumulate : {false, true}) {
          Tensor dx = dx0.clone();
          conv2d_backward_input(dy, w, s, dx, accumulate);
          Guarded dxg = guarded_copy(dx0, Device::cuda());
          conv2d_backward_input(dy.to(gpu), w.to(gpu), s, dxg.out, accumulate);
          EXPECT_TRUE(all_close(dxg.out, dx, tol, 0)) << "accumulate " << accumulate;
          EXPECT_TRUE(dxg.guards_intact());
        }
      }
    }
  }
}

TEST(Conv2dParity, BackwardWeightSummedAndPerSample) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda();
  for (DType dt : {DType::f32, DType::f64}) {
    uint64_t seed = 200;
    for (const Sizes& z : kSizes) {
      for (const Conv2dSpec& s : parity_specs()) {
        SCOPED_TRACE(label(dt, z, s));
        const Tensor x = random_tensor({z.batch, z.n_in, z.height, z.width}, dt, ++seed);
        const Tensor dy = random_tensor({z.batch, z.n_out, z.height, z.width}, dt, ++seed);
        const Tensor dw0 = random_tensor({z.n_out, z.n_in, s.kernel_h, s.kernel_w}, dt, ++seed);
        const Tensor xg = x.to(gpu), dyg = dy.to(gpu);
        const int64_t hw = z.height * z.width;
        for (bool accumulate : {false, true}) {
          Tensor dw = dw0.clone();
          conv2d_backward_weight(x, dy, s, dw, accumulate);
          Guarded dwg = guarded_copy(dw0, Device::cuda());
          conv2d_backward_weight(xg, dyg, s, dwg.out, accumulate);
          EXPECT_TRUE(all_close(dwg.out, dw, weight_tol(dt, z.batch * hw), 0))
              << "accumulate " << accumulate;
          EXPECT_TRUE(dwg.guards_intact());
        }
        const Shape per_shape{z.batch, dw0.numel()};
        Tensor per = Tensor::zeros(per_shape, dt);
        conv2d_backward_weight_per_sample(x, dy, s, per);
        Guarded perg(per_shape, dt, gpu);
        conv2d_backward_weight_per_sample(xg, dyg, s, perg.out);
        EXPECT_TRUE(all_close(perg.out, per, weight_tol(dt, hw), 0));
        EXPECT_TRUE(perg.guards_intact());
      }
    }
  }
}

// Cross-device arguments are refused with the devices named (not silently copied).
TEST(Conv2dParity, MixedDevicesAreRefused) {
  NAQS_SKIP_WITHOUT_GPU();
  const Tensor x = Tensor::zeros({1, 1, 2, 2}, DType::f32);
  const Tensor w = Tensor::zeros({1, 1, 1, 1}, DType::f32, Device::cuda());
  Tensor y = Tensor::zeros({1, 1, 2, 2}, DType::f32, Device::cuda());
  EXPECT_THROW(conv2d_forward(x, w, Tensor(), conv2d_pointwise_spec(), y), Error);
}
