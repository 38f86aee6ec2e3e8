// 2D NAQS (physics/naqs_conv2d.*): exact normalisation by enumeration on the 4x4 square,
// causality without a blind spot, every parameter gradient vs float64 central differences,
// the cached per-site evaluation vs the full forward, cached vs naive sampling (f64, and f32 at
// width 32), presets and bad input.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "physics/sampler/autoregressive.hpp"
#include "tests/unit/test_naqs2d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

TEST(NaqsConv2d, NormalisedByEnumerationF64) {
  // 65536 terms of size ~2^-16 summed in double: rounding ~1e-15 << 1e-12.
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
    NaqsConv2d model = random_2d_model(small_2d_config(4, 4, 2, 4, mode), DType::f64, 10);
    EXPECT_NEAR(total_probability(model), 1.0, 1e-12) << phase_mode_name(mode);
    if (mode == PhaseMode::real_positive) continue;  // one constrained enumeration suffices
    model.set_hilbert(SpinHilbert::with_magnetisation(16, 0));
    EXPECT_NEAR(total_probability(model), 1.0, 1e-12) << phase_mode_name(mode) << " Sz=0";
  }
  // Non-square, depth 0 (input layer only) and a wider kernel.
  NaqsConv2dConfig c = small_2d_config(5, 3, 0, 3, PhaseMode::complex);
  NaqsConv2d shallow = random_2d_model(c, DType::f64, 11);
  EXPECT_NEAR(total_probability(shallow), 1.0, 1e-12);
  c = small_2d_config(3, 4, 1, 3, PhaseMode::real_positive);
  c.kernel = 5;
  NaqsConv2d wide = random_2d_model(c, DType::f64, 12);
  EXPECT_NEAR(total_probability(wide), 1.0, 1e-12);
}

TEST(NaqsConv2d, NormalisedByEnumerationF32) {
  // float32 log psi: each |psi|^2 carries ~16 * 6e-8 relative error; 1e-5 bounds the sum.
  NaqsConv2d model = random_2d_model(small_2d_config(4, 4, 2, 4, PhaseMode::complex), DType::f32, 20);
  EXPECT_NEAR(total_probability(model), 1.0, 1e-5);
  model.set_hilbert(SpinHilbert::with_magnetisation(16, 0));
  EXPECT_NEAR(total_probability(model), 1.0, 1e-5);
}

TEST(NaqsConv2d, CausalWithoutBlindSpot) {
  // 4x4, depth 3, kernel 3: the receptive field of every site covers all earlier sites, so
  // flipping site j must change some conditional at every later site i (for some of the
  // configurations) and must leave every site i <= j bit-identical.
  const int64_t n = 16, batch = 6;
  NaqsConv2d model = random_2d_model(small_2d_config(4, 4, 3, 4, PhaseMode::complex), DType::f64, 30);
  Tensor sigma = random_spins(batch, n, 31);
  Tensor lp0 = Tensor::empty({batch, 2, n}, DType::f64), ph0 = lp0.clone();
  model.conditionals(sigma, lp0, ph0);
  for (int64_t j = 0; j < n; ++j) {
    Tensor flipped = sigma.clone();
    for (int64_t b = 0; b < batch; ++b) flipped.data<double>()[b * n + j] *= -1;
    Tensor lp = lp0.clone(), ph = ph0.clone();
    model.conditionals(flipped, lp, ph);
    const double *a = lp0.data<double>(), *c = lp.data<double>();
    const double *pa = ph0.data<double>(), *pc = ph.data<double>();
    for (int64_t i = 0; i < n; ++i) {
      bool changed = false;
      for (int64_t b = 0; b < batch; ++b) {
        for (int s = 0; s < 2; ++s) {
          const int64_t k = (b * 2 + s) * n + i;
          if (i <= j) {
            ASSERT_EQ(a[k], c[k]) << "log prob at site " << i << " changed by site " << j;
            ASSERT_EQ(pa[k], pc[k]) << "phase at site " << i << " changed by site " << j;
          } else if (a[k] != c[k] || pa[k] != pc[k]) {
            changed = true;
          }
        }
      }
      if (i > j) {
        EXPECT_TRUE(changed) << "site " << i << " blind to site " << j;
      }
    }
  }
}

