// Shifted-window 2-D convolution (host/ops/conv2d.hpp), CPU reference: hand-computed cases,
// float64 central differences of both backwards, per-sample gradients, both backwards' fixed
// summation order bit for bit, the fused conv2d_forward_act against the separate ops (any
// thread count), the f32 kernels against the f64 definition on odd shapes, the forward's
// independence of batch split and thread count, and causality / no blind spot of a 3-layer
// two-stream network built from the op.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "host/core/simd.hpp"
#include "host/ops/conv2d.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;
using naqs::testing::all_close;
using naqs::testing::finite_difference;
using naqs::testing::random_tensor;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s); }

double dot(const Tensor& a, const Tensor& b) {
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += pa[i] * pb[i];
  return s;
}

bool same_spec(const Conv2dSpec& a, const Conv2dSpec& b) {
  return a.kernel_h == b.kernel_h && a.kernel_w == b.kernel_w && a.offset_h == b.offset_h &&
         a.offset_w == b.offset_w;
}

// Windows exercised by the gradient and bit-equality tests: both streams, FlowKet's k x k
// forms, kernel 5, and windows partly or entirely outside the lattice.
// a * b + c as the CPU kernels compute it: fused where the CPU has FMA (host/core/simd.hpp).
template <class T>
T mul_add(T a, T b, T c) {
  return cpu_has_avx2_fma() ? std::fma(a, b, c) : a * b + c;
}

std::vector<Conv2dSpec> test_specs() {
  return {conv2d_vertical_spec(3),          conv2d_vertical_spec(3, true),
          conv2d_horizontal_spec(3, true),  conv2d_horizontal_spec(3, false),
          conv2d_pointwise_spec(1, 0),      conv2d_vertical_spec(5, true),
          Conv2dSpec{3, 3, -2, -2},         Conv2dSpec{3, 3, -3, -1},
          Conv2dSpec{2, 4, 1, -5},          Conv2dSpec{1, 2, 7, 0}};
}

}  // namespace

TEST(Conv2d, SpecFactories) {
  EXPECT_TRUE(same_spec(conv2d_vertical_spec(3), Conv2dSpec{2, 3, -1, -1}));
  EXPECT_TRUE(same_spec(conv2d_vertical_spec(3, true), Conv2dSpec{2, 3, -2, -1}));
  EXPECT_TRUE(same_spec(conv2d_vertical_spec(5), Conv2dSpec{3, 5, -2, -2}));
  EXPECT_TRUE(same_spec(conv2d_horizontal_spec(3, true), Conv2dSpec{1, 2, 0, -2}));
  EXPECT_TRUE(same_spec(conv2d_horizontal_spec(3, false), Conv2dSpec{1, 2, 0, -1}));
  EXPECT_TRUE(same_spec(conv2d_horizontal_spec(1, true), Conv2dSpec{1, 1, 0, -1}));
  EXPECT_TRUE(same_spec(conv2d_pointwise_spec(1, 2), Conv2dSpec{1, 1, -1, -2}));
  EXPECT_THROW(conv2d_vertical_spec(4), UsageError);
  EXPECT_THROW(conv2d_horizontal_spec(0, false), UsageError);
}

// x = [[1,2,3],[4,5,6],[7,8,9]]; every value below was worked out by hand.
TEST(Conv2d, ForwardHandComputedHorizontalExclusive) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  const Tensor w = f64({10, 1}, {1, 1, 1, 2});  // tap 0 reads (r, c-2), tap 1 reads (r, c-1)
  const Tensor bias = f64({0.5}, {1});
  Tensor y = Tensor::zeros({1, 1, 3, 3}, DType::f64);
  conv2d_forward(x, w, bias, conv2d_horizontal_spec(3, true), y);
  const Tensor want = f64({0.5, 1.5, 12.5, 0.5, 4.5, 45.5, 0.5, 7.5, 78.5}, {1, 1, 3, 3});
  EXPECT_TRUE(all_close(y, want, 0, 0));
}

