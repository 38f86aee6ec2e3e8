// Dense ops, part 1: gemm, gemm_batched, elementwise (unary, binary, axpby, scale, bias), fill,
// copy, cast. Hand-computed values, f64 central-difference checks of every backward, error
// messages. Ops: host/ops/{gemm,elementwise,fill}.hpp.
#include "tests/unit/test_ops_dense.hpp"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "host/ops/elementwise.hpp"
#include "host/ops/elementwise_math.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"

using namespace naqs;
using namespace naqs::ops;
using naqs::testing::all_close;
using naqs::testing::expect_error;
using naqs::testing::f32;
using naqs::testing::f64;

namespace {

// a = [[1,2,3],[4,5,6]], b = [[7,8],[9,10],[11,12]]; a @ b = [[58,64],[139,154]].
const std::vector<double> kA = {1, 2, 3, 4, 5, 6};
const std::vector<double> kAT = {1, 4, 2, 5, 3, 6};  // a^T stored (3,2)
const std::vector<double> kB = {7, 8, 9, 10, 11, 12};
const std::vector<double> kBT = {7, 9, 11, 8, 10, 12};  // b^T stored (2,3)
const std::vector<double> kAB = {58, 64, 139, 154};

}  // namespace

TEST(Gemm, HandValuesEveryTranspose) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = ta ? f64(kAT, {3, 2}) : f64(kA, {2, 3});
      Tensor b = tb ? f64(kBT, {2, 3}) : f64(kB, {3, 2});
      Tensor c = Tensor::full({2, 2}, NAN, DType::f64);  // beta = 0 must not read c
      gemm(a, b, c, ta, tb);
      EXPECT_TRUE(all_close(c, f64(kAB, {2, 2}), 0, 0)) << "trans_a " << ta << " trans_b " << tb;
    }
}

TEST(Gemm, AlphaBetaF32) {
  Tensor c = f32({1, 2, 3, 4}, {2, 2});
  gemm(f32({1, 2, 3, 4, 5, 6}, {2, 3}), f32({7, 8, 9, 10, 11, 12}, {3, 2}), c, false, false, 2.0,
       0.5);
  // 2*[[58,64],[139,154]] + 0.5*[[1,2],[3,4]]
  EXPECT_TRUE(all_close(c, f32({116.5f, 129, 279.5f, 310}, {2, 2}), 0, 0));
}

TEST(Gemm, VectorShapesAndEmptyInnerDimension) {
  Tensor c = Tensor::zeros({1, 1}, DType::f64);
  gemm(f64({1, 2, 3}, {1, 3}), f64({4, 5, 6}, {3, 1}), c);  // dot product 4+10+18
  EXPECT_EQ(c.item(), 32.0);
  Tensor outer = Tensor::zeros({2, 3}, DType::f64);
  gemm(f64({1, 2}, {1, 2}), f64({3, 4, 5}, {1, 3}), outer, true, false);  // (2,1)@(1,3)
  EXPECT_TRUE(all_close(outer, f64({3, 4, 5, 6, 8, 10}, {2, 3}), 0, 0));
  // K = 0: c = beta * c
  Tensor c0 = f64({1, 2, 3, 4}, {2, 2});
  gemm(Tensor::zeros({2, 0}, DType::f64), Tensor::zeros({0, 2}, DType::f64), c0, false, false, 1.0,
       2.0);
  EXPECT_TRUE(all_close(c0, f64({2, 4, 6, 8}, {2, 2}), 0, 0));
  Tensor nan = Tensor::full({2, 2}, NAN, DType::f64);
  gemm(Tensor::zeros({2, 0}, DType::f64), Tensor::zeros({0, 2}, DType::f64), nan);
  EXPECT_TRUE(all_close(nan, Tensor::zeros({2, 2}, DType::f64), 0, 0));
  Tensor empty = Tensor::zeros({0, 2}, DType::f64);  // M = 0: nothing to do
  gemm(Tensor::zeros({0, 3}, DType::f64), f64(kB, {3, 2}), empty);
}

