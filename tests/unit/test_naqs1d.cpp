// 1D NAQS (physics/naqs_conv1d.*, physics/wavefunction.*): exact normalisation by enumeration,
// causality, the magnetisation constraint, gradients vs float64 central differences.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/unit/test_naqs1d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

NaqsConv1dConfig small_config(int64_t n, PhaseMode mode, Activation act = Activation::relu) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 3;
  c.depth = 2;
  c.kernel = 3;
  c.dilations = {1, 2};
  c.activation = act;
  c.phase_mode = mode;
  return c;
}

// sum_sigma |psi(sigma)|^2 over all 2^N configurations (in double, from the model's log psi).
double total_probability(NaqsConv1d& model, double* max_outside = nullptr) {
  const int64_t n = model.n_sites();
  Tensor all = all_configurations(n, model.dtype());
  Tensor lr = Tensor::empty({all.size(0)}, model.dtype());
  Tensor li = Tensor::empty({all.size(0)}, model.dtype());
  model.log_psi(all, lr, li);
  std::vector<double> v = to_host_f64(lr), s = to_host_f64(all);
  double total = 0, outside = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    const double p = std::exp(2 * v[k]);
    total += p;
    if (model.hilbert().constrained()) {
      double m = 0;
      for (int64_t i = 0; i < n; ++i) m += s[k * n + i];
      const int64_t n_up = (n + static_cast<int64_t>(m)) / 2;
      if (n_up != model.hilbert().n_up()) outside = std::max(outside, p);
    }
  }
  if (max_outside) *max_outside = outside;
  return total;
}

}  // namespace

TEST(NaqsConv1d, NormalisedByEnumerationF64) {
  // Sums of 2^16 terms of size ~2^-16 in double: rounding ~1e-16 * log2(2^16) << 1e-12.
  for (int64_t n : {1, 2, 5, 9, 16})
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
      for (Activation act : {Activation::relu, Activation::selu}) {
        // N = 16 (65536 configurations) once per phase mode keeps the unit tier fast.
        if (n == 16 && (mode == PhaseMode::complex) != (act == Activation::selu)) continue;
        NaqsConv1d model = random_model(small_config(n, mode, act), DType::f64, 10 + n);
        EXPECT_NEAR(total_probability(model), 1.0, 1e-12)
            << "n=" << n << " " << phase_mode_name(mode);
      }
}

TEST(NaqsConv1d, NormalisedByEnumerationF32) {
  // float32 log psi: each |psi|^2 carries ~N * 6e-8 relative error; 1e-5 bounds the sum.
  for (int64_t n : {3, 16}) {
    NaqsConv1d model = random_model(small_config(n, PhaseMode::complex), DType::f32, 20 + n);
    EXPECT_NEAR(total_probability(model), 1.0, 1e-5) << "n=" << n;
  }
}

TEST(NaqsConv1d, ConstrainedNormalisedOverSzZeroSpace) {
  for (int64_t n : {2, 6, 10, 16}) {
    NaqsConv1d model = random_model(small_config(n, PhaseMode::complex), DType::f64, 30 + n);
    model.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
    double outside = 1;
    EXPECT_NEAR(total_probability(model, &outside), 1.0, 1e-12) << "n=" << n;
    EXPECT_EQ(outside, 0.0) << "n=" << n;  // exp(-1e30) underflows to exactly 0
  }
  // A non-zero magnetisation sector too.
  NaqsConv1d model = random_model(small_config(7, PhaseMode::real_positive), DType::f64, 41);
  model.set_hilbert(SpinHilbert::with_magnetisation(7, -3));
  EXPECT_NEAR(total_probability(model), 1.0, 1e-12);
  EXPECT_THROW(SpinHilbert::with_magnetisation(7, 0), UsageError);
}

TEST(NaqsConv1d, ConditionalsAreCausal) {
  const int64_t n = 11, batch = 4;
  NaqsConv1d model = random_model(small_config(n, PhaseMode::complex), DType::f64, 50);
  Tensor sigma = random_tensor({batch, n}, DType::f64, 51);
  double* s = sigma.data<double>();
  for (int64_t k = 0; k < batch * n; ++k) s[k] = s[k] < 0 ? -1.0 : 1.0;
  Tensor lp0 = Tensor::empty({batch, 2, n}, DType::f64), ph0 = lp0.clone();
  model.conditionals(sigma, lp0, ph0);
  for (int64_t j = 0; j < n; ++j) {
    Tensor flipped = sigma.clone();
    for (int64_t b = 0; b < batch; ++b) flipped.data<double>()[b * n + j] *= -1;
    Tensor lp = lp0.clone(), ph = ph0.clone();
    model.conditionals(flipped, lp, ph);
    const double *a = lp0.data<double>(), *c = lp.data<double>();
    const double *pa = ph0.data<double>(), *pc = ph.data<double>();
    bool later_changed = false;
    for (int64_t b = 0; b < batch; ++b)
      for (int s2 = 0; s2 < 2; ++s2)
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = (b * 2 + s2) * n + i;
          if (i <= j) {
            // Identical inputs at every position site i reads: bit-identical outputs.
            ASSERT_EQ(a[k], c[k]) << "log prob at site " << i << " changed by site " << j;
            ASSERT_EQ(pa[k], pc[k]) << "phase at site " << i << " changed by site " << j;
          } else if (a[k] != c[k] || pa[k] != pc[k]) {
            later_changed = true;
          }
        }
    if (j + 1 < n) EXPECT_TRUE(later_changed) << "flipping site " << j << " changed nothing later";
  }
}