TEST(Conv2d, ForwardHandComputedVertical) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  // Row 0 of the window reads row r-1, row 1 reads row r; columns c-1, c, c+1.
  const Tensor w = f64({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  Tensor y = Tensor::zeros({1, 1, 3, 3}, DType::f64);
  conv2d_forward(x, w, Tensor(), conv2d_vertical_spec(3), y);
  const Tensor want = f64({17, 32, 23, 58, 91, 58, 106, 154, 94}, {1, 1, 3, 3});
  EXPECT_TRUE(all_close(y, want, 0, 0));
  // Shifted down by one row (the form feeding the horizontal stack): row r holds row r-1's.
  Tensor y_shift = Tensor::zeros({1, 1, 3, 3}, DType::f64);
  conv2d_forward(x, w, Tensor(), conv2d_vertical_spec(3, true), y_shift);
  const Tensor want_shift = f64({0, 0, 0, 17, 32, 23, 58, 91, 58}, {1, 1, 3, 3});
  EXPECT_TRUE(all_close(y_shift, want_shift, 0, 0));
  // accumulate adds onto y (bias included).
  conv2d_forward(x, w, f64({1}, {1}), conv2d_vertical_spec(3, true), y, true);
  const Tensor want_sum = f64({18, 33, 24, 76, 124, 82, 165, 246, 153}, {1, 1, 3, 3});
  EXPECT_TRUE(all_close(y, want_sum, 0, 0));
}

// Two channels, two outputs, two samples, 1x1 window one row up: y[b,o,r,c] =
// w[o,0] x[b,0,r-1,c] + w[o,1] x[b,1,r-1,c] + bias[o]; channel 1 is 10x channel 0, and
// sample 1 is -sample 0, so output o is k_o * grid(r-1,c) with k = (21, 43), sign per sample.
TEST(Conv2d, ForwardHandComputedChannelsAndBatch) {
  std::vector<double> xv;
  for (int b = 0; b < 2; ++b)
    for (int ch = 0; ch < 2; ++ch)
      for (int p = 0; p < 6; ++p) xv.push_back((b ? -1 : 1) * (ch ? 10 : 1) * (p + 1));
  const Tensor x = f64(xv, {2, 2, 2, 3});
  const Tensor w = f64({1, 2, 3, 4}, {2, 2, 1, 1});
  const Tensor bias = f64({0.25, -0.5}, {2});
  Tensor y = Tensor::zeros({2, 2, 2, 3}, DType::f64);
  conv2d_forward(x, w, bias, conv2d_pointwise_spec(1, 0), y);
  const Tensor want = f64({0.25, 0.25, 0.25, 21.25, 42.25, 63.25,     // b0 o0
                           -0.5, -0.5, -0.5, 42.5, 85.5, 128.5,       // b0 o1
                           0.25, 0.25, 0.25, -20.75, -41.75, -62.75,  // b1 o0
                           -0.5, -0.5, -0.5, -43.5, -86.5, -129.5},   // b1 o1
                          {2, 2, 2, 3});
  EXPECT_TRUE(all_close(y, want, 0, 0));
}

// 1x1 window one row up: the adjoint moves gradients one row up; the weight gradient
// correlates dy with x one row higher. dy = 1 everywhere, x = 1..6 on a 2x3 lattice.
TEST(Conv2d, BackwardHandComputed) {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  const Tensor dy = f64({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  const Tensor w = f64({3}, {1, 1, 1, 1});
  Tensor dx = Tensor::full({1, 1, 2, 3}, 100, DType::f64);
  conv2d_backward_input(dy, w, conv2d_pointwise_spec(1, 0), dx);
  EXPECT_TRUE(all_close(dx, f64({12, 15, 18, 0, 0, 0}, {1, 1, 2, 3}), 0, 0));
  conv2d_backward_input(dy, w, conv2d_pointwise_spec(1, 0), dx, true);
  EXPECT_TRUE(all_close(dx, f64({24, 30, 36, 0, 0, 0}, {1, 1, 2, 3}), 0, 0));
  Tensor dw = Tensor::full({1, 1, 1, 1}, 100, DType::f64);
  conv2d_backward_weight(x, dy, conv2d_pointwise_spec(1, 0), dw);
  EXPECT_EQ(dw.item(), 1 * 4 + 2 * 5 + 3 * 6);
  conv2d_backward_weight(x, dy, conv2d_pointwise_spec(1, 0), dw, true);
  EXPECT_EQ(dw.item(), 2 * (1 * 4 + 2 * 5 + 3 * 6));
}

// f(x, w) = sum(dy * conv(x, w)); both backwards against central differences in float64.
// The op is linear in x and in w, so the difference quotient is exact up to rounding
// (|f| ~ 10, h = 1e-5: error ~ 1e-16 * 10 / 1e-5 = 1e-10); tolerance 1e-8.
TEST(Conv2d, BackwardsMatchFiniteDifferences) {
  const int64_t batch = 2, n_in = 3, n_out = 2, height = 4, width = 5;
  uint64_t seed = 100;
  for (const Conv2dSpec& s : test_specs()) {
    SCOPED_TRACE(::testing::Message() << "window " << s.kernel_h << "x" << s.kernel_w << " at ("
                                      << s.offset_h << "," << s.offset_w << ")");
    Tensor x = random_tensor({batch, n_in, height, width}, DType::f64, ++seed);
    Tensor w = random_tensor({n_out, n_in, s.kernel_h, s.kernel_w}, DType::f64, ++seed);
    const Tensor bias = random_tensor({n_out}, DType::f64, ++seed);
    const Tensor dy = random_tensor({batch, n_out, height, width}, DType::f64, ++seed);
    Tensor y = Tensor::zeros(dy.shape(), DType::f64);
    auto f = [&] {
      conv2d_forward(x, w, bias, s, y);
      return dot(dy, y);
    };
    const Tensor dx_fd = finite_difference(x, f, 1e-5);
    const Tensor dw_fd = finite_difference(w, f, 1e-5);
    Tensor dx = Tensor::full(x.shape(), 7, DType::f64);  // overwritten
    conv2d_backward_input(dy, w, s, dx);
    EXPECT_TRUE(all_close(dx, dx_fd, 1e-8, 1e-8));
    Tensor dw = Tensor::full(w.shape(), 7, DType::f64);
    conv2d_backward_weight(x, dy, s, dw);
    EXPECT_TRUE(all_close(dw, dw_fd, 1e-8, 1e-8));
    // accumulate adds to what is there (term by term onto the old value, so rounding differs
    // from 2*dx at the 1e-16 relative level per term: tolerance 1e-13 relative).
    Tensor dx2 = dx.clone(), dw2 = dw.clone();
    conv2d_backward_input(dy, w, s, dx2, true);
    conv2d_backward_weight(x, dy, s, dw2, true);
    Tensor twice_dx = dx.clone(), twice_dw = dw.clone();
    for (int64_t i = 0; i < dx.numel(); ++i) twice_dx.data<double>()[i] *= 2;
    for (int64_t i = 0; i < dw.numel(); ++i) twice_dw.data<double>()[i] *= 2;
    EXPECT_TRUE(all_close(dx2, twice_dx, 1e-15, 1e-13));
    EXPECT_TRUE(all_close(dw2, twice_dw, 1e-15, 1e-13));
  }
}

// float32 backwards agree with the float64 ones (the f32 code path is a separate instance).
// Tolerance 1e-5 relative / 1e-5 absolute: at most 3*5*2 = 30 products of |.| <= 1 per element,
// or 4*5*2 per dw element summed in double, so f32 rounding stays far below 1e-5.
TEST(Conv2d, Float32MatchesFloat64) {
  const Conv2dSpec s = conv2d_vertical_spec(3, true);
  const Tensor x = random_tensor({2, 3, 4, 5}, DType::f64, 1);
  const Tensor w = random_tensor({2, 3, 2, 3}, DType::f64, 2);
  const Tensor dy = random_tensor({2, 2, 4, 5}, DType::f64, 3);
  auto to32 = [](const Tensor& t) {
    std::vector<double> v = t.to_vector<double>();
    return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), t.shape());
  };
  Tensor y64 = Tensor::zeros(dy.shape(), DType::f64), y32 = Tensor::zeros(dy.shape(), DType::f32);
  conv2d_forward(x, w, Tensor(), s, y64);
  conv2d_forward(to32(x), to32(w), Tensor(), s, y32);
  EXPECT_TRUE(all_close(y32, to32(y64), 1e-5, 1e-5));
  Tensor dx64 = Tensor::zeros(x.shape(), DType::f64), dx32 = Tensor::zeros(x.shape(), DType::f32);
  conv2d_backward_input(dy, w, s, dx64);
  conv2d_backward_input(to32(dy), to32(w), s, dx32);
  EXPECT_TRUE(all_close(dx32, to32(dx64), 1e-5, 1e-5));
  Tensor dw64 = Tensor::zeros(w.shape(), DType::f64), dw32 = Tensor::zeros(w.shape(), DType::f32);
  conv2d_backward_weight(x, dy, s, dw64);
  conv2d_backward_weight(to32(x), to32(dy), s, dw32);
  EXPECT_TRUE(all_close(dw32, to32(dw64), 1e-5, 1e-5));
}

// Per-sample gradients: each slice equals the batched gradient of that sample alone, and they
// sum to the batched gradient. Both accepted dw shapes give the same numbers.
TEST(Conv2d, PerSampleWeightGradients) {
  const int64_t batch = 5, n_in = 2, n_out = 3, height = 3, width = 4;
  const Conv2dSpec s = conv2d_vertical_spec(3);
  const int64_t n_w = n_out * n_in * s.kernel_h * s.kernel_w;
  const Tensor x = random_tensor({batch, n_in, height, width}, DType::f64, 11);
  const Tensor dy = random_tensor({batch, n_out, height, width}, DType::f64, 12);
  Tensor per = Tensor::full({batch, n_w}, 3, DType::f64);
  conv2d_backward_weight_per_sample(x, dy, s, per);
  Tensor per4 = Tensor::zeros({batch, n_out, n_in, s.kernel_h * s.kernel_w}, DType::f64);
  conv2d_backward_weight_per_sample(x, dy, s, per4);
  EXPECT_TRUE(all_close(per4.reshape({batch, n_w}), per, 0, 0));

  Tensor summed = Tensor::zeros({n_out, n_in, s.kernel_h, s.kernel_w}, DType::f64);
  conv2d_backward_weight(x, dy, s, summed);
  Tensor total = Tensor::zeros({n_w}, DType::f64);
  for (int64_t b = 0; b < batch; ++b) {
    Tensor one = Tensor::zeros({n_out, n_in, s.kernel_h, s.kernel_w}, DType::f64);
    conv2d_backward_weight(x.narrow(b, 1), dy.narrow(b, 1), s, one);
    EXPECT_TRUE(all_close(per.select(b), one.reshape({n_w}), 0, 0)) << "sample " << b;
    for (int64_t i = 0; i < n_w; ++i) total.data<double>()[i] += per.select(b).data<double>()[i];
  }
  EXPECT_TRUE(all_close(total, summed.reshape({n_w}), 1e-13, 1e-13));
}

// Sizes above the threading threshold (kMinParallelMacs = 2^22 multiply-adds: 6.6e6 here),
// against the definition written out as plain loops, and both backwards through the adjoint
// identities of a linear map: <dy, conv(x,w)> = <dx, x> = <dw, w>. Tolerance 1e-12 relative:
// f64 sums of ~1e3 terms.
TEST(Conv2d, ThreadedSizesMatchDefinition) {
  const int64_t batch = 64, n_in = 16, n_out = 12, height = 10, width = 9;
  const Conv2dSpec s = conv2d_vertical_spec(3, true);
  const Tensor x = random_tensor({batch, n_in, height, width}, DType::f64, 21);
  const Tensor w = random_tensor({n_out, n_in, s.kernel_h, s.kernel_w}, DType::f64, 22);
  const Tensor dy = random_tensor({batch, n_out, height, width}, DType::f64, 23);
  Tensor y = Tensor::zeros(dy.shape(), DType::f64);
  conv2d_forward(x, w, Tensor(), s, y);
  Tensor want = Tensor::zeros(dy.shape(), DType::f64);
  const double* px = x.data<double>();
  const double* pw = w.data<double>();
  double* pwant = want.data<double>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t r = 0; r < height; ++r)
        for (int64_t c = 0; c < width; ++c)
          for (int64_t ci = 0; ci < n_in; ++ci)
            for (int i = 0; i < s.kernel_h; ++i)
              for (int j = 0; j < s.kernel_w; ++j) {
                const int64_t rr = r + s.offset_h + i, cc = c + s.offset_w + j;
                if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
                pwant[((b * n_out + o) * height + r) * width + c] +=
                    pw[((o * n_in + ci) * s.kernel_h + i) * s.kernel_w + j] *
                    px[((b * n_in + ci) * height + rr) * width + cc];
              }
  EXPECT_TRUE(all_close(y, want, 1e-12, 1e-12));
  const double f = dot(dy, y);
  Tensor dx = Tensor::zeros(x.shape(), DType::f64);
  conv2d_backward_input(dy, w, s, dx);
  EXPECT_NEAR(dot(dx, x), f, 1e-12 * std::abs(f) + 1e-12);
  Tensor dw = Tensor::zeros(w.shape(), DType::f64);
  conv2d_backward_weight(x, dy, s, dw);
  EXPECT_NEAR(dot(dw, w), f, 1e-12 * std::abs(f) + 1e-12);
  Tensor per = Tensor::zeros({batch, w.numel()}, DType::f64);
  conv2d_backward_weight_per_sample(x, dy, s, per);
  double f_per = 0;
  for (int64_t b = 0; b < batch; ++b) f_per += dot(per.select(b), w.reshape({w.numel()}));
  EXPECT_NEAR(f_per, f, 1e-12 * std::abs(f) + 1e-12);
}

