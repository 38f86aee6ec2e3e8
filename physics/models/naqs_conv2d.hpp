// The 2D neural autoregressive quantum state (Sharir et al., PRL 124, 020503 (2020)): two-stream
// (vertical / horizontal) masked convolutions with no blind spot over an Lx x Ly lattice in
// raster order (site p = r*Lx + c, row r in [0,Ly), column c in [0,Lx)); streams as in gated
// PixelCNN (van den Oord et al., arXiv:1606.05328). All windows come from host/ops/conv2d.hpp
// (k = kernel, odd; h = k/2), whose header derives causality and the absence of a blind spot:
//
//   x  = sigma as (B,1,Ly,Lx)
//   V_0 = relu(v_in(x))                              vertical k window, rows [r-h, r]
//   H_0 = relu(h_in(x) + v2h_in(x))                  horizontal exclusive (r, [c-h-1, c-1]) +
//                                                    vertical shifted down (rows [r-h-1, r-1])
//   for block j = 1..depth (residual blocks, one conv per stream):
//     H_j = H_{j-1} + relu(h_j(H_{j-1}) + v2h_j(V_{j-1}))   h_j inclusive (r, [c-h, c])
//     V_j = V_{j-1} + relu(v_j(V_{j-1}))                    only for j < depth (V_depth is
//                                                           never read, so it is not computed)
//   re = out_re(H_depth), im = out_im(H_depth)       1x1 convolutions to (B,2,Ly,Lx) = (B,2,N);
//                                                    out_im only in complex mode
// The conditional of site (r,c) reads H_depth(r,c), which depends only on raster positions
// before (r,c) and on all of them inside its cone (rows [r-1-depth*h, r-1] x cols
// [c-depth*h, c+depth*h] plus the current row's (c-1-(depth+1)*h .. c-1)): no blind spot. With
// kernel 3 and depth >= max(Lx, Ly) - 1 every site sees all earlier sites (4x4, depth 3 tested).
//
// Weight normalisation (Salimans & Kingma 2016) on every convolution: w[o] = g[o] v[o]/||v[o]||
// per output channel; parameters <layer>.v (Cout,Cin,kh,kw), <layer>.g (Cout) and, except for
// the v2h convolutions (whose bias would duplicate the horizontal one), <layer>.b (Cout).
// Effective weights are formed at the start of each pass by ops::weight_norm_forward on the
// parameters' device; all work goes through naqs::ops (CPU and CUDA, f32 and f64), so a CUDA
// model's forward and backward never move parameters or gradients through the host.
//
// Backward by hand per layer (llm.c style): conv2d_backward_input / _weight(_per_sample),
// unary_backward for ReLU, then the weight-norm backward (ops::weight_norm_backward, via
// NaqsConvModel::conv_gradient) straight into the caller's gradient (P) or rows (B,P).
//
// Cached evaluation (cache_begin / cache_logits / cache_set_site): every layer keeps its
// outputs in a site-major ring (nn::RingCache (R,B,C), site p = r*Lx + c in slot p % R; R = 1 + the
// farthest raster distance back that a reader's taps reach, e.g. (h+1)*Lx + h + 1 for the
// caches read by the v2h convolutions, h+1 for the horizontal ones). At the first site of row r
// the rows r-1 of V_0..V_{depth-1} are computed (they are final once row r-1 of sigma is set),
// one site at a time; every step then computes H_0..H_depth and the logits at (r,c) only. Each
// site is ops::conv_site_forward over exactly the taps conv2d_forward reads there (the window
// of the layer's Conv2dSpec, minus the pixels outside the lattice), so the masks and the
// absence of a blind spot are the full forward's. The two convolutions of a horizontal layer
// are two calls into the same output block (the second accumulates, then applies ReLU and the
// residual). The cached logits equal the full forward's to rounding: the site op sums with one
// GEMM per tap, conv2d_forward with a fixed-order loop (tests/unit/test_naqs2d.cpp).
// Tests: tests/unit/test_naqs2d.cpp (normalisation by enumeration on 4x4, causality, every
// parameter vs float64 central differences), tests/gpu/test_parity_naqs2d.cpp.
#pragma once
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "host/ops/conv2d.hpp"
#include "physics/models/naqs_model.hpp"