TEST(Gemm, BatchedHandValuesEveryTranspose) {
  // batch 0: a @ b as above; batch 1: [[1,0,0],[0,1,0]] @ b = first two rows of b.
  const std::vector<double> a1 = {1, 0, 0, 0, 1, 0}, a1t = {1, 0, 0, 1, 0, 0};
  const std::vector<double> b1 = {1, 2, 3, 4, 5, 6}, b1t = {1, 3, 5, 2, 4, 6};
  auto join = [](std::vector<double> x, const std::vector<double>& y) {
    x.insert(x.end(), y.begin(), y.end());
    return x;
  };
  const Tensor want = f64(join(kAB, {1, 2, 3, 4}), {2, 2, 2});
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = ta ? f64(join(kAT, a1t), {2, 3, 2}) : f64(join(kA, a1), {2, 2, 3});
      Tensor b = tb ? f64(join(kBT, b1t), {2, 2, 3}) : f64(join(kB, b1), {2, 3, 2});
      Tensor c = Tensor::zeros({2, 2, 2}, DType::f64);
      gemm_batched(a, b, c, ta, tb);
      EXPECT_TRUE(all_close(c, want, 0, 0)) << "trans_a " << ta << " trans_b " << tb;
    }
}

TEST(Gemm, ErrorsNameOpAndTensors) {
  Tensor a = Tensor::zeros({2, 3}, DType::f32);
  Tensor b = Tensor::zeros({4, 2}, DType::f32);
  Tensor c = Tensor::zeros({2, 2}, DType::f32);
  expect_error([&] { gemm(a, b, c); }, {"gemm", "f32[2,3]@cpu", "f32[4,2]@cpu"});
  Tensor b64 = Tensor::zeros({3, 2}, DType::f64);
  expect_error([&] { gemm(a, b64, c); }, {"gemm", "different dtypes", "f64[3,2]@cpu"});
  Tensor c_bad = Tensor::zeros({2, 3}, DType::f32);
  expect_error(
      [&] {
        gemm(a, Tensor::zeros({3, 2}, DType::f32), c_bad);
      },
      {"gemm", "'c'", "f32[2,3]@cpu", "[2,2]"});
  Tensor i = Tensor::zeros({2, 2}, DType::i32);
  expect_error([&] { gemm(i, i, i); }, {"gemm", "i32"});
  expect_error([&] { gemm_batched(a, a, c); }, {"gemm_batched", "rank 3"});
  Tensor a3 = Tensor::zeros({2, 2, 3}, DType::f32), b3 = Tensor::zeros({3, 3, 2}, DType::f32);
  Tensor c3 = Tensor::zeros({2, 2, 2}, DType::f32);
  expect_error([&] { gemm_batched(a3, b3, c3); }, {"gemm_batched", "f32[3,3,2]@cpu"});
}

// ---- elementwise -------------------------------------------------------------------------

TEST(Unary, HandValues) {
  struct Case {
    Unary f;
    double x, y, dydx;
  };
  const double lam = 1.0507009873554805, lam_alpha = 1.7580993408473766;
  const Case cases[] = {
      {Unary::relu, -1.5, 0, 0},
      {Unary::relu, 2, 2, 1},
      {Unary::selu, 1, lam, lam},
      {Unary::selu, -1, -1.1113307378125625, 0.646768603034814},  // lam*alpha*(e^-1 - 1), *e^-1
      {Unary::selu, -40, -lam_alpha, 0},
      {Unary::tanh, 0.5, 0.46211715726000974, 0.7864477329659274},
      {Unary::sigmoid, 0, 0.5, 0.25},
      {Unary::sigmoid, 2, 0.8807970779778823, 0.10499358540350662},
      {Unary::sigmoid, -3, 0.04742587317756678, 0.04742587317756678 * (1 - 0.04742587317756678)},
      {Unary::sigmoid, -800, 0, 0},  // no overflow in exp(-x)
      {Unary::exp, 1, M_E, M_E},
      {Unary::log, M_E, 1, 1 / M_E},
      {Unary::softplus, 0, M_LN2, 0.5},
      {Unary::softplus, 1, 1.3132616875182228, 0.7310585786300049},
      {Unary::softplus, -30, 9.357622968839737e-14, 9.3576229688393e-14},
      {Unary::softplus, 800, 800, 1},  // no overflow in exp(x)
      {Unary::square, -3, 9, -6},
      {Unary::sqrt, 4, 2, 0.25},
      {Unary::abs, -3, 3, -1},
      {Unary::abs, 2, 2, 1},
      {Unary::neg, 2, -2, -1},
      // gelu = x Phi(x), gelu_tanh = GPT-2's approximation, silu = x sigmoid(x) (mpmath, 40 digits)
      {Unary::gelu, 1, 0.84134474606854295, 1.0833154705876863},
      {Unary::gelu, -2, -0.045500263896358414, -0.085231801078196897},
      {Unary::gelu, -40, 0, 0},  // erfc(28.3) underflows to 0: no NaN
      {Unary::gelu_tanh, 1, 0.8411919906082767, 1.0829640838457826},
      {Unary::gelu_tanh, -2, -0.045402305912224981, -0.086099256623618382},
      {Unary::gelu_tanh, 0.5, 0.34571400982514392, 0.86736990353464231},
      {Unary::gelu_tanh, -800, 0, 0},  // sigmoid(2u) underflows to 0: no NaN
      {Unary::silu, 1, 0.73105857863000488, 0.92767051187148673},
      {Unary::silu, -2, -0.23840584404423511, -0.090784248784895479},
  };
  for (const Case& c : cases) {
    Tensor x = f64({c.x}, {1});
    Tensor y = Tensor::zeros({1}, DType::f64), dx = Tensor::zeros({1}, DType::f64);
    unary(c.f, x, y);
    unary_backward(c.f, x, f64({3.0}, {1}), dx);  // dy = 3
    EXPECT_NEAR(y.item(), c.y, 1e-15 * (1 + std::abs(c.y))) << unary_name(c.f) << "(" << c.x << ")";
    EXPECT_NEAR(dx.item(), 3 * c.dydx, 1e-15 * (1 + std::abs(c.dydx)))
        << unary_name(c.f) << "'(" << c.x << ")";
  }
}

