// Causal masked conv1d (host/ops/conv1d.hpp) on the CPU: hand-computed values, causality,
// float64 central finite differences of both backward passes, per-sample weight gradients,
// the GEMM path against the direct-loop references, the fused conv1d_forward_act,
// and argument errors.
#include <gtest/gtest.h>
#include <omp.h>

#include "host/ops/conv1d.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::finite_difference;
using naqs::testing::random_tensor;
using ops::Conv1dSpec;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s); }

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s) {
  Tensor y = Tensor::empty({x.size(0), w.size(0), x.size(2)}, x.dtype());
  ops::conv1d_forward(x, w, bias, s, y);
  return y;
}

double dot(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < va.size(); ++i) s += va[i] * vb[i];
  return s;
}

const Tensor kNoBias;

}  // namespace

// One channel, x = [1, 10, 100, 1000], w = [2, 3]:
//   inclusive: y[t] = 2 x[t-1] + 3 x[t]   exclusive: y[t] = 2 x[t-2] + 3 x[t-1]
TEST(Conv1d, HandComputedKernel2) {
  Tensor x = f64({1, 10, 100, 1000}, {1, 1, 4});
  Tensor w = f64({2, 3}, {1, 1, 2});
  EXPECT_TRUE(all_close(conv(x, w, kNoBias, {2, 1, false}), f64({3, 32, 320, 3200}, {1, 1, 4}),
                        0, 0));
  EXPECT_TRUE(all_close(conv(x, w, kNoBias, {2, 1, true}), f64({0, 3, 32, 320}, {1, 1, 4}), 0, 0));
}

// K = 3, dilation 2, w = [1, 2, 3], x = 10^t:
//   inclusive: y[t] = x[t-4] + 2 x[t-2] + 3 x[t]   exclusive: x[t-5] + 2 x[t-3] + 3 x[t-1]
TEST(Conv1d, HandComputedKernel3Dilation2) {
  Tensor x = f64({1, 10, 100, 1e3, 1e4, 1e5}, {1, 1, 6});
  Tensor w = f64({1, 2, 3}, {1, 1, 3});
  EXPECT_TRUE(all_close(conv(x, w, kNoBias, {3, 2, false}),
                        f64({3, 30, 302, 3020, 30201, 302010}, {1, 1, 6}), 0, 0));
  EXPECT_TRUE(all_close(conv(x, w, kNoBias, {3, 2, true}),
                        f64({0, 3, 30, 302, 3020, 30201}, {1, 1, 6}), 0, 0));
  // dilation 1 for contrast: y[t] = x[t-2] + 2 x[t-1] + 3 x[t]
  EXPECT_TRUE(all_close(conv(x, w, kNoBias, {3, 1, false}),
                        f64({3, 32, 321, 3210, 32100, 321000}, {1, 1, 6}), 0, 0));
}

// Two channels in and out, bias, batch of two (second sample = 10 x first):
//   y[o0,t] = x0[t-1] + x1[t] + 0.5,   y[o1,t] = 2 x0[t] - x1[t-1] - 1
TEST(Conv1d, HandComputedChannelsBiasBatch) {
  Tensor x = f64({1, 2, 3, -1, 0, 1, 10, 20, 30, -10, 0, 10}, {2, 2, 3});
  Tensor w = f64({1, 0, 0, 1, 0, 2, -1, 0}, {2, 2, 2});
  Tensor bias = f64({0.5, -1}, {2});
  Tensor want = f64({-0.5, 1.5, 3.5, 1, 4, 5, -9.5, 10.5, 30.5, 19, 49, 59}, {2, 2, 3});
  EXPECT_TRUE(all_close(conv(x, w, bias, {2, 1, false}), want, 0, 0));
}

