// The denoiser network of the diffusion world model: a small U-Net on the runtime's conv2d, in
// the style of DIAMOND (Alonso et al. 2024): the noisy next frame and the K past frames stacked
// as input channels, residual blocks whose group norms take a per-sample scale and shift from a
// conditioning vector (the noise level and the K past actions), and zero-initialised last
// convolutions, so the network starts as F = 0 (D = c_skip x).
//
// Shapes (B samples, frames H x W, K = context, A = actions, levels L = channels.size()):
//   input  x_in (B, 1 + K, H, W): channel 0 the preconditioned noisy frame c_in(sigma) x, then
//          the K past frames (oldest first) on the [-1, 1] scale;
//   cond   noise (B) c_noise(sigma) values and actions (B, K) ids in [0, A) (host values);
//   output F (B, 1, H, W).
// Conditioning: e = [sin(w_j c_noise), cos(w_j c_noise) for j < noise_features, w_j = 2^(j/2)
//   | the K action embeddings, table rows k A + a_k (one table of K A rows, so the same action
//   at another position has its own row)]; cond = silu(W2 silu(W1 e + b1) + b2) (cond_dim).
// Residual block (in Ci channels, out Co), with AdaGN(h) = group_norm(h; gamma = Ws cond + bs,
//   beta = Wh cond + bh) per sample (ada weights zero-initialised, bs = 1, bh = 0):
//   y = conv3x3_2(silu(AdaGN_2(conv3x3_1(silu(AdaGN_1(x)))))) + skip(x),
//   skip = x when Ci = Co, else a 1x1 convolution; conv3x3_2 zero-initialised.
// U: conv3x3_in (1+K -> c0); encoder level l = 0..L-1: (l > 0: 2x2 average pool) then a block
//   (c_{l-1} -> c_l; c_0 -> c_0 at l = 0), keeping the output of every level but the last as a
//   skip; decoder level l = L-2..0: nearest 2x upsampling, concatenation [h, skip_l] along the
//   channels, a block (c_{l+1} + c_l -> c_l); head: group_norm (plain affine) -> silu ->
//   conv3x3_out (c0 -> 1), zero-initialised.
// Every other weight: uniform +-1/sqrt(fan_in) (PyTorch's default), Philox (seed, stream per
// parameter). H and W divisible by 2^(L-1); groups divides every block's channel counts.
// Backend-neutral: every step is an op on the parameters' device (the Fourier features and the
// ids are built on the host, B values each). backward() writes the gradients of all
// parameters (overwritten) for dF given to the last forward().
// Ops: host/ops/conv2d.hpp, group_norm.hpp, resample.hpp, copy.hpp (concatenation and its
// split), nn/layers.hpp (linear, embedding, activations).
// Tests: tests/unit/test_unet.cpp (gradients of a tiny U-Net against float64 central
// differences; shapes; zero-initialised output; the conditioning reaches the output).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/params.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ml::diffusion {

struct UNetConfig {
  int64_t context = 4;  // K past frames
  int64_t actions = 6;  // A
  int64_t height = 40, width = 40;
  std::vector<int64_t> channels{32, 64, 64};
  int64_t groups = 8;
  int64_t cond_dim = 128;
  int64_t action_dim = 16;
  int64_t noise_features = 16;
  void validate() const;  // UsageError naming the bad value
  std::string str() const;
};

class UNet {
 public:
  UNet(const UNetConfig& c, DType dtype, Device device);
  void init(uint64_t seed);
  const UNetConfig& config() const { return c_; }
  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }

  // F for x_in (B, 1+K, H, W), c_noise values (B) and action ids (B, K) row-major; returns
  // (B, 1, H, W), valid until the next forward(). An action outside [0, A) is a UsageError
  // naming it and its position.
  Tensor forward(const Tensor& x_in, const std::vector<double>& noise,
                 const std::vector<int32_t>& actions);
  // The gradients of sum(dout * F) with respect to every parameter, into grads (the params()
  // layout, same dtype and device), overwritten. dout (B, 1, H, W).
  void backward(const Tensor& dout, ParameterSet& grads);

 private:
  // One stage of a block, out = conv3x3(silu(AdaGN(in))), its parameters "<block>.s<k>",
  // ".h<k>" (the ada linears) and ".c<k>" (the convolution); saved activations.
  struct Stage {
    Tensor in, gamma, beta, n, mean, rstd, a, out;
  };
  struct Block {  // one residual block: y = stage 2 (stage 1 (x)) + skip(x)
    std::string name;
    int64_t in_ch = 0, out_ch = 0;
    Stage s1, s2;
    Tensor y;
  };
  void stage_forward(const std::string& block, int k, const Tensor& in, int64_t out_ch, Stage& s);
  // dout: the gradient of the stage's output; returns the gradient of its input.
  Tensor stage_backward(const std::string& block, int k, Stage& s, const Tensor& dout,
                        ParameterSet& g);
  Tensor block_forward(Block& b, const Tensor& x);
  // dy: the gradient of the block's output; returns the gradient of its input.
  Tensor block_backward(Block& b, const Tensor& dy, ParameterSet& g);
  Tensor empty(const Shape& s) const { return Tensor::empty(s, dtype_, device_); }

  UNetConfig c_;
  DType dtype_;
  Device device_;
  ParameterSet params_;
  // saved by forward()
  Tensor cond_in_, cond_pre1_, cond_h1_, cond_pre2_, cond_, ids_, x_in_, h0_;
  Tensor out_pre_, out_mean_, out_rstd_, out_act_, out_;
  std::vector<Block> enc_, dec_;
  std::vector<Tensor> pooled_, upsampled_, concat_;
  Tensor dcond_;  // backward's accumulator
};

}  // namespace naqs::ml::diffusion