namespace naqs {

// width (channels of both streams, default 32 here), depth (residual blocks), kernel (odd),
// phase_mode: NaqsModelOptions.
struct NaqsConv2dConfig : NaqsModelOptions {
  NaqsConv2dConfig() { width = 32; }
  int64_t lx = 0;  // columns (sites per row)
  int64_t ly = 0;  // rows
};

// Presets: "tfim12" (12x12, depth 10, width 32), "heis10" (10x10, depth 20, width 32; the paper's
// configurations), "small4" (4x4, depth 2, width 4), "tiny3" (3x3, depth 1, width 3).
// UsageError for other names.
NaqsConv2dConfig naqs_conv2d_preset(const std::string& name);

class NaqsConv2d final : public NaqsConvModel {
 public:
  // Parameters are registered, allocated in dtype on device and initialised from Philox(seed).
  NaqsConv2d(const NaqsConv2dConfig& config, DType dtype, Device device, uint64_t seed);

  int64_t n_sites() const override { return config_.lx * config_.ly; }
  std::size_t forward_bytes_per_sample() const override;
  const NaqsConv2dConfig& config() const { return config_; }

  // v ~ N(0, 1/(Cin kh kw)), g = ||v|| (so w = v), b = 0; the output layers' g is multiplied by
  // out_scale (small values start near the uniform distribution).
  void initialise(uint64_t seed, double out_scale = 1.0);

  void logits(const Tensor& sigma, Tensor& re, Tensor& im) override;
  void logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                       bool per_sample, bool accumulate) override;

  void cache_begin(int64_t batch) override;
  void cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) override;

  // The horizontal stream of the last logits() call (the one the logits read), each
  // (B,W,Ly,Lx): "H0" .. "H<depth>"; `naqs features` (ml/align).
  std::vector<std::pair<std::string, Tensor>> hidden_layers() const;

 private:
  // w (Cout,Cin,kh,kw), wt (kh*kw,Cin,Cout); parameters v, g and (has_bias) b.
  struct Layer : NormedConv {
    ops::Conv2dSpec spec;
  };
  std::size_t add_layer(const std::string& name, int cin, int cout, const ops::Conv2dSpec& spec,
                        bool has_bias);
  std::size_t n_convs() const override { return layers_.size(); }
  NormedConv& conv(std::size_t i) override { return layers_[i]; }
  // The taps of layer l at output pixel (r,c) that fall inside the lattice, as rows of `in`
  // (in cache_taps_).
  std::span<const ops::SiteTap> site_taps(const Layer& l, const nn::RingCache& in, int64_t r,
                                          int64_t c);
  // Parameter gradient of one layer (x its input, dy (B,Cout,Ly,Lx) the output gradient)
  // written (accumulate: added) into grad (P) or jac (B,P) on the device.
  void layer_backward(const Layer& l, const Tensor& x, const Tensor& dy, bool per_sample,
                      Tensor& grad_or_jac, bool accumulate);
  Shape hidden_shape(int64_t batch) const;

  NaqsConv2dConfig config_;
  std::vector<Layer> layers_;
  // Layer indices: vertical v[0] = v_in, v[j] for 1 <= j < depth; horizontal h[0] = h_in,
  // h[j] for 1 <= j <= depth, with v2h[j] beside each; out_re, out_im (-1 in real mode).
  std::vector<std::size_t> v_, h_, v2h_;
  std::size_t out_re_ = 0;
  std::ptrdiff_t out_im_ = -1;

  // Activations of the last logits() call: x (B,1,Ly,Lx); outputs (B,W,Ly,Lx); the
  // pre-activations (B,W,Ly,Lx) only when activations_kept_.
  Tensor x_;
  std::vector<Tensor> pre_v_, out_v_, pre_h_, out_h_;

  // Cached sampling state (rings, see the header comment; the input ring is cache_x_).
  std::vector<nn::RingCache> cache_v_, cache_h_;  // V_j (rows done), H_j (sites done), (R,B,W)
};

}  // namespace naqs