TEST(Unary, F32InPlace) {
  Tensor x = f32({-1, 0, 2, -3}, {2, 2});
  unary(Unary::relu, x, x);
  EXPECT_TRUE(all_close(x, f32({0, 0, 2, 0}, {2, 2}), 0, 0));
  unary(Unary::square, x, x);
  EXPECT_TRUE(all_close(x, f32({0, 0, 4, 0}, {2, 2}), 0, 0));
}

// d/dx sum(w * f(x)) = unary_backward(f, x, w) against central differences, every function.
// Tolerance 1e-8 + 1e-7|g|: truncation O(h^2 f''') ~ 1e-12 plus rounding eps*|f|/h ~ 1e-9.
TEST(Unary, BackwardMatchesFiniteDifferences) {
  const Unary all[] = {Unary::relu, Unary::selu, Unary::tanh,     Unary::sigmoid,
                       Unary::exp,  Unary::log,  Unary::softplus, Unary::square,
                       Unary::sqrt, Unary::abs,  Unary::neg,      Unary::gelu,
                       Unary::gelu_tanh, Unary::silu};
  for (Unary f : all) {
    const bool positive = f == Unary::log || f == Unary::sqrt;
    Tensor x = naqs::testing::random_tensor({3, 5}, DType::f64, 11, positive ? 0.3 : -2.0, 2.0);
    double* px = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i)  // keep away from the kinks of relu/abs/selu at 0
      if (!positive && std::abs(px[i]) < 0.05) px[i] = 0.3;
    Tensor w = naqs::testing::random_tensor({3, 5}, DType::f64, 12);
    Tensor y = Tensor::zeros({3, 5}, DType::f64), g = Tensor::zeros({3, 5}, DType::f64);
    unary_backward(f, x, w, g);
    Tensor fd = naqs::testing::finite_difference(x, [&] {
      unary(f, x, y);
      return naqs::testing::weighted_sum(w, y);
    });
    EXPECT_TRUE(all_close(g, fd, 1e-8, 1e-7)) << unary_name(f);
  }
}