// conv2d_forward_act equals conv2d_forward (first term, with the bias) + conv2d_forward
// (accumulate) + unary + binary add bit for bit (tolerance 0: the same operations in the same
// order), with one term and with the horizontal stream's two terms, with and without pre and
// residual, for 1 and 2 threads, at a size that runs its chunks on two threads (8.4e6
// multiply-adds; with two terms in f32, 16 chunks of 4 samples).
TEST(Conv2d, ForwardActMatchesSeparateOpsForAnyThreadCount) {
  const int saved_threads = omp_get_max_threads();
  const int64_t batch = 64, n_in = 16, n_out = 16, height = 8, width = 8;
  const Shape shape{batch, n_out, height, width};
  const Conv2dSpec sh = conv2d_horizontal_spec(3, false), sv = conv2d_vertical_spec(3, true);
  for (DType dt : {DType::f32, DType::f64})
    for (Unary act : {Unary::relu, Unary::selu})
      for (bool two_terms : {false, true}) {
        const Tensor h = random_tensor({batch, n_in, height, width}, dt, 80);
        const Tensor v = random_tensor({batch, n_in, height, width}, dt, 81);
        const Tensor wh = random_tensor({n_out, n_in, sh.kernel_h, sh.kernel_w}, dt, 82);
        const Tensor wv = random_tensor({n_out, n_in, sv.kernel_h, sv.kernel_w}, dt, 83);
        const Tensor bias = random_tensor({n_out}, dt, 84);
        const Tensor residual = random_tensor(shape, dt, 85);
        Tensor pre_ref = Tensor::empty(shape, dt), act_ref = Tensor::empty(shape, dt);
        Tensor out_ref = Tensor::empty(shape, dt);
        conv2d_forward(h, wh, bias, sh, pre_ref);
        if (two_terms) conv2d_forward(v, wv, Tensor(), sv, pre_ref, /*accumulate=*/true);
        unary(act, pre_ref, act_ref);
        binary(Binary::add, act_ref, residual, out_ref);
        for (int threads : {1, 2}) {
          omp_set_num_threads(threads);
          SCOPED_TRACE(cat(dtype_name(dt), " ", unary_name(act), " terms ", two_terms ? 2 : 1,
                           " threads ", threads));
          Tensor pre = Tensor::empty(shape, dt), out = Tensor::empty(shape, dt);
          Tensor no_pre, out_only = Tensor::empty(shape, dt);
          if (two_terms) {
            conv2d_forward_act({{h, wh, sh}, {v, wv, sv}}, bias, act, pre, out, residual);
            conv2d_forward_act({{h, wh, sh}, {v, wv, sv}}, bias, act, no_pre, out_only);
          } else {
            conv2d_forward_act({{h, wh, sh}}, bias, act, pre, out, residual);
            conv2d_forward_act({{h, wh, sh}}, bias, act, no_pre, out_only);
          }
          EXPECT_TRUE(all_close(pre, pre_ref, 0, 0));
          EXPECT_TRUE(all_close(out, out_ref, 0, 0));
          EXPECT_TRUE(all_close(out_only, act_ref, 0, 0));
          Tensor y = Tensor::empty(shape, dt);
          conv2d_forward(h, wh, bias, sh, y);
          if (two_terms) conv2d_forward(v, wv, Tensor(), sv, y, /*accumulate=*/true);
          EXPECT_TRUE(all_close(y, pre_ref, 0, 0));
        }
      }
  omp_set_num_threads(saved_threads);
  const Tensor x = Tensor::zeros({2, 3, 4, 5}, DType::f32);
  const Tensor w = Tensor::zeros({4, 3, 2, 3}, DType::f32);
  const Tensor w_other = Tensor::zeros({5, 3, 2, 3}, DType::f32);
  Tensor same = Tensor::zeros({2, 4, 4, 5}, DType::f32), other = same.clone();
  const Conv2dSpec s = conv2d_vertical_spec(3);
  EXPECT_THROW(conv2d_forward_act({{x, w, s}}, Tensor(), Unary::relu, same, same), Error);
  EXPECT_THROW(conv2d_forward_act({}, Tensor(), Unary::relu, same, other), Error);
  EXPECT_THROW(conv2d_forward_act({{x, w, s}, {x, w_other, s}}, Tensor(), Unary::relu, same, other),
               Error);
  Tensor wrong = Tensor::zeros({2, 4, 4, 4}, DType::f32);
  EXPECT_THROW(conv2d_forward_act({{x, w, s}}, Tensor(), Unary::relu, same, wrong), Error);
}

