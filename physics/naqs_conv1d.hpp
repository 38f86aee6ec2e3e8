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
// The effective weights are formed on the host at the start of each pass (a few thousand numbers
// per layer, negligible next to the batch work) and uploaded; all batch work goes through
// naqs::ops, so the model runs on CPU and CUDA, f32 and f64.
//
// Backward is written by hand per layer (llm.c style): conv1d_backward_* and unary_backward,
// then the weight-norm backward (physics/weight_norm.hpp) on the host.
//
// Cached evaluation (cache_begin / cache_logits / cache_set_site): every layer keeps its
// outputs in a site-major ring (SiteCache, (R,B,C), site t in row t % R, R = 1 + the farthest
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
#include <vector>

#include "host/ops/conv1d.hpp"
#include "host/ops/elementwise.hpp"
#include "physics/naqs_model.hpp"
#include "physics/weight_norm.hpp"

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

 private:
  struct Layer {
    std::string name;
    int cin, cout;
    ops::Conv1dSpec spec;
    int64_t offset;  // of <name>.v in the flat parameters; .g and .b follow contiguously
    Tensor w;        // effective weight (Cout,Cin,K) on device
    Tensor wt;       // the same as (K,Cin,Cout) for the cached sampler (set by cache_begin)
    Tensor bias;     // view of <name>.b (Cout)
    WeightNorm norm;  // w = g v/||v||, state for the backward
    int64_t n_weights() const { return static_cast<int64_t>(cout) * cin * spec.kernel; }
    int64_t n_params() const { return n_weights() + 2 * cout; }
  };
  void add_layer(const std::string& name, int cin, int cout, int kernel, int dilation,
                 bool exclusive);
  // w = g v/||v|| for every layer, from params_ (and wt when site_major).
  void refresh_weights(bool site_major = false);
  // Distance from output site t back to the input site that tap k reads (farthest: k = 0).
  static int64_t back(const Layer& l, int k) {
    return (l.spec.exclusive ? 1 : 0) +
           static_cast<int64_t>(l.spec.dilation) * (l.spec.kernel - 1 - k);
  }
  // The taps of layer l at output site t that read existing sites of `in` (in cache_taps_).
  std::span<const ops::SiteTap> site_taps(const Layer& l, const SiteCache& in, int64_t t);
  std::size_t n_blocks() const { return static_cast<std::size_t>(config_.depth); }
  std::size_t block_a(std::size_t j) const { return 1 + 2 * j; }
  std::size_t block_b(std::size_t j) const { return 2 + 2 * j; }
  std::size_t layer_re() const { return 1 + 2 * n_blocks(); }
  std::size_t layer_im() const { return 2 + 2 * n_blocks(); }
  // Weight/bias gradient of one layer into grad (P) or jac (B,P): dw from conv1d_backward_weight
  // (or the per-sample variant), db from the bias reduction, then the weight-norm backward.
  // grad_host is (P) or (B,P) row-major f64.
  void layer_backward(const Layer& l, const Tensor& x, const Tensor& dy, bool per_sample,
                      std::vector<double>& grad_host);

  NaqsConv1dConfig config_;
  ops::Unary act_;
  std::vector<Layer> layers_;

  // Activations of the last logits() call (for the backward; the pre-activations only when
  // activations_kept_):
  Tensor x_;                          // (B,1,N) view of sigma
  Tensor pre_in_, h_in_;              // conv_in pre-activation and h0, (B,W,N)
  std::vector<Tensor> pre_a_, act_a_, pre_b_, h_out_;  // per block, (B,W,N)

  // Cached sampling state (rings, see the header comment; the input ring is cache_x_).
  SiteCache cache_h_in_;                      // h0, (R,B,W)
  std::vector<SiteCache> cache_a_, cache_h_;  // per block, (R,B,W)
};

}  // namespace naqs
