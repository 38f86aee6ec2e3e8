// 1D NAQS: masked conv stack, hand-written backward, cached per-site evaluation.
// See naqs_conv1d.hpp for the architecture and the tests that cover it.
#include "physics/models/naqs_conv1d.hpp"

#include <algorithm>

#include "host/ops/fill.hpp"

namespace naqs {

Activation parse_activation(const std::string& s) {
  if (s == "relu") return Activation::relu;
  if (s == "selu") return Activation::selu;
  throw UsageError(cat("activation '", s, "' is not allowed; use relu or selu"));
}

NaqsConv1d::NaqsConv1d(const NaqsConv1dConfig& config, DType dtype, Device device, uint64_t seed)
    : NaqsConvModel("naqs conv1d", config, dtype, device), config_(config) {
  NAQS_REQUIRE(config.n_sites >= 1, "naqs conv1d: n_sites must be >= 1, got ", config.n_sites);
  NAQS_REQUIRE(!config.dilations.empty(), "naqs conv1d: dilations must not be empty");
  for (int d : config.dilations)
    NAQS_REQUIRE(d >= 1, "naqs conv1d: dilations must be >= 1, got ", d);
  act_ = config.activation == Activation::relu ? ops::Unary::relu : ops::Unary::selu;
  const int w = config.width, k = config.kernel;
  add_layer("conv_in", 1, w, k, 1, true);
  for (int j = 0; j < config.depth; ++j) {
    const int dil = config.dilations[static_cast<std::size_t>(j) % config.dilations.size()];
    add_layer(cat("block", j, ".a"), w, w, k, dil, false);
    add_layer(cat("block", j, ".b"), w, w, k, dil, false);
  }
  add_layer("conv_re", w, 2, 1, 1, false);
  if (config.phase_mode == PhaseMode::complex) add_layer("conv_im", w, 2, 1, 1, false);
  // On CUDA the cached sampler's site convolution takes at most ops::kMaxSiteTaps taps: refuse
  // such a model now rather than at its first sampled site.
  const int64_t taps = std::min<int64_t>(k, config.n_sites);
  NAQS_REQUIRE(!device.is_cuda() || taps <= ops::kMaxSiteTaps, "naqs conv1d: kernel ", k,
               " gives ", taps, " taps per site, but on CUDA the cached sampler takes at most ",
               ops::kMaxSiteTaps);
  params_.allocate(dtype, device);
  bind_biases();
  initialise(seed);
}

void NaqsConv1d::add_layer(const std::string& name, int cin, int cout, int kernel, int dilation,
                           bool exclusive) {
  Layer l;
  l.name = name;
  l.c_in = cin;
  l.c_out = cout;
  l.output = name == "conv_re" || name == "conv_im";
  l.spec.kernel = kernel;
  l.spec.dilation = dilation;
  l.spec.exclusive = exclusive;
  register_conv(l, {cout, cin, kernel});
  layers_.push_back(std::move(l));
}

std::size_t NaqsConv1d::forward_bytes_per_sample() const {
  // x, conv_in pre/post, 4 tensors per block, logits + head temporaries (~10 x (2,N)).
  const std::size_t per_site = 1 + 2 * static_cast<std::size_t>(config_.width) *
                                       (1 + 2 * static_cast<std::size_t>(config_.depth)) + 20;
  return per_site * static_cast<std::size_t>(config_.n_sites) * dtype_size(dtype_) +
         static_cast<std::size_t>(config_.n_sites) * 4;
}

void NaqsConv1d::initialise(uint64_t seed, double out_scale) {
  initialise_convs(seed, out_scale);
}

void NaqsConv1d::logits(const Tensor& sigma, Tensor& re, Tensor& im) {
  const char* op = "NaqsConv1d::logits";
  const int64_t batch = sigma.size(0), n = n_sites();
  check_shape(op, sigma, {batch, n}, "sigma");
  check_shape(op, re, {batch, 2, n}, "re");
  check_shape(op, im, {batch, 2, n}, "im");
  refresh_weights();
  const Shape hidden{batch, config_.width, n};
  // Pre-activations are only read by the backward: without it they are not written at all.
  activations_kept_ = keep_activations();
  x_ = sigma.reshape({batch, 1, n});
  ensure_tensor(h_in_, hidden, dtype_, device_);
  ops::conv1d_forward_act(x_, layers_[0].w, layers_[0].bias, layers_[0].spec, act_,
                          pre_activation(pre_in_, hidden), h_in_);
  pre_a_.resize(n_blocks());
  act_a_.resize(n_blocks());
  pre_b_.resize(n_blocks());
  h_out_.resize(n_blocks());
  const Tensor* h = &h_in_;
  for (std::size_t j = 0; j < n_blocks(); ++j) {
    const Layer& la = layers_[block_a(j)];
    const Layer& lb = layers_[block_b(j)];
    ensure_tensor(act_a_[j], hidden, dtype_, device_);
    ensure_tensor(h_out_[j], hidden, dtype_, device_);
    ops::conv1d_forward_act(*h, la.w, la.bias, la.spec, act_, pre_activation(pre_a_[j], hidden),
                            act_a_[j]);
    ops::conv1d_forward_act(act_a_[j], lb.w, lb.bias, lb.spec, act_,
                            pre_activation(pre_b_[j], hidden), h_out_[j], *h);
    h = &h_out_[j];
  }
  const Layer& lre = layers_[layer_re()];
  ops::conv1d_forward(*h, lre.w, lre.bias, lre.spec, re);
  if (config_.phase_mode == PhaseMode::complex) {
    const Layer& lim = layers_[layer_im()];
    ops::conv1d_forward(*h, lim.w, lim.bias, lim.spec, im);
  } else {
    ops::fill(im, 0.0);
  }
}

void NaqsConv1d::layer_backward(const Layer& l, const Tensor& x, const Tensor& dy,
                                bool per_sample, Tensor& grad_or_jac, bool accumulate) {
  Tensor dw;
  if (per_sample) {
    dw = Tensor::empty({dy.size(0), l.c_out, l.c_in, l.spec.kernel}, dtype_, device_);
    ops::conv1d_backward_weight_per_sample(x, dy, l.spec, dw);
  } else {
    dw = Tensor::empty({l.c_out, l.c_in, l.spec.kernel}, dtype_, device_);
    ops::conv1d_backward_weight(x, dy, l.spec, dw);
  }
  conv_gradient(l, dw, dy, per_sample, grad_or_jac, accumulate);
}

void NaqsConv1d::logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                                 bool per_sample, bool accumulate) {
  const char* op = "NaqsConv1d::logits_backward";
  NAQS_CHECK(x_.defined() && activations_kept_, op,
             ": no forward pass to differentiate (log_psi and conditionals keep no activations)");
  const int64_t batch = x_.size(0), n = n_sites();
  check_shape(op, d_re, {batch, 2, n}, "d_re");
  check_gradient_output(op, grad_or_jac, batch, per_sample);
  const bool complex = config_.phase_mode == PhaseMode::complex;
  if (complex) check_shape(op, d_im, {batch, 2, n}, "d_im");
  // Every parameter belongs to one layer, so each layer writes (or adds) its own slice.
  auto layer_grad = [&](const Layer& l, const Tensor& x, const Tensor& dy) {
    layer_backward(l, x, dy, per_sample, grad_or_jac, accumulate);
  };
  const Shape hidden{batch, config_.width, n};

  // Output 1x1 convolutions.
  const Tensor& h_last = n_blocks() > 0 ? h_out_.back() : h_in_;
  Tensor dh = Tensor::empty(hidden, dtype_, device_);
  const Layer& lre = layers_[layer_re()];
  ops::conv1d_backward_input(d_re, lre.w, lre.spec, dh);
  layer_grad(lre, h_last, d_re);
  if (complex) {
    const Layer& lim = layers_[layer_im()];
    ops::conv1d_backward_input(d_im, lim.w, lim.spec, dh, /*accumulate=*/true);
    layer_grad(lim, h_last, d_im);
  }
  // Residual blocks in reverse: h_out = h + act(pre_b), pre_b = conv_b(act(pre_a)),
  // pre_a = conv_a(h). dh already carries the identity path.
  Tensor d_pre = Tensor::empty(hidden, dtype_, device_);
  Tensor d_act = Tensor::empty(hidden, dtype_, device_);
  for (std::size_t jj = n_blocks(); jj-- > 0;) {
    const Layer& la = layers_[block_a(jj)];
    const Layer& lb = layers_[block_b(jj)];
    const Tensor& h_prev = jj > 0 ? h_out_[jj - 1] : h_in_;
    ops::unary_backward(act_, pre_b_[jj], dh, d_pre);
    layer_grad(lb, act_a_[jj], d_pre);
    ops::conv1d_backward_input(d_pre, lb.w, lb.spec, d_act);
    ops::unary_backward(act_, pre_a_[jj], d_act, d_pre);
    layer_grad(la, h_prev, d_pre);
    ops::conv1d_backward_input(d_pre, la.w, la.spec, dh, /*accumulate=*/true);
  }
  // Input layer (no gradient with respect to sigma is needed).
  ops::unary_backward(act_, pre_in_, dh, d_pre);
  layer_grad(layers_[0], x_, d_pre);
}

