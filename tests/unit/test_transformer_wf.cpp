// The transformer wavefunction (physics/models/transformer_wavefunction.*): exact normalisation by
// enumeration, causality, gradients vs float64 central differences (summed and per sample),
// cached logits and cached sampling equal to the full forward and the naive sampler bit for bit,
// and the KV-cache size for every MHA/GQA/MQA/CLA setting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "physics/models/transformer_wavefunction.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/support/testing.hpp"
#include "tests/support/wavefunction_checks.hpp"

namespace naqs::testing {
namespace {

TransformerWavefunctionConfig small(int64_t n, PhaseMode mode) {
  TransformerWavefunctionConfig c;
  c.n_sites = n;
  c.width = 8;
  c.depth = 2;
  c.heads = 2;
  c.kv_heads = 1;
  c.phase_mode = mode;
  return c;
}

// Every parameter random in [-scale, scale) (the initialisation's N(0, 0.02) would leave the
// conditionals near uniform, so a wrong mask or head could hide).
TransformerWavefunction random_model(const TransformerWavefunctionConfig& c, DType dtype,
                                     uint64_t seed, double scale = 0.5) {
  TransformerWavefunction psi(c, dtype, Device::cpu(), seed);
  randomise_parameters(psi.params(), seed, scale);
  return psi;
}

}  // namespace

TEST(TransformerWf, NormalisedByEnumeration) {
  // 2^10 terms of ~2^-10 in double: rounding ~1e-16 x 10 << 1e-12.
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
    TransformerWavefunction psi = random_model(small(10, mode), DType::f64, 1);
    EXPECT_NEAR(total_probability(psi), 1.0, 1e-12) << phase_mode_name(mode);
    psi.set_hilbert(SpinHilbert::with_magnetisation(10, 0));
    EXPECT_NEAR(total_probability(psi, DType::f64, /*only_sz0=*/true), 1.0, 1e-12)
        << phase_mode_name(mode) << " Sz = 0";
  }
  // CLA (two layers share one KV owner), MHA, one site.
  TransformerWavefunctionConfig c = small(6, PhaseMode::complex);
  c.kv_heads = 2;
  c.kv_share = 2;
  TransformerWavefunction cla = random_model(c, DType::f64, 2);
  EXPECT_NEAR(total_probability(cla), 1.0, 1e-12);
  TransformerWavefunction one = random_model(small(1, PhaseMode::real_positive), DType::f64, 3);
  EXPECT_NEAR(total_probability(one), 1.0, 1e-12);
}

TEST(TransformerWf, ConditionalsAreCausal) {
  const int64_t n = 9, batch = 3;
  TransformerWavefunction psi = random_model(small(n, PhaseMode::complex), DType::f64, 4);
  Tensor sigma = random_spins(batch, n, 5);
  Tensor lp0 = Tensor::empty({batch, 2, n}, DType::f64), ph0 = lp0.clone();
  psi.conditionals(sigma, lp0, ph0);
  for (int64_t j = 0; j < n; ++j) {
    Tensor flipped = sigma.clone();
    for (int64_t b = 0; b < batch; ++b) flipped.data<double>()[b * n + j] *= -1;
    Tensor lp = lp0.clone(), ph = ph0.clone();
    psi.conditionals(flipped, lp, ph);
    bool later_changed = false;
    for (int64_t k = 0; k < batch * 2 * n; ++k) {
      const int64_t i = k % n;
      const bool same = lp0.data<double>()[k] == lp.data<double>()[k] &&
                        ph0.data<double>()[k] == ph.data<double>()[k];
      if (i <= j)
        ASSERT_TRUE(same) << "site " << i << " changed by flipping site " << j;
      else if (!same)
        later_changed = true;
    }
    if (j + 1 < n) EXPECT_TRUE(later_changed) << "flipping site " << j << " changed nothing later";
  }
}

TEST(TransformerWf, GradientsMatchFiniteDifferences) {
  int id = 0;
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
    for (bool constrained : {false, true}) {
      SCOPED_TRACE(::testing::Message() << phase_mode_name(mode) << " constrained " << constrained);
      const int64_t n = 6;
      TransformerWavefunctionConfig c = small(n, mode);
      c.kv_share = 2;  // the CLA backward (dk, dv of both layers into the owner)
      TransformerWavefunction psi = random_model(c, DType::f64, 10 + id);
      Tensor sigma = random_spins(4, n, 20 + id);
      if (constrained) {
        psi.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
        double* s = sigma.data<double>();
        for (int64_t b = 0; b < 4; ++b)
          for (int64_t i = 0; i < n; ++i) s[b * n + i] = ((i + b) % n) < n / 2 ? 1.0 : -1.0;
      }
      check_log_psi_gradients(psi, psi.params().flat(), sigma, 30 + id,
                              mode == PhaseMode::complex);
      ++id;
    }
}

