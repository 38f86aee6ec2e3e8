// Training of the Δ-IRIS tokenizer (and its IRIS-like baseline): encoder -> codebook ->
// decoder on transitions (x_t, a_t, x_{t+1}) of episodes, and the tokens' entropy per frame.
//
// One step on a batch of B transitions:
//   z = encode(x_t, x_{t+1}, a_t) (B g g, D); the codebook quantises z (q, tokens, C);
//   pred = decode(x_t, a_t, q); loss = mean((pred - x_{t+1})^2) + C (the commitment loss, its
//   weight beta inside C); backward: dpred = 2 (pred - x_{t+1}) / (B H H), dq = the decoder's,
//   dz = the codebook's straight-through backward (with C's weight 1), the encoder's; one AdamW
//   step on the network's parameters; then the codebook's moving-average update and revival.
// Transitions are drawn uniformly over (train episode, step) by Philox (seed, stream 2, counter
// = step B + i); frames u8 -> [-1, 1] (kFrameScale, kFrameOffset), built on the host.
// Entropy (token_entropy_bits): the empirical entropy in bits of the g g tokens of a frame taken
// together (the tuple), over the given transitions: what the tokens carry per frame.
// Tests: tests/unit/test_tokenizer_train.cpp (transitions and entropy by hand; training lowers
// the reconstruction error, deterministically, the same on 1 and 2 threads);
// tests/statistical/test_world_model_tokens.cpp (the Δ-tokens' bits per frame on the gridworld;
// which recipe gives what: docs/ML.md).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "ml/diffusion/world_data.hpp"
#include "ml/world_model/codebook.hpp"
#include "ml/world_model/tokenizer.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml::world_model {

// A batch of transitions on the network's device: x_t, x_next (B, 1, H, H) and actions (B).
struct Transitions {
  Tensor x_t, x_next;
  std::vector<int32_t> actions;
};
// The transitions (episode, step) pairs of w, in that order.
Transitions make_transitions(const diffusion::WorldData& w,
                             const std::vector<std::pair<int64_t, int64_t>>& at, DType dtype,
                             Device device);

struct TokenizerStep {
  double mse = 0, commitment = 0;
  int64_t revived = 0;
};

struct TokenizerEval {
  std::vector<int32_t> tokens;  // (N g g), row-major per transition
  double mse = 0;               // mean squared error of the predicted x_{t+1} ([-1, 1] scale)
  double mse_swapped = 0;       // the same with each transition's tokens from the next one
};

class TokenizerTrainer {
 public:
  // net and codebook are used by reference and must outlive the trainer; codebook.dim ==
  // net's token_dim.
  // warmup: the first steps train the decoder alone on zero tokens (q = 0; no encoder or
  // codebook update), so it learns what x_t and a_t predict before the tokens can carry it.
  // zero_token_layer: the encoder's token layer enc.tok.w starts at 0, so every frame starts
  // at one code and tokens differ only where the decoder's gradient separates them.
  TokenizerTrainer(ConvTokenizer& net, Codebook& codebook, double lr, double weight_decay,
                   uint64_t seed, int64_t warmup = 0, bool zero_token_layer = false);
  // One step on `batch` transitions drawn from w's train episodes.
  TokenizerStep step(const diffusion::WorldData& w, int64_t batch);
  // Held-out evaluation of the given transitions (no update): their tokens and reconstruction
  // error, and the error when each transition is decoded with the tokens of the next one (the
  // last with the first's): equal errors mean the decoder ignores the tokens.
  TokenizerEval evaluate(const Transitions& t);

 private:
  ConvTokenizer& net_;
  Codebook& codebook_;
  double lr_;
  uint64_t seed_;
  int64_t warmup_;
  int64_t steps_ = 0;
  std::unique_ptr<nn::Optimizer> opt_;
  ParameterSet grads_;
};

// Bits per frame: the entropy of the tuples of `per_frame` consecutive tokens.
double token_entropy_bits(const std::vector<int32_t>& tokens, int64_t per_frame);

}  // namespace naqs::ml::world_model