// Both backwards add their terms in the documented fixed order (conv2d.cpp): backward input
// in (o, i, j) in the tensor's dtype, one term at a time (one rounding per term where the CPU
// has FMA, host/core/simd.hpp, else a multiply and an add); the weight gradient per chunk of
// conv2d_weight_chunk_samples samples in kLanes = 32 bytes / sizeof(T) lanes (lane l: the terms
// (b, r, c) of the chunk with q = l mod kLanes, in order, in T), the lanes summed by halving in
// T, the chunk sums added in double, then added to the existing gradient (accumulate). Checked
// bit for bit (tolerance 0: the same operations in the same order; taps outside the lattice are
// skipped here and add a zero in the op, which leaves every sum unchanged) against those loops
// written out, in f32 and f64, with and without accumulate, for 1 and 2 threads, on the U-Net's
// 3x3 'same' window, its 1x1 and the test windows, at a size above the threading threshold (6e6
// multiply-adds) whose weight gradient takes several chunks of samples. (Before issue 22 the
// references were a plain multiply-add chain and one double chain over the batch.)
TEST(Conv2d, BackwardsAddTermsInTheDocumentedOrder) {
  const int saved_threads = omp_get_max_threads();
  const int64_t batch = 24, n_in = 16, n_out = 12, height = 12, width = 12, hw = height * width;
  std::vector<Conv2dSpec> specs = test_specs();
  specs.push_back(Conv2dSpec{3, 3, -1, -1});
  specs.push_back(Conv2dSpec{1, 1, 0, 0});
  for (DType dt : {DType::f32, DType::f64})
    for (const Conv2dSpec& s : specs) {
      const int kh = s.kernel_h, kw = s.kernel_w;
      const Tensor x = random_tensor({batch, n_in, height, width}, dt, 90);
      const Tensor w = random_tensor({n_out, n_in, kh, kw}, dt, 91);
      const Tensor dy = random_tensor({batch, n_out, height, width}, dt, 92);
      const Tensor dx0 = random_tensor(x.shape(), dt, 93), dw0 = random_tensor(w.shape(), dt, 94);
      dispatch_float(dt, "test", [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.data<T>(), *pw = w.data<T>(), *pdy = dy.data<T>();
        for (bool accumulate : {false, true}) {
          Tensor dx_ref = accumulate ? dx0.clone() : Tensor::zeros(x.shape(), dt);
          Tensor dw_ref = accumulate ? dw0.clone() : Tensor::zeros(w.shape(), dt);
          T* pdx = dx_ref.data<T>();
          for (int64_t b = 0; b < batch; ++b)
            for (int64_t ci = 0; ci < n_in; ++ci)
              for (int64_t p = 0; p < hw; ++p) {
                T acc = pdx[(b * n_in + ci) * hw + p];
                for (int64_t o = 0; o < n_out; ++o)
                  for (int i = 0; i < kh; ++i)
                    for (int j = 0; j < kw; ++j) {
                      const int64_t r = p / width - s.offset_h - i, c = p % width - s.offset_w - j;
                      if (r < 0 || r >= height || c < 0 || c >= width) continue;
                      acc = mul_add(pw[((o * n_in + ci) * kh + i) * kw + j],
                                    pdy[(b * n_out + o) * hw + r * width + c], acc);
                    }
                pdx[(b * n_in + ci) * hw + p] = acc;
              }
          T* pdw = dw_ref.data<T>();
          constexpr int lanes = 32 / sizeof(T);
          const int64_t chunk = detail::conv2d_weight_chunk_samples(batch, n_in * kh * kw, hw,
                                                                    sizeof(T));
          for (int64_t o = 0; o < n_out; ++o)
            for (int64_t ci = 0; ci < n_in; ++ci)
              for (int i = 0; i < kh; ++i)
                for (int j = 0; j < kw; ++j) {
                  double acc = 0;
                  for (int64_t b0 = 0; b0 < batch; b0 += chunk) {
                    T lane[lanes] = {};
                    for (int64_t b = b0; b < std::min(batch, b0 + chunk); ++b)
                      for (int64_t p = 0; p < hw; ++p) {
                        const int64_t r = p / width + s.offset_h + i,
                                      c = p % width + s.offset_w + j;
                        if (r < 0 || r >= height || c < 0 || c >= width) continue;
                        T& l = lane[((b - b0) * hw + p) % lanes];
                        l = mul_add(pdy[(b * n_out + o) * hw + p],
                                    px[(b * n_in + ci) * hw + r * width + c], l);
                      }
                    for (int w = lanes / 2; w >= 1; w /= 2)
                      for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
                    acc += static_cast<double>(lane[0]);
                  }
                  T& dst = pdw[((o * n_in + ci) * kh + i) * kw + j];
                  dst = static_cast<T>(accumulate ? static_cast<double>(dst) + acc : acc);
                }
          for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            SCOPED_TRACE(cat(dtype_name(dt), " spec ", kh, "x", kw, " at ", s.offset_h, ",",
                             s.offset_w, accumulate ? " accumulate" : "", " threads ", threads));
            Tensor dx = accumulate ? dx0.clone() : Tensor::zeros(x.shape(), dt);
            Tensor dw = accumulate ? dw0.clone() : Tensor::zeros(w.shape(), dt);
            conv2d_backward_input(dy, w, s, dx, accumulate);
            conv2d_backward_weight(x, dy, s, dw, accumulate);
            EXPECT_TRUE(all_close(dx, dx_ref, 0, 0));
            EXPECT_TRUE(all_close(dw, dw_ref, 0, 0));
          }
        }
      });
    }
  omp_set_num_threads(saved_threads);
}