namespace {

// The cached steps' logits (B, 2, N) for sigma, site by site.
void cached_logits(TransformerWavefunction& psi, const Tensor& sigma, Tensor& re, Tensor& im) {
  const int64_t b = sigma.size(0), n = psi.n_sites();
  psi.cache_begin(b);
  Tensor re_t = Tensor::empty({b, 2}, psi.dtype()), im_t = re_t.clone();
  for (int64_t t = 0; t < n; ++t) {
    psi.cache_logits(t, re_t, im_t);
    re.select(2, t).copy_from(re_t);
    im.select(2, t).copy_from(im_t);
    psi.cache_set_site(t, sigma.select(1, t).contiguous());
  }
}

template <class T>
void expect_bitwise(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.to_vector<T>(), b.to_vector<T>());
}

}  // namespace

TEST(TransformerWf, CachedLogitsEqualFullForwardBitwise) {
  for (DType dt : {DType::f64, DType::f32})
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << phase_mode_name(mode));
      TransformerWavefunctionConfig c = small(11, mode);
      c.depth = 3;
      c.kv_share = 2;
      TransformerWavefunction psi = random_model(c, dt, 40);
      Tensor sigma = random_spins(5, 11, 41, dt);
      Tensor re = Tensor::empty({5, 2, 11}, dt), im = re.clone();
      psi.logits_no_backward(sigma, re, im);
      Tensor re_c = re.clone(), im_c = im.clone();
      cached_logits(psi, sigma, re_c, im_c);
      if (dt == DType::f64) {
        expect_bitwise<double>(re_c, re);
        expect_bitwise<double>(im_c, im);
      } else {
        expect_bitwise<float>(re_c, re);
        expect_bitwise<float>(im_c, im);
      }
    }
}

TEST(TransformerWf, CachedSamplingEqualsNaiveBitwise) {
  for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
    for (bool constrained : {false, true}) {
      SCOPED_TRACE(::testing::Message() << phase_mode_name(mode) << " constrained " << constrained);
      const int64_t n = 10, count = 40;
      TransformerWavefunction psi = random_model(small(n, mode), DType::f32, 50, 1.0);
      if (constrained) psi.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
      SamplerOptions options;
      options.seed = 7;
      options.batch_size = 16;
      auto draw = [&](bool cached) {
        options.cached = cached;
        std::vector<Tensor> out = {Tensor::empty({count, n}, DType::f32),
                                   Tensor::empty({count}, DType::f32),
                                   Tensor::empty({count}, DType::f32)};
        sample_autoregressive(psi, 0, options, out[0], out[1], out[2]);
        return out;
      };
      const std::vector<Tensor> cached = draw(true), naive = draw(false);
      for (int k = 0; k < 3; ++k) expect_bitwise<float>(cached[k], naive[k]);
      const std::vector<float> s = cached[0].to_vector<float>();
      EXPECT_GT(std::count(s.begin(), s.end(), 1.0f), 0);  // not stuck on one value
      EXPECT_GT(std::count(s.begin(), s.end(), -1.0f), 0);
      if (constrained)
        for (int64_t b = 0; b < count; ++b)
          EXPECT_EQ(std::accumulate(s.begin() + b * n, s.begin() + (b + 1) * n, 0.0f), 0.0f);
    }
}

