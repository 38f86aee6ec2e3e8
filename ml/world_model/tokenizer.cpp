// The Δ-IRIS tokenizer's conv encoder and decoder; see tokenizer.hpp.
#include "ml/world_model/tokenizer.hpp"

#include <cmath>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/conv2d.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/resample.hpp"
#include "nn/layers.hpp"

namespace naqs::ml::world_model {
namespace {

const ops::Conv2dSpec kConv3{3, 3, -1, -1};  // 3x3, zero padding, output size = input size
constexpr ops::Unary kSilu = ops::Unary::silu;

std::string level_name(const char* half, int64_t l) {
  return std::string(half) + std::to_string(l);
}

// The (B, C, S, S) map seen as its g x g blocks of P x P: a (B, g, g, C, P, P) view.
Tensor blocks_view(const Tensor& map, int64_t g) {
  const int64_t B = map.size(0), C = map.size(1), P = map.size(2) / g;
  return map.reshape({B, C, g, P, g, P}).permute({0, 2, 4, 1, 3, 5});
}

}  // namespace

void TokenizerConfig::validate() const {
  NAQS_REQUIRE(actions >= 1, "the number of actions ", actions, " must be at least 1");
  NAQS_REQUIRE(!channels.empty() && channels.size() <= 6, "--channels has ", channels.size(),
               " levels: use 1 to 6");
  for (size_t l = 0; l < channels.size(); ++l) {
    NAQS_REQUIRE(channels[l] >= 1, "--channels ", channels[l], " (level ", l,
                 ") is not allowed: use at least 1");
  }
  NAQS_REQUIRE(grid >= 1, "--grid ", grid, " is not allowed: use at least 1");
  NAQS_REQUIRE(token_dim >= 1, "--token-dim ", token_dim, " is not allowed: use at least 1");
  const int64_t div = int64_t{1} << (channels.size() - 1);
  NAQS_REQUIRE(frame >= div && frame % div == 0 && (frame / div) % grid == 0, "frames of ",
               frame, "x", frame, " are not allowed with ", channels.size(), " levels and a ",
               grid, "x", grid, " token grid: use a multiple of ", div * grid);
}

ConvTokenizer::ConvTokenizer(const TokenizerConfig& c, DType dtype, Device device)
    : c_(c), dtype_(dtype), device_(device) {
  c.validate();
  const int64_t L = int64_t(c.channels.size()), D = c.token_dim;
  const int64_t P = c.last_size() / c.grid, patch = c.channels.back() * P * P;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t in = l == 0 ? 1 + c.context_channels() : c.channels[l - 1];
    params_.add(level_name("enc.c", l) + ".w", {c.channels[l], in, 3, 3});
    params_.add(level_name("enc.c", l) + ".b", {c.channels[l]});
  }
  params_.add("enc.tok.w", {D, patch});
  params_.add("enc.tok.b", {D});
  params_.add("dec.tok.w", {patch, D});
  params_.add("dec.tok.b", {patch});
  if (c.delta) {  // the decoder's context pyramid, the encoder's levels on [x_t | a]
    for (int64_t l = 0; l < L; ++l) {
      const int64_t in = l == 0 ? c.context_channels() : c.channels[l - 1];
      params_.add(level_name("ctx.c", l) + ".w", {c.channels[l], in, 3, 3});
      params_.add(level_name("ctx.c", l) + ".b", {c.channels[l]});
    }
  }
  // the decoder's first map: the tokens' map, and in delta mode the context pyramid's beside it
  const int64_t first = c.channels.back() * (c.delta ? 2 : 1);
  for (int64_t l = L - 2; l >= 0; --l) {
    const int64_t in = l == L - 2 ? first : c.channels[l + 1];
    params_.add(level_name("dec.c", l) + ".w", {c.channels[l], in, 3, 3});
    params_.add(level_name("dec.c", l) + ".b", {c.channels[l]});
  }
  const int64_t head_in = (L == 1 ? first : c.channels[0]) + c.context_channels();
  params_.add("dec.head1.w", {c.channels[0], head_in, 3, 3});
  params_.add("dec.head1.b", {c.channels[0]});
  params_.add("dec.head2.w", {1, c.channels[0], 3, 3});
  params_.add("dec.head2.b", {1});
  params_.allocate(dtype, device);
}