// The f32 sigmoid and silu (forward and backward) run on a vectorised polynomial exp where the
// CPU has AVX2+FMA (host/ops/elementwise.cpp), libm elsewhere. Against the formulas in double
// over x in [-110, 100] (step 1/73: the normal, denormal (x < -87.3) and zero (x < -104) ranges
// of exp(-|x|)) and at special points: relative error <= 4 eps32 (measured on the AVX2+FMA
// path: 1.8 eps32 = 2.1e-7; at most 2 ulp from the libm path where exp(-|x|) is normal) plus
// 2 (|x| + 1) 2^-149 in the denormal range (one denormal step of exp, times |x| for silu), and
// for the derivatives 2 eps32 (|x| + 1) |dy|, the cancellation in the formula's 1 - s (both
// paths); NaN in, NaN out; +-inf and +-0 exactly as the scalar formulas (elementwise_math.hpp)
// give them. An element's value does not depend on where it sits (the last partial vector goes
// through a buffer): the same x at offset 0 and 3 of the tensor, bit for bit.
TEST(Unary, F32LogisticMatchesFloat64Formulas) {
  std::vector<float> xs;
  for (int i = -110 * 73; i <= 100 * 73; ++i) xs.push_back(static_cast<float>(i) / 73.0f);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, -1e-40f, 87.3f, -87.3f, 88.72f, -88.72f,
                  103.97f, -103.97f, 200.0f, -200.0f, FLT_MAX, -FLT_MAX})
    xs.push_back(v);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  const std::vector<float> specials = {inf, -inf, nan};
  xs.insert(xs.end(), specials.begin(), specials.end());
  const int64_t n = static_cast<int64_t>(xs.size());
  std::vector<float> dys(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) dys[i] = 0.5f + static_cast<float>(i % 7) * 0.25f;
  const Tensor x = f32(xs, {n}), dy = f32(dys, {n});
  double worst = 0;  // the worst relative error of the values (normal range)
  float worst_at = 0;
  double worst_ulp = 0;  // the largest difference from the libm path, in ulp
  for (Unary f : {Unary::sigmoid, Unary::silu}) {
    Tensor y = Tensor::zeros({n}, DType::f32), dx = y.clone();
    unary(f, x, y);
    unary_backward(f, x, dy, dx);
    const float* py = y.data<float>();
    const float* pdx = dx.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float xf = xs[i];
      SCOPED_TRACE(cat(unary_name(f), " at x = ", xf));
      if (std::isnan(xf)) {
        EXPECT_TRUE(std::isnan(py[i]) && std::isnan(pdx[i]));
        continue;
      }
      if (std::isinf(xf) || xf == 0.0f) {  // the scalar formulas' values (NaN where they give NaN)
        const float want_y = f == Unary::silu ? unary_value<Unary::silu>(xf)
                                              : unary_value<Unary::sigmoid>(xf);
        const float want_d = (f == Unary::silu ? unary_derivative<Unary::silu>(xf)
                                               : unary_derivative<Unary::sigmoid>(xf)) * dys[i];
        EXPECT_TRUE(std::isnan(want_y) ? std::isnan(py[i]) : py[i] == want_y) << py[i];
        EXPECT_TRUE(std::isnan(want_d) ? std::isnan(pdx[i]) : pdx[i] == want_d) << pdx[i];
        continue;
      }
      const double xd = xf, s = 1 / (1 + std::exp(-xd));
      const double want_y = f == Unary::silu ? xd * s : s;
      const double want_d = (f == Unary::silu ? s * (1 + xd * (1 - s)) : s * (1 - s)) * dys[i];
      // rounding of the f32 result (4 eps), one denormal step of exp (times |x| for silu),
      // and for the derivatives the formula's own cancellation: 1 - s where s ~ 1 loses
      // eps * s relative to 1 - s, times |x| dy (silu) or dy
      const double denormal = 2 * (std::abs(xd) + 1) * std::ldexp(1.0, -149);
      const double cancel = 2 * FLT_EPSILON * (f == Unary::silu ? std::abs(xd) + 1 : 1) * dys[i];
      const std::pair<double, double> checks[] = {{py[i], want_y}, {pdx[i], want_d}};
      for (int c = 0; c < 2; ++c) {
        const auto [got, want] = checks[c];
        const double err = std::abs(got - want);
        EXPECT_LE(err, 4 * FLT_EPSILON * std::abs(want) + denormal + (c == 1 ? cancel : 0))
            << (c == 0 ? "value " : "derivative ") << got << " vs " << want;
        if (c == 0 && std::abs(want) > FLT_MIN * 64 && err / std::abs(want) > worst) {
          worst = err / std::abs(want);
          worst_at = xf;
        }
      }
      // against the scalar libm path (elementwise_math.hpp), in units of the last place, where
      // exp(-|x|) is normal (below, both paths lose bits in denormal exp and differ more)
      const float libm = f == Unary::silu ? unary_value<Unary::silu>(xf)
                                          : unary_value<Unary::sigmoid>(xf);
      if (std::abs(libm) > FLT_MIN && xf > -87.0f)
        worst_ulp = std::max(worst_ulp, static_cast<double>(std::abs(py[i] - libm)) /
                                            (std::nextafter(std::abs(libm), inf) - std::abs(libm)));
    }
    // position independence: x[3..] through the op again
    Tensor y3 = Tensor::zeros({n - 3}, DType::f32);
    unary(f, x.narrow(3, n - 3), y3);
    EXPECT_EQ(std::memcmp(y3.data<float>(), py + 3, sizeof(float) * (n - 3)), 0)
        << unary_name(f);
  }
  std::printf("[          ] f32 sigmoid/silu: worst relative error %.3g (%.2f eps32) at %g; "
              "largest difference from libm %.1f ulp\n",
              worst, worst / FLT_EPSILON, worst_at, worst_ulp);
}