// Backward by hand for x = [1, 10, 100, 1000], w = [2, 3], dy = 1:
//   inclusive: dx = [5, 5, 5, 3], dw = [sum x[t-1], sum x[t]] = [111, 1111]
//   exclusive: dx = [5, 5, 3, 0], dw = [sum x[t-2], sum x[t-1]] = [11, 111]
TEST(Conv1d, HandComputedBackward) {
  Tensor x = f64({1, 10, 100, 1000}, {1, 1, 4});
  Tensor w = f64({2, 3}, {1, 1, 2});
  Tensor dy = f64({1, 1, 1, 1}, {1, 1, 4});
  Tensor dx = Tensor::empty({1, 1, 4}, DType::f64), dw = Tensor::empty({1, 1, 2}, DType::f64);
  ops::conv1d_backward_input(dy, w, {2, 1, false}, dx);
  EXPECT_TRUE(all_close(dx, f64({5, 5, 5, 3}, {1, 1, 4}), 0, 0));
  ops::conv1d_backward_weight(x, dy, {2, 1, false}, dw);
  EXPECT_TRUE(all_close(dw, f64({111, 1111}, {1, 1, 2}), 0, 0));
  ops::conv1d_backward_input(dy, w, {2, 1, true}, dx);
  EXPECT_TRUE(all_close(dx, f64({5, 5, 3, 0}, {1, 1, 4}), 0, 0));
  ops::conv1d_backward_weight(x, dy, {2, 1, true}, dw);
  EXPECT_TRUE(all_close(dw, f64({11, 111}, {1, 1, 2}), 0, 0));
  // accumulate adds to what is there
  ops::conv1d_backward_weight(x, dy, {2, 1, true}, dw, true);
  EXPECT_TRUE(all_close(dw, f64({22, 222}, {1, 1, 2}), 0, 0));
  ops::conv1d_backward_input(dy, w, {2, 1, true}, dx, true);
  EXPECT_TRUE(all_close(dx, f64({10, 10, 6, 0}, {1, 1, 4}), 0, 0));
}

// Changing x[:, :, j] never changes y[:, :, t] for t < j (inclusive) or t <= j (exclusive),
// and does change the first position allowed to see it.
TEST(Conv1d, Causality) {
  for (bool exclusive : {false, true})
    for (int dilation : {1, 2}) {
      const Conv1dSpec s{3, dilation, exclusive};
      const int64_t L = 9;
      Tensor x = random_tensor({2, 3, L}, DType::f64, 1);
      Tensor w = random_tensor({4, 3, 3}, DType::f64, 2);
      Tensor bias = random_tensor({4}, DType::f64, 3);
      const std::vector<double> y0 = conv(x, w, bias, s).to_vector<double>();
      for (int64_t j = 0; j < L; ++j) {
        Tensor xj = x.clone();
        double* p = xj.data<double>();
        for (int64_t bc = 0; bc < 2 * 3; ++bc) p[bc * L + j] += 1.0;
        const std::vector<double> y1 = conv(xj, w, bias, s).to_vector<double>();
        const int64_t first_seeing = exclusive ? j + 1 : j;
        for (int64_t bo = 0; bo < 2 * 4; ++bo)
          for (int64_t t = 0; t < L; ++t) {
            const double a = y0[bo * L + t], b = y1[bo * L + t];
            if (t < first_seeing)
              EXPECT_EQ(a, b) << "t=" << t << " j=" << j << " exclusive=" << exclusive;
            else if (t == first_seeing)
              EXPECT_NE(a, b) << "t=" << t << " j=" << j << " exclusive=" << exclusive;
          }
      }
    }
}

// loss = sum(y * r); d loss/dx and d loss/dw from the backward ops against central differences.
// Tolerance 1e-8 relative + 1e-9: step 1e-6 gives O(h^2 f''') ~ 0 (loss is linear in x and in w)
// plus rounding ~ 1e-16 * |loss| / h ~ 1e-10.
TEST(Conv1d, FiniteDifferencesFloat64) {
  for (bool exclusive : {false, true})
    for (int dilation : {1, 2}) {
      const Conv1dSpec s{3, dilation, exclusive};
      Tensor x = random_tensor({2, 3, 7}, DType::f64, 10);
      Tensor w = random_tensor({2, 3, 3}, DType::f64, 11);
      Tensor bias = random_tensor({2}, DType::f64, 12);
      Tensor r = random_tensor({2, 2, 7}, DType::f64, 13);
      auto loss = [&] { return dot(conv(x, w, bias, s), r); };
      Tensor dx = Tensor::empty(x.shape(), DType::f64), dw = Tensor::empty(w.shape(), DType::f64);
      ops::conv1d_backward_input(r, w, s, dx);
      ops::conv1d_backward_weight(x, r, s, dw);
      EXPECT_TRUE(all_close(dx, finite_difference(x, loss), 1e-9, 1e-8));
      EXPECT_TRUE(all_close(dw, finite_difference(w, loss), 1e-9, 1e-8));
    }
}

