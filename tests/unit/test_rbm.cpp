// RBM wavefunction (physics/models/rbm.hpp): log psi by hand, gradients and per-sample gradients vs
// float64 central differences, fast Metropolis ratios vs full re-evaluation.
#include <cmath>
#include <complex>

#include "host/core/error.hpp"
#include "host/ops/fill.hpp"
#include "physics/models/rbm.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::all_close;
using testing::random_tensor;

Tensor random_spins(int64_t batch, int64_t n, uint64_t seed) {
  Tensor u = random_tensor(Shape{batch, n}, DType::f64, seed);
  double* p = u.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = p[i] < 0 ? -1.0 : 1.0;
  return u;
}

TEST(Rbm, LogPsiByHand) {
  for (bool complex : {false, true}) {
    Rbm rbm({2, 0.5, complex}, DType::f64, Device::cpu());  // N = 2, M = 1
    ASSERT_EQ(rbm.n_hidden(), 1);
    rbm.params().get("a_re").copy_from(Tensor::from_vector<double>({0.1, -0.2}, Shape{2}));
    rbm.params().get("b_re").copy_from(Tensor::from_vector<double>({0.3}, Shape{1}));
    rbm.params().get("W_re").copy_from(Tensor::from_vector<double>({0.5, 0.7}, Shape{1, 2}));
    if (complex) {
      rbm.params().get("a_im").copy_from(Tensor::from_vector<double>({0.2, 0.1}, Shape{2}));
      rbm.params().get("b_im").copy_from(Tensor::from_vector<double>({-0.4}, Shape{1}));
      rbm.params().get("W_im").copy_from(Tensor::from_vector<double>({0.3, 0.2}, Shape{1, 2}));
    }
    const Tensor sigma = Tensor::from_vector<double>({1, -1}, Shape{1, 2});
    Tensor lr, li;
    rbm.log_psi(sigma, lr, li);
    // a.sigma = (0.1+0.2i) - (-0.2+0.1i) = 0.3+0.1i; theta = 0.3-0.4i + (0.5+0.3i) - (0.7+0.2i)
    const std::complex<double> ai = complex ? std::complex<double>(0.3, 0.1) : 0.3;
    const std::complex<double> th = complex ? std::complex<double>(0.1, -0.3) : 0.1;
    const std::complex<double> want = ai + std::log(2.0 * std::cosh(th));
    EXPECT_NEAR(lr.item(), want.real(), 1e-14);
    EXPECT_NEAR(li.item(), want.imag(), 1e-14);
  }
}

TEST(Rbm, AlphaRoundsUpAndBadInput) {
  EXPECT_EQ(Rbm({5, 1.5, false}, DType::f64, Device::cpu()).n_hidden(), 8);
  EXPECT_EQ(Rbm({4, 2.0, true}, DType::f64, Device::cpu()).params().size(), 2 * (4 + 8 + 32));
  EXPECT_THROW(Rbm({0, 1.0, false}, DType::f64, Device::cpu()), UsageError);
  EXPECT_THROW(Rbm({3, 0.0, false}, DType::f64, Device::cpu()), UsageError);
}

// |analytic - fd| <= 1e-7 + 1e-6 |fd|: central differences with h = 1e-6 have truncation error
// ~h^2 |f'''| ~ 1e-12 and roundoff ~1e-16/h ~ 1e-10 on O(1) values.
TEST(Rbm, GradientsMatchFiniteDifferences) {
  for (bool complex : {false, true}) {
    Rbm rbm({5, 2.0, complex}, DType::f64, Device::cpu());
    rbm.init_random(11, 0.4);
    const int64_t batch = 4;
    const Tensor sigma = random_spins(batch, 5, 3);
    const Tensor w_re = random_tensor(Shape{batch}, DType::f64, 4);
    const Tensor w_im = random_tensor(Shape{batch}, DType::f64, 5);
    Tensor flat = rbm.params().flat();
    const auto objective = [&] {
      Tensor lr, li;
      rbm.log_psi(sigma, lr, li);
      double s = 0;
      for (int64_t b = 0; b < batch; ++b)
        s += w_re.data<double>()[b] * lr.data<double>()[b] + w_im.data<double>()[b] * li.data<double>()[b];
      return s;
    };
    const Tensor fd = testing::finite_difference(flat, objective);
    Tensor grad = Tensor::full(Shape{rbm.params().size()}, 7.0, DType::f64);
    rbm.grad_log_psi(sigma, w_re, w_im, grad);
    EXPECT_TRUE(all_close(grad, fd, 1e-7, 1e-6)) << "complex=" << complex;
    // accumulate adds
    Tensor twice = grad.clone();
    rbm.grad_log_psi(sigma, w_re, w_im, twice, true);
    Tensor want = grad.clone();
    for (int64_t i = 0; i < want.numel(); ++i) want.data<double>()[i] *= 2;
    EXPECT_TRUE(all_close(twice, want, 1e-14, 1e-14));

    // per-sample rows, each row vs the finite difference of that sample's log psi
    Tensor jr, ji;
    rbm.per_sample_grad(sigma, jr, ji);
    // a preallocated output (here a view) is filled in place
    Tensor big = Tensor::zeros(Shape{batch + 1, rbm.params().size()}, DType::f64);
    Tensor view = big.narrow(1, batch), none;
    rbm.per_sample_grad(sigma, view, complex ? ji : none);
    EXPECT_TRUE(all_close(big.narrow(1, batch), jr, 0, 0));
    ASSERT_EQ(jr.shape(), (Shape{batch, rbm.params().size()}));
    EXPECT_EQ(ji.defined(), complex);
    for (int64_t b = 0; b < batch; ++b) {
      const auto part = [&](bool imag) {
        return [&, imag, b] {
          Tensor lr, li;
          rbm.log_psi(sigma, lr, li);
          return (imag ? li : lr).data<double>()[b];
        };
      };
      EXPECT_TRUE(all_close(jr.select(b), testing::finite_difference(flat, part(false)), 1e-7, 1e-6));
      if (complex) {
        EXPECT_TRUE(all_close(ji.select(b), testing::finite_difference(flat, part(true)), 1e-7, 1e-6));
      }
    }
  }
}