void ConvTokenizer::init(uint64_t seed) {
  uint64_t stream = 0;
  for (const ParameterEntry& e : params_.layout()) {
    const std::string& n = e.name;
    const std::string wname = n.substr(0, n.size() - 1) + "w";  // a bias uses its weight's
    const Shape ws = params_.entry(wname).shape;
    const double bound = 1.0 / std::sqrt(double(ws.numel() / ws[0]));
    std::vector<double> v(static_cast<size_t>(e.shape.numel()));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = bound * (2 * philox_uniform_f64(seed, stream, i) - 1);
    params_.get(n).copy_from(from_host_f64(v, e.shape, dtype_, device_));
    ++stream;
  }
}

void ConvTokenizer::put_context(Tensor& dst, int64_t at, const Tensor& x_t,
                                const std::vector<int32_t>& actions) const {
  if (!c_.delta) return;
  const int64_t B = dst.size(0), A = c_.actions, n = c_.frame * c_.frame;
  NAQS_REQUIRE(int64_t(actions.size()) == B, "ConvTokenizer: ", actions.size(),
               " actions for a batch of ", B);
  std::vector<double> v(static_cast<size_t>(B * A * n), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const int32_t a = actions[b];
    NAQS_REQUIRE(a >= 0 && a < A, "ConvTokenizer: action ", a, " at position ", b,
                 " is outside [0, ", A, ")");
    std::fill_n(v.begin() + (b * A + a) * n, n, 1.0);
  }
  Tensor part = dst.narrow(1, at, 1);
  ops::copy(x_t, part);
  part = dst.narrow(1, at + 1, A);
  ops::copy(from_host_f64(v, {B, A, c_.frame, c_.frame}, dtype_, device_), part);
}

void ConvTokenizer::conv_silu(Conv& l, const Tensor& in) {
  const Tensor w = params_.get(l.name + ".w"), b = params_.get(l.name + ".b");
  l.in = in;
  l.pre = empty({in.size(0), w.size(0), in.size(2), in.size(3)});
  ops::conv2d_forward(in, w, b, kConv3, l.pre);
  l.out = empty(l.pre.shape());
  nn::activation_forward(kSilu, l.out, l.pre);
}

Tensor ConvTokenizer::conv_silu_backward(Conv& l, const Tensor& dout, ParameterSet& g,
                                         bool want_input) {
  Tensor dpre = empty(l.pre.shape());
  nn::activation_backward(kSilu, dpre, dout, l.pre);
  Tensor gw = g.get(l.name + ".w"), gb = g.get(l.name + ".b");
  ops::conv2d_backward_weight(l.in, dpre, kConv3, gw);
  ops::bias_backward(dpre, 1, gb);
  if (!want_input) return Tensor();
  Tensor din = empty(l.in.shape());
  ops::conv2d_backward_input(dpre, params_.get(l.name + ".w"), kConv3, din);
  return din;
}

Tensor ConvTokenizer::pyramid(const char* prefix, const Tensor& in, std::vector<Conv>& convs,
                              std::vector<Tensor>& pooled) {
  const int64_t L = int64_t(c_.channels.size()), B = in.size(0);
  convs.assign(size_t(L), Conv{});
  pooled.assign(size_t(L), Tensor());
  Tensor h = in;
  for (int64_t l = 0; l < L; ++l) {
    if (l > 0) {
      pooled[l] = empty({B, h.size(1), h.size(2) / 2, h.size(3) / 2});
      ops::avg_pool2x2(h, pooled[l]);
      h = pooled[l];
    }
    convs[l].name = level_name(prefix, l);
    conv_silu(convs[l], h);
    h = convs[l].out;
  }
  return h;
}