void NaqsConv1d::cache_begin(int64_t batch) {
  NAQS_CHECK(batch >= 1, "NaqsConv1d::cache_begin: batch must be >= 1, got ", batch);
  refresh_weights(/*site_major=*/true);
  const int width = config_.width;
  cache_batch_ = batch;
  // A ring holds the sites its readers still need: 1 + the farthest tap back of each reader
  // (block j's conv a reads h_{j-1} through its taps, conv b reads it as the residual at t).
  auto rows_read_by = [&](const Layer* reader) { return 1 + (reader ? back(*reader, 0) : 0); };
  const Shape row{batch, width};
  cache_x_.allocate(rows_read_by(&layers_[0]), {batch, 1}, dtype_, device_);
  cache_h_in_.allocate(rows_read_by(n_blocks() > 0 ? &layers_[block_a(0)] : nullptr), row, dtype_,
                       device_);
  cache_a_.resize(n_blocks());
  cache_h_.resize(n_blocks());
  for (std::size_t j = 0; j < n_blocks(); ++j) {
    cache_a_[j].allocate(rows_read_by(&layers_[block_b(j)]), row, dtype_, device_);
    cache_h_[j].allocate(rows_read_by(j + 1 < n_blocks() ? &layers_[block_a(j + 1)] : nullptr),
                         row, dtype_, device_);
  }
  cache_taps_.reserve(static_cast<std::size_t>(config_.kernel));
}

