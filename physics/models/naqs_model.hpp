// What the NAQS convolutional models (physics/models/naqs_conv1d.hpp,
// physics/models/naqs_conv2d.hpp) share: the options both take (NaqsModelOptions, the base of both
// configs, checked once here) and NaqsConvModel, the state behind the AutoregressiveWavefunction
// accessors (dtype, device, flat parameters), move-only; their weight-normalised convolutions
// (NormedConv: parameter layout, initialisation, effective weights, and the parameter gradient
// written on the parameters' device straight into the caller's gradient (P) or per-sample rows
// (B,P)); and what their cached samplers share: the input ring (nn::RingCache, nn/ring_cache.hpp)
// and weights transposed for ops::conv_site_forward (host/ops/conv_site.hpp).
// Weight normalisation (Salimans & Kingma 2016) is the op host/ops/weight_norm.hpp: forward and
// backward run where the parameters live, so a CUDA model's training step moves no parameter or
// gradient through the host.
// Tests: through the models (tests/unit/test_naqs1d.cpp, test_naqs2d.cpp, their samplers, and
// tests/gpu/test_parity_naqs1d.cpp, test_parity_naqs2d.cpp).
#pragma once
#include <string>
#include <vector>

#include "host/ops/conv_site.hpp"
#include "nn/ring_cache.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"

namespace naqs {

struct NaqsModelOptions {
  int width = 16;  // channels of every hidden layer
  int depth = 2;   // residual blocks (>= 0)
  int kernel = 3;  // taps of every masked convolution (per dimension)
  PhaseMode phase_mode = PhaseMode::real_positive;
};

// A weight-normalised convolution: parameters <name>.v (c_out, c_in, window...), <name>.g
// (c_out) and, with a bias, <name>.b (c_out), contiguous in the flat parameters from `offset`;
// the effective weight w[o] = g[o] v[o] / ||v[o]|| per output channel. Each model derives its
// layer type (adding its conv spec) from this.
struct NormedConv {
  std::string name;
  int64_t c_out = 0, c_in = 0;
  int64_t taps = 1;        // window size: K (1D) or kh * kw (2D)
  bool has_bias = true;
  bool output = false;     // an output (logit) layer: its g starts at out_scale ||v||
  int64_t offset = 0;      // of <name>.v in the flat parameters
  Shape v_shape;           // (c_out, c_in, window...): the shape of v and w
  Tensor w;                // effective weight (c_out, c_in, window...) in dtype on the device
  Tensor wt;               // the same as (taps, c_in, c_out) for the cached sampler
  Tensor bias;             // view of <name>.b (c_out); undefined without bias
  int64_t fan_in() const { return c_in * taps; }
  int64_t n_weights() const { return c_out * fan_in(); }
};

class NaqsConvModel : public AutoregressiveWavefunction {
 public:
  // Move-only: a copy would silently share the parameter buffer (ParameterSet copies share).
  NaqsConvModel(NaqsConvModel&&) = default;
  NaqsConvModel& operator=(NaqsConvModel&&) = default;
  NaqsConvModel(const NaqsConvModel&) = delete;
  NaqsConvModel& operator=(const NaqsConvModel&) = delete;

  PhaseMode phase_mode() const override { return phase_mode_; }
  DType dtype() const override { return dtype_; }
  Device device() const override { return device_; }
  ParameterSet& params() override { return params_; }
  const ParameterSet& params() const override { return params_; }
  // Cached sampler: sigma_t (B) into site t of the input ring cache_x_.
  void cache_set_site(int64_t t, const Tensor& sigma_t) override;

 protected:
  // Checks width >= 1, depth >= 0, kernel >= 1 and dtype f32/f64 (UsageError naming `model`).
  NaqsConvModel(const char* model, const NaqsModelOptions& options, DType dtype, Device device);

  // The model's convolutions in registration order (each model stores its own layer type).
  virtual std::size_t n_convs() const = 0;
  virtual NormedConv& conv(std::size_t i) = 0;

  // Registers l's parameters (v of shape v_shape = (c_out, c_in, window...), g, b if has_bias)
  // and sets l.offset, l.v_shape and l.taps. Before params_.allocate().
  void register_conv(NormedConv& l, const Shape& v_shape);
  // After params_.allocate(): binds every layer's bias view.
  void bind_biases();
  // Re-draws all parameters from Philox(seed) (f64 normals on the host, once): v ~ N(0,
  // 1/fan_in), g = ||v|| (so w = v) times out_scale for output layers, b = 0.
  void initialise_convs(uint64_t seed, double out_scale);
  // w = weight_norm(v, g) for every layer on the device (and wt when site_major).
  void refresh_weights(bool site_major = false);
  // The parameter gradient of layer l from the gradient of its effective weight and its
  // output gradient dy3 (B, c_out, n) (the bias gradient sums it over batch and sites):
  //   summed:     dw (c_out, c_in, window...)  -> grad (P) views of v, g, b
  //   per_sample: dw (B, n_weights) or (B, c_out, c_in, window...) -> jac (B,P) columns
  // Written (accumulate: added) on the device. dw is scratch: the per-sample path overwrites
  // it with the v gradient.
  void conv_gradient(const NormedConv& l, Tensor& dw, const Tensor& dy3, bool per_sample,
                     Tensor& grad_or_jac, bool accumulate) const;
  // Checks grad (P) or jac (B,P) for logits_backward (shape, dtype, device).
  void check_gradient_output(const char* op, const Tensor& grad_or_jac, int64_t batch,
                             bool per_sample) const;

  // The buffer t of a pre-activation of shape `shape` for the current logits() call: allocated
  // when activations_kept_ (a model's logits() sets it from keep_activations()), else released,
  // so the fused conv ops skip writing it and logits_backward refuses to run.
  Tensor& pre_activation(Tensor& t, const Shape& shape) const;

  DType dtype_;
  Device device_;
  ParameterSet params_;
  bool activations_kept_ = false;  // whether the last logits() kept the pre-activations

  // Cached sampling state both models keep (each model's cache_begin sizes it).
  int64_t cache_batch_ = 0;               // B of the last cache_begin (0: none yet)
  nn::RingCache cache_x_;                 // sigma, (R,B,1): site t in slot t % R
  std::vector<ops::SiteTap> cache_taps_;  // scratch of the models' site_taps

 private:
  PhaseMode phase_mode_;
};

}  // namespace naqs
