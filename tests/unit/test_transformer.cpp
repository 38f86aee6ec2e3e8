// The byte-level transformer (ml/transformer/model.hpp): parameter-count and KV-cache-bytes
// formulas, cached decoding == full forward bit for bit (f32 and f64, MHA/GQA/MQA with and
// without CLA), the training forward against the inference forward, the whole backward against
// float64 central differences, option errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/transformer/model.hpp"
#include "tests/support/testing.hpp"
#include "tests/unit/test_ops_dense.hpp"

namespace naqs::testing {
namespace {

using ml::KvCache;
using ml::TrainState;
using ml::Transformer;
using ml::TransformerConfig;

TransformerConfig tiny(int64_t heads, int64_t kv_heads, int64_t kv_share, int64_t layers = 4) {
  TransformerConfig c;
  c.head_dim = 4;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.d_model = heads * c.head_dim;
  c.layers = layers;
  c.kv_share = kv_share;
  c.context = 16;
  c.ffn_hidden = 12;
  return c;
}

Tensor tokens_of(const std::vector<int32_t>& v, int64_t b, int64_t t) {
  return Tensor::from_vector(v, {b, t});
}

std::vector<int32_t> random_bytes(int64_t n, uint64_t seed) {
  std::vector<int32_t> v;
  uint64_t s = seed;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    v.push_back(static_cast<int32_t>((s >> 33) % 256));
  }
  return v;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  return ac.shape() == bc.shape() && std::memcmp(ac.raw_data(), bc.raw_data(), ac.nbytes()) == 0;
}

TEST(Transformer, ParameterCountFormula) {
  for (const TransformerConfig& c :
       {tiny(4, 4, 1), tiny(4, 2, 1), tiny(4, 1, 2), tiny(4, 1, 3, 5), tiny(2, 1, 4)}) {
    Transformer m(c, DType::f32, Device::cpu());
    EXPECT_EQ(m.params().size(), c.n_params()) << c.str();
  }
  // by hand: C = 16, F = 12, L = 4, Hq = 4, Hkv = 1, Dh = 4, s = 2 (2 owners)
  const TransformerConfig c = tiny(4, 1, 2);
  EXPECT_EQ(c.n_params(), 2 * 256 * 16 + 16 + 4 * (2 * 16 + 2 * 16 * 16 + 3 * 12 * 16) +
                              2 * 2 * 4 * 16);
  // another vocabulary and output width, learned positions, a conditioning vector: + (V + O - 2
  // 256) C + context C + C cond_dim; the LM's text (its fingerprints) only grows when they differ
  TransformerConfig e = tiny(4, 1, 2);
  e.vocab = 2;
  e.out = 4;
  e.learned_positions = true;
  e.cond_dim = 3;
  EXPECT_EQ(e.n_params(), c.n_params() + (2 + 4 - 2 * 256) * 16 + e.context * 16 + 16 * 3);
  EXPECT_EQ(Transformer(e, DType::f32, Device::cpu()).params().size(), e.n_params());
  EXPECT_EQ(c.str().find("out="), std::string::npos);
  EXPECT_NE(e.str().find(" out=4 positions=learned cond_dim=3"), std::string::npos) << e.str();
  // default hidden size: 8 C / 3 rounded up to 16
  TransformerConfig d;
  EXPECT_EQ(d.hidden(), 352);  // C = 128: 341.3 -> 352
}

TEST(Transformer, KvCacheBytesFormula) {
  for (int64_t s : {1, 2, 3, 4}) {
    const TransformerConfig c = tiny(4, 2, s);
    const int64_t owners = (4 + s - 1) / s;  // ceil(L / s)
    for (DType dt : {DType::f32, DType::f64}) {
      const int64_t size = dt == DType::f32 ? 4 : 8;
      KvCache cache(c, 3, 11, dt, Device::cpu());
      EXPECT_EQ(cache.bytes(), 2 * 2 * 4 * owners * 11 * 3 * size);
      EXPECT_EQ(c.kv_bytes_per_token(size), 2 * 2 * 4 * owners * size);
    }
  }
}

// infer() refuses a cache made for another model's K/V shape, dtype or device (it would index
// past the owners or read the wrong layout); the matching cache works.
TEST(Transformer, InferRefusesACacheOfAnotherModel) {
  const TransformerConfig c = tiny(4, 2, 2);
  Transformer m(c, DType::f32, Device::cpu());
  m.init(1);
  const Tensor tok = Tensor::from_vector(std::vector<int32_t>{7}, {1, 1});
  Tensor logits = Tensor::empty({1, 1, ml::kByteVocab}, DType::f32, Device::cpu());
  for (const TransformerConfig& other : {tiny(4, 2, 1), tiny(4, 1, 2)}) {
    KvCache wrong(other, 1, 4, DType::f32, Device::cpu());
    EXPECT_THROW(m.infer(tok, 0, wrong, logits), Error) << other.str();
  }
  KvCache wrong_dtype(c, 1, 4, DType::f64, Device::cpu());
  EXPECT_THROW(m.infer(tok, 0, wrong_dtype, logits), Error);
  KvCache right(c, 1, 4, DType::f32, Device::cpu());
  EXPECT_NO_THROW(m.infer(tok, 0, right, logits));
}

// Full forward (all positions at once, fresh cache) vs a prefill of 3 tokens then one token at
// a time: every position's logits bit for bit, and the cache contents.
TEST(Transformer, CachedDecodeEqualsFullForwardBitwise) {
  struct Variant {
    const char* name;
    int64_t heads, kv_heads, kv_share;
  };
  for (DType dt : {DType::f32, DType::f64})
    for (const Variant& var : {Variant{"MHA", 4, 4, 1}, Variant{"GQA2", 4, 2, 1},
                               Variant{"MQA", 4, 1, 1}, Variant{"MQA-CLA2", 4, 1, 2},
                               Variant{"GQA2-CLA3", 4, 2, 3}, Variant{"MHA-CLA4", 4, 4, 4},
                               Variant{"MQA8-CLA2", 8, 1, 2}}) {
      // C = 32, F = 64, V = 256: sizes at which OpenBLAS's products of 1 row and of 39 rows
      // differ in the last bits (measured with Debian 12's OpenBLAS 0.3.21: K >= 32 and
      // N >= 64), so this fails if the inference path used ops::gemm
      TransformerConfig c = tiny(var.heads, var.kv_heads, var.kv_share);
      c.head_dim = 8;
      c.d_model = 8 * var.heads;
      c.ffn_hidden = 64;
      Transformer m(c, dt, Device::cpu());
      m.init(7);
      const int64_t b = 3, t = 13;
      const Tensor tokens = tokens_of(random_bytes(b * t, 5), b, t);
      KvCache full_cache(c, b, t, dt, Device::cpu());
      Tensor full = Tensor::zeros({b, t, 256}, dt);
      m.infer(tokens, 0, full_cache, full);
      KvCache cache(c, b, c.context, dt, Device::cpu());
      Tensor pre = Tensor::zeros({b, 3, 256}, dt);
      m.infer(tokens.narrow(1, 0, 3).contiguous(), 0, cache, pre);
      ASSERT_TRUE(bitwise_equal(pre, full.narrow(1, 0, 3))) << var.name << " prefill";
      for (int64_t pos = 3; pos < t; ++pos) {
        Tensor step = Tensor::zeros({b, 1, 256}, dt);
        m.infer(tokens.narrow(1, pos, 1).contiguous(), pos, cache, step);
        ASSERT_TRUE(bitwise_equal(step, full.narrow(1, pos, 1)))
            << var.name << " " << dtype_name(dt) << " position " << pos;
      }
      // the cache holds exactly what the full forward's cache holds
      for (int64_t o = 0; o < c.kv_owners(); ++o)
        ASSERT_TRUE(bitwise_equal(cache.k(o).narrow(1, 0, t), full_cache.k(o))) << var.name;
    }
}

TEST(Transformer, TrainingForwardMatchesInference) {
  const TransformerConfig c = tiny(4, 1, 2);
  Transformer m(c, DType::f64, Device::cpu());
  m.init(3);
  const Tensor tokens = tokens_of(random_bytes(2 * 9, 8), 2, 9);
  TrainState st;
  m.forward_train(tokens, st);
  KvCache cache(c, 2, 9, DType::f64, Device::cpu());
  Tensor logits = Tensor::zeros({2, 9, 256}, DType::f64);
  m.infer(tokens, 0, cache, logits);
  EXPECT_TRUE(all_close(st.logits, logits, 1e-13, 1e-12));  // GEMM vs fixed-order rows
}

// L = cross entropy of the next-byte predictions; dL/dtheta from the backward against central
// differences for every parameter of every kind (every 5th element of the large tables).
TEST(Transformer, BackwardMatchesCentralDifferences) {
  for (int64_t share : {1, 2, 3}) {
    TransformerConfig c = tiny(4, 2, share, 3);
    c.ffn_hidden = 6;
    Transformer m(c, DType::f64, Device::cpu());
    m.init(11);
    // larger weights than the init so every path matters
    Tensor flat = m.params().flat();
    flat.copy_from(random_tensor(flat.shape(), DType::f64, 12, -0.5, 0.5));
    const int64_t b = 2, t = 6;
    const std::vector<int32_t> seq = random_bytes(b * (t + 1), 13);
    std::vector<int32_t> in, target;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < t; ++j) {
        in.push_back(seq[i * (t + 1) + j] % 7);
        target.push_back(seq[i * (t + 1) + j + 1] % 7);
      }
    const Tensor tokens = tokens_of(in, b, t), targets = Tensor::from_vector(target, {b * t});
    TrainState st;
    auto loss = [&](Tensor dlogits) {
      m.forward_train(tokens, st);
      return ml::cross_entropy(st.logits.reshape({b * t, 256}), targets, dlogits);
    };
    Tensor dlogits = Tensor::zeros({b * t, 256}, DType::f64);
    loss(dlogits);
    ParameterSet grads = m.params().like(DType::f64, Device::cpu());
    m.backward(st, dlogits.reshape({b, t, 256}), grads);
    const std::vector<double> g = grads.flat().to_vector<double>();
    double* p = flat.data<double>();
    int64_t checked = 0;
    for (const ParameterEntry& e : m.params().layout()) {
      const int64_t n = e.shape.numel();
      // wte / lm_head: the rows of the 7 ids used (others have zero gradient) and a few more
      const bool table = e.name == "wte" || e.name == "lm_head";
      for (int64_t i = 0; i < n; i += (table ? 1 : 1)) {
        if (table && i >= 8 * c.d_model) break;
        const int64_t at = e.offset + i;
        const double keep = p[at], h = 1e-5;
        p[at] = keep + h;
        const double lp = loss(Tensor());
        p[at] = keep - h;
        const double lm = loss(Tensor());
        p[at] = keep;
        const double fd = (lp - lm) / (2 * h);
        ASSERT_NEAR(g[at], fd, 1e-8 + 1e-6 * std::abs(fd))
            << e.name << "[" << i << "] kv_share " << share;
        ++checked;
      }
    }
    EXPECT_GT(checked, 1000);
  }
}