TEST(Binary, HandValues) {
  Tensor a = f64({1, -2, 3, 8}, {4}), b = f64({2, 5, -1, 4}, {4});
  const std::pair<Binary, std::vector<double>> cases[] = {
      {Binary::add, {3, 3, 2, 12}},    {Binary::sub, {-1, -7, 4, 4}},
      {Binary::mul, {2, -10, -3, 32}}, {Binary::div, {0.5, -0.4, -3, 2}},
      {Binary::maximum, {2, 5, 3, 8}}, {Binary::minimum, {1, -2, -1, 4}}};
  for (const auto& [f, want] : cases) {
    Tensor c = Tensor::zeros({4}, DType::f64);
    binary(f, a, b, c);
    EXPECT_TRUE(all_close(c, f64(want, {4}), 0, 1e-16)) << binary_name(f);
  }
  Tensor a32 = f32({1, 2}, {2});
  binary(Binary::mul, a32, a32, a32);  // c aliases a
  EXPECT_TRUE(all_close(a32, f32({1, 4}, {2}), 0, 0));
}

TEST(Axpby, AndScale) {
  Tensor y = f64({1, 2, 3}, {3});
  axpby(2.0, f64({1, 1, 1}, {3}), -1.0, y);  // 2*1 - y
  EXPECT_TRUE(all_close(y, f64({1, 0, -1}, {3}), 0, 0));
  Tensor nan = Tensor::full({3}, NAN, DType::f32);
  axpby(0.5, f32({2, 4, 6}, {3}), 0.0, nan);  // beta = 0 does not read y
  EXPECT_TRUE(all_close(nan, f32({1, 2, 3}, {3}), 0, 0));
  scale(y, -3.0);
  EXPECT_TRUE(all_close(y, f64({-3, 0, 3}, {3}), 0, 0));
  Tensor big = f64({INFINITY, -1}, {2});
  scale(big, 2.0);  // inf stays inf (the unused alpha*x = 0*inf term is not formed)
  EXPECT_EQ(big.to_vector<double>(), (std::vector<double>{INFINITY, -2}));
}

