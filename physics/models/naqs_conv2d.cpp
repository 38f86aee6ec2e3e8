// 2D NAQS: two-stream masked conv stack, hand-written backward, cached per-site evaluation.
// See naqs_conv2d.hpp for the architecture and the tests that cover it.
#include "physics/models/naqs_conv2d.hpp"

#include <algorithm>

#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs {

NaqsConv2dConfig naqs_conv2d_preset(const std::string& name) {
  NaqsConv2dConfig c;
  if (name == "tfim12") {
    c.lx = c.ly = 12;
    c.depth = 10;
    c.width = 32;
  } else if (name == "heis10") {
    c.lx = c.ly = 10;
    c.depth = 20;
    c.width = 32;
  } else if (name == "small4") {
    c.lx = c.ly = 4;
    c.depth = 2;
    c.width = 4;
  } else if (name == "tiny3") {
    c.lx = c.ly = 3;
    c.depth = 1;
    c.width = 3;
  } else {
    throw UsageError(cat("naqs conv2d preset '", name,
                         "' is not known; use tfim12, heis10, small4 or tiny3"));
  }
  return c;
}

NaqsConv2d::NaqsConv2d(const NaqsConv2dConfig& config, DType dtype, Device device, uint64_t seed)
    : NaqsConvModel("naqs conv2d", config, dtype, device), config_(config) {
  NAQS_REQUIRE(config.lx >= 1 && config.ly >= 1, "naqs conv2d: lattice must be at least 1x1, got ",
               config.lx, "x", config.ly);
  NAQS_REQUIRE(config.kernel % 2 == 1, "naqs conv2d: kernel must be odd, got ", config.kernel);
  const int w = config.width, k = config.kernel;
  const ops::Conv2dSpec vert = ops::conv2d_vertical_spec(k);
  const ops::Conv2dSpec v2h = ops::conv2d_vertical_spec(k, /*shift_down=*/true);
  if (config.depth > 0) v_.push_back(add_layer("v_in", 1, w, vert, true));
  h_.push_back(add_layer("h_in", 1, w, ops::conv2d_horizontal_spec(k, /*exclusive=*/true), true));
  v2h_.push_back(add_layer("v2h_in", 1, w, v2h, false));
  for (int j = 1; j <= config.depth; ++j) {
    h_.push_back(add_layer(cat("block", j, ".h"), w, w, ops::conv2d_horizontal_spec(k, false), true));
    v2h_.push_back(add_layer(cat("block", j, ".v2h"), w, w, v2h, false));
    if (j < config.depth) v_.push_back(add_layer(cat("block", j, ".v"), w, w, vert, true));
  }
  out_re_ = add_layer("out_re", w, 2, ops::conv2d_pointwise_spec(), true);
  if (config.phase_mode == PhaseMode::complex)
    out_im_ = static_cast<std::ptrdiff_t>(add_layer("out_im", w, 2, ops::conv2d_pointwise_spec(), true));
  // On CUDA the cached sampler's site convolution takes at most ops::kMaxSiteTaps taps: refuse
  // such a model now rather than at its first sampled site.
  if (device.is_cuda())
    for (const Layer& l : layers_) {
      const int64_t taps = std::min<int64_t>(l.spec.kernel_h, config.ly) *
                           std::min<int64_t>(l.spec.kernel_w, config.lx);
      NAQS_REQUIRE(taps <= ops::kMaxSiteTaps, "naqs conv2d: kernel ", k, " gives layer ", l.name,
                   " ", taps, " taps per site, but on CUDA the cached sampler takes at most ",
                   ops::kMaxSiteTaps, " (kernel <= 9 on a GPU)");
    }
  params_.allocate(dtype, device);
  bind_biases();
  initialise(seed);
}

