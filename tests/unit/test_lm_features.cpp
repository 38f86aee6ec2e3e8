// Residual-stream features of the byte-level transformer (ml/transformer/features.hpp): the window
// draw (disjoint slots inside one held-out work each, reproducible by seed, every slot reachable,
// the N limit named in one line) and the layers (each layer i is the stream after block i: a model
// cut after block i, given the same final norm and head, infers the logits that the head computes
// from layer i; layer 0 is the embedding; the pooled rows are the position means of each window,
// whatever the batch).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/transformer/corpus.hpp"
#include "ml/transformer/features.hpp"
#include "ml/transformer/model.hpp"

namespace naqs::testing {
namespace {

using ml::Corpus;
using ml::LmWindows;
using ml::Transformer;
using ml::TransformerConfig;

// Three "works" of 50, 37 and 64 bytes (slots of 8: 6 + 4 + 8 = 18).
Corpus three_works() {
  Corpus c;
  c.name = "three works";
  c.val_file_bytes = {50, 37, 64};
  for (int i = 0; i < 151; ++i) c.val.push_back(static_cast<uint8_t>((i * 37 + 11) % 251));
  return c;
}

TEST(LmFeatures, WindowsAreDisjointSlotsInsideOneWorkAndReproducible) {
  const Corpus c = three_works();
  const std::vector<int64_t> slots = ml::window_slots(c, 8);
  ASSERT_EQ(slots.size(), 18u);
  const LmWindows w = ml::choose_windows(c, 10, 8, 42);
  ASSERT_EQ(w.n(), 10);
  EXPECT_TRUE(std::is_sorted(w.offsets.begin(), w.offsets.end()));
  const int64_t starts[] = {0, 50, 87, 151};
  for (int64_t i = 0; i < w.n(); ++i) {
    const int64_t off = w.offsets[static_cast<size_t>(i)];
    if (i > 0) EXPECT_GE(off, w.offsets[static_cast<size_t>(i - 1)] + 8);  // disjoint
    int work = 0;
    while (off >= starts[work + 1]) ++work;
    EXPECT_LE(off + 8, starts[work + 1]) << off;  // inside its work
    EXPECT_EQ((off - starts[work]) % 8, 0) << off;
    for (int64_t t = 0; t < 8; ++t)
      EXPECT_EQ(w.bytes[static_cast<size_t>(i * 8 + t)], c.val[static_cast<size_t>(off + t)]);
  }
  EXPECT_EQ(ml::choose_windows(c, 10, 8, 42).offsets, w.offsets);
  EXPECT_NE(ml::choose_windows(c, 10, 8, 43).offsets, w.offsets);
  // N = M takes every slot; a prefix of draws is reproducible for any N (the first N swaps)
  EXPECT_EQ(ml::choose_windows(c, 18, 8, 42).offsets, slots);
  // every slot is drawn by some seed (no slot is unreachable)
  std::set<int64_t> seen;
  for (uint64_t s = 0; s < 200; ++s)
    for (int64_t o : ml::choose_windows(c, 2, 8, s).offsets) seen.insert(o);
  EXPECT_EQ(seen.size(), 18u);
}

TEST(LmFeatures, TooManyWindowsIsOneLineNamingTheLimit) {
  const Corpus c = three_works();
  try {
    ml::choose_windows(c, 19, 8, 1);
    FAIL() << "19 windows of 8 bytes accepted";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--windows 19"), std::string::npos) << m;
    EXPECT_NE(m.find("holds 18 disjoint windows of 8 bytes"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_THROW(ml::choose_windows(c, 0, 8, 1), UsageError);
  EXPECT_THROW(ml::choose_windows(c, 1, 65, 1), UsageError);  // no work is that long
  EXPECT_THROW(ml::window_slots(c, 0), UsageError);
  // the synthetic source's validation text is one work
  const Corpus s = ml::load_corpus("synthetic:2", 256, 100);
  EXPECT_EQ(ml::window_slots(s, 16).size(), 6u);
}

TransformerConfig small(int64_t layers, int64_t kv_share) {
  TransformerConfig c;
  c.d_model = 16;
  c.heads = 4;
  c.kv_heads = 2;
  c.head_dim = 4;
  c.layers = layers;
  c.kv_share = kv_share;
  c.context = 12;
  c.ffn_hidden = 24;
  return c;
}

// logits (T, V) from a residual stream (T, C) through rmsnorm * norm_f and lm_head, in double
std::vector<double> head(const Transformer& m, const std::vector<double>& x, int64_t t) {
  const int64_t c = m.config().d_model;
  const std::vector<double> g = to_host_f64(m.params().get("norm_f"));
  const std::vector<double> w = to_host_f64(m.params().get("lm_head"));  // (256, C)
  std::vector<double> out;
  for (int64_t p = 0; p < t; ++p) {
    double ss = 0;
    for (int64_t j = 0; j < c; ++j) ss += x[p * c + j] * x[p * c + j];
    const double r = 1.0 / std::sqrt(ss / double(c) + m.config().norm_eps);
    for (int64_t v = 0; v < ml::kByteVocab; ++v) {
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += x[p * c + j] * r * g[j] * w[v * c + j];
      out.push_back(s);
    }
  }
  return out;
}

// Layer i is the stream after block i: the model cut after block i (same parameters for its
// blocks, the same final norm and head) infers exactly the logits the head computes from layer i.
TEST(LmFeatures, LayerIIsTheStreamAfterBlockI) {
  const int64_t layers = 3, t = 10;
  Transformer full(small(layers, 2), DType::f64, Device::cpu());
  full.init(7);
  std::vector<int32_t> tok;
  for (int i = 0; i < t; ++i) tok.push_back((i * 73 + 5) % 256);
  const Tensor tokens = Tensor::from_vector(tok, {1, t});
  const std::vector<Tensor> stream = ml::residual_stream(full, tokens);
  ASSERT_EQ(stream.size(), 4u);
  EXPECT_EQ(ml::residual_layer_names(full),
            (std::vector<std::string>{"embedding", "block1", "block2", "block3"}));
  // layer 0: the embedding rows
  const std::vector<double> wte = to_host_f64(full.params().get("wte"));
  const std::vector<double> e = to_host_f64(stream[0]);
  for (int64_t p = 0; p < t; ++p)
    for (int64_t j = 0; j < 16; ++j) EXPECT_EQ(e[p * 16 + j], wte[tok[p] * 16 + j]);
  for (int64_t i = 1; i <= layers; ++i) {
    Transformer cut(small(i, std::min<int64_t>(2, i)), DType::f64, Device::cpu());
    for (const auto& entry : cut.params().layout())
      cut.params().get(entry.name).copy_from(full.params().get(entry.name));
    ml::KvCache cache(cut.config(), 1, t, DType::f64, Device::cpu());
    Tensor logits = Tensor::empty({1, t, ml::kByteVocab}, DType::f64, Device::cpu());
    cut.infer(tokens, 0, cache, logits);
    const std::vector<double> want = to_host_f64(logits);
    const std::vector<double> got = head(full, to_host_f64(stream[static_cast<size_t>(i)]), t);
    ASSERT_EQ(got.size(), want.size());
    // float64, two summation orders (OpenBLAS training GEMMs vs the fixed-order inference rows)
    for (size_t k = 0; k < got.size(); ++k)
      ASSERT_NEAR(got[k], want[k], 1e-12 + 1e-10 * std::abs(want[k])) << "layer " << i << " " << k;
  }
}

TEST(LmFeatures, PooledRowsAreThePositionMeansWhateverTheBatch) {
  Transformer m(small(2, 1), DType::f64, Device::cpu());
  m.init(3);
  const Corpus c = three_works();
  const LmWindows w = ml::choose_windows(c, 7, 8, 9);
  const auto one = ml::mean_pooled_features(m, w, 1);
  const auto three = ml::mean_pooled_features(m, w, 3);
  ASSERT_EQ(one.size(), 3u);
  for (size_t l = 0; l < 3; ++l) {
    ASSERT_EQ(one[l].size(), 7u * 16u);
    for (size_t k = 0; k < one[l].size(); ++k)
      EXPECT_NEAR(one[l][k], three[l][k], 1e-6 * (1 + std::abs(one[l][k])));
  }
  for (int64_t i = 0; i < 7; ++i) {
    std::vector<int32_t> tok(w.bytes.begin() + i * 8, w.bytes.begin() + (i + 1) * 8);
    const auto stream = ml::residual_stream(m, Tensor::from_vector(tok, {1, 8}));
    for (size_t l = 0; l < 3; ++l) {
      const std::vector<double> v = to_host_f64(stream[l]);
      for (int64_t j = 0; j < 16; ++j) {
        double s = 0;
        for (int64_t p = 0; p < 8; ++p) s += v[p * 16 + j];
        EXPECT_EQ(one[l][static_cast<size_t>(i * 16 + j)], static_cast<float>(s / 8.0));
      }
    }
  }
  // windows longer than the model's context (12)
  const LmWindows long_w = ml::choose_windows(c, 2, 16, 1);
  EXPECT_THROW(ml::mean_pooled_features(m, long_w, 1), UsageError);
}

}  // namespace
}  // namespace naqs::testing
