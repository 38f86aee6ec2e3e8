// The site convolution over site-major activations (host/ops/conv_site.hpp): hand-computed
// values (taps, zero padding by omission, bias, activation, residual, accumulate), equality
// with the same output column of conv1d_forward (and its fused activation / residual) in f64,
// bitwise independence of the thread count, and argument errors.
#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "host/core/tensor_convert.hpp"
#include "host/ops/conv1d.hpp"
#include "host/ops/conv_site.hpp"
#include "host/ops/fill.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::random_tensor;
using ops::SiteTap;
using ops::Unary;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

// x (B,C,L) -> site-major (L,B,C).
Tensor site_major(const Tensor& x) {
  const int64_t b_n = x.size(0), c_n = x.size(1), l_n = x.size(2);
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> out(v.size());
  for (int64_t b = 0; b < b_n; ++b)
    for (int64_t c = 0; c < c_n; ++c)
      for (int64_t t = 0; t < l_n; ++t) out[(t * b_n + b) * c_n + c] = v[(b * c_n + c) * l_n + t];
  return f64(out, {l_n, b_n, c_n});
}

// w (Cout,Cin,K) -> wt (K,Cin,Cout).
Tensor transposed_weight(const Tensor& w) {
  const int64_t o_n = w.size(0), c_n = w.size(1), k_n = w.size(2);
  const std::vector<double> v = w.to_vector<double>();
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t c = 0; c < c_n; ++c)
      for (int64_t k = 0; k < k_n; ++k) out[(k * c_n + c) * o_n + o] = v[(o * c_n + c) * k_n + k];
  return f64(out, {k_n, c_n, o_n});
}

// Column t of a (B,C,L) tensor as (B,C).
Tensor column(const Tensor& y, int64_t t) {
  const int64_t b_n = y.size(0), c_n = y.size(1), l_n = y.size(2);
  const std::vector<double> v = y.to_vector<double>();
  std::vector<double> out(static_cast<std::size_t>(b_n * c_n));
  for (int64_t b = 0; b < b_n; ++b)
    for (int64_t c = 0; c < c_n; ++c) out[b * c_n + c] = v[(b * c_n + c) * l_n + t];
  return f64(out, {b_n, c_n});
}

}  // namespace

TEST(ConvSite, HandComputed) {
  // x (S=3, B=2, Cin=2): x[s,b,:] listed per site.
  Tensor x = f64({1, 2, 3, 4,      // site 0: b0 (1,2), b1 (3,4)
                  5, 6, 7, 8,      // site 1
                  -1, 0, 2, -2},   // site 2
                 {3, 2, 2});
  // wt (K=2, Cin=2, Cout=2): wt[k,c,:].
  Tensor wt = f64({1, 0, 0, 1,     // tap 0: identity
                   1, -1, 2, 1},   // tap 1: c0 -> (1,-1), c1 -> (2,1)
                  {2, 2, 2});
  Tensor bias = f64({0.5, -10}, {2});
  const std::vector<SiteTap> taps{{2, 1}, {0, 0}};
  // b0: tap (site 2, k 1): x = (-1,0) -> (-1, 1); tap (site 0, k 0): (1,2) -> (1,2).
  //     sum (0, 3) + bias = (0.5, -7).  b1: (2,-2) -> (2-4, -2-2) = (-2,-4); (3,4); sum (1, 0)
  //     + bias = (1.5, -10).
  Tensor y = Tensor::zeros({2, 2}, DType::f64);
  ops::conv_site_forward(x, wt, bias, taps, std::nullopt, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0.5, -7, 1.5, -10}));
  // ReLU and a residual: relu(.) + r.
  Tensor r = f64({1, 1, 2, 2}, {2, 2});
  ops::conv_site_forward(x, wt, bias, taps, Unary::relu, y, r);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1.5, 1, 3.5, 2}));
  // accumulate adds the old y before the activation: relu(y + 0 + sum) with no bias.
  y = f64({0, 10, -5, 4}, {2, 2});
  ops::conv_site_forward(x, wt, Tensor(), taps, Unary::relu, y, Tensor(), /*accumulate=*/true);
  // b0: (0,10) + (0,3) = (0,13); b1: (-5,4) + (1,0) = (-4,4) -> relu (0,4).
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 13, 0, 4}));
  // No taps (all zero padding): y = bias.
  ops::conv_site_forward(x, wt, bias, {}, std::nullopt, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0.5, -10, 0.5, -10}));
  // The output may be a site block of another site-major cache; the other sites stay.
  Tensor cache = Tensor::full({3, 2, 2}, 7.0, DType::f64);
  Tensor block = cache.select(1);
  ops::conv_site_forward(x, wt, bias, taps, std::nullopt, block);
  EXPECT_EQ(cache.to_vector<double>(),
            (std::vector<double>{7, 7, 7, 7, 0.5, -7, 1.5, -10, 7, 7, 7, 7}));
  // f32 gives the same exact values.
  Tensor x32 = Tensor::empty(x.shape(), DType::f32), wt32 = Tensor::empty(wt.shape(), DType::f32);
  Tensor b32 = Tensor::empty({2}, DType::f32), y32 = Tensor::empty({2, 2}, DType::f32);
  ops::cast(x, x32);
  ops::cast(wt, wt32);
  ops::cast(bias, b32);
  ops::conv_site_forward(x32, wt32, b32, taps, std::nullopt, y32);
  EXPECT_EQ(y32.to_vector<float>(), (std::vector<float>{0.5f, -7, 1.5f, -10}));
}