std::size_t NaqsConv2d::add_layer(const std::string& name, int cin, int cout,
                                  const ops::Conv2dSpec& spec, bool has_bias) {
  Layer l;
  l.name = name;
  l.c_in = cin;
  l.c_out = cout;
  l.spec = spec;
  l.has_bias = has_bias;
  l.output = name == "out_re" || name == "out_im";
  register_conv(l, {cout, cin, spec.kernel_h, spec.kernel_w});
  layers_.push_back(std::move(l));
  return layers_.size() - 1;
}

Shape NaqsConv2d::hidden_shape(int64_t batch) const {
  return {batch, config_.width, config_.ly, config_.lx};
}

std::size_t NaqsConv2d::forward_bytes_per_sample() const {
  // x, (pre, out) per vertical and horizontal layer, logits + head temporaries (~10 x (2,N)).
  const std::size_t n_layers = v_.size() + h_.size();
  const std::size_t per_site = 1 + 2 * static_cast<std::size_t>(config_.width) * n_layers + 20;
  return per_site * static_cast<std::size_t>(n_sites()) * dtype_size(dtype_) +
         static_cast<std::size_t>(n_sites()) * 4;
}

void NaqsConv2d::initialise(uint64_t seed, double out_scale) {
  initialise_convs(seed, out_scale);
}

void NaqsConv2d::logits(const Tensor& sigma, Tensor& re, Tensor& im) {
  const char* op = "NaqsConv2d::logits";
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0), n = n_sites();
  check_shape(op, sigma, {batch, n}, "sigma");
  check_shape(op, re, {batch, 2, n}, "re");
  check_shape(op, im, {batch, 2, n}, "im");
  refresh_weights();
  const Shape hidden = hidden_shape(batch);
  const int64_t ly = config_.ly, lx = config_.lx;
  x_ = sigma.reshape({batch, 1, ly, lx});
  const int depth = config_.depth;
  pre_v_.resize(v_.size());
  out_v_.resize(v_.size());
  pre_h_.resize(h_.size());
  out_h_.resize(h_.size());
  // Pre-activations are only read by the backward: without it they are not written at all.
  activations_kept_ = keep_activations();
  for (std::size_t j = 0; j < v_.size(); ++j) {
    pre_activation(pre_v_[j], hidden);
    ensure_tensor(out_v_[j], hidden, dtype_, device_);
  }
  for (std::size_t j = 0; j < h_.size(); ++j) {
    pre_activation(pre_h_[j], hidden);
    ensure_tensor(out_h_[j], hidden, dtype_, device_);
  }
  // Vertical stream: V_0 = relu(v_in(x)); V_j = V_{j-1} + relu(v_j(V_{j-1})).
  for (std::size_t j = 0; j < v_.size(); ++j) {
    const Layer& l = layers_[v_[j]];
    ops::conv2d_forward_act({{j == 0 ? x_ : out_v_[j - 1], l.w, l.spec}}, l.bias, ops::Unary::relu,
                            pre_v_[j], out_v_[j], j > 0 ? out_v_[j - 1] : Tensor());
  }
  // Horizontal stream: H_j = [H_{j-1} +] relu(h_j(H_{j-1}) + v2h_j(V_{j-1})) (x for j = 0).
  for (int j = 0; j <= depth; ++j) {
    const Layer& lh = layers_[h_[j]];
    const Layer& lv = layers_[v2h_[j]];
    const Tensor& h_in = j == 0 ? x_ : out_h_[j - 1];
    const Tensor& v_in = j == 0 ? x_ : out_v_[j - 1];
    ops::conv2d_forward_act({{h_in, lh.w, lh.spec}, {v_in, lv.w, lv.spec}}, lh.bias,
                            ops::Unary::relu, pre_h_[j], out_h_[j],
                            j > 0 ? out_h_[j - 1] : Tensor());
  }
  const Tensor& h_last = out_h_.back();
  const Layer& lre = layers_[out_re_];
  Tensor re4 = re.reshape({batch, 2, ly, lx});
  ops::conv2d_forward(h_last, lre.w, lre.bias, lre.spec, re4);
  if (out_im_ >= 0) {
    const Layer& lim = layers_[static_cast<std::size_t>(out_im_)];
    Tensor im4 = im.reshape({batch, 2, ly, lx});
    ops::conv2d_forward(h_last, lim.w, lim.bias, lim.spec, im4);
  } else {
    ops::fill(im, 0.0);
  }
}