namespace {

// Gradients vs float64 central differences (tests/support/wavefunction_checks.hpp), and every
// parameter tensor gets a non-zero gradient somewhere (none is dead).
void check_gradients(NaqsConv2d& model, uint64_t seed) {
  const int64_t n = model.n_sites(), batch = 4;
  Tensor sigma = random_spins(batch, n, seed);
  if (model.hilbert().constrained()) {  // a valid Sz = 0 configuration per row
    double* s = sigma.data<double>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < n; ++i) s[b * n + i] = ((i + b) % n) < n / 2 ? 1.0 : -1.0;
  }
  const GradientCheck c = check_log_psi_gradients(model, model.params().flat(), sigma, seed,
                                                  model.phase_mode() == PhaseMode::complex);
  std::vector<double> g = to_host_f64(c.grad);
  for (const ParameterEntry& e : model.params().layout()) {
    double norm = 0;
    for (int64_t p = 0; p < e.shape.numel(); ++p) norm += std::abs(g[e.offset + p]);
    EXPECT_GT(norm, 0.0) << e.name;
  }
}

}  // namespace

TEST(NaqsConv2d, GradientsMatchFiniteDifferences) {
  int id = 0;
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
    SCOPED_TRACE(phase_mode_name(mode));
    NaqsConv2d model = random_2d_model(small_2d_config(3, 3, 2, 3, mode), DType::f64, 40 + id);
    check_gradients(model, 50 + id);
    ++id;
  }
  NaqsConv2d shallow = random_2d_model(small_2d_config(3, 2, 0, 2, PhaseMode::complex), DType::f64, 45);
  check_gradients(shallow, 46);
  NaqsConv2d constrained = random_2d_model(small_2d_config(2, 3, 1, 3, PhaseMode::complex), DType::f64, 47);
  constrained.set_hilbert(SpinHilbert::with_magnetisation(6, 0));
  check_gradients(constrained, 48);
}

TEST(NaqsConv2d, NoBackwardForwardKeepsNoActivations) {
  // log_psi and logits_no_backward skip the pre-activations (the naive sampler's forward), give
  // the same logits bit for bit, and a backward after them is refused, not run on stale data.
  NaqsConv2d model =
      random_2d_model(small_2d_config(3, 3, 2, 3, PhaseMode::complex), DType::f64, 60);
  const int64_t batch = 3, n = model.n_sites();
  Tensor sigma = Tensor::full({batch, n}, 1.0, DType::f64);
  Tensor re = Tensor::empty({batch, 2, n}, DType::f64), im = re.clone();
  Tensor re_nb = re.clone(), im_nb = re.clone();
  Tensor lr = Tensor::empty({batch}, DType::f64), li = lr.clone();
  Tensor grad = Tensor::zeros({model.params().size()}, DType::f64);
  model.logits(sigma, re, im);
  EXPECT_NO_THROW(model.logits_backward(re, im, grad, false, false));
  model.logits_no_backward(sigma, re_nb, im_nb);
  EXPECT_EQ(re.to_vector<double>(), re_nb.to_vector<double>());
  EXPECT_EQ(im.to_vector<double>(), im_nb.to_vector<double>());
  EXPECT_THROW(model.logits_backward(re, im, grad, false, false), Error);
  model.log_psi(sigma, lr, li);
  EXPECT_THROW(model.logits_backward(re, im, grad, false, false), Error);
  model.logits(sigma, re, im);
  EXPECT_NO_THROW(model.logits_backward(re, im, grad, false, false));
}