std::span<const ops::SiteTap> NaqsConv1d::site_taps(const Layer& l, const nn::RingCache& in,
                                                    int64_t t) {
  cache_taps_.clear();
  for (int k = 0; k < l.spec.kernel; ++k) {
    const int64_t p = t - back(l, k);
    if (p >= 0) cache_taps_.push_back({in.slot(p), k});  // p < 0: left zero padding
  }
  return cache_taps_;
}

void NaqsConv1d::cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) {
  const char* op = "NaqsConv1d::cache_logits";
  const int64_t batch = cache_batch_;
  NAQS_CHECK(batch > 0, op, ": cache_begin was not called");
  NAQS_CHECK(t >= 0 && t < n_sites(), op, ": site ", t, " out of range");
  check_shape(op, re_t, {batch, 2}, "re_t");
  check_shape(op, im_t, {batch, 2}, "im_t");
  // Site t of one layer: act(conv(in) at t) (+ residual), into row t of `out`.
  auto step = [&](const Layer& l, const nn::RingCache& in, nn::RingCache& out,
                  const nn::RingCache* residual) {
    Tensor y = out.write(t);
    ops::conv_site_forward(in.data(), l.wt, l.bias, site_taps(l, in, t), act_, y,
                           residual ? residual->at(t) : Tensor());
  };
  step(layers_[0], cache_x_, cache_h_in_, nullptr);
  const nn::RingCache* h = &cache_h_in_;
  for (std::size_t j = 0; j < n_blocks(); ++j) {
    step(layers_[block_a(j)], *h, cache_a_[j], nullptr);
    step(layers_[block_b(j)], cache_a_[j], cache_h_[j], h);
    h = &cache_h_[j];
  }
  const ops::SiteTap here{h->slot(t), 0};  // the 1x1 heads read site t only
  const Layer& lre = layers_[layer_re()];
  ops::conv_site_forward(h->data(), lre.wt, lre.bias, {&here, 1}, std::nullopt, re_t);
  if (config_.phase_mode == PhaseMode::complex) {
    const Layer& lim = layers_[layer_im()];
    ops::conv_site_forward(h->data(), lim.wt, lim.bias, {&here, 1}, std::nullopt, im_t);
  } else {
    ops::fill(im_t, 0.0);
  }
}

std::vector<std::pair<std::string, Tensor>> NaqsConv1d::hidden_layers() const {
  NAQS_CHECK(h_in_.defined(), "NaqsConv1d::hidden_layers: no logits() call yet");
  std::vector<std::pair<std::string, Tensor>> out{{"h0", h_in_}};
  for (std::size_t j = 0; j < h_out_.size(); ++j) out.emplace_back(cat("block", j + 1), h_out_[j]);
  return out;
}

}  // namespace naqs