void NaqsConv2d::layer_backward(const Layer& l, const Tensor& x, const Tensor& dy, bool per_sample,
                                Tensor& grad_or_jac, bool accumulate) {
  const int64_t batch = dy.size(0);
  Tensor dw;
  if (per_sample) {
    dw = Tensor::empty({batch, l.n_weights()}, dtype_, device_);
    ops::conv2d_backward_weight_per_sample(x, dy, l.spec, dw);
  } else {
    dw = Tensor::empty({l.c_out, l.c_in, l.spec.kernel_h, l.spec.kernel_w}, dtype_, device_);
    ops::conv2d_backward_weight(x, dy, l.spec, dw);
  }
  conv_gradient(l, dw, dy.reshape({batch, l.c_out, n_sites()}), per_sample, grad_or_jac,
                accumulate);
}

void NaqsConv2d::logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                                 bool per_sample, bool accumulate) {
  const char* op = "NaqsConv2d::logits_backward";
  NAQS_CHECK(x_.defined() && activations_kept_, op,
             ": no forward pass to differentiate (log_psi and conditionals keep no activations)");
  const int64_t batch = x_.size(0), n = n_sites();
  const int64_t ly = config_.ly, lx = config_.lx;
  check_shape(op, d_re, {batch, 2, n}, "d_re");
  check_gradient_output(op, grad_or_jac, batch, per_sample);
  const bool complex = out_im_ >= 0;
  if (complex) check_shape(op, d_im, {batch, 2, n}, "d_im");
  // Every parameter belongs to one layer, so each layer writes (or adds) its own slice.
  auto layer_grad = [&](const Layer& l, const Tensor& x, const Tensor& dy) {
    layer_backward(l, x, dy, per_sample, grad_or_jac, accumulate);
  };
  const Shape hidden = hidden_shape(batch);
  const int depth = config_.depth;

  // Output 1x1 convolutions.
  const Tensor& h_last = out_h_.back();
  Tensor dh = Tensor::empty(hidden, dtype_, device_);
  const Layer& lre = layers_[out_re_];
  const Tensor d_re4 = d_re.reshape({batch, 2, ly, lx});
  ops::conv2d_backward_input(d_re4, lre.w, lre.spec, dh);
  layer_grad(lre, h_last, d_re4);
  if (complex) {
    const Layer& lim = layers_[static_cast<std::size_t>(out_im_)];
    const Tensor d_im4 = d_im.reshape({batch, 2, ly, lx});
    ops::conv2d_backward_input(d_im4, lim.w, lim.spec, dh, /*accumulate=*/true);
    layer_grad(lim, h_last, d_im4);
  }
  // Blocks in reverse. At the start of iteration j, dh = dL/dH_j and dv = dL/dV_j (zero for
  // j = depth: V_depth does not exist). The residual identities keep dh / dv in place.
  Tensor dv = Tensor::zeros(hidden, dtype_, device_);
  Tensor d_pre = Tensor::empty(hidden, dtype_, device_);
  for (int j = depth; j >= 1; --j) {
    if (j < depth) {  // V_j = V_{j-1} + relu(v_j(V_{j-1}))
      const Layer& lv = layers_[v_[j]];
      ops::unary_backward(ops::Unary::relu, pre_v_[j], dv, d_pre);
      layer_grad(lv, out_v_[j - 1], d_pre);
      ops::conv2d_backward_input(d_pre, lv.w, lv.spec, dv, /*accumulate=*/true);
    }
    // H_j = H_{j-1} + relu(h_j(H_{j-1}) + v2h_j(V_{j-1})).
    const Layer& lh = layers_[h_[j]];
    const Layer& lv2h = layers_[v2h_[j]];
    ops::unary_backward(ops::Unary::relu, pre_h_[j], dh, d_pre);
    layer_grad(lh, out_h_[j - 1], d_pre);
    layer_grad(lv2h, out_v_[j - 1], d_pre);
    ops::conv2d_backward_input(d_pre, lh.w, lh.spec, dh, /*accumulate=*/true);
    ops::conv2d_backward_input(d_pre, lv2h.w, lv2h.spec, dv, /*accumulate=*/true);
  }
  // Input layers (no gradient with respect to sigma is needed).
  ops::unary_backward(ops::Unary::relu, pre_h_[0], dh, d_pre);
  layer_grad(layers_[h_[0]], x_, d_pre);
  layer_grad(layers_[v2h_[0]], x_, d_pre);
  if (!v_.empty()) {
    ops::unary_backward(ops::Unary::relu, pre_v_[0], dv, d_pre);
    layer_grad(layers_[v_[0]], x_, d_pre);
  }
}