void ConvTokenizer::pyramid_backward(std::vector<Conv>& convs, Tensor dh, ParameterSet& g) {
  for (int64_t l = int64_t(convs.size()) - 1; l >= 0; --l) {
    const Tensor din = conv_silu_backward(convs[l], dh, g, l > 0);
    if (l == 0) break;
    dh = empty(convs[l - 1].out.shape());
    ops::avg_pool2x2_backward(din, dh);
  }
}

Tensor ConvTokenizer::encode(const Tensor& x_t, const Tensor& x_next,
                             const std::vector<int32_t>& actions) {
  const int64_t B = x_t.size(0), H = c_.frame, g = c_.grid;
  const Shape frames{B, 1, H, H};
  NAQS_REQUIRE(x_t.shape() == frames && x_next.shape() == frames, "ConvTokenizer::encode: frames ",
               x_t.str(), " and ", x_next.str(), " are not both (B, 1, ", H, ", ", H, ")");
  Tensor in = empty({B, 1 + c_.context_channels(), H, H});
  Tensor part = in.narrow(1, 0, 1);
  ops::copy(x_next, part);
  put_context(in, 1, x_t, actions);

  const Tensor h = pyramid("enc.c", in, enc_, enc_pooled_);
  const int64_t C = h.size(1), P = h.size(2) / g;
  patches_ = empty({B, g, g, C, P, P});
  ops::copy(blocks_view(h, g), patches_);
  patches_ = patches_.reshape({B * g * g, C * P * P});
  Tensor z = empty({B * g * g, c_.token_dim});
  nn::linear_forward(z, patches_, params_.get("enc.tok.w"), params_.get("enc.tok.b"));
  return z;
}

void ConvTokenizer::encode_backward(const Tensor& dz, ParameterSet& g) {
  NAQS_CHECK(patches_.defined() && dz.shape() == (Shape{patches_.size(0), c_.token_dim}),
             "ConvTokenizer::encode_backward: dz ", dz.str(), " does not match the last encode");
  Tensor dpatches = empty(patches_.shape());
  nn::linear_backward(dpatches, g.get("enc.tok.w"), g.get("enc.tok.b"), dz, patches_,
                      params_.get("enc.tok.w"));
  const int64_t L = int64_t(c_.channels.size());
  Tensor dh = empty(enc_[L - 1].out.shape());
  Tensor blocks = blocks_view(dh, c_.grid);
  const int64_t B = dh.size(0), gr = c_.grid, C = dh.size(1), P = dh.size(2) / gr;
  ops::copy(dpatches.reshape({B, gr, gr, C, P, P}), blocks);
  pyramid_backward(enc_, dh, g);
}

