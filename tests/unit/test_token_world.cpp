// The Δ-IRIS world model (ml/world_model/token_world.hpp): the block layout and targets by hand,
// every parameter's gradient against float64 central differences on a tiny net, imagination with
// the KV cache equal to imagination without it bit for bit, errors.
#include <gtest/gtest.h>

#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/world_model/gridworld.hpp"
#include "ml/world_model/token_world.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ml;
using namespace naqs::ml::world_model;

namespace {

GridworldConfig tiny_world() {
  GridworldConfig g;
  g.episodes = 3;
  g.test_episodes = 1;
  g.steps = 4;
  g.size = 8;
  g.cell = 2;
  g.spawn_prob = 0.5;  // rewards too
  g.seed = 2;
  return g;
}

TokenWorldConfig tiny_model() {
  TokenWorldConfig c;
  c.net.d_model = 8;
  c.net.layers = 2;
  c.net.heads = 2;
  c.net.kv_heads = 1;
  c.net.head_dim = 4;
  c.net.context = 24;
  c.tokens = 4;
  c.codes = 5;
  c.actions = kGridActions;
  c.frame = 8;
  return c;
}

// Tokens (E, T, n) that differ per position: (e T + t) n + j mod K.
std::vector<int32_t> fake_tokens(const diffusion::WorldData& w, const TokenWorldConfig& c) {
  std::vector<int32_t> z(size_t(w.episodes * w.steps * c.tokens));
  for (size_t i = 0; i < z.size(); ++i) z[i] = int32_t(i % size_t(c.codes));
  return z;
}

}  // namespace

TEST(TokenWorld, BlocksAndTargetsByHand) {
  const diffusion::WorldData w = gridworld(tiny_world());
  const TokenWorldConfig c = tiny_model();
  TokenWorldModel m(c, DType::f64, Device::cpu());
  const std::vector<int32_t> z = fake_tokens(w, c);
  const WorldBatch b = m.make_batch(w, z, {{1, 1}}, 2);
  ASSERT_EQ(b.ids.shape(), (Shape{1, 12}));
  const std::vector<int32_t> ids = b.ids.to_vector<int32_t>(), tg = b.targets.to_vector<int32_t>();
  ASSERT_EQ(tg.size(), 10u);
  const int32_t K = 5, frame_id = 5 + 6 + 5;
  for (int t = 0; t < 2; ++t) {
    const int64_t step = 1 + t, at = (1 * 4 + step) * 4;
    EXPECT_EQ(ids[t * 6 + 0], frame_id);
    EXPECT_EQ(ids[t * 6 + 1], K + 6 + w.action(1, step));
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(ids[t * 6 + 2 + j], z[at + j]);
      EXPECT_EQ(tg[t * 5 + j], z[at + j]);
    }
    EXPECT_EQ(tg[t * 5 + 4], K + outcome_of(w.rewards[4 + step], w.terminals[4 + step]));
  }
  const std::vector<double> f = to_host_f64(b.frames);
  EXPECT_DOUBLE_EQ(f[64 + 9], w.frame(1, 2)[9] * 2.0 / 255.0 - 1.0);
  EXPECT_EQ(outcome_of(-1.0f, 0), 0);
  EXPECT_EQ(outcome_of(0.0f, 0), 1);
  EXPECT_EQ(outcome_of(0.5f, 1), 5);
}

TEST(TokenWorld, GradientsMatchCentralDifferences) {
  const diffusion::WorldData w = gridworld(tiny_world());
  const TokenWorldConfig c = tiny_model();
  TokenWorldModel m(c, DType::f64, Device::cpu());
  m.init(5);
  const WorldBatch b = m.make_batch(w, fake_tokens(w, c), {{0, 0}, {2, 2}}, 2);
  ParameterSet gn = m.net().params().like(DType::f64, Device::cpu());
  ParameterSet gf = m.frame_params().like(DType::f64, Device::cpu());
  m.loss(b, &gn, &gf);
  const auto loss = [&] { return m.loss(b, nullptr, nullptr); };
  const auto check = [&](ParameterSet& p, ParameterSet& g) {
    for (const ParameterEntry& e : p.layout()) {
      Tensor x = p.get(e.name);
      const std::vector<double> fd = to_host_f64(naqs::testing::finite_difference(x, loss, 1e-5));
      const std::vector<double> an = to_host_f64(g.get(e.name));
      for (size_t i = 0; i < fd.size(); ++i)
        EXPECT_LE(std::abs(an[i] - fd[i]), 1e-8 + 1e-6 * std::abs(fd[i]))
            << e.name << " [" << i << "]: " << an[i] << " vs " << fd[i];
    }
  };
  check(m.net().params(), gn);
  check(m.frame_params(), gf);
}