TEST(TransformerWf, ConditionedOnAScalar) {
  // The field enters every position: normalised at every value, gradients (wcond included) vs
  // central differences, cached == full forward bitwise, and another value moves every site.
  TransformerWavefunctionConfig c = small(6, PhaseMode::complex);
  c.conditioned = true;
  TransformerWavefunction psi = random_model(c, DType::f64, 60);
  Tensor sigma = random_spins(4, 6, 61);
  Tensor lp_a = Tensor::empty({4, 2, 6}, DType::f64), ph = lp_a.clone(), lp_b = lp_a.clone();
  for (double h : {0.5, 2.0}) {
    psi.set_condition(h);
    EXPECT_NEAR(total_probability(psi), 1.0, 1e-12) << "h = " << h;
    check_log_psi_gradients(psi, psi.params().flat(), sigma, 62, true);
    Tensor re = Tensor::empty({4, 2, 6}, DType::f64), im = re.clone();
    psi.logits_no_backward(sigma, re, im);
    Tensor re_c = re.clone(), im_c = im.clone();
    cached_logits(psi, sigma, re_c, im_c);
    expect_bitwise<double>(re_c, re);
    expect_bitwise<double>(im_c, im);
    psi.conditionals(sigma, h == 0.5 ? lp_a : lp_b, ph);
  }
  const std::vector<double> a = lp_a.to_vector<double>(), b = lp_b.to_vector<double>();
  for (int64_t i = 0; i < 6; ++i) EXPECT_NE(a[i], b[i]) << "site " << i << " ignores the field";
  TransformerWavefunction plain = random_model(small(6, PhaseMode::complex), DType::f64, 63);
  EXPECT_THROW(plain.set_condition(1.0), UsageError);
}

TEST(TransformerWf, HiddenLayersAreTheResidualStream) {
  TransformerWavefunctionConfig c = small(5, PhaseMode::real_positive);
  c.depth = 3;
  TransformerWavefunction psi = random_model(c, DType::f64, 70);
  Tensor re = Tensor::empty({2, 2, 5}, DType::f64), im = re.clone();
  psi.logits(random_spins(2, 5, 71), re, im);
  const auto layers = psi.hidden_layers();
  ASSERT_EQ(layers.size(), 4u);  // embed, layer1..3
  EXPECT_EQ(layers[0].first, "embed");
  EXPECT_EQ(layers[3].first, "layer3");
  for (const auto& [name, t] : layers) EXPECT_EQ(t.shape(), (Shape{2, 8, 5})) << name;
  // embed at site 0 is the start token's embedding plus position 0's, the same in every row
  const std::vector<double> e = layers[0].second.to_vector<double>();
  for (int64_t ch = 0; ch < 8; ++ch) EXPECT_EQ(e[ch * 5], e[40 + ch * 5]);
}

TEST(TransformerWf, KvBytesPerSample) {
  // N * 2 Hkv Dh ceil(L / s) * sizeof(dtype), against the cache the sampler allocates.
  struct Case {
    int64_t heads, kv_heads, depth, kv_share;
  };
  for (const Case& k : {Case{4, 4, 4, 1}, Case{4, 2, 4, 1}, Case{4, 1, 4, 1}, Case{4, 4, 4, 2},
                        Case{4, 1, 3, 2}, Case{4, 2, 5, 5}}) {
    TransformerWavefunctionConfig c = small(12, PhaseMode::real_positive);
    c.width = 16;
    c.heads = k.heads;
    c.kv_heads = k.kv_heads;
    c.depth = k.depth;
    c.kv_share = k.kv_share;
    for (DType dt : {DType::f32, DType::f64}) {
      TransformerWavefunction psi(c, dt, Device::cpu(), 1);
      const int64_t owners = (k.depth + k.kv_share - 1) / k.kv_share;
      const int64_t expect = 12 * 2 * k.kv_heads * (16 / k.heads) * owners *
                             static_cast<int64_t>(dtype_size(dt));
      EXPECT_EQ(psi.kv_bytes_per_sample(), expect);
      EXPECT_EQ(ml::KvCache(psi.config().transformer(), 3, 12, dt, Device::cpu()).bytes(),
                3 * expect);
    }
  }
}

TEST(TransformerWf, RejectsBadConfiguration) {
  TransformerWavefunctionConfig c = small(8, PhaseMode::real_positive);
  c.heads = 3;  // width 8 is not a multiple
  EXPECT_THROW(TransformerWavefunction(c, DType::f64, Device::cpu(), 1), UsageError);
  c = small(8, PhaseMode::real_positive);
  c.kv_heads = 3;  // heads 2 not a multiple
  EXPECT_THROW(TransformerWavefunction(c, DType::f64, Device::cpu(), 1), UsageError);
  c = small(8, PhaseMode::real_positive);
  c.kv_share = 3;  // more than depth 2
  EXPECT_THROW(TransformerWavefunction(c, DType::f64, Device::cpu(), 1), UsageError);
  c = small(0, PhaseMode::real_positive);
  EXPECT_THROW(TransformerWavefunction(c, DType::f64, Device::cpu(), 1), UsageError);
}

}  // namespace naqs::testing
