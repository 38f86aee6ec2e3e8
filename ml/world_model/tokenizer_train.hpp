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
// the reconstruction error, deterministically). The statistical test (Δ-tokens < 0.5 bit
// per frame on the gridworld) does not hold yet: see docs/ARCHITECTURE.md.
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

class TokenizerTrainer {
 public:
  // net and codebook are used by reference and must outlive the trainer; codebook.dim ==
  // net's token_dim.
  TokenizerTrainer(ConvTokenizer& net, Codebook& codebook, double lr, double weight_decay,
                   uint64_t seed);
  // One step on `batch` transitions drawn from w's train episodes.
  TokenizerStep step(const diffusion::WorldData& w, int64_t batch);
  // The tokens (N g g, row-major per transition) of the given transitions; no update.
  std::vector<int32_t> tokens(const Transitions& t);

 private:
  ConvTokenizer& net_;
  Codebook& codebook_;
  double lr_;
  uint64_t seed_;
  int64_t steps_ = 0;
  std::unique_ptr<nn::Optimizer> opt_;
  ParameterSet grads_;
};

// Bits per frame: the entropy of the tuples of `per_frame` consecutive tokens.
double token_entropy_bits(const std::vector<int32_t>& tokens, int64_t per_frame);

}  // namespace naqs::ml::world_model