void NaqsConv2d::cache_begin(int64_t batch) {
  NAQS_CHECK(batch >= 1, "NaqsConv2d::cache_begin: batch must be >= 1, got ", batch);
  refresh_weights(/*site_major=*/true);
  const int width = config_.width;
  const int64_t lx = config_.lx, n = n_sites();
  cache_batch_ = batch;
  // How far back (in raster sites) from the current step t = (r,c) a reader's taps reach: a
  // layer evaluated at (r,c) reaches (r + offset_h, c + offset_w); a vertical layer evaluated
  // for row r-1 at t = (r,0) reaches (r-1 + offset_h, offset_w) or later; a residual or a 1x1
  // head reaches at most one row back. Sites are written at or before t, so a ring of
  // 1 + that distance rows never overwrites a site that is still read.
  auto at_site = [&](std::size_t li) {
    const ops::Conv2dSpec& s = layers_[li].spec;
    return -static_cast<int64_t>(s.offset_h) * lx - s.offset_w;
  };
  auto at_row = [&](std::size_t li) {
    const ops::Conv2dSpec& s = layers_[li].spec;
    return (1 - static_cast<int64_t>(s.offset_h)) * lx - s.offset_w;
  };
  auto ring = [&](nn::RingCache& cache, int64_t back, int channels) {
    cache.allocate(std::min(n, 1 + std::max(back, lx)), {batch, channels}, dtype_, device_);
  };
  const int depth = config_.depth;
  int64_t back_x = std::max(at_site(h_[0]), at_site(v2h_[0]));
  if (!v_.empty()) back_x = std::max(back_x, at_row(v_[0]));
  ring(cache_x_, back_x, 1);
  cache_v_.resize(v_.size());
  for (std::size_t j = 0; j < v_.size(); ++j) {  // read by v2h_{j+1} and V_{j+1}
    int64_t back = at_site(v2h_[j + 1]);
    if (j + 1 < v_.size()) back = std::max(back, at_row(v_[j + 1]));
    ring(cache_v_[j], back, width);
  }
  cache_h_.resize(h_.size());
  for (int j = 0; j <= depth; ++j)  // read by h_{j+1} (the last one by the 1x1 heads)
    ring(cache_h_[static_cast<std::size_t>(j)], j < depth ? at_site(h_[j + 1]) : 0, width);
  cache_taps_.reserve(static_cast<std::size_t>(config_.kernel * config_.kernel));
}

std::span<const ops::SiteTap> NaqsConv2d::site_taps(const Layer& l, const nn::RingCache& in,
                                                    int64_t r, int64_t c) {
  const ops::Conv2dSpec& s = l.spec;
  cache_taps_.clear();
  for (int i = 0; i < s.kernel_h; ++i) {
    const int64_t rr = r + s.offset_h + i;
    if (rr < 0 || rr >= config_.ly) continue;  // zero padding
    for (int j = 0; j < s.kernel_w; ++j) {
      const int64_t cc = c + s.offset_w + j;
      if (cc < 0 || cc >= config_.lx) continue;
      cache_taps_.push_back({in.slot(rr * config_.lx + cc), i * s.kernel_w + j});
    }
  }
  return cache_taps_;
}