TEST(Bias, AddAlongFirstMiddleLastAxis) {
  // x is (2,3,2) zeros; bias along axis 0 (2), 1 (3), 2 (2).
  Tensor x0 = Tensor::zeros({2, 3, 2}, DType::f64);
  bias_add(x0, f64({1, 2}, {2}), 0);
  EXPECT_TRUE(all_close(x0, f64({1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}, {2, 3, 2}), 0, 0));
  Tensor x1 = Tensor::zeros({2, 3, 2}, DType::f64);
  bias_add(x1, f64({1, 2, 3}, {3}), 1);
  EXPECT_TRUE(all_close(x1, f64({1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, {2, 3, 2}), 0, 0));
  Tensor x2 = Tensor::full({2, 3, 2}, 1.0, DType::f32);
  bias_add(x2, f32({1, 2}, {2}), -1);
  EXPECT_TRUE(all_close(x2, f32({2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3}, {2, 3, 2}), 0, 0));
}

TEST(Bias, BackwardHandValuesAndAccumulate) {
  Tensor dy = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  Tensor db = Tensor::full({3}, NAN, DType::f64);
  bias_backward(dy, 1, db);  // c=0: 1+2+7+8, c=1: 3+4+9+10, c=2: 5+6+11+12
  EXPECT_TRUE(all_close(db, f64({18, 26, 34}, {3}), 0, 0));
  bias_backward(dy, 1, db, true);
  EXPECT_TRUE(all_close(db, f64({36, 52, 68}, {3}), 0, 0));
  Tensor d0 = Tensor::zeros({2}, DType::f64), d2 = Tensor::zeros({2}, DType::f64);
  bias_backward(dy, 0, d0);
  bias_backward(dy, 2, d2);
  EXPECT_TRUE(all_close(d0, f64({21, 57}, {2}), 0, 0));
  EXPECT_TRUE(all_close(d2, f64({36, 42}, {2}), 0, 0));
}

// bias_backward is the gradient of sum(w * bias_add(x, bias)) with respect to bias.
// Tolerance 1e-8: the function is linear in bias, so only the rounding of f remains,
// eps*|f|/h ~ 1e-9 for |f| ~ 5 and h = 1e-6.
TEST(Bias, BackwardMatchesFiniteDifferences) {
  for (int axis : {0, 1, 2}) {
    const Shape shape{3, 4, 5};
    Tensor x = naqs::testing::random_tensor(shape, DType::f64, 21);
    Tensor w = naqs::testing::random_tensor(shape, DType::f64, 22);
    Tensor bias = naqs::testing::random_tensor({shape[axis]}, DType::f64, 23);
    Tensor g = Tensor::zeros({shape[axis]}, DType::f64);
    bias_backward(w, axis, g);
    Tensor fd = naqs::testing::finite_difference(bias, [&] {
      Tensor y = x.clone();
      bias_add(y, bias, axis);
      return naqs::testing::weighted_sum(w, y);
    });
    EXPECT_TRUE(all_close(g, fd, 1e-8, 1e-8)) << "axis " << axis;
  }
}

TEST(Elementwise, ErrorsNameOpAndTensors) {
  Tensor a = Tensor::zeros({2, 3}, DType::f32), b = Tensor::zeros({3, 2}, DType::f32);
  Tensor d = Tensor::zeros({2, 3}, DType::f64), i = Tensor::zeros({2, 3}, DType::i32);
  expect_error([&] { binary(Binary::add, a, b, a); }, {"binary", "'b'", "f32[3,2]@cpu", "[2,3]"});
  expect_error([&] { unary(Unary::relu, a, d); }, {"unary", "f32[2,3]@cpu", "f64[2,3]@cpu"});
  expect_error([&] { unary(Unary::relu, i, i); }, {"unary", "i32", "f32, f64"});
  expect_error([&] { unary_backward(Unary::tanh, a, a, b); }, {"unary_backward", "'dx'"});
  expect_error([&] { axpby(1, a, 1, d); }, {"axpby", "f64[2,3]@cpu"});
  expect_error([&] { bias_add(a, Tensor::zeros({2}, DType::f32), 1); },
               {"bias_add", "'bias'", "f32[2]@cpu", "[3]"});
  expect_error([&] { bias_add(a, Tensor::zeros({2}, DType::f32), 2); },
               {"bias_add", "axis 2", "f32[2,3]@cpu"});
  expect_error([&] { bias_backward(a, 0, d); }, {"bias_backward", "f64"});
}

// ---- fill / copy / cast -----------------------------------------------------------------

TEST(Fill, EveryDtype) {
  Tensor a = Tensor::zeros({2, 2}, DType::f32), b = Tensor::zeros({3}, DType::f64);
  Tensor c = Tensor::zeros({2}, DType::i32), d = Tensor::zeros({2}, DType::u8);
  fill(a, 1.5);
  fill(b, -2.25);
  fill(c, -7);
  fill(d, 200);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1.5f, 1.5f, 1.5f, 1.5f}));
  EXPECT_EQ(b.to_vector<double>(), (std::vector<double>{-2.25, -2.25, -2.25}));
  EXPECT_EQ(c.to_vector<int32_t>(), (std::vector<int32_t>{-7, -7}));
  EXPECT_EQ(d.to_vector<uint8_t>(), (std::vector<uint8_t>{200, 200}));
}

TEST(Fill, CopyAndCast) {
  Tensor src = f64({-1.75, 0.5, 2.25, 3}, {2, 2});
  Tensor dst = Tensor::zeros({2, 2}, DType::f64);
  copy(src, dst);
  EXPECT_EQ(dst.to_vector<double>(), src.to_vector<double>());
  Tensor i = Tensor::zeros({2, 2}, DType::i32);
  cast(src, i);  // truncation toward zero
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{-1, 0, 2, 3}));
  Tensor f = Tensor::zeros({2, 2}, DType::f32);
  cast(i, f);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{-1, 0, 2, 3}));
  Tensor u = Tensor::from_vector<uint8_t>({0, 255}, {2});
  Tensor ud = Tensor::zeros({2}, DType::f64);
  cast(u, ud);
  EXPECT_EQ(ud.to_vector<double>(), (std::vector<double>{0, 255}));
  expect_error([&] { copy(src, f); }, {"copy", "f64[2,2]@cpu", "f32[2,2]@cpu"});
  expect_error([&] { cast(src, ud); }, {"cast", "'dst'", "f64[2]@cpu", "[2,2]"});
}