// Per-sample weight gradients: each equals the batched gradient of that sample alone, and they
// sum to the batched gradient.
TEST(Conv1d, PerSampleWeightGradientsSumToBatched) {
  for (bool exclusive : {false, true}) {
    const Conv1dSpec s{3, 2, exclusive};
    const int64_t B = 5, Cin = 3, Cout = 4, L = 11;
    Tensor x = random_tensor({B, Cin, L}, DType::f64, 20);
    Tensor dy = random_tensor({B, Cout, L}, DType::f64, 21);
    Tensor dw_ps = Tensor::empty({B, Cout, Cin, 3}, DType::f64);
    ops::conv1d_backward_weight_per_sample(x, dy, s, dw_ps);
    Tensor dw = Tensor::empty({Cout, Cin, 3}, DType::f64);
    ops::conv1d_backward_weight(x, dy, s, dw);
    Tensor sum = Tensor::zeros({Cout, Cin, 3}, DType::f64);
    for (int64_t b = 0; b < B; ++b) {
      Tensor one = Tensor::empty({Cout, Cin, 3}, DType::f64);
      ops::conv1d_backward_weight(x.narrow(b, 1), dy.narrow(b, 1), s, one);
      EXPECT_TRUE(all_close(dw_ps.select(b), one, 1e-13, 1e-13));
      for (int64_t i = 0; i < sum.numel(); ++i)
        sum.data<double>()[i] += dw_ps.select(b).to_vector<double>()[i];
    }
    EXPECT_TRUE(all_close(sum, dw, 1e-12, 1e-12));  // reordered sums of ~50 O(1) terms
  }
}

// The public CPU ops (im2col + GEMM where used) agree with the direct-loop references.
// f32 tolerance: sums of up to Cin*K = 15 (forward), Cout*K = 18 (input) or B*L = 57 (weight)
// products of inputs in [-1, 1], reordered: 8 * 2^-24 * n absolute is well above rounding.
TEST(Conv1d, MatchesDirectReferences) {
  for (DType dtype : {DType::f32, DType::f64})
    for (bool exclusive : {false, true}) {
      const Conv1dSpec s{3, 2, exclusive};
      const int64_t B = 3, Cin = 5, Cout = 6, L = 19;
      const double eps = dtype == DType::f32 ? 0x1p-24 : 0x1p-53;
      Tensor x = random_tensor({B, Cin, L}, dtype, 40);
      Tensor w = random_tensor({Cout, Cin, 3}, dtype, 41);
      Tensor bias = random_tensor({Cout}, dtype, 42);
      Tensor dy = random_tensor({B, Cout, L}, dtype, 43);
      Tensor y = Tensor::empty({B, Cout, L}, dtype), y_ref = Tensor::empty({B, Cout, L}, dtype);
      ops::conv1d_forward(x, w, bias, s, y);
      ops::detail::conv1d_forward_direct(x, w, bias, s, y_ref);
      EXPECT_TRUE(all_close(y, y_ref, 8 * eps * Cin * 3, 0));
      Tensor dx = random_tensor({B, Cin, L}, dtype, 44), dx_ref = dx.clone();
      ops::conv1d_backward_input(dy, w, s, dx, true);
      ops::detail::conv1d_backward_input_direct(dy, w, s, dx_ref, true);
      EXPECT_TRUE(all_close(dx, dx_ref, 8 * eps * (Cout * 3 + 1), 0));
      Tensor dw = random_tensor({Cout, Cin, 3}, dtype, 45), dw_ref = dw.clone();
      ops::conv1d_backward_weight(x, dy, s, dw, true);
      ops::detail::conv1d_backward_weight_direct(x, dy, s, dw_ref, true);
      EXPECT_TRUE(all_close(dw, dw_ref, 8 * eps * (B * L + 1), 0));
    }
}