TEST(NaqsConv2d, CachedLogitsEqualFullForward) {
  // The cached steps (ops::conv_site_forward: one GEMM per tap) sum the same products as
  // conv2d_forward (a fixed-order loop, no GEMM) in another order, so the logits agree to
  // rounding: |error| <~ eps * (sum of |terms|) per layer, compounded over the ~2 depth + 2
  // layers on the way to a logit (O(1) values): f64 1e-13, f32 1e-5 (worst seen: 1.5e-15 and
  // 7e-7, i.e. ~10 eps).
  // A wrong tap, ring row or mask would be off by O(0.1). Shapes: kernel 3 and 5, lattices
  // narrower and wider than the kernel (the site-major rings wrap within a row or over rows),
  // depth 0 (no vertical stack).
  struct Shape2d {
    int64_t lx, ly;
    int depth, kernel;
  };
  for (DType dtype : {DType::f64, DType::f32})
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
      for (const Shape2d& g : {Shape2d{5, 4, 3, 3}, Shape2d{2, 5, 2, 5}, Shape2d{7, 3, 2, 5},
                               Shape2d{3, 3, 0, 3}}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " " << phase_mode_name(mode)
                                          << " " << g.lx << "x" << g.ly << " depth " << g.depth
                                          << " kernel " << g.kernel);
        const double tol = dtype == DType::f64 ? 1e-13 : 1e-5;
        NaqsConv2dConfig config = small_2d_config(g.lx, g.ly, g.depth, 4, mode);
        config.kernel = g.kernel;
        NaqsConv2d model = random_2d_model(config, dtype, 60);
        const int64_t n = model.n_sites(), batch = 3;
        Tensor sigma = random_spins(batch, n, 61, dtype);
        Tensor re = Tensor::empty({batch, 2, n}, dtype), im = re.clone();
        model.logits(sigma, re, im);
        const std::vector<double> s = to_host_f64(sigma);
        std::vector<double> re_cached(static_cast<std::size_t>(batch * 2 * n));
        std::vector<double> im_cached(re_cached.size());
        model.cache_begin(batch);
        Tensor re_t = Tensor::empty({batch, 2}, dtype), im_t = re_t.clone();
        for (int64_t t = 0; t < n; ++t) {
          model.cache_logits(t, re_t, im_t);
          const std::vector<double> a = to_host_f64(re_t), b = to_host_f64(im_t);
          for (int64_t k = 0; k < batch; ++k)
            for (int st = 0; st < 2; ++st) {
              re_cached[(k * 2 + st) * n + t] = a[k * 2 + st];
              im_cached[(k * 2 + st) * n + t] = b[k * 2 + st];
            }
          std::vector<double> col(static_cast<std::size_t>(batch));
          for (int64_t k = 0; k < batch; ++k) col[k] = s[k * n + t];
          model.cache_set_site(t, from_host_f64(col, {batch}, dtype, Device::cpu()));
        }
        const Shape shape{batch, 2, n};
        auto f64 = [&](const std::vector<double>& v) {
          return from_host_f64(v, shape, DType::f64, Device::cpu());
        };
        EXPECT_TRUE(all_close(f64(re_cached), f64(to_host_f64(re)), tol, tol));
        EXPECT_TRUE(all_close(f64(im_cached), f64(to_host_f64(im)), tol, tol));
      }
}