namespace {

// Gradients of a model vs float64 central differences (tests/support/wavefunction_checks.hpp),
// and accumulate = true adding into the gradient.
void check_gradients(NaqsConv1d& model, uint64_t seed) {
  const int64_t n = model.n_sites(), batch = 5;
  Tensor sigma = random_tensor({batch, n}, DType::f64, seed);
  double* s = sigma.data<double>();
  for (int64_t k = 0; k < batch * n; ++k) s[k] = s[k] < 0 ? -1.0 : 1.0;
  if (model.hilbert().constrained()) {  // a valid Sz = 0 configuration per row
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < n; ++i) s[b * n + i] = ((i + b) % n) < n / 2 ? 1.0 : -1.0;
  }
  const GradientCheck c = check_log_psi_gradients(model, model.params().flat(), sigma, seed,
                                                  model.phase_mode() == PhaseMode::complex);
  Tensor twice = c.grad.clone();
  model.grad_log_psi(sigma, c.w_re, c.w_im, twice, /*accumulate=*/true);
  Tensor expect_twice = c.grad.clone();
  for (int64_t p = 0; p < expect_twice.numel(); ++p) expect_twice.data<double>()[p] *= 2;
  EXPECT_TRUE(all_close(twice, expect_twice, 1e-14, 1e-12));
}

}  // namespace

TEST(NaqsConv1d, GradientsMatchFiniteDifferences) {
  int case_id = 0;
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
    for (Activation act : {Activation::relu, Activation::selu}) {
      SCOPED_TRACE(::testing::Message() << phase_mode_name(mode) << " act " << int(act));
      NaqsConv1d model = random_model(small_config(7, mode, act), DType::f64, 60 + case_id);
      check_gradients(model, 70 + case_id);
      ++case_id;
    }
}

TEST(NaqsConv1d, GradientsMatchFiniteDifferencesConstrained) {
  NaqsConv1d model = random_model(small_config(6, PhaseMode::complex), DType::f64, 80);
  model.set_hilbert(SpinHilbert::with_magnetisation(6, 0));
  check_gradients(model, 81);
}

TEST(NaqsConv1d, DepthZeroAndLongKernel) {
  NaqsConv1dConfig c = small_config(6, PhaseMode::complex);
  c.depth = 0;
  NaqsConv1d shallow = random_model(c, DType::f64, 90);
  EXPECT_NEAR(total_probability(shallow), 1.0, 1e-12);
  check_gradients(shallow, 91);
  c.depth = 1;
  c.kernel = 8;  // longer than the chain: every tap beyond the left edge reads the zero padding
  NaqsConv1d wide = random_model(c, DType::f64, 92);
  EXPECT_NEAR(total_probability(wide), 1.0, 1e-12);
}

TEST(NaqsConv1d, RejectsBadConfiguration) {
  NaqsConv1dConfig c = small_config(4, PhaseMode::real_positive);
  c.width = 0;
  EXPECT_THROW(NaqsConv1d(c, DType::f64, Device::cpu(), 1), UsageError);
  c = small_config(4, PhaseMode::real_positive);
  c.dilations = {};
  EXPECT_THROW(NaqsConv1d(c, DType::f64, Device::cpu(), 1), UsageError);
  EXPECT_THROW(parse_activation("tanh"), UsageError);
  EXPECT_THROW(parse_phase_mode("imaginary"), UsageError);
  NaqsConv1d model(small_config(4, PhaseMode::real_positive), DType::f64, Device::cpu(), 1);
  EXPECT_THROW(model.set_hilbert(SpinHilbert::with_magnetisation(6, 0)), UsageError);
}

// log_psi keeps no pre-activations (no backward follows it): a backward after it is refused
// instead of reading stale activations; a direct logits() call keeps them again.
TEST(NaqsConv1d, BackwardAfterLogPsiIsRefused) {
  NaqsConv1d model(small_config(4, PhaseMode::real_positive), DType::f64, Device::cpu(), 1);
  Tensor sigma = Tensor::full({2, 4}, 1.0, DType::f64);
  Tensor lr = Tensor::empty({2}, DType::f64), li = lr.clone();
  Tensor re = Tensor::empty({2, 2, 4}, DType::f64), im = re.clone();
  Tensor grad = Tensor::zeros({model.params().size()}, DType::f64);
  model.log_psi(sigma, lr, li);
  EXPECT_THROW(model.logits_backward(re, im, grad, false, false), Error);
  model.logits(sigma, re, im);
  EXPECT_NO_THROW(model.logits_backward(re, im, grad, false, false));
  // The naive sampler's forward: the same logits bit for bit, no activations kept.
  Tensor re_nb = re.clone(), im_nb = im.clone();
  model.logits_no_backward(sigma, re_nb, im_nb);
  EXPECT_EQ(re.to_vector<double>(), re_nb.to_vector<double>());
  EXPECT_EQ(im.to_vector<double>(), im_nb.to_vector<double>());
  EXPECT_THROW(model.logits_backward(re, im, grad, false, false), Error);
}
