// The conv encoder and decoder of the Δ-IRIS tokenizer (issue 18): the encoder sees what
// changed, (x_t, a_t, x_{t+1}), and gives a g x g grid of token vectors; the decoder sees x_t,
// a_t and the (quantised) token vectors and predicts x_{t+1}. The codebook between them is
// codebook.hpp.
//
// Shapes (B samples, frames H x H, A actions, levels L = channels.size(), c_l = channels[l],
// S = H / 2^(L-1) the last level's size, g = grid, P = S / g, D = token_dim):
//   action planes  a (B, A, H, H): one-hot planes of a_t (plane a_t all ones), built on the host
//   context  ctx = [x_t | a] (B, 1 + A, H, H) in delta mode; nothing in the IRIS-like baseline
//            (delta = false: the encoder sees x_{t+1} alone, the decoder the tokens alone; the
//            actions are then not read, and x_t only for its shape)
//   encoder  in = [x_{t+1} | ctx];
//            level l: (l > 0: 2x2 average pool) then h_l = silu(conv3x3(h_{l-1})) (c_l channels);
//            patches: h_{L-1} (B, c, S, S) cut into g x g blocks of P x P, each flattened in
//            (c, y, x) order -> (B g g, c P P) rows, row (b, gy, gx) row-major;
//            z = linear_enc(patches) (B g g, D): the tokens' vectors (before quantisation).
//   decoder  m = linear_dec(q) (B g g, c P P) placed back as the map (B, c_{L-1}, S, S);
//            delta mode: m = [m | pyramid_ctx(ctx)] (B, 2 c_{L-1}, S, S), pyramid_ctx the
//            encoder's levels (own parameters) on ctx alone: as in Δ-IRIS, the decoder sees x_t
//            and a_t at the tokens' resolution, whose receptive field covers a move (the head's
//            two 3x3 convolutions see 2 pixels, less than one gridworld cell);
//            level l = L-2..0: nearest 2x upsampling, then silu(conv3x3) (-> c_l);
//            head: silu(conv3x3([h | ctx])) (-> c_0), then conv3x3 (c_0 -> 1):
//            the predicted x_{t+1} (B, 1, H, H) on the [-1, 1] scale.
// Every parameter uniform +-1/sqrt(fan_in) (PyTorch's default; a bias uses its weight's fan-in),
// Philox (seed, stream = the parameter's index).
// Backend-neutral: ops on the parameters' device (conv2d, resample, copy into permuted views for
// the patches, nn linear and silu); the action planes come from the host (B A H H values).
// Backward (llm.c style, every activation of the last forward kept): encode_backward(dz) and
// decode_backward(dout) -> dq write the gradients of their parameters into grads (the params()
// layout); the two halves own disjoint parameters, so each writes only its own (overwrites).
// Tests: tests/unit/test_tokenizer.cpp (every parameter's gradient and dq against float64
// central differences on tiny nets of 2 and 3 levels and the baseline, the token grid's layout,
// the action reaching both halves and the baseline ignoring the context, errors).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/params.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ml::world_model {

struct TokenizerConfig {
  int64_t frame = 40;  // H = W
  int64_t actions = 6;
  std::vector<int64_t> channels{32, 64, 64};
  int64_t grid = 2;        // g: g x g tokens per frame
  int64_t token_dim = 64;  // D
  // true: Δ-IRIS (the context x_t, a_t in both halves); false: the IRIS-like baseline (the
  // encoder sees x_{t+1} alone, the decoder the tokens alone).
  bool delta = true;
  int64_t context_channels() const { return delta ? 1 + actions : 0; }
  void validate() const;   // UsageError naming the bad value
  int64_t tokens() const { return grid * grid; }
  int64_t last_size() const { return frame >> (channels.size() - 1); }  // S
};

class ConvTokenizer {
 public:
  ConvTokenizer(const TokenizerConfig& c, DType dtype, Device device);
  void init(uint64_t seed);
  const TokenizerConfig& config() const { return c_; }
  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }

  // x_t, x_next (B, 1, H, H); actions (B) in [0, A) (UsageError naming a bad one).
  // Returns z (B g g, D), valid until the next encode().
  Tensor encode(const Tensor& x_t, const Tensor& x_next, const std::vector<int32_t>& actions);
  // Gradients of sum(dz * z) for the encoder's parameters into grads.
  void encode_backward(const Tensor& dz, ParameterSet& grads);

  // x_t (B, 1, H, H), actions (B), q (B g g, D). Returns the prediction (B, 1, H, H).
  Tensor decode(const Tensor& x_t, const std::vector<int32_t>& actions, const Tensor& q);
  // Gradients of sum(dout * prediction) for the decoder's parameters into grads; returns dq.
  Tensor decode_backward(const Tensor& dout, ParameterSet& grads);

 private:
  struct Conv {  // one conv3x3 + silu layer's saved tensors
    std::string name;
    Tensor in, pre, out;
  };
  Tensor empty(const Shape& s) const { return Tensor::empty(s, dtype_, device_); }
  // Writes the context [x_t | one-hot action planes] into channels [at, at + 1 + A) of dst
  // (B, ., H, H) in delta mode; nothing otherwise.
  void put_context(Tensor& dst, int64_t at, const Tensor& x_t,
                   const std::vector<int32_t>& actions) const;
  void conv_silu(Conv& l, const Tensor& in);
  // The levels `prefix`0.. of (l > 0: 2x2 average pool) conv3x3 + silu on in (the encoder's
  // shape); keeps the activations in convs and pooled; returns the last map. The backward writes
  // the levels' parameter gradients from dh, the gradient of the last map.
  Tensor pyramid(const char* prefix, const Tensor& in, std::vector<Conv>& convs,
                 std::vector<Tensor>& pooled);
  void pyramid_backward(std::vector<Conv>& convs, Tensor dh, ParameterSet& g);
  // Parameter gradients of one layer; returns d(in) unless want_input is false.
  Tensor conv_silu_backward(Conv& l, const Tensor& dout, ParameterSet& g, bool want_input);

  TokenizerConfig c_;
  DType dtype_;
  Device device_;
  ParameterSet params_;
  // encode's saved tensors
  std::vector<Conv> enc_;
  std::vector<Tensor> enc_pooled_;  // the pooled input of level l > 0 (index l)
  Tensor patches_;
  // decode's saved tensors
  std::vector<Conv> ctx_;  // the context pyramid (delta mode)
  std::vector<Tensor> ctx_pooled_;
  Tensor q_, dec_map_, dec_concat_;
  std::vector<Conv> dec_;  // levels L-2..0
  std::vector<Tensor> dec_up_;
  Conv head1_;
  Tensor out_;
};

}  // namespace naqs::ml::world_model