// Issue 22's odd shapes: the f32 kernels (forward, backward input, weight gradient) against
// the definition summed in double from the same f32 inputs, for channel widths 1, 3, 17, 33,
// square windows of 1..5 taps per side at offsets that reach past the lattice, batches 1, 7 and
// 257 (257 with kernels 3 and 5), on a 5x4 lattice. Tolerance per element: the rounding bound of
// an f32 sum of n terms, (n + 2) eps32 sum|term| (+ 1e-30), whatever order the kernel takes.
TEST(Conv2d, Float32KernelsMatchFloat64DefinitionOnOddShapes) {
  const int64_t height = 5, width = 4, hw = height * width;
  int cases = 0;
  for (int64_t ch : {1, 3, 17, 33})
    for (int k = 1; k <= 5; ++k)
      for (int64_t batch : {1, 7, 257}) {
        if (batch == 257 && k != 3 && k != 5) continue;
        const Conv2dSpec s{k, k, -k / 2 - (k % 2 == 0 ? 1 : 0), -k + 1};
        SCOPED_TRACE(cat("channels ", ch, " kernel ", k, " batch ", batch));
        const uint64_t seed = static_cast<uint64_t>(100 + 10 * ch + k) * 1000 + batch;
        const Tensor x = random_tensor({batch, ch, height, width}, DType::f32, seed);
        const Tensor w = random_tensor({ch, ch, k, k}, DType::f32, seed + 1);
        const Tensor bias = random_tensor({ch}, DType::f32, seed + 2);
        const Tensor dy = random_tensor({batch, ch, height, width}, DType::f32, seed + 3);
        Tensor y = Tensor::zeros(x.shape(), DType::f32), dx = y.clone();
        Tensor dw = Tensor::zeros(w.shape(), DType::f32);
        conv2d_forward(x, w, bias, s, y);
        conv2d_backward_input(dy, w, s, dx);
        conv2d_backward_weight(x, dy, s, dw);
        const float *px = x.data<float>(), *pw = w.data<float>(), *pb = bias.data<float>(),
                    *pdy = dy.data<float>();
        // want and sum|term| of y, dx, dw (the sums in double)
        std::vector<double> y_ref(y.numel()), y_abs(y.numel()), dx_ref(dx.numel()),
            dx_abs(dx.numel()), dw_ref(dw.numel()), dw_abs(dw.numel());
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t o = 0; o < ch; ++o)
            for (int64_t p = 0; p < hw; ++p) {
              const int64_t e = (b * ch + o) * hw + p;
              y_ref[e] = pb[o];
              y_abs[e] = std::abs(pb[o]);
            }
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t o = 0; o < ch; ++o)
            for (int64_t ci = 0; ci < ch; ++ci)
              for (int i = 0; i < k; ++i)
                for (int j = 0; j < k; ++j) {
                  const int64_t wi = ((o * ch + ci) * k + i) * k + j;
                  for (int64_t p = 0; p < hw; ++p) {
                    const int64_t r = p / width + s.offset_h + i, c = p % width + s.offset_w + j;
                    if (r < 0 || r >= height || c < 0 || c >= width) continue;
                    const int64_t xi = (b * ch + ci) * hw + r * width + c,
                                  yi = (b * ch + o) * hw + p;
                    const double t = static_cast<double>(pw[wi]) * px[xi],
                                 g = static_cast<double>(pw[wi]) * pdy[yi],
                                 v = static_cast<double>(pdy[yi]) * px[xi];
                    y_ref[yi] += t, y_abs[yi] += std::abs(t);
                    dx_ref[xi] += g, dx_abs[xi] += std::abs(g);
                    dw_ref[wi] += v, dw_abs[wi] += std::abs(v);
                  }
                }
        const auto check = [&](const Tensor& got, const std::vector<double>& want,
                               const std::vector<double>& abs_sum, int64_t n_terms,
                               const char* name) {
          const float* pg = got.data<float>();
          int bad = 0;
          for (int64_t e = 0; e < got.numel() && bad < 3; ++e) {
            const double tol = (n_terms + 2) * FLT_EPSILON * abs_sum[e] + 1e-30;
            if (std::abs(pg[e] - want[e]) > tol) {
              ADD_FAILURE() << name << "[" << e << "] = " << pg[e] << ", want " << want[e]
                            << " (tolerance " << tol << ")";
              ++bad;
            }
          }
        };
        check(y, y_ref, y_abs, ch * k * k + 1, "y");
        check(dx, dx_ref, dx_abs, ch * k * k, "dx");
        check(dw, dw_ref, dw_abs, batch * hw, "dw");
        ++cases;
      }
  EXPECT_EQ(cases, 4 * 5 * 2 + 4 * 2);
}