// Imagination with the KV cache equals imagination that reruns the whole sequence, bit for bit,
// in f32 and f64, sampled (temperature 1) so every logit matters.
TEST(TokenWorld, RolloutWithCacheEqualsWithoutBitwise) {
  const diffusion::WorldData w = gridworld(tiny_world());
  for (DType dt : {DType::f32, DType::f64}) {
    const TokenWorldConfig c = tiny_model();
    TokenWorldModel m(c, dt, Device::cpu());
    m.init(7);
    TokenizerConfig tc;
    tc.frame = 8;
    tc.actions = kGridActions;
    tc.channels = {4, 4};
    tc.grid = 2;
    tc.token_dim = 3;
    ConvTokenizer tok(tc, dt, Device::cpu());
    tok.init(8);
    CodebookConfig cc;
    cc.codes = 5;
    cc.dim = 3;
    Codebook cb(cc, dt, Device::cpu(), 9);
    std::vector<uint8_t> first(w.frame(0, 0), w.frame(0, 0) + 64);
    first.insert(first.end(), w.frame(1, 0), w.frame(1, 0) + 64);
    const std::vector<int32_t> actions{1, 4, 0, 2, 3, 3, 1, 0};  // (2, 4)
    const auto with = m.imagine(tok, cb, first, actions, 4, true, 1.0, 11);
    const auto without = m.imagine(tok, cb, first, actions, 4, false, 1.0, 11);
    EXPECT_EQ(with.tokens, without.tokens);
    EXPECT_EQ(with.outcomes, without.outcomes);
    EXPECT_EQ(with.frames, without.frames);
    EXPECT_EQ(with.logp, without.logp);  // every logit that was drawn from, bit for bit
    ASSERT_EQ(with.tokens.size(), 2u * 4 * 4);
    ASSERT_EQ(with.frames.size(), 2u * 4 * 64);
    int distinct = 0;  // draws that vary: the comparison is not between constants
    for (size_t i = 1; i < with.tokens.size(); ++i) distinct += with.tokens[i] != with.tokens[0];
    EXPECT_GT(distinct, 0);
    // another seed draws other tokens
    EXPECT_NE(m.imagine(tok, cb, first, actions, 4, true, 1.0, 12).tokens, with.tokens);
  }
}

// Training on tokenised episodes (the tokens of an untrained tokenizer: a function of the
// transition) lowers the loss, and the same seeds give the same parameters.
TEST(TokenWorld, TrainingLowersTheLossDeterministically) {
  const diffusion::WorldData w = gridworld(tiny_world());
  TokenizerConfig tc;
  tc.frame = 8;
  tc.actions = kGridActions;
  tc.channels = {4, 4};
  tc.token_dim = 3;
  ConvTokenizer tok(tc, DType::f64, Device::cpu());
  tok.init(8);
  CodebookConfig cc;
  cc.codes = 5;
  cc.dim = 3;
  Codebook cb(cc, DType::f64, Device::cpu(), 9);
  const std::vector<int32_t> z = tokenize_episodes(tok, cb, w, 5);
  ASSERT_EQ(z.size(), size_t(3 * 4 * 4));
  std::vector<std::vector<double>> params;
  for (int run = 0; run < 2; ++run) {
    TokenWorldModel m(tiny_model(), DType::f64, Device::cpu());
    m.init(5);
    TokenWorldTrainer trainer(m, 1e-2, 0.0, 4);
    const double first = trainer.step(w, z, 4, 3);
    double last = first;
    for (int s = 1; s < 40; ++s) last = trainer.step(w, z, 4, 3);
    EXPECT_LT(last, 0.7 * first) << "first " << first << ", last " << last;
    params.push_back(to_host_f64(m.net().params().flat()));
  }
  EXPECT_EQ(params[0], params[1]);
}

TEST(TokenWorld, BadSettingsAndInputs) {
  const diffusion::WorldData w = gridworld(tiny_world());
  TokenWorldConfig c = tiny_model();
  c.net.context = 5;  // less than one block of 6
  EXPECT_THROW(TokenWorldModel(c, DType::f64, Device::cpu()), UsageError);
  c = tiny_model();
  TokenWorldModel m(c, DType::f64, Device::cpu());
  const std::vector<int32_t> z = fake_tokens(w, c);
  EXPECT_THROW(m.make_batch(w, z, {{0, 0}}, 5), UsageError);  // 30 positions > 24
  EXPECT_THROW(m.make_batch(w, std::vector<int32_t>(3), {{0, 0}}, 2), UsageError);
  TokenizerConfig tc;
  tc.frame = 8;
  tc.actions = kGridActions;
  tc.channels = {4};
  tc.token_dim = 3;
  ConvTokenizer tok(tc, DType::f64, Device::cpu());
  CodebookConfig cc;
  cc.codes = 5;
  cc.dim = 3;
  Codebook cb(cc, DType::f64, Device::cpu(), 1);
  const std::vector<uint8_t> first(64, 0);
  EXPECT_THROW(m.imagine(tok, cb, first, {0, 0, 0, 0, 0}, 5, true, 0, 1), UsageError);
  EXPECT_THROW(m.imagine(tok, cb, first, {0, 7}, 2, true, 0, 1), UsageError);
  EXPECT_THROW(m.imagine(tok, cb, first, {0, 1}, 2, true, -1, 1), UsageError);
  tc.grid = 1;  // one token per frame, the world model expects 4
  ConvTokenizer one(tc, DType::f64, Device::cpu());
  EXPECT_THROW(m.imagine(one, cb, first, {0, 1}, 2, true, 0, 1), UsageError);
}