// conv1d_forward_act equals conv1d_forward + unary + binary add bitwise (the same operations in
// the same order), with and without the pre-activation and the residual, at a size that runs
// its GEMM chunks on OpenMP threads (2e7 multiply-adds per conv; 39 chunks of up to 21 samples
// in f32, 80 in f64); and every result is bitwise the same for 1 and 2 threads (the chunks
// depend on the sizes only).
TEST(Conv1d, ForwardActMatchesSeparateOpsForAnyThreadCount) {
  const int saved_threads = omp_get_max_threads();
  for (DType dtype : {DType::f32, DType::f64})
    for (ops::Unary act : {ops::Unary::relu, ops::Unary::selu}) {
      const Conv1dSpec s{3, 2, false};
      const int64_t B = 800, C = 16, L = 32;
      const Shape shape{B, C, L};
      Tensor x = random_tensor(shape, dtype, 70);
      Tensor w = random_tensor({C, C, 3}, dtype, 71);
      Tensor bias = random_tensor({C}, dtype, 72);
      Tensor residual = random_tensor(shape, dtype, 73);
      Tensor pre_ref = Tensor::empty(shape, dtype), act_ref = Tensor::empty(shape, dtype);
      Tensor out_ref = Tensor::empty(shape, dtype);
      ops::conv1d_forward(x, w, bias, s, pre_ref);
      ops::unary(act, pre_ref, act_ref);
      ops::binary(ops::Binary::add, act_ref, residual, out_ref);
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        const std::string what = cat(dtype_name(dtype), " ", ops::unary_name(act), " threads ",
                                     threads);
        Tensor y = Tensor::empty(shape, dtype);
        ops::conv1d_forward(x, w, bias, s, y);
        EXPECT_TRUE(all_close(y, pre_ref, 0, 0)) << what;
        Tensor pre = Tensor::empty(shape, dtype), out = Tensor::empty(shape, dtype);
        ops::conv1d_forward_act(x, w, bias, s, act, pre, out, residual);
        EXPECT_TRUE(all_close(pre, pre_ref, 0, 0)) << what;
        EXPECT_TRUE(all_close(out, out_ref, 0, 0)) << what;
        Tensor no_pre, out_only = Tensor::empty(shape, dtype);
        ops::conv1d_forward_act(x, w, bias, s, act, no_pre, out_only);
        EXPECT_TRUE(all_close(out_only, act_ref, 0, 0)) << what;
      }
    }
  omp_set_num_threads(saved_threads);
  Tensor x = Tensor::zeros({2, 3, 5}, DType::f32), w = Tensor::zeros({4, 3, 3}, DType::f32);
  Tensor same = Tensor::zeros({2, 4, 5}, DType::f32);
  EXPECT_THROW(ops::conv1d_forward_act(x, w, Tensor(), {}, ops::Unary::relu, same, same), Error);
}

