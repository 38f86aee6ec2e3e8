// Training of the Δ-IRIS tokenizer (ml/world_model/tokenizer_train.hpp): transitions from
// episodes by hand, the entropy per frame by hand, training lowers the reconstruction error
// and is deterministic (also across thread counts in f32), bad settings.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/world_model/gridworld.hpp"
#include "ml/world_model/tokenizer_train.hpp"

using namespace naqs;
using namespace naqs::ml;
using namespace naqs::ml::world_model;

namespace {

GridworldConfig small_world() {
  GridworldConfig g;
  g.episodes = 6;
  g.test_episodes = 2;
  g.steps = 8;
  g.size = 8;
  g.cell = 2;
  g.seed = 4;
  return g;
}

TokenizerConfig small_net() {
  TokenizerConfig c;
  c.frame = 8;
  c.actions = kGridActions;
  c.channels = {4, 4};
  c.grid = 2;
  c.token_dim = 4;
  return c;
}

CodebookConfig small_codebook() {
  CodebookConfig c;
  c.codes = 8;
  c.dim = 4;
  c.decay = 0.9;
  c.revive_after = 5;
  return c;
}

// Trains `steps` steps; returns the first and the last batch's step results.
std::pair<TokenizerStep, TokenizerStep> train(int64_t steps, std::vector<double>* params) {
  const diffusion::WorldData w = gridworld(small_world());
  ConvTokenizer net(small_net(), DType::f64, Device::cpu());
  net.init(1);
  Codebook cb(small_codebook(), DType::f64, Device::cpu(), 2);
  TokenizerTrainer trainer(net, cb, 1e-2, 0.0, 3);
  TokenizerStep first = trainer.step(w, 8), last = first;
  for (int64_t s = 1; s < steps; ++s) last = trainer.step(w, 8);
  if (params) *params = to_host_f64(net.params().flat());
  return {first, last};
}

}  // namespace

TEST(TokenizerTrain, TransitionsByHand) {
  const diffusion::WorldData w = gridworld(small_world());
  const Transitions t = make_transitions(w, {{1, 3}, {4, 7}}, DType::f64, Device::cpu());
  ASSERT_EQ(t.x_t.shape(), (Shape{2, 1, 8, 8}));
  EXPECT_EQ(t.actions, (std::vector<int32_t>{w.action(1, 3), w.action(4, 7)}));
  const std::vector<double> x = to_host_f64(t.x_t), y = to_host_f64(t.x_next);
  for (int i = 0; i < 64; ++i) {
    EXPECT_DOUBLE_EQ(x[i], w.frame(1, 3)[i] * 2.0 / 255.0 - 1.0);
    EXPECT_DOUBLE_EQ(y[64 + i], w.frame(4, 8)[i] * 2.0 / 255.0 - 1.0);
  }
  EXPECT_THROW(make_transitions(w, {{1, 8}}, DType::f64, Device::cpu()), Error);
}

TEST(TokenizerTrain, EntropyPerFrameByHand) {
  EXPECT_DOUBLE_EQ(token_entropy_bits({3, 3, 3}, 1), 0.0);
  EXPECT_DOUBLE_EQ(token_entropy_bits({0, 1, 2, 3}, 1), 2.0);
  // p = (1/2, 1/4, 1/4): 1/2 + 2 * 1/4 * 2 = 1.5 bits.
  EXPECT_DOUBLE_EQ(token_entropy_bits({5, 5, 1, 2}, 1), 1.5);
  // Frames of 2 tokens: (0,1) (1,0) (0,1) (0,1): tuples, not tokens: p = (3/4, 1/4).
  EXPECT_DOUBLE_EQ(token_entropy_bits({0, 1, 1, 0, 0, 1, 0, 1}, 2),
                   -(0.75 * std::log2(0.75) + 0.25 * std::log2(0.25)));
  EXPECT_THROW(token_entropy_bits({0, 1, 2}, 2), Error);
}

TEST(TokenizerTrain, TrainingLowersTheReconstructionErrorDeterministically) {
  std::vector<double> p1, p2;
  const auto [first, last] = train(60, &p1);
  // measured: 0.110 -> 0.032
  EXPECT_LT(last.mse, 0.5 * first.mse) << "mse first " << first.mse << ", last " << last.mse;
  EXPECT_GT(first.commitment, 0.0);
  train(60, &p2);
  EXPECT_EQ(p1, p2) << "same seeds, same parameters";
}

