// The 1D neural autoregressive quantum state (Sharir et al., PRL 124, 020503 (2020), 1D variant):
// a stack of causal masked 1-D convolutions over the chain in site order.
//
//   x = sigma as (B,1,N)
//   h0 = act(conv_in(x))                 exclusive mask: site t sees sigma_<t only
//   for block j = 1..depth:              inclusive masks, dilation dilations[(j-1) % size]
//     a = act(conv_j_a(h)); h = h + act(conv_j_b(a))
//   re = conv_re(h), im = conv_im(h)     1x1 convolutions to the logits (B,2,N); im only in
//                                        complex mode
// Every convolution is weight-normalised (Salimans & Kingma 2016): w[o] = g[o] v[o] / ||v[o]||
// per output channel, with parameters <layer>.v (Cout,Cin,K), <layer>.g (Cout), <layer>.b (Cout).
// The effective weights are formed at the start of each pass by ops::weight_norm_forward on the
// parameters' device; all work goes through naqs::ops, so the model runs on CPU and CUDA, f32
// and f64, and a CUDA model's forward and backward never move parameters or gradients through
// the host.
//
// Backward is written by hand per layer (llm.c style): conv1d_backward_* and unary_backward,
// then the weight-norm backward (ops::weight_norm_backward, via NaqsConvModel::conv_gradient)
// straight into the caller's gradient (P) or per-sample rows (B,P).
//
// Cached evaluation (cache_begin / cache_logits / cache_set_site): every layer keeps its
// outputs in a site-major ring (nn::RingCache, (R,B,C), site t in slot t % R, R = 1 + the farthest
// tap back of the layers that read it: K+1 rows for sigma, 1 + (K-1)*dilation for hidden
// layers), and one step computes site t of every layer with ops::conv_site_forward: the taps
// t - shift - dilation*(K-1-k) >= 0 of the layer's ring, the weights pre-transposed to
// (K,Cin,Cout) at cache_begin, bias, activation and residual fused, written straight into the
// output ring's row. The cached logits equal the full forward's to rounding (GEMM per tap vs
// im2col GEMM: the same products summed in another order).
// Tests: tests/unit/test_naqs1d.cpp (every parameter vs float64 central differences, rtol 1e-6:
// h = 1e-6 differences of smooth functions are good to ~1e-9 relative; SELU has a kink at 0 that
// random inputs do not hit); tests/unit/test_naqs1d_sampler.cpp (cached == naive sampling).
#pragma once
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "host/ops/conv1d.hpp"
#include "host/ops/elementwise.hpp"
#include "physics/models/naqs_model.hpp"

namespace naqs {

enum class Activation { relu, selu };
Activation parse_activation(const std::string& s);  // "relu" | "selu", UsageError otherwise

// width, depth (residual blocks of 2 convolutions each), kernel, phase_mode: NaqsModelOptions.
struct NaqsConv1dConfig : NaqsModelOptions {
  int64_t n_sites = 0;
  std::vector<int> dilations{1};  // per block, cycled (e.g. {1,2,4,8} for a WaveNet stack)
  Activation activation = Activation::relu;
};

class NaqsConv1d final : public NaqsConvModel {
 public:
  // Parameters are registered, allocated in dtype on device and initialised from Philox(seed).
  NaqsConv1d(const NaqsConv1dConfig& config, DType dtype, Device device, uint64_t seed);

  int64_t n_sites() const override { return config_.n_sites; }
  std::size_t forward_bytes_per_sample() const override;
  const NaqsConv1dConfig& config() const { return config_; }

  // Re-draws all parameters: v ~ N(0, 1/(Cin K)), g = ||v|| (so w = v), b = 0; output layers
  // get g scaled by out_scale (small values start the model near the uniform distribution).
  void initialise(uint64_t seed, double out_scale = 1.0);

  void logits(const Tensor& sigma, Tensor& re, Tensor& im) override;
  void logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                       bool per_sample, bool accumulate) override;

  void cache_begin(int64_t batch) override;
  void cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) override;

  // The hidden layers of the last logits() call, each (B,W,N): "h0" (after the input
  // convolution) and "block<j>" (the output of residual block j); `naqs features` (ml/align).
  std::vector<std::pair<std::string, Tensor>> hidden_layers() const;

 private:
  struct Layer : NormedConv {  // w (Cout,Cin,K), wt (K,Cin,Cout), parameters v, g, b
    ops::Conv1dSpec spec;
  };
  void add_layer(const std::string& name, int cin, int cout, int kernel, int dilation,
                 bool exclusive);
  std::size_t n_convs() const override { return layers_.size(); }
  NormedConv& conv(std::size_t i) override { return layers_[i]; }
  // Distance from output site t back to the input site that tap k reads (farthest: k = 0).
  static int64_t back(const Layer& l, int k) {
    return (l.spec.exclusive ? 1 : 0) +
           static_cast<int64_t>(l.spec.dilation) * (l.spec.kernel - 1 - k);
  }
  // The taps of layer l at output site t that read existing sites of `in` (in cache_taps_).
  std::span<const ops::SiteTap> site_taps(const Layer& l, const nn::RingCache& in, int64_t t);
  std::size_t n_blocks() const { return static_cast<std::size_t>(config_.depth); }
  std::size_t block_a(std::size_t j) const { return 1 + 2 * j; }
  std::size_t block_b(std::size_t j) const { return 2 + 2 * j; }
  std::size_t layer_re() const { return 1 + 2 * n_blocks(); }
  std::size_t layer_im() const { return 2 + 2 * n_blocks(); }
  // Parameter gradient of one layer (x its input, dy (B,Cout,N) its output gradient) written
  // (accumulate: added) into grad (P) or jac (B,P) on the device: dw from
  // conv1d_backward_weight (or the per-sample variant), then NaqsConvModel::conv_gradient.
  void layer_backward(const Layer& l, const Tensor& x, const Tensor& dy, bool per_sample,
                      Tensor& grad_or_jac, bool accumulate);

  NaqsConv1dConfig config_;
  ops::Unary act_;
  std::vector<Layer> layers_;

  // Activations of the last logits() call (for the backward; the pre-activations only when
  // activations_kept_):
  Tensor x_;                          // (B,1,N) view of sigma
  Tensor pre_in_, h_in_;              // conv_in pre-activation and h0, (B,W,N)
  std::vector<Tensor> pre_a_, act_a_, pre_b_, h_out_;  // per block, (B,W,N)

  // Cached sampling state (rings, see the header comment; the input ring is cache_x_).
  nn::RingCache cache_h_in_;                      // h0, (R,B,W)
  std::vector<nn::RingCache> cache_a_, cache_h_;  // per block, (R,B,W)
};

}  // namespace naqs