TEST(Transformer, BadOptionsGiveOneLineUsageErrors) {
  auto expect_usage = [](TransformerConfig c, const std::string& part) {
    try {
      c.validate();
      ADD_FAILURE() << "no error for " << part;
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  TransformerConfig c = tiny(4, 4, 1);
  c.kv_heads = 3;
  expect_usage(c, "--heads 4 is not a multiple of --kv-heads 3");
  c = tiny(4, 4, 1);
  c.kv_share = 0;
  expect_usage(c, "--kv-share 0 must be in [1, 4]");
  c.kv_share = 5;
  expect_usage(c, "--kv-share 5 must be in [1, 4]");
  c = tiny(4, 4, 1);
  c.d_model = 20;
  expect_usage(c, "--d-model 20 must equal --heads 4 x --head-dim 4 = 16");
  c = tiny(4, 4, 1);
  c.head_dim = 3;
  c.d_model = 12;
  expect_usage(c, "--head-dim 3 must be even");
  // context overflow and bytes outside the vocabulary
  Transformer m(tiny(4, 1, 2), DType::f32, Device::cpu());
  KvCache cache(m.config(), 1, 32, DType::f32, Device::cpu());
  Tensor logits = Tensor::zeros({1, 1, 256}, DType::f32);
  try {
    m.infer(tokens_of({1}, 1, 1), 16, cache, logits);
    ADD_FAILURE() << "no context error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the model's context 16"), std::string::npos)
        << e.what();
  }
  expect_error([&] { m.infer(tokens_of({300}, 1, 1), 0, cache, logits); },
               {"index 300", "outside [0, 256)"});
}

}  // namespace
}  // namespace naqs::testing