// Every output column t of conv1d_forward (any mask and dilation) is the site op with the taps
// t - back(k) >= 0. Tolerance 1e-13: both sum <= Cin*K + 1 = 22 products of |.| <= 1 with
// GEMMs, in different orders (eps 1.1e-16 times ~22 terms, 40x margin).
TEST(ConvSite, EqualsConv1dColumns) {
  struct Case {
    int64_t b, cin, cout, len;
    ops::Conv1dSpec spec;
  };
  for (const Case& c : {Case{5, 7, 3, 11, {3, 2, true}}, Case{300, 4, 9, 6, {3, 1, false}},
                        Case{1, 1, 1, 4, {2, 3, false}}, Case{17, 3, 5, 9, {1, 1, true}}}) {
    SCOPED_TRACE(::testing::Message() << "B=" << c.b << " Cin=" << c.cin << " Cout=" << c.cout);
    Tensor x = random_tensor({c.b, c.cin, c.len}, DType::f64, 1);
    Tensor w = random_tensor({c.cout, c.cin, c.spec.kernel}, DType::f64, 2);
    Tensor bias = random_tensor({c.cout}, DType::f64, 3);
    Tensor res = random_tensor({c.b, c.cout, c.len}, DType::f64, 4);
    Tensor y = Tensor::empty({c.b, c.cout, c.len}, DType::f64), pre = y.clone(), out = y.clone();
    ops::conv1d_forward(x, w, bias, c.spec, y);
    ops::conv1d_forward_act(x, w, bias, c.spec, Unary::selu, pre, out, res);
    const Tensor xs = site_major(x), wt = transposed_weight(w);
    Tensor y_t = Tensor::empty({c.b, c.cout}, DType::f64), out_t = y_t.clone();
    for (int64_t t = 0; t < c.len; ++t) {
      std::vector<SiteTap> taps;
      for (int k = 0; k < c.spec.kernel; ++k) {
        const int64_t p =
            t - (c.spec.exclusive ? 1 : 0) - c.spec.dilation * (c.spec.kernel - 1 - k);
        if (p >= 0) taps.push_back({p, k});
      }
      ops::conv_site_forward(xs, wt, bias, taps, std::nullopt, y_t);
      ASSERT_TRUE(all_close(y_t, column(y, t), 1e-13, 1e-13)) << "t = " << t;
      ops::conv_site_forward(xs, wt, bias, taps, Unary::selu, out_t, column(res, t));
      ASSERT_TRUE(all_close(out_t, column(out, t), 1e-13, 1e-13)) << "t = " << t;
    }
  }
}

// Chunks of batch rows are fixed by the sizes, so any thread count gives the same bits (the
// sizes here are above kMinParallelMacs = 2^22: 1000 x 32 x 32 x 8 = 8.2e6 multiply-adds).
TEST(ConvSite, BitwiseIndependentOfThreadCount) {
  const int saved_threads = omp_get_max_threads();
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor x = random_tensor({9, 1000, 32}, dtype, 5);
    Tensor wt = random_tensor({8, 32, 32}, dtype, 6);
    Tensor bias = random_tensor({32}, dtype, 7);
    Tensor res = random_tensor({1000, 32}, dtype, 8);
    std::vector<SiteTap> taps;
    for (int k = 0; k < 8; ++k) taps.push_back({(3 * k + 1) % 9, 7 - k});
    std::vector<std::vector<double>> results;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      Tensor y = random_tensor({1000, 32}, dtype, 9);
      ops::conv_site_forward(x, wt, bias, taps, Unary::relu, y, res, /*accumulate=*/true);
      results.push_back(to_host_f64(y));
    }
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
  }
  omp_set_num_threads(saved_threads);
}

TEST(ConvSite, BadArguments) {
  Tensor x = Tensor::zeros({3, 2, 4}, DType::f64), wt = Tensor::zeros({2, 4, 5}, DType::f64);
  Tensor y = Tensor::zeros({2, 5}, DType::f64);
  const std::vector<SiteTap> ok{{2, 1}};
  EXPECT_NO_THROW(ops::conv_site_forward(x, wt, Tensor(), ok, std::nullopt, y));
  const std::vector<SiteTap> bad_site{{3, 0}}, bad_tap{{0, 2}}, negative{{-1, 0}};
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), bad_site, std::nullopt, y), Error);
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), bad_tap, std::nullopt, y), Error);
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), negative, std::nullopt, y), Error);
  Tensor y_bad = Tensor::zeros({2, 4}, DType::f64);
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), ok, std::nullopt, y_bad), Error);
  Tensor wt_bad = Tensor::zeros({2, 3, 5}, DType::f64);
  EXPECT_THROW(ops::conv_site_forward(x, wt_bad, Tensor(), ok, std::nullopt, y), Error);
  Tensor bias_bad = Tensor::zeros({4}, DType::f64);
  EXPECT_THROW(ops::conv_site_forward(x, wt, bias_bad, ok, std::nullopt, y), Error);
  Tensor y32 = Tensor::zeros({2, 5}, DType::f32);
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), ok, std::nullopt, y32), Error);
  // The output must not overlap the input or the residual.
  Tensor x_wide = Tensor::zeros({3, 2, 5}, DType::f64);
  Tensor wt_sq = Tensor::zeros({2, 5, 5}, DType::f64);
  Tensor inside = x_wide.select(1);
  EXPECT_THROW(ops::conv_site_forward(x_wide, wt_sq, Tensor(), ok, std::nullopt, inside), Error);
  EXPECT_THROW(ops::conv_site_forward(x, wt, Tensor(), ok, std::nullopt, y, y), Error);
}