// The forward (plain and fused) and backward input of a sample do not depend on which other
// samples share the call or on the thread count: a batch above the threading threshold run
// whole on 1 and 2 threads, and as the pieces [0,1), [1,8), [8,B) (other chunk boundaries),
// bit for bit (tolerance 0). On 7x7 a chunk holds 3 samples and its columns end in a narrower
// register tile, so a pixel's column lands in different tiles in the whole batch and in the
// pieces. The weight gradient (a sum over the batch, chunked by the sizes) is checked for 1 vs
// 2 threads.
TEST(Conv2d, ForwardIndependentOfBatchSplitAndThreadCount) {
  const int saved_threads = omp_get_max_threads();
  const int64_t batch = 300, ch = 32, side = 7;
  const Conv2dSpec s = conv2d_vertical_spec(3), sh = conv2d_horizontal_spec(3, false);
  const Tensor x = random_tensor({batch, ch, side, side}, DType::f32, 200);
  const Tensor x2 = random_tensor({batch, ch, side, side}, DType::f32, 201);
  const Tensor w = random_tensor({ch, ch, s.kernel_h, s.kernel_w}, DType::f32, 202, -0.2, 0.2);
  const Tensor wh = random_tensor({ch, ch, sh.kernel_h, sh.kernel_w}, DType::f32, 203, -0.2, 0.2);
  const Tensor bias = random_tensor({ch}, DType::f32, 204);
  const auto run = [&](int64_t b0, int64_t n, Tensor& y, Tensor& out, Tensor& dx) {
    const Tensor xs = x.narrow(b0, n), x2s = x2.narrow(b0, n);
    Tensor pre = Tensor::zeros(xs.shape(), DType::f32);
    conv2d_forward(xs, w, bias, s, y);
    conv2d_forward_act({{xs, w, s}, {x2s, wh, sh}}, bias, Unary::relu, pre, out, x2s);
    conv2d_backward_input(xs, w, s, dx);
  };
  std::vector<Tensor> ref(3);
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    std::vector<Tensor> got(3, Tensor());
    for (Tensor& t : got) t = Tensor::zeros(x.shape(), DType::f32);
    run(0, batch, got[0], got[1], got[2]);
    if (threads == 1) {
      ref = got;
      continue;
    }
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(all_close(got[i], ref[i], 0, 0)) << "output " << i;
  }
  omp_set_num_threads(saved_threads);
  for (const auto& [b0, n] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 7}, {8, 292}}) {
    std::vector<Tensor> got(3, Tensor());
    for (Tensor& t : got) t = Tensor::zeros({n, ch, side, side}, DType::f32);
    run(b0, n, got[0], got[1], got[2]);
    for (int i = 0; i < 3; ++i)
      EXPECT_TRUE(all_close(got[i], ref[i].narrow(b0, n).clone(), 0, 0))
          << "output " << i << " of samples [" << b0 << ", " << b0 + n << ")";
  }
  Tensor dw1 = Tensor::zeros(w.shape(), DType::f32), dw2 = dw1.clone();
  omp_set_num_threads(1);
  conv2d_backward_weight(x, x2, s, dw1);
  omp_set_num_threads(2);
  conv2d_backward_weight(x, x2, s, dw2);
  omp_set_num_threads(saved_threads);
  EXPECT_TRUE(all_close(dw1, dw2, 0, 0));
}

