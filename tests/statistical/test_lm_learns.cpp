// A tiny byte-level transformer learns the synthetic order-2 Markov source
// (ml/transformer/corpus.hpp) to within a stated margin of its exact entropy rate, as MHA and as
// MQA with CLA2 (ml/transformer/model.hpp). Fixed seeds; under a minute in all on 2 cores.
//
// Margin: the validation cross entropy (bits per byte) must be below H + 0.1. Why 0.1: the
// source's rate is H = 1.211 bits for seed 1, while a model that ignored the second context
// byte (the best order-1 model) has 2.424 bits and the best order-0 one 2.904 (measured over
// 2^20 bytes; tests/unit/test_lm_train.cpp checks the order-1 gap exceeds 1 bit), so 0.1
// requires having learned the order-2 dependence; the validation estimate has a standard error
// of ~0.013 bits over its 256 windows of 64 bytes; with these settings MHA ends 0.019 and
// MQA-CLA2 0.028 above H (44 s for both on 2 busy cores).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "ml/transformer/train.hpp"

namespace naqs::testing {
namespace {

ml::LmConfig tiny_markov_run(int64_t heads, int64_t kv_heads, int64_t kv_share) {
  ml::LmConfig c;
  c.model.d_model = 32;
  c.model.layers = 2;
  c.model.heads = heads;
  c.model.kv_heads = kv_heads;
  c.model.head_dim = 32 / heads;
  c.model.kv_share = kv_share;
  c.model.context = 64;
  c.corpus = "synthetic:1";
  c.synthetic_train_bytes = 1 << 18;
  c.synthetic_val_bytes = 1 << 14;
  c.batch = 16;
  c.steps = 800;
  c.lr = 1e-2;
  c.warmup = 20;
  c.weight_decay = 0.0;
  c.eval_windows = 256;
  c.sample_tokens = 0;
  c.quiet = true;
  return c;
}

constexpr double kMarginBits = 0.1;

TEST(LmLearns, MhaAndMqaCla2ReachTheEntropyRateOfAMarkovSource) {
  struct Variant {
    const char* name;
    int64_t heads, kv_heads, kv_share;
  };
  for (const Variant& v : {Variant{"MHA", 4, 4, 1}, Variant{"MQA-CLA2", 4, 1, 2}}) {
    const ml::LmResult r = ml::run_lm_train(tiny_markov_run(v.heads, v.kv_heads, v.kv_share));
    std::printf("%s: validation %.4f ± %.4f bits/byte, entropy rate %.4f (%.0f tokens/s, %.1f s)\n",
                v.name, r.eval.bpc, r.eval.bpc_err, r.entropy_rate_bits, r.tokens_per_s,
                r.seconds);
    EXPECT_LT(r.eval.bpc, r.entropy_rate_bits + kMarginBits) << v.name;
    EXPECT_GT(r.eval.bpc, r.entropy_rate_bits - 5 * r.eval.bpc_err - 0.02) << v.name;
  }
}

}  // namespace
}  // namespace naqs::testing
