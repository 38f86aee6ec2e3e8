// Exact ancestral sampler (physics/sampler.*) on the 1D NAQS: the cached per-site logits equal
// the full forward's, the cached sampler reproduces the naive one, samples do not depend on
// batch splitting, log psi of the samples agrees with the model, the constraint is respected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "physics/sampler/autoregressive.hpp"
#include "tests/unit/test_naqs1d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

NaqsConv1dConfig sampler_config(int64_t n, PhaseMode mode) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 4;
  c.depth = 2;
  c.kernel = 3;
  c.dilations = {1, 2};
  c.phase_mode = mode;
  return c;
}

struct Samples {
  Tensor sigma, log_re, log_im;
};

Samples draw(NaqsConv1d& model, int64_t first, int64_t count, SamplerOptions options) {
  Samples s;
  s.sigma = Tensor::empty({count, model.n_sites()}, model.dtype());
  s.log_re = Tensor::empty({count}, model.dtype());
  s.log_im = Tensor::empty({count}, model.dtype());
  sample_autoregressive(model, first, options, s.sigma, s.log_re, s.log_im);
  return s;
}

}  // namespace

// The cached steps (site-major rings, ops::conv_site_forward: one GEMM per tap) vs the full
// forward (im2col GEMM) on random spins: the same products summed in another order, so equal to
// rounding (O(1) values through <= 2 depth + 2 layers: 1e-13 in f64). Kernels 1-5, dilations up
// to 4, depth 0-3, both activations: every ring size and tap pattern; a wrong ring row or tap
// would be off by O(0.1).
TEST(NaqsSampler, CachedLogitsEqualFullForward) {
  struct Shape1d {
    int kernel, depth;
    std::vector<int> dilations;
    Activation act;
  };
  for (const Shape1d& g :
       {Shape1d{3, 2, {1, 2}, Activation::relu}, Shape1d{2, 3, {1, 4, 3}, Activation::selu},
        Shape1d{5, 1, {2}, Activation::relu}, Shape1d{1, 2, {1}, Activation::selu},
        Shape1d{3, 0, {1}, Activation::relu}})
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
      SCOPED_TRACE(::testing::Message() << "kernel " << g.kernel << " depth " << g.depth << " "
                                        << phase_mode_name(mode));
      NaqsConv1dConfig c = sampler_config(11, mode);
      c.kernel = g.kernel;
      c.depth = g.depth;
      c.dilations = g.dilations;
      c.activation = g.act;
      NaqsConv1d model = random_model(c, DType::f64, 140, 1.0);
      const int64_t n = 11, batch = 5;
      std::vector<double> s = random_tensor({batch, n}, DType::f64, 141).to_vector<double>();
      for (double& v : s) v = v < 0 ? -1.0 : 1.0;
      Tensor sigma = Tensor::from_vector(s, {batch, n});
      Tensor re = Tensor::empty({batch, 2, n}, DType::f64), im = re.clone();
      model.logits(sigma, re, im);
      Tensor re_cached = re.clone(), im_cached = im.clone();
      double* pr = re_cached.data<double>();
      double* pi = im_cached.data<double>();
      model.cache_begin(batch);
      Tensor re_t = Tensor::empty({batch, 2}, DType::f64), im_t = re_t.clone();
      for (int64_t t = 0; t < n; ++t) {
        model.cache_logits(t, re_t, im_t);
        const std::vector<double> a = re_t.to_vector<double>(), b = im_t.to_vector<double>();
        for (int64_t k = 0; k < 2 * batch; ++k) {
          pr[k * n + t] = a[k];
          pi[k * n + t] = b[k];
        }
        std::vector<double> col(static_cast<std::size_t>(batch));
        for (int64_t k = 0; k < batch; ++k) col[k] = s[k * n + t];
        model.cache_set_site(t, Tensor::from_vector(col, {batch}));
      }
      EXPECT_TRUE(all_close(re_cached, re, 1e-13, 1e-13));
      EXPECT_TRUE(all_close(im_cached, im, 1e-13, 1e-13));
    }
}