TEST(Conv1d, ArgumentErrorsNameTheOpAndTensors) {
  Tensor x = Tensor::zeros({2, 3, 5}, DType::f32);
  Tensor w = Tensor::zeros({4, 3, 3}, DType::f32);
  Tensor y_bad = Tensor::zeros({2, 4, 6}, DType::f32);
  try {
    ops::conv1d_forward(x, w, Tensor(), {}, y_bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv1d_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[2,4,6]@cpu"), std::string::npos) << msg;
  }
  Tensor y = Tensor::zeros({2, 4, 5}, DType::f32);
  EXPECT_THROW(ops::conv1d_forward(x, w, Tensor(), {2, 1, false}, y), Error);  // K mismatch
  EXPECT_THROW(ops::conv1d_forward(x, w, Tensor(), {3, 0, false}, y), Error);  // dilation 0
  EXPECT_THROW(ops::conv1d_forward(x, Tensor::zeros({4, 2, 3}, DType::f32), Tensor(), {}, y),
               Error);  // Cin mismatch
  EXPECT_THROW(ops::conv1d_forward(x, w, Tensor::zeros({3}, DType::f32), {}, y), Error);
  Tensor y_f64 = Tensor::zeros({2, 4, 5}, DType::f64);
  EXPECT_THROW(ops::conv1d_forward(x, w, Tensor(), {}, y_f64), Error);  // dtype mismatch
  Tensor dw_ps = Tensor::zeros({3, 4, 3, 3}, DType::f32);  // wrong batch
  Tensor dy = Tensor::zeros({2, 4, 5}, DType::f32);
  EXPECT_THROW(ops::conv1d_backward_weight_per_sample(x, dy, {}, dw_ps), Error);
}

// Large enough that the GEMM path works in many chunks of samples (about 128 KiB of im2col
// columns each: here one sample per chunk, 45 chunks); f64, tolerance as above.
TEST(Conv1d, GemmPathAcrossSeveralChunks) {
  const Conv1dSpec s{3, 1, true};
  const int64_t B = 45, Cin = 64, Cout = 8, L = 256;
  const double eps = 0x1p-53;
  Tensor x = random_tensor({B, Cin, L}, DType::f64, 50);
  Tensor w = random_tensor({Cout, Cin, 3}, DType::f64, 51);
  Tensor dy = random_tensor({B, Cout, L}, DType::f64, 52);
  Tensor y = Tensor::empty({B, Cout, L}, DType::f64), y_ref = y.clone();
  ops::conv1d_forward(x, w, Tensor(), s, y);
  ops::detail::conv1d_forward_direct(x, w, Tensor(), s, y_ref);
  EXPECT_TRUE(all_close(y, y_ref, 8 * eps * Cin * 3, 0));
  Tensor dx = Tensor::empty({B, Cin, L}, DType::f64), dx_ref = dx.clone();
  ops::conv1d_backward_input(dy, w, s, dx);
  ops::detail::conv1d_backward_input_direct(dy, w, s, dx_ref, false);
  EXPECT_TRUE(all_close(dx, dx_ref, 8 * eps * Cout * 3, 0));
  Tensor dw = Tensor::empty({Cout, Cin, 3}, DType::f64), dw_ref = dw.clone();
  ops::conv1d_backward_weight(x, dy, s, dw);
  ops::detail::conv1d_backward_weight_direct(x, dy, s, dw_ref, false);
  EXPECT_TRUE(all_close(dw, dw_ref, 8 * eps * B * L, 0));
  Tensor dw_ps = Tensor::empty({B, Cout, Cin, 3}, DType::f64);
  ops::conv1d_backward_weight_per_sample(x, dy, s, dw_ps);
  for (int64_t b : {int64_t{0}, int64_t{20}, int64_t{21}, int64_t{44}}) {
    Tensor one = Tensor::empty({Cout, Cin, 3}, DType::f64);
    ops::detail::conv1d_backward_weight_direct(x.narrow(b, 1), dy.narrow(b, 1), s, one, false);
    EXPECT_TRUE(all_close(dw_ps.select(b), one, 8 * eps * L, 0)) << "b=" << b;
  }
}

// Empty batch, empty length and a single output channel go through every op without touching
// memory they do not own; the weight gradient of an empty batch is zero.
TEST(Conv1d, EmptyAndDegenerateSizes) {
  const Conv1dSpec s{3, 1, false};
  Tensor w = random_tensor({2, 3, 3}, DType::f64, 60);
  for (const Shape& xs : {Shape({0, 3, 5}), Shape({2, 3, 0})}) {
    Tensor x = Tensor::zeros(xs, DType::f64);
    Tensor y = Tensor::zeros({xs[0], 2, xs[2]}, DType::f64);
    ops::conv1d_forward(x, w, Tensor(), s, y);
    Tensor dx = Tensor::zeros(xs, DType::f64);
    ops::conv1d_backward_input(y, w, s, dx);
    Tensor dw = Tensor::full({2, 3, 3}, 7.0, DType::f64);
    ops::conv1d_backward_weight(x, y, s, dw);
    EXPECT_TRUE(all_close(dw, Tensor::zeros({2, 3, 3}, DType::f64), 0, 0)) << xs.str();
    Tensor dw_ps = Tensor::full({xs[0], 2, 3, 3}, 7.0, DType::f64);
    ops::conv1d_backward_weight_per_sample(x, y, s, dw_ps);
    if (xs[0] > 0)
      EXPECT_TRUE(all_close(dw_ps, Tensor::zeros(dw_ps.shape(), DType::f64), 0, 0));
  }
  // L = 1, K = 3: only the last tap sees x (inclusive); nothing is seen (exclusive).
  Tensor x = Tensor::from_vector<double>({2.0}, {1, 1, 1});
  Tensor w1 = Tensor::from_vector<double>({5, 6, 7}, {1, 1, 3});
  EXPECT_EQ(conv(x, w1, kNoBias, {3, 1, false}).item(), 14.0);
  EXPECT_EQ(conv(x, w1, kNoBias, {3, 1, true}).item(), 0.0);
}
