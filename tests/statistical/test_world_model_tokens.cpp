// Δ-tokens carry almost nothing on a world the action alone moves (issue 18,
// ml/world_model/tokenizer_train.hpp): on the gridworld of ml/world_model/gridworld.hpp the
// next frame follows from (x_t, a_t), so the Δ tokenizer's decoder, which sees x_t and a_t, needs
// no tokens, while the IRIS-like tokenizer must put the agent's cell (64 cells: 6 bits) into its 16 tokens. Random spawns add what (x_t, a_t) cannot predict, which the
// Δ-tokens must then carry.
// The measure ("bits per frame"): the empirical (plug-in) entropy in bits of the tuple of a
// frame's tokens taken together (token_entropy_bits), over every transition of the 8 held-out
// episodes (8 x 32 = 256 frames), after training on the 40 train episodes. Beside it, as a
// check that training reached a low reconstruction error and of what the decoder reads: the
// held-out mean squared error of the predicted x_{t+1} ([-1, 1] scale), and the same with each
// frame decoded with the tokens of another frame.
// The recipe (TokenizerTrainer): the encoder's token layer starts at zero (every frame at one
// code), no dead-code revival, and the Δ decoder first trains 300 steps on zero tokens so it
// learns what x_t and a_t predict; 800 steps (IRIS-like: 400) of 32 transitions, f32, fixed
// seeds.
// Claims: Δ < 0.5 bit per frame, IRIS-like > 3 bits; Δ with spawns above Δ without (disabled:
// it does not hold, see below).
// Measured (1 thread, load ~15): Δ 0.000 bits (held-out mse 6.6e-5, the same with another
// frame's tokens: the decoder ignores them), IRIS-like 5.275 (mse 1.5e-4; 3.1e-2 with another
// frame's tokens), 63 s + 22 s. Without the recipe (random token layer, revival, no warm-up):
// Δ 6.8 bits, mse 4.7e-4 but 1.2e-2 with another frame's tokens: the tokens carried the move.
#include <gtest/gtest.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "ml/world_model/gridworld.hpp"
#include "ml/world_model/tokenizer_train.hpp"

using namespace naqs;
using namespace naqs::ml;
using namespace naqs::ml::world_model;

namespace {

struct Measured {
  double bits = 0;
  TokenizerEval eval;
};

// One thread: these sizes gain nothing from a second, and on a loaded 2-core machine OpenMP's
// regions made a run 5x slower (results do not depend on the thread count:
// TokenizerTrain.SameSeedSameParametersForAnyThreadCount).
struct OneThread {
  int saved = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved); }
};

Measured train_and_measure(bool delta, double spawn_prob) {
  const OneThread one;
  GridworldConfig g;
  g.episodes = 48;
  g.test_episodes = 8;
  g.steps = 32;
  g.size = 16;
  g.cell = 2;
  g.spawn_prob = spawn_prob;
  g.seed = 1;
  const diffusion::WorldData w = gridworld(g);
  TokenizerConfig c;
  c.frame = 16;
  c.actions = kGridActions;
  c.channels = {8, 16};
  c.grid = delta ? 2 : 4;
  c.token_dim = 16;
  c.delta = delta;
  CodebookConfig cc;
  cc.codes = 64;
  cc.dim = 16;
  cc.revive_until = 0;  // no revival: it would split the one code all frames start at
  ConvTokenizer net(c, DType::f32, Device::cpu());
  net.init(1);
  Codebook cb(cc, DType::f32, Device::cpu(), 2);
  TokenizerTrainer trainer(net, cb, 3e-3, 0.0, 3, delta ? 300 : 0, true);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < (delta ? 800 : 400); ++s) {
    const TokenizerStep r = trainer.step(w, 32);
    if ((s + 1) % 200 == 0)
      std::printf("  step %lld mse %.5f commitment %.5f revived %lld\n", (long long)(s + 1),
                  r.mse, r.commitment, (long long)r.revived);
    std::fflush(stdout);
  }
  std::vector<std::pair<int64_t, int64_t>> at;
  for (int64_t e : w.test_episodes)
    for (int64_t s = 0; s < w.steps; ++s) at.emplace_back(e, s);
  Measured m;
  m.eval = trainer.evaluate(make_transitions(w, at, DType::f32, Device::cpu()));
  m.bits = token_entropy_bits(m.eval.tokens, c.tokens());
  std::printf("%s, spawn %.2f: %.3f bits per frame, held-out mse %.2e (other frame's tokens "
              "%.2e), %.1f s\n", delta ? "delta" : "IRIS-like", spawn_prob, m.bits, m.eval.mse,
              m.eval.mse_swapped,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::fflush(stdout);
  return m;
}

}  // namespace

TEST(TokenEntropy, DeltaTokensCarryAlmostNothingWhereTheActionMovesTheAgent) {
  const Measured d = train_and_measure(true, 0.0);
  const Measured iris = train_and_measure(false, 0.0);
  EXPECT_LT(d.bits, 0.5);
  EXPECT_GT(iris.bits, 3.0);
}

// The second claim (random spawns raise the Δ-token entropy) does not hold with this
// recipe and has no test until it does: 0.000 bits per frame with spawns as without, held-out
// mse 5.4e-4 against 6.6e-5 without spawns, the same with another frame's tokens (docs/ML.md).