TEST(NaqsSampler, CachedEqualsNaive) {
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
    NaqsConv1d model = random_model(sampler_config(13, mode), DType::f64, 100, 1.0);
    SamplerOptions options;
    options.seed = 7;
    options.batch_size = 16;
    Samples cached = draw(model, 0, 40, options);
    options.cached = false;
    Samples naive = draw(model, 0, 40, options);
    // Same uniforms and logits equal to rounding: identical spins (a flip would need a uniform
    // within ~1e-16 of a threshold).
    EXPECT_EQ(cached.sigma.to_vector<double>(), naive.sigma.to_vector<double>());
    // Cached logits (conv_site_forward) vs conv1d_forward agree to rounding (1e-12 on O(10)
    // sums; see CachedLogitsEqualFullForward).
    EXPECT_TRUE(all_close(cached.log_re, naive.log_re, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(cached.log_im, naive.log_im, 1e-12, 1e-12));
    // The sampler's log psi equals the model's.
    Tensor lr = cached.log_re.clone(), li = cached.log_im.clone();
    model.log_psi(cached.sigma, lr, li);
    EXPECT_TRUE(all_close(cached.log_re, lr, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(cached.log_im, li, 1e-12, 1e-12));
    // Both spin values occur (the test can fail if the sampler were stuck).
    std::vector<double> v = cached.sigma.to_vector<double>();
    EXPECT_GT(std::count(v.begin(), v.end(), 1.0), 0);
    EXPECT_GT(std::count(v.begin(), v.end(), -1.0), 0);
  }
}

TEST(NaqsSampler, IndependentOfBatchSplitting) {
  NaqsConv1d model = random_model(sampler_config(9, PhaseMode::complex), DType::f64, 110, 1.0);
  SamplerOptions options;
  options.seed = 11;
  options.stream = 3;
  options.batch_size = 64;
  Samples whole = draw(model, 0, 50, options);
  options.batch_size = 7;
  Samples head = draw(model, 0, 23, options);
  options.batch_size = 1;
  Samples tail = draw(model, 23, 27, options);
  std::vector<double> all = whole.sigma.to_vector<double>();
  std::vector<double> h = head.sigma.to_vector<double>(), t = tail.sigma.to_vector<double>();
  h.insert(h.end(), t.begin(), t.end());
  EXPECT_EQ(all, h);
  // A different stream gives different samples.
  options.stream = 4;
  options.batch_size = 64;
  Samples other = draw(model, 0, 50, options);
  EXPECT_NE(other.sigma.to_vector<double>(), all);
}

TEST(NaqsSampler, ConstrainedSamplesHaveZeroMagnetisation) {
  const int64_t n = 10;
  NaqsConv1d model = random_model(sampler_config(n, PhaseMode::complex), DType::f64, 120, 1.0);
  model.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
  SamplerOptions options;
  options.seed = 5;
  Samples cached = draw(model, 0, 200, options);
  std::vector<double> v = cached.sigma.to_vector<double>();
  for (int64_t b = 0; b < 200; ++b) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i) m += v[b * n + i];
    ASSERT_EQ(m, 0.0) << "sample " << b;
  }
  Tensor lr = cached.log_re.clone(), li = cached.log_im.clone();
  model.log_psi(cached.sigma, lr, li);
  EXPECT_TRUE(all_close(cached.log_re, lr, 1e-12, 1e-12));
  options.cached = false;
  Samples naive = draw(model, 0, 200, options);
  EXPECT_EQ(naive.sigma.to_vector<double>(), v);
}

TEST(NaqsSampler, Float32CachedEqualsNaive) {
  NaqsConv1d model = random_model(sampler_config(12, PhaseMode::complex), DType::f32, 130, 1.0);
  SamplerOptions options;
  options.seed = 9;
  Samples cached = draw(model, 0, 64, options);
  options.cached = false;
  Samples naive = draw(model, 0, 64, options);
  EXPECT_EQ(cached.sigma.to_vector<float>(), naive.sigma.to_vector<float>());
  // float32 logits, 12 sites: rounding ~12 * 1e-6.
  EXPECT_TRUE(all_close(cached.log_re, naive.log_re, 1e-4, 1e-5));
}
