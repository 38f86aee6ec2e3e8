// The Δ-IRIS world model (issue 18): the transformer of ml/transformer/model.hpp over blocks
// [frame embedding, action token, n Δ-tokens], one block per step, predicting the next Δ-tokens
// and the step's reward sign and termination; imagination decodes with the KV cache.
//
// Vocabulary (V = K + 6 + A + 1, the transformer's vocab): ids [0, K) the codebook's codes;
//   [K, K + 6) the outcome of a step, K + 3 terminal + sign (sign 0: reward < 0, 1: = 0,
//   2: > 0), so the reward-sign and termination heads are one categorical of their 6 joint
//   values; [K + 6, K + 6 + A) the actions; K + 6 + A the frame slot.
// Sequence of H steps (B, T = H (n + 2)): block t = [frame slot, K + 6 + a_t, z_t1 .. z_tn];
//   the input at the frame slot is wte[frame slot] + f(x_t), f(x) = W_f x + b_f (x the frame
//   flattened, H*H values on the [-1, 1] scale; W_f (C, H*H) uniform +-1/sqrt(H*H), b_f 0), at
//   the other slots wte[id] alone (Transformer's embed input).
// Targets (the heads): at the action slot z_t1, at z_tj (j < n) z_t,j+1, at z_tn the outcome of
//   step t; none at the frame slot (x_t is given, not predicted). Loss: the mean cross entropy
//   over the H (n + 1) targets of each sequence (one softmax over V at each).
// Imagination (imagine): from B real first frames and B x horizon actions: per step, the block's
//   frame slot and action, then n tokens drawn one at a time from the code logits [0, K) and the
//   outcome from [K, K + 6), each at temperature tau (0: argmax, ties to the lower id; else
//   u = philox_uniform_f64(seed, stream b, counter step (n + 1) + j) inverted on the softmax of
//   logits / tau, in double); the next frame is the tokenizer's decode(x_t, a_t, codes[z_t])
//   quantised to u8 (ops::quantize_u8) and back. With the KV cache each token is one infer step;
//   without, each prediction runs the whole sequence so far into a fresh cache: equal bit for bit
//   (Transformer::infer's rows do not depend on how many are computed together).
// Backend-neutral: ops and the transformer on the model's device; token draws on the host (the
//   logits' rows copied there).
// Tests: tests/unit/test_token_world.cpp (sequence layout by hand, every parameter's gradient vs
//   float64 central differences, rollout with cache == without bit for bit, errors).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "host/core/params.hpp"
#include "host/core/tensor.hpp"
#include "ml/diffusion/world_data.hpp"
#include "ml/transformer/model.hpp"
#include "ml/world_model/codebook.hpp"
#include "ml/world_model/tokenizer.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml::world_model {

inline constexpr int64_t kOutcomes = 6;

struct TokenWorldConfig {
  TransformerConfig net;  // vocab is set from the fields below, context must hold the blocks
  int64_t tokens = 4;     // n per frame
  int64_t codes = 1024;   // K
  int64_t actions = 6;    // A
  int64_t frame = 40;     // H (frames H x H)
  int64_t block() const { return tokens + 2; }
  int64_t vocab() const { return codes + kOutcomes + actions + 1; }
  int64_t frame_id() const { return codes + kOutcomes + actions; }
  void validate() const;  // UsageError naming the bad value
};

// The outcome id offset (in [0, 6)) of a step: 3 terminal + sign(reward) + 1.
int32_t outcome_of(float reward, uint8_t terminal);

// B sequences of H steps on the model's device.
struct WorldBatch {
  int64_t batch = 0, steps = 0;
  Tensor ids;      // (B, T) i32, T = H (n + 2)
  Tensor frames;   // (B H, H*H) the frames x_t on the [-1, 1] scale
  Tensor targets;  // (B H (n + 1)) i32
};

class TokenWorldModel {
 public:
  TokenWorldModel(const TokenWorldConfig& c, DType dtype, Device device);
  void init(uint64_t seed);
  const TokenWorldConfig& config() const { return c_; }
  Transformer& net() { return net_; }
  ParameterSet& frame_params() { return frame_; }  // "frame.w" (C, H*H), "frame.b" (C)

  // The windows (episode, first step) of w with tokens (E, T, n) (tokenize_episodes), each of
  // `steps` steps (within the episode).
  WorldBatch make_batch(const diffusion::WorldData& w, const std::vector<int32_t>& tokens,
                        const std::vector<std::pair<int64_t, int64_t>>& at, int64_t steps) const;
  // The mean cross entropy; with grads, the gradients (overwritten) of the transformer's
  // parameters into net_grads and of the frame embedding's into frame_grads.
  double loss(const WorldBatch& b, ParameterSet* net_grads, ParameterSet* frame_grads);

  struct Imagined {
    std::vector<int32_t> tokens;    // (B, horizon, n)
    std::vector<int32_t> outcomes;  // (B, horizon) in [0, 6)
    std::vector<uint8_t> frames;    // (B, horizon, H, H): x_1 .. x_horizon
    std::vector<double> logp;       // (B, horizon, n + 1): each draw's log-probability (its
                                    // range's softmax of the logits)
  };
  // first (B, H, H) u8 real frames; actions (B, horizon).
  Imagined imagine(ConvTokenizer& tokenizer, const Codebook& codebook,
                   const std::vector<uint8_t>& first, const std::vector<int32_t>& actions,
                   int64_t horizon, bool use_cache, double temperature, uint64_t seed);

 private:
  Tensor frame_embed(const Tensor& frames) const;  // (N, H*H) -> (N, C)
  // embed (B, T, C): zero but the frame slots, which get f(frames) ((B H, H*H), T = H block)
  Tensor embed(const Tensor& frames, int64_t batch, int64_t steps) const;

  TokenWorldConfig c_;
  DType dtype_;
  Device device_;
  Transformer net_;
  ParameterSet frame_;
  TrainState st_;
};

// The Δ-tokens (E, T, n) of every transition of w, encoded in chunks of `chunk` transitions.
std::vector<int32_t> tokenize_episodes(ConvTokenizer& tokenizer, const Codebook& codebook,
                                       const diffusion::WorldData& w, int64_t chunk);

// AdamW on the world model's two parameter sets, windows drawn by Philox (seed, stream 3,
// counter 2 (step B + i) and + 1: the train episode and the first step).
class TokenWorldTrainer {
 public:
  TokenWorldTrainer(TokenWorldModel& m, double lr, double weight_decay, uint64_t seed);
  double step(const diffusion::WorldData& w, const std::vector<int32_t>& tokens, int64_t batch,
              int64_t steps);

 private:
  TokenWorldModel& m_;
  double lr_;
  uint64_t seed_;
  int64_t steps_ = 0;
  std::unique_ptr<nn::Optimizer> opt_net_, opt_frame_;
  ParameterSet g_net_, g_frame_;
};

}  // namespace naqs::ml::world_model