TEST(Rbm, F32MatchesF64) {
  Rbm r64({6, 1.0, true}, DType::f64, Device::cpu());
  r64.init_random(2, 0.3);
  Rbm r32({6, 1.0, true}, DType::f32, Device::cpu());
  Tensor f32 = r32.params().flat();
  ops::cast(r64.params().flat(), f32);
  const Tensor s64 = random_spins(3, 6, 9);
  Tensor s32 = Tensor::empty(s64.shape(), DType::f32);
  ops::cast(s64, s32);
  Tensor a, b, c, d;
  r64.log_psi(s64, a, b);
  r32.log_psi(s32, c, d);
  Tensor c64 = Tensor::empty(c.shape(), DType::f64), d64 = c64.clone();
  ops::cast(c, c64);
  ops::cast(d, d64);
  // f32 parameters/inputs: relative rounding ~1e-7 on O(1) sums of 6-12 terms
  EXPECT_TRUE(all_close(c64, a, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(d64, b, 1e-5, 1e-5));
}

// Fast ratios (theta updates) and the base class's default (full re-evaluation) both equal
// log psi(sigma') - log psi(sigma), before and after a partial ratio_update. f64: 1e-12.
TEST(Rbm, FastRatiosEqualFullReevaluation) {
  for (bool complex : {false, true}) {
    Rbm rbm({6, 1.5, complex}, DType::f64, Device::cpu());
    rbm.init_random(21, 0.5);
    Tensor sigma = random_spins(5, 6, 8);
    // flip, flip, exchange (both flipped), no move, global flip
    const Tensor a = Tensor::from_vector<int32_t>({0, 5, 1, -1, kGlobalFlip}, Shape{5});
    const Tensor b = Tensor::from_vector<int32_t>({-1, -1, 4, -1, -1}, Shape{5});
    const auto full = [&](const Tensor& s, Tensor& dr, Tensor& di) {
      Tensor moved, r0, i0, r1, i1;
      apply_moves(s, a, b, moved);
      rbm.log_psi(s, r0, i0);
      rbm.log_psi(moved, r1, i1);
      dr = r1.clone();
      di = i1.clone();
      for (int64_t c = 0; c < 5; ++c) {
        dr.data<double>()[c] -= r0.data<double>()[c];
        di.data<double>()[c] -= i0.data<double>()[c];
      }
    };
    rbm.ratio_begin(sigma);
    for (int round = 0; round < 2; ++round) {
      Tensor fr, fi, wr, wi, dr, di;
      full(sigma, wr, wi);
      rbm.Wavefunction::log_psi_ratio(sigma, a, b, dr, di);  // default implementation
      EXPECT_TRUE(all_close(dr, wr, 1e-12, 1e-12));
      EXPECT_TRUE(all_close(di, wi, 1e-12, 1e-12));
      rbm.log_psi_ratio(sigma, a, b, fr, fi);  // fast
      EXPECT_TRUE(all_close(fr, wr, 1e-12, 1e-12)) << "complex=" << complex << " round " << round;
      EXPECT_TRUE(all_close(fi, wi, 1e-12, 1e-12)) << "complex=" << complex << " round " << round;
      // accept chains 0, 2, 4: apply to sigma and update the tracked state
      const Tensor acc = Tensor::from_vector<int32_t>({1, 0, 1, 0, 1}, Shape{5});
      Tensor moved;
      apply_moves(sigma, a, b, moved);
      for (int64_t c : {0, 2, 4}) sigma.select(c).copy_from(moved.select(c));
      rbm.ratio_update(acc);
      Tensor lr, li;
      rbm.log_psi(sigma, lr, li);
      EXPECT_TRUE(all_close(rbm.tracked_log_re(), lr, 1e-12, 1e-12));
      EXPECT_TRUE(all_close(rbm.tracked_log_im(), li, 1e-12, 1e-12));
    }
  }
}

}  // namespace
}  // namespace naqs