TEST(NaqsConv2d, CachedSamplerEqualsNaive) {
  // The shared sampler with the same uniforms: identical spins (a flip needs a uniform within
  // ~1e-13 of a threshold) and log psi equal to rounding (cached logits agree with the full
  // forward's to ~1e-14, see CachedLogitsEqualFullForward; 16 sites: 1e-12).
  for (bool constrained : {false, true}) {
    NaqsConv2d model = random_2d_model(small_2d_config(4, 4, 2, 4, PhaseMode::complex), DType::f64, 70, 1.0);
    if (constrained) model.set_hilbert(SpinHilbert::with_magnetisation(16, 0));
    SamplerOptions options;
    options.seed = 71;
    options.batch_size = 13;
    const int64_t count = 40, n = 16;
    Tensor s1 = Tensor::empty({count, n}, DType::f64), s2 = s1.clone();
    Tensor lr1 = Tensor::empty({count}, DType::f64), li1 = lr1.clone(), lr2 = lr1.clone(),
           li2 = lr1.clone();
    sample_autoregressive(model, 0, options, s1, lr1, li1);
    options.cached = false;
    sample_autoregressive(model, 0, options, s2, lr2, li2);
    EXPECT_EQ(s1.to_vector<double>(), s2.to_vector<double>());
    EXPECT_TRUE(all_close(lr1, lr2, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(li1, li2, 1e-12, 1e-12));
    // The sampler's log psi is the model's (head sums in another order: 1e-12).
    Tensor lr = lr1.clone(), li = li1.clone();
    model.log_psi(s1, lr, li);
    EXPECT_TRUE(all_close(lr1, lr, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(li1, li, 1e-12, 1e-12));
    std::vector<double> v = s1.to_vector<double>();
    if (constrained)
      for (int64_t b = 0; b < count; ++b) {
        double m = 0;
        for (int64_t i = 0; i < n; ++i) m += v[b * n + i];
        ASSERT_EQ(m, 0.0) << "sample " << b;
      }
    EXPECT_GT(std::count(v.begin(), v.end(), 1.0), 0);
    EXPECT_GT(std::count(v.begin(), v.end(), -1.0), 0);
  }
}

// Issue 22: with the register-blocked f32 conv2d kernel (FMA where the CPU has it) the cached
// sampler (conv_site_forward per site) still draws exactly the naive sampler's spins (full
// conv2d forwards), in f32 at the model's width 32 on a 5x6 lattice, depth 3, batch 37 (two
// chunks of the forward), for 1 and 2 threads; log psi agrees to f32 rounding (the two paths
// sum the same terms in different orders: 1e-4 absolute on |log psi| ~ 20).
TEST(NaqsConv2d, Float32CachedSamplerEqualsNaiveAtWidth32) {
  const int saved_threads = omp_get_max_threads();
  NaqsConv2d model =
      random_2d_model(small_2d_config(5, 6, 3, 32, PhaseMode::complex), DType::f32, 72, 0.3);
  const int64_t count = 37, n = 30;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    SamplerOptions options;
    options.seed = 73;
    options.batch_size = count;
    Tensor s1 = Tensor::empty({count, n}, DType::f32), s2 = s1.clone();
    Tensor lr1 = Tensor::empty({count}, DType::f32), li1 = lr1.clone(), lr2 = lr1.clone(),
           li2 = lr1.clone();
    sample_autoregressive(model, 0, options, s1, lr1, li1);
    options.cached = false;
    sample_autoregressive(model, 0, options, s2, lr2, li2);
    EXPECT_EQ(s1.to_vector<float>(), s2.to_vector<float>()) << threads << " threads";
    EXPECT_TRUE(all_close(lr1, lr2, 1e-4, 1e-5));
    EXPECT_TRUE(all_close(li1, li2, 1e-4, 1e-5));
    std::vector<float> v = s1.to_vector<float>();
    EXPECT_GT(std::count(v.begin(), v.end(), 1.0f), 0);
    EXPECT_GT(std::count(v.begin(), v.end(), -1.0f), 0);
  }
  omp_set_num_threads(saved_threads);
}

TEST(NaqsConv2d, PresetsAndBadInput) {
  NaqsConv2dConfig c = naqs_conv2d_preset("heis10");
  EXPECT_EQ(c.lx, 10);
  EXPECT_EQ(c.depth, 20);
  EXPECT_EQ(c.width, 32);
  c = naqs_conv2d_preset("tfim12");
  EXPECT_EQ(c.lx * c.ly, 144);
  EXPECT_EQ(c.depth, 10);
  EXPECT_THROW(naqs_conv2d_preset("huge"), UsageError);
  c = small_2d_config(3, 3, 1, 2, PhaseMode::real_positive);
  c.kernel = 4;
  EXPECT_THROW(NaqsConv2d(c, DType::f64, Device::cpu(), 1), UsageError);
  c.kernel = 3;
  c.lx = 0;
  EXPECT_THROW(NaqsConv2d(c, DType::f64, Device::cpu(), 1), UsageError);
  // The paper's model: 20 residual blocks of width 32 (~2.9e5 parameters).
  NaqsConv2d paper(naqs_conv2d_preset("heis10"), DType::f32, Device::cpu(), 1);
  EXPECT_EQ(paper.n_sites(), 100);
  EXPECT_GT(paper.params().size(), 100000);
}