void NaqsConv2d::cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) {
  const char* op = "NaqsConv2d::cache_logits";
  const int64_t batch = cache_batch_, n = n_sites();
  NAQS_CHECK(batch > 0, op, ": cache_begin was not called");
  NAQS_CHECK(t >= 0 && t < n, op, ": site ", t, " out of range");
  check_shape(op, re_t, {batch, 2}, "re_t");
  check_shape(op, im_t, {batch, 2}, "im_t");
  const int64_t lx = config_.lx, r = t / lx, c = t % lx;
  const auto relu = ops::Unary::relu;

  // Row r-1 of every vertical layer is final once row r-1 of sigma is set: compute it at the
  // first site of row r (rows are visited in order, so each row is computed exactly once).
  // V_0 = relu(v_in(x)), V_j = V_{j-1} + relu(v_j(V_{j-1})), whole rows layer by layer.
  if (c == 0 && r >= 1)
    for (std::size_t j = 0; j < v_.size(); ++j) {
      const Layer& l = layers_[v_[j]];
      const nn::RingCache& in = j == 0 ? cache_x_ : cache_v_[j - 1];
      for (int64_t cc = 0; cc < lx; ++cc) {
        const int64_t p = (r - 1) * lx + cc;
        Tensor y = cache_v_[j].write(p);
        ops::conv_site_forward(in.data(), l.wt, l.bias, site_taps(l, in, r - 1, cc), relu, y,
                               j == 0 ? Tensor() : in.at(p));
      }
    }

  // Horizontal stream at (r,c): H_j = [H_{j-1} +] relu(h_j(H_{j-1}) + v2h_j(V_{j-1})), x for
  // j = 0: the h convolution (with bias) into the block, then the v2h one added to it.
  for (std::size_t j = 0; j < h_.size(); ++j) {
    const Layer& lh = layers_[h_[j]];
    const Layer& lv = layers_[v2h_[j]];
    const nn::RingCache& h_in = j == 0 ? cache_x_ : cache_h_[j - 1];
    const nn::RingCache& v_in = j == 0 ? cache_x_ : cache_v_[j - 1];
    Tensor y = cache_h_[j].write(t);
    ops::conv_site_forward(h_in.data(), lh.wt, lh.bias, site_taps(lh, h_in, r, c), std::nullopt,
                           y);
    ops::conv_site_forward(v_in.data(), lv.wt, Tensor(), site_taps(lv, v_in, r, c), relu, y,
                           j == 0 ? Tensor() : h_in.at(t), /*accumulate=*/true);
  }
  const nn::RingCache& h_last = cache_h_.back();
  const ops::SiteTap here{h_last.slot(t), 0};  // the 1x1 heads read (r,c) only
  const Layer& lre = layers_[out_re_];
  ops::conv_site_forward(h_last.data(), lre.wt, lre.bias, {&here, 1}, std::nullopt, re_t);
  if (out_im_ >= 0) {
    const Layer& lim = layers_[static_cast<std::size_t>(out_im_)];
    ops::conv_site_forward(h_last.data(), lim.wt, lim.bias, {&here, 1}, std::nullopt, im_t);
  } else {
    ops::fill(im_t, 0.0);
  }
}

std::vector<std::pair<std::string, Tensor>> NaqsConv2d::hidden_layers() const {
  NAQS_CHECK(!out_h_.empty() && out_h_[0].defined(),
             "NaqsConv2d::hidden_layers: no logits() call yet");
  std::vector<std::pair<std::string, Tensor>> out;
  for (std::size_t j = 0; j < out_h_.size(); ++j) out.emplace_back(cat("H", j), out_h_[j]);
  return out;
}

}  // namespace naqs