Tensor ConvTokenizer::decode(const Tensor& x_t, const std::vector<int32_t>& actions,
                             const Tensor& q) {
  const int64_t B = x_t.size(0), H = c_.frame, g = c_.grid;
  const int64_t L = int64_t(c_.channels.size()), S = c_.last_size(), P = S / g;
  const int64_t C = c_.channels.back();
  NAQS_REQUIRE(x_t.shape() == (Shape{B, 1, H, H}), "ConvTokenizer::decode: frame ", x_t.str(),
               " is not (B, 1, ", H, ", ", H, ")");
  NAQS_REQUIRE(q.shape() == (Shape{B * g * g, c_.token_dim}), "ConvTokenizer::decode: tokens ",
               q.str(), " are not (", B * g * g, ", ", c_.token_dim, ")");
  q_ = q;
  Tensor rows = empty({B * g * g, C * P * P});
  nn::linear_forward(rows, q, params_.get("dec.tok.w"), params_.get("dec.tok.b"));
  Tensor tok_map = empty({B, C, S, S});
  Tensor blocks = blocks_view(tok_map, g);
  ops::copy(rows.reshape({B, g, g, C, P, P}), blocks);
  dec_map_ = tok_map;
  if (c_.delta) {  // [tokens' map | the context pyramid's last map]
    Tensor ctx = empty({B, c_.context_channels(), H, H});
    put_context(ctx, 0, x_t, actions);
    const Tensor ctx_map = pyramid("ctx.c", ctx, ctx_, ctx_pooled_);
    dec_map_ = empty({B, 2 * C, S, S});
    Tensor half = dec_map_.narrow(1, 0, C);
    ops::copy(tok_map, half);
    half = dec_map_.narrow(1, C, C);
    ops::copy(ctx_map, half);
  }

  Tensor h = dec_map_;
  dec_.assign(size_t(L - 1), Conv{});
  dec_up_.assign(size_t(L - 1), Tensor());
  for (int64_t i = 0; i < L - 1; ++i) {
    const int64_t l = L - 2 - i;
    dec_up_[i] = empty({B, h.size(1), h.size(2) * 2, h.size(3) * 2});
    ops::upsample_nearest2x(h, dec_up_[i]);
    dec_[i].name = level_name("dec.c", l);
    conv_silu(dec_[i], dec_up_[i]);
    h = dec_[i].out;
  }
  const int64_t hc = h.size(1);  // c_0, or the first map's channels with one level
  dec_concat_ = empty({B, hc + c_.context_channels(), H, H});
  Tensor part = dec_concat_.narrow(1, 0, hc);
  ops::copy(h, part);
  put_context(dec_concat_, hc, x_t, actions);
  head1_.name = "dec.head1";
  conv_silu(head1_, dec_concat_);
  out_ = empty({B, 1, H, H});
  ops::conv2d_forward(head1_.out, params_.get("dec.head2.w"), params_.get("dec.head2.b"), kConv3,
                      out_);
  return out_;
}

Tensor ConvTokenizer::decode_backward(const Tensor& dout, ParameterSet& g) {
  NAQS_CHECK(out_.defined() && dout.shape() == out_.shape(), "ConvTokenizer::decode_backward: ",
             "dout ", dout.str(), " does not match the last decode");
  Tensor gw = g.get("dec.head2.w"), gb = g.get("dec.head2.b");
  ops::conv2d_backward_weight(head1_.out, dout, kConv3, gw);
  ops::bias_backward(dout, 1, gb);
  Tensor dh1 = empty(head1_.out.shape());
  ops::conv2d_backward_input(dout, params_.get("dec.head2.w"), kConv3, dh1);
  const Tensor dconcat = conv_silu_backward(head1_, dh1, g, true);
  Tensor dh = dconcat.narrow(1, 0, dconcat.size(1) - c_.context_channels()).contiguous();
  for (int64_t i = int64_t(dec_.size()) - 1; i >= 0; --i) {
    const Tensor dup = conv_silu_backward(dec_[i], dh, g, true);
    dh = empty(i > 0 ? dec_[i - 1].out.shape() : dec_map_.shape());
    ops::upsample_nearest2x_backward(dup, dh);
  }
  const int64_t B = dh.size(0), gr = c_.grid, C = c_.channels.back(), P = dh.size(2) / gr;
  if (c_.delta) {  // the context pyramid's half, then the tokens' half
    pyramid_backward(ctx_, dh.narrow(1, C, C).contiguous(), g);
    dh = dh.narrow(1, 0, C).contiguous();
  }
  Tensor drows = empty({B, gr, gr, C, P, P});
  ops::copy(blocks_view(dh, gr), drows);
  Tensor dq = empty(q_.shape());
  nn::linear_backward(dq, g.get("dec.tok.w"), g.get("dec.tok.b"),
                      drows.reshape({B * gr * gr, C * P * P}), q_, params_.get("dec.tok.w"));
  return dq;
}

}  // namespace naqs::ml::world_model