TEST(Conv2d, ShapeAndArgumentErrors) {
  const Conv2dSpec s = conv2d_vertical_spec(3);
  const Tensor x = Tensor::zeros({2, 3, 4, 5}, DType::f64);
  const Tensor w = Tensor::zeros({6, 3, 2, 3}, DType::f64);
  Tensor y = Tensor::zeros({2, 6, 4, 5}, DType::f64);
  EXPECT_NO_THROW(conv2d_forward(x, w, Tensor(), s, y));
  Tensor y_bad = Tensor::zeros({2, 6, 4, 4}, DType::f64);
  EXPECT_THROW(conv2d_forward(x, w, Tensor(), s, y_bad), Error);
  const Tensor w_bad_kernel = Tensor::zeros({6, 3, 3, 3}, DType::f64);
  EXPECT_THROW(conv2d_forward(x, w_bad_kernel, Tensor(), s, y), Error);
  const Tensor w_bad_in = Tensor::zeros({6, 2, 2, 3}, DType::f64);
  EXPECT_THROW(conv2d_forward(x, w_bad_in, Tensor(), s, y), Error);
  EXPECT_THROW(conv2d_forward(x, w, Tensor::zeros({5}, DType::f64), s, y), Error);
  Tensor y32 = Tensor::zeros({2, 6, 4, 5}, DType::f32);
  EXPECT_THROW(conv2d_forward(x, w, Tensor(), s, y32), Error);
  const Tensor xi = Tensor::zeros({2, 3, 4, 5}, DType::i32);
  Tensor yi = Tensor::zeros({2, 6, 4, 5}, DType::i32);
  EXPECT_THROW(conv2d_forward(xi, Tensor::zeros({6, 3, 2, 3}, DType::i32), Tensor(), s, yi),
               Error);
  Tensor dx = Tensor::zeros({2, 3, 4, 5}, DType::f64);
  EXPECT_THROW(conv2d_backward_input(x, w, s, dx), Error);  // x has Cin, dy needs Cout
  Tensor dw = Tensor::zeros({6, 3, 2, 3}, DType::f64);
  EXPECT_THROW(conv2d_backward_weight(x, x, s, dw), Error);
  Tensor per_bad = Tensor::zeros({2, 6, 3, 5}, DType::f64);
  EXPECT_THROW(conv2d_backward_weight_per_sample(x, y, s, per_bad), Error);
  try {
    conv2d_forward(x, w, Tensor(), s, y_bad);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d_forward"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f64[2,6,4,4]@cpu"), std::string::npos) << e.what();
  }
  Conv2dSpec empty_kernel{0, 3, 0, 0};
  EXPECT_THROW(conv2d_forward(x, w, Tensor(), empty_kernel, y), Error);
}

TEST(Conv2d, EmptySizes) {
  const Conv2dSpec s = conv2d_horizontal_spec(3, true);
  const Tensor x = Tensor::zeros({0, 2, 3, 3}, DType::f32);
  const Tensor w = Tensor::full({1, 2, 1, 2}, 1, DType::f32);
  Tensor y = Tensor::zeros({0, 1, 3, 3}, DType::f32);
  EXPECT_NO_THROW(conv2d_forward(x, w, Tensor(), s, y));
  Tensor dw = Tensor::full({1, 2, 1, 2}, 5, DType::f32);
  conv2d_backward_weight(x, y, s, dw);  // empty batch: the gradient is zero
  EXPECT_TRUE(all_close(dw, Tensor::zeros({1, 2, 1, 2}, DType::f32), 0, 0));
  // No output channels: nothing to compute, and dx is zero.
  const Tensor x1 = Tensor::full({2, 2, 3, 3}, 1, DType::f32);
  const Tensor w0 = Tensor::zeros({0, 2, 1, 2}, DType::f32);
  Tensor y0 = Tensor::zeros({2, 0, 3, 3}, DType::f32);
  EXPECT_NO_THROW(conv2d_forward(x1, w0, Tensor(), s, y0));
  Tensor dx = Tensor::full({2, 2, 3, 3}, 5, DType::f32);
  conv2d_backward_input(y0, w0, s, dx);
  EXPECT_TRUE(all_close(dx, Tensor::zeros({2, 2, 3, 3}, DType::f32), 0, 0));
}

// ---- causality and the blind spot --------------------------------------------------------
namespace {

void tanh_inplace(Tensor& t) {
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::tanh(p[i]);
}

// A stack of `n_layers` masked layers built only from conv2d_forward (accumulate = the add)
// and tanh; input x (1,1,H,W), output (1,width,H,W). Kinds:
//   two_stream         the NAQS / gated-PixelCNN two-stream network of conv2d.hpp
//   inclusive_first    bug: first horizontal layer sees its own pixel
//   unshifted_link     bug: the vertical stack feeds the horizontal one without the shift
//   single_masked      one stream of raster-masked 3x3 convs (PixelCNN mask A then B), built
//                      as a 1x3 window on row r-1 plus a 1x1 / 1x2 window on row r
enum class NetKind { two_stream, inclusive_first, unshifted_link, single_masked };

struct MaskedNet {
  NetKind kind;
  int n_layers = 3, width = 4, kernel = 3;
  std::vector<Tensor> weights;  // created on first use, in call order, then reused
  std::size_t next = 0;

  const Tensor& weight(int64_t n_out, int64_t n_in, const Conv2dSpec& s) {
    if (next == weights.size())
      weights.push_back(random_tensor({n_out, n_in, s.kernel_h, s.kernel_w}, DType::f64,
                                      1000 + weights.size(), -1.0, 1.0));
    return weights[next++];
  }
  // out (+)= conv(in) with fresh weights (no bias: biases do not change the dependency set).
  void conv(const Tensor& in, const Conv2dSpec& s, Tensor& out, bool accumulate) {
    conv2d_forward(in, weight(out.size(1), in.size(1), s), Tensor(), s, out, accumulate);
  }