TEST(TokenizerTrain, BadSettings) {
  const diffusion::WorldData w = gridworld(small_world());
  ConvTokenizer net(small_net(), DType::f64, Device::cpu());
  CodebookConfig cc = small_codebook();
  cc.dim = 5;
  Codebook cb(cc, DType::f64, Device::cpu(), 2);
  EXPECT_THROW(TokenizerTrainer(net, cb, 1e-2, 0.0, 3), UsageError);
  Codebook ok(small_codebook(), DType::f64, Device::cpu(), 2);
  TokenizerTrainer trainer(net, ok, 1e-2, 0.0, 3);
  EXPECT_THROW(trainer.step(w, 0), UsageError);
}

// Same seed, same result in f32 whatever the thread count: a network and batch large enough
// that the convolutions and products take their threaded paths (kMinParallelMacs), trained with
// 1 and 2 threads, must end with the same parameters bit for bit.
TEST(TokenizerTrain, SameSeedSameParametersForAnyThreadCount) {
  GridworldConfig g = small_world();
  g.size = 24;
  g.cell = 4;
  const diffusion::WorldData w = gridworld(g);
  TokenizerConfig c = small_net();
  c.frame = 24;
  c.channels = {16, 32};
  c.token_dim = 8;
  CodebookConfig cc = small_codebook();
  cc.dim = 8;
  const int saved = omp_get_max_threads();
  std::vector<std::vector<double>> params;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    ConvTokenizer net(c, DType::f32, Device::cpu());
    net.init(1);
    Codebook cb(cc, DType::f32, Device::cpu(), 2);
    TokenizerTrainer trainer(net, cb, 3e-3, 0.0, 3);
    for (int s = 0; s < 2; ++s) trainer.step(w, 16);
    params.push_back(to_host_f64(net.params().flat()));
    const std::vector<double> codes = to_host_f64(cb.codes());
    params.back().insert(params.back().end(), codes.begin(), codes.end());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(params[0], params[1]);
}

// The warm-up trains the decoder alone (encoder and codebook untouched); a zero token layer
// starts every frame at one code, so another frame's tokens decode the same (evaluate's swapped
// error equals its error exactly); after the warm-up the encoder and codebook move.
TEST(TokenizerTrain, WarmupTrainsTheDecoderAloneFromOneCode) {
  const diffusion::WorldData w = gridworld(small_world());
  ConvTokenizer net(small_net(), DType::f64, Device::cpu());
  net.init(1);
  Codebook cb(small_codebook(), DType::f64, Device::cpu(), 2);
  TokenizerTrainer trainer(net, cb, 1e-2, 0.0, 3, 3, true);
  const auto half = [&](bool enc) {
    std::vector<double> v;
    for (const ParameterEntry& e : net.params().layout()) {
      if ((e.name.rfind("enc.", 0) == 0) != enc) continue;
      const std::vector<double> p = to_host_f64(net.params().get(e.name));
      v.insert(v.end(), p.begin(), p.end());
    }
    return v;
  };
  const std::vector<double> enc0 = half(true), dec0 = half(false), codes0 = to_host_f64(cb.codes());
  for (int s = 0; s < 3; ++s) trainer.step(w, 8);
  EXPECT_EQ(half(true), enc0);
  EXPECT_NE(half(false), dec0);
  EXPECT_EQ(to_host_f64(cb.codes()), codes0);
  EXPECT_EQ(cb.updates(), 0);
  const Transitions t = make_transitions(w, {{0, 0}, {1, 2}, {4, 5}}, DType::f64, Device::cpu());
  const TokenizerEval ev = trainer.evaluate(t);
  ASSERT_EQ(ev.tokens.size(), 12u);
  for (int32_t z : ev.tokens) EXPECT_EQ(z, ev.tokens[0]);
  EXPECT_EQ(ev.mse, ev.mse_swapped);
  EXPECT_GT(ev.mse, 0.0);
  trainer.step(w, 8);
  EXPECT_NE(half(true), enc0);
  EXPECT_EQ(cb.updates(), 1);
}
