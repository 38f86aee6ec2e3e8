// What the NAQS convolutional models (physics/naqs_conv1d.hpp, physics/naqs_conv2d.hpp) share:
// the options both take (NaqsModelOptions, the base of both configs, checked once here) and
// NaqsConvModel, the state behind the AutoregressiveWavefunction accessors (dtype, device, flat
// parameters), move-only, with the hand-off of a host gradient to the caller's tensor; and what
// their cached samplers share: site-major activation caches (SiteCache) and weights transposed
// for ops::conv_site_forward (host/ops/conv_site.hpp).
// Tests: through the models (tests/unit/test_naqs1d.cpp, test_naqs2d.cpp).
#pragma once
#include <vector>

#include "host/ops/conv_site.hpp"
#include "physics/wavefunction.hpp"

namespace naqs {

struct NaqsModelOptions {
  int width = 16;  // channels of every hidden layer
  int depth = 2;   // residual blocks (>= 0)
  int kernel = 3;  // taps of every masked convolution (per dimension)
  PhaseMode phase_mode = PhaseMode::real_positive;
};

// A site-major activation cache of the cached sampler: data is (rows,B,C) and site t lives in
// row t % rows, so a ring of the last `rows` sites (rows = the lattice size when every site is
// kept). A site's activations are one contiguous (B,C) block, written once by
// ops::conv_site_forward and read by later sites' taps.
struct SiteCache {
  Tensor data;
  int64_t rows = 0;
  int64_t row(int64_t t) const { return t % rows; }
  Tensor site(int64_t t) const { return data.select(row(t)); }  // (B,C) view
  // (rows,B,C) zeros in dtype on device.
  void allocate(int64_t n_rows, int64_t batch, int64_t channels, DType dtype, Device device);
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
  // grad_host (P) or (B,P) row-major f64 -> grad_or_jac (same shape) on the device, added into
  // it when accumulate.
  void hand_over_gradient(const std::vector<double>& grad_host, Tensor& grad_or_jac,
                          bool accumulate) const;
  // A convolution weight w (Cout, Cin, K) (K taps, a kh x kw window flattened row-major), f64 on
  // the host, as ops::conv_site_forward's wt (K, Cin, Cout) in the model's dtype and device.
  Tensor site_major_weight(const std::vector<double>& w, int64_t c_out, int64_t c_in,
                           int64_t taps) const;

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
  SiteCache cache_x_;                     // sigma, (R,B,1)
  std::vector<ops::SiteTap> cache_taps_;  // scratch of the models' site_taps

 private:
  PhaseMode phase_mode_;
};

}  // namespace naqs