  Tensor operator()(const Tensor& x) {
    next = 0;
    const Shape shape{1, width, x.size(2), x.size(3)};
    if (kind == NetKind::single_masked) {
      Tensor h = x;
      for (int l = 0; l < n_layers; ++l) {
        Tensor out = Tensor::zeros(shape, DType::f64);
        conv(h, Conv2dSpec{1, 3, -1, -1}, out, false);            // row r-1, cols c-1..c+1
        conv(h, Conv2dSpec{1, l == 0 ? 1 : 2, 0, -1}, out, true);  // row r, cols c-1 (..c)
        tanh_inplace(out);
        h = out;
      }
      return h;
    }
    const bool shifted = kind != NetKind::unshifted_link;
    const bool exclusive_first = kind != NetKind::inclusive_first;
    Tensor v = x, h = x;
    for (int l = 0; l < n_layers; ++l) {
      Tensor h_next = Tensor::zeros(shape, DType::f64);
      conv(h, conv2d_horizontal_spec(kernel, l == 0 && exclusive_first), h_next, false);
      conv(v, conv2d_vertical_spec(kernel, shifted), h_next, true);
      tanh_inplace(h_next);
      if (l + 1 < n_layers) {
        Tensor v_next = Tensor::zeros(shape, DType::f64);
        conv(v, conv2d_vertical_spec(kernel), v_next, false);
        tanh_inplace(v_next);
        v = v_next;
      }
      h = h_next;
    }
    return h;
  }
};

// depends[p][q]: does any output channel at raster position p change when x at q changes?
// "Changes" is exact (!=): a position outside the receptive field is never read, so its
// output is bit for bit the same. min_change is the smallest change among dependent pairs.
struct Dependencies {
  std::vector<std::vector<bool>> depends;
  double min_change = INFINITY;
};

Dependencies dependencies(MaskedNet& net, int64_t height, int64_t width) {
  const int64_t n = height * width;
  const Tensor x = random_tensor({1, 1, height, width}, DType::f64, 7);
  const Tensor base = net(x);
  Dependencies dep{std::vector<std::vector<bool>>(n, std::vector<bool>(n, false))};
  for (int64_t q = 0; q < n; ++q) {
    Tensor xq = x.clone();
    xq.data<double>()[q] += 0.75;
    const Tensor out = net(xq);
    for (int64_t p = 0; p < n; ++p) {
      double change = 0;
      for (int64_t o = 0; o < net.width; ++o) {
        const int64_t i = o * n + p;
        change = std::max(change, std::abs(out.data<double>()[i] - base.data<double>()[i]));
      }
      if (change != 0) {
        dep.depends[p][q] = true;
        dep.min_change = std::min(dep.min_change, change);
      }
    }
  }
  return dep;
}

}  // namespace

// 3 layers, kernel 3 on a 5x4 lattice: the receptive field (4 rows up, 3 columns either side,
// 4 columns left on the current row) covers the whole lattice, so output p must depend on
// every q < p (no blind spot) and on no q >= p (exact causality).
TEST(Conv2dCausality, TwoStreamDependsOnExactlyTheEarlierSites) {
  MaskedNet net{NetKind::two_stream};
  const int64_t height = 5, width = 4, n = height * width;
  const Dependencies dep = dependencies(net, height, width);
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < n; ++q)
      EXPECT_EQ(dep.depends[p][q], q < p) << "output " << p << " input " << q;
  EXPECT_GT(dep.min_change, 1e-8);  // dependencies are clear, not rounding noise
}

// On a larger 8x9 lattice the dependency set is exactly the receptive field derived in
// conv2d.hpp: rows [r-1-L*h, r-1] x cols [c-L*h, c+L*h], plus (r, [c-1-L*h, c-1]).
TEST(Conv2dCausality, TwoStreamReceptiveFieldMatchesDerivation) {
  MaskedNet net{NetKind::two_stream};
  const int64_t height = 8, width = 9, reach = net.n_layers * (net.kernel / 2);
  const Dependencies dep = dependencies(net, height, width);
  for (int64_t p = 0; p < height * width; ++p) {
    const int64_t r = p / width, c = p % width;
    for (int64_t q = 0; q < height * width; ++q) {
      const int64_t rq = q / width, cq = q % width;
      const bool above = rq >= r - 1 - reach && rq <= r - 1 && std::abs(cq - c) <= reach;
      const bool left = rq == r && cq >= c - 1 - reach && cq <= c - 1;
      EXPECT_EQ(dep.depends[p][q], above || left) << "output (" << r << "," << c << ") input ("
                                                  << rq << "," << cq << ")";
    }
  }
}

// The same check catches the bugs it is meant to catch: a self-dependent first layer, and a
// vertical stack that feeds the horizontal one without the one-row shift.
TEST(Conv2dCausality, DetectsCausalityViolations) {
  const int64_t height = 5, width = 4, n = height * width;
  for (NetKind kind : {NetKind::inclusive_first, NetKind::unshifted_link}) {
    MaskedNet net{kind};
    const Dependencies dep = dependencies(net, height, width);
    int64_t violations = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p; q < n; ++q) violations += dep.depends[p][q];
    EXPECT_GT(violations, 0) << "kind " << static_cast<int>(kind);
  }
  MaskedNet self_dep{NetKind::inclusive_first};
  EXPECT_TRUE(dependencies(self_dep, height, width).depends[6][6]);
  MaskedNet future_dep{NetKind::unshifted_link};
  EXPECT_TRUE(dependencies(future_dep, height, width).depends[5][6]);  // (1,1) sees (1,2)
}

// A single masked stream is causal but has the blind spot: with 3 layers, output (2,0) never
// sees (1,2) or (0,3) although both are earlier and inside its nominal 7x7 window.
TEST(Conv2dCausality, SingleMaskedStreamHasABlindSpot) {
  MaskedNet net{NetKind::single_masked};
  const int64_t height = 5, width = 4, n = height * width;
  const Dependencies dep = dependencies(net, height, width);
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = p; q < n; ++q) EXPECT_FALSE(dep.depends[p][q]);
  int64_t missing = 0;
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < p; ++q) missing += !dep.depends[p][q];
  EXPECT_GT(missing, 0);
  EXPECT_FALSE(dep.depends[2 * width + 0][1 * width + 2]);
  EXPECT_FALSE(dep.depends[2 * width + 0][0 * width + 3]);
  EXPECT_TRUE(dep.depends[2 * width + 0][1 * width + 1]);
}
