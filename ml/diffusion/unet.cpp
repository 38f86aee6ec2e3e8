// The world model's U-Net; see unet.hpp.
#include "ml/diffusion/unet.hpp"

#include <cmath>
#include <sstream>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/conv2d.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/group_norm.hpp"
#include "host/ops/resample.hpp"
#include "nn/layers.hpp"

namespace naqs::ml::diffusion {
namespace {

constexpr double kGroupNormEps = 1e-5;
const ops::Conv2dSpec kConv3{3, 3, -1, -1};  // 3x3, zero padding, output size = input size
const ops::Conv2dSpec kConv1{1, 1, 0, 0};
constexpr ops::Unary kSilu = ops::Unary::silu;

std::string pname(const std::string& block, const char* what) { return block + "." + what; }

Tensor silu(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  nn::activation_forward(kSilu, y, x);
  return y;
}

// dinp = silu'(inp) dout, a new tensor.
Tensor silu_backward(const Tensor& dout, const Tensor& inp) {
  Tensor d = Tensor::empty(inp.shape(), inp.dtype(), inp.device());
  nn::activation_backward(kSilu, d, dout, inp);
  return d;
}

}  // namespace

void UNetConfig::validate() const {
  NAQS_REQUIRE(context >= 1, "--context ", context, " is not allowed: use at least 1 frame");
  NAQS_REQUIRE(actions >= 1, "the number of actions ", actions, " must be at least 1");
  NAQS_REQUIRE(!channels.empty() && channels.size() <= 6, "--channels has ", channels.size(),
               " levels: use 1 to 6");
  NAQS_REQUIRE(groups >= 1, "--groups ", groups, " is not allowed: use at least 1");
  for (size_t l = 0; l < channels.size(); ++l) {
    NAQS_REQUIRE(channels[l] >= 1 && channels[l] % groups == 0, "--channels ", channels[l],
                 " (level ", l, ") is not allowed: use a positive multiple of --groups ", groups);
  }
  const int64_t div = int64_t{1} << (channels.size() - 1);
  NAQS_REQUIRE(height >= div && width >= div && height % div == 0 && width % div == 0,
               "frames of ", height, "x", width, " cannot be halved ", channels.size() - 1,
               " times: use fewer --channels levels or frames divisible by ", div);
  NAQS_REQUIRE(cond_dim >= 1 && action_dim >= 1 && noise_features >= 1, "--cond-dim ", cond_dim,
               ", --action-dim ", action_dim, " and --noise-features ", noise_features,
               " must all be at least 1");
}

std::string UNetConfig::str() const {
  std::ostringstream o;
  o << "context=" << context << " actions=" << actions << " frame=" << height << "x" << width
    << " channels=";
  for (size_t l = 0; l < channels.size(); ++l) o << (l ? "," : "") << channels[l];
  o << " groups=" << groups << " cond_dim=" << cond_dim << " action_dim=" << action_dim
    << " noise_features=" << noise_features;
  return o.str();
}

UNet::UNet(const UNetConfig& c, DType dtype, Device device)
    : c_(c), dtype_(dtype), device_(device) {
  c.validate();
  const int64_t L = static_cast<int64_t>(c.channels.size()), D = c.cond_dim;
  const int64_t cond_in = 2 * c.noise_features + c.context * c.action_dim;
  params_.add("act.table", {c.context * c.actions, c.action_dim});
  params_.add("cond1.w", {D, cond_in});
  params_.add("cond1.b", {D});
  params_.add("cond2.w", {D, D});
  params_.add("cond2.b", {D});
  params_.add("in.w", {c.channels[0], 1 + c.context, 3, 3});
  params_.add("in.b", {c.channels[0]});
  auto add_block = [&](const std::string& name, int64_t ci, int64_t co) {
    params_.add(pname(name, "s1.w"), {ci, D});
    params_.add(pname(name, "s1.b"), {ci});
    params_.add(pname(name, "h1.w"), {ci, D});
    params_.add(pname(name, "h1.b"), {ci});
    params_.add(pname(name, "c1.w"), {co, ci, 3, 3});
    params_.add(pname(name, "c1.b"), {co});
    params_.add(pname(name, "s2.w"), {co, D});
    params_.add(pname(name, "s2.b"), {co});
    params_.add(pname(name, "h2.w"), {co, D});
    params_.add(pname(name, "h2.b"), {co});
    params_.add(pname(name, "c2.w"), {co, co, 3, 3});
    params_.add(pname(name, "c2.b"), {co});
    if (ci != co) {
      params_.add(pname(name, "skip.w"), {co, ci, 1, 1});
      params_.add(pname(name, "skip.b"), {co});
    }
    Block b;
    b.name = name;
    b.in_ch = ci;
    b.out_ch = co;
    return b;
  };
  for (int64_t l = 0; l < L; ++l)
    enc_.push_back(add_block(cat("e", l), c.channels[l == 0 ? 0 : l - 1], c.channels[l]));
  for (int64_t l = L - 2; l >= 0; --l)
    dec_.push_back(add_block(cat("d", l), c.channels[l + 1] + c.channels[l], c.channels[l]));
  params_.add("out_gn.w", {c.channels[0]});
  params_.add("out_gn.b", {c.channels[0]});
  params_.add("out.w", {1, c.channels[0], 3, 3});
  params_.add("out.b", {1});
  params_.allocate(dtype, device);
}

void UNet::init(uint64_t seed) {
  uint64_t stream = 0;
  for (const ParameterEntry& e : params_.layout()) {
    ++stream;
    Tensor t = params_.get(e.name);
    const std::string& n = e.name;
    auto ends_with = [&n](const char* s) {
      const std::string suf(s);
      return n.size() >= suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0;
    };
    const int64_t numel = t.numel();
    std::vector<double> v(static_cast<size_t>(numel), 0.0);
    if (n == "act.table") {
      for (int64_t i = 0; i < numel; ++i) v[i] = philox_normal_f64(seed, stream, i, 0.0, 1.0);
    } else if (ends_with("s1.b") || ends_with("s2.b") || n == "out_gn.w") {
      v.assign(v.size(), 1.0);  // group-norm scales start at 1
    } else if (ends_with("s1.w") || ends_with("h1.w") || ends_with("s2.w") ||
               ends_with("h2.w") || ends_with("h1.b") || ends_with("h2.b") ||
               ends_with("c2.w") || ends_with("c2.b") || n == "out.w" || n == "out.b" ||
               n == "out_gn.b") {
      // zero: the ada weights, the shifts, the last convolutions of a block and of the net
    } else {
      // uniform +-1/sqrt(fan_in); a bias uses its weight's fan-in
      const std::string wname = ends_with(".b") ? n.substr(0, n.size() - 1) + "w" : n;
      const Shape ws = params_.entry(wname).shape;
      const double bound = 1.0 / std::sqrt(double(ws.numel() / ws[0]));
      for (int64_t i = 0; i < numel; ++i)
        v[i] = bound * (2 * philox_uniform_f64(seed, stream, i) - 1);
    }
    t.copy_from(from_host_f64(v, t.shape(), dtype_, device_));
  }
}

void UNet::stage_forward(const std::string& block, int k, const Tensor& in, int64_t out_ch,
                         Stage& s) {
  const int64_t B = in.size(0), G = c_.groups;
  auto pb = [&](const char* what) { return params_.get(cat(block, ".", what, k, ".b")); };
  auto pw = [&](const char* what) { return params_.get(cat(block, ".", what, k, ".w")); };
  s.in = in;
  s.gamma = empty({B, in.size(1)});
  s.beta = empty({B, in.size(1)});
  nn::linear_forward(s.gamma, cond_, pw("s"), pb("s"));
  nn::linear_forward(s.beta, cond_, pw("h"), pb("h"));
  s.n = empty(in.shape());
  s.mean = empty({B, G});
  s.rstd = empty({B, G});
  ops::group_norm_forward(in, G, s.gamma, s.beta, kGroupNormEps, s.n, s.mean, s.rstd);
  s.a = silu(s.n);
  s.out = empty({B, out_ch, in.size(2), in.size(3)});
  ops::conv2d_forward(s.a, pw("c"), pb("c"), kConv3, s.out);
}

Tensor UNet::stage_backward(const std::string& block, int k, Stage& s, const Tensor& dout,
                            ParameterSet& g) {
  auto name = [&](const char* what, const char* wb) { return cat(block, ".", what, k, ".", wb); };
  Tensor dw = g.get(name("c", "w")), db = g.get(name("c", "b"));
  ops::conv2d_backward_weight(s.a, dout, kConv3, dw, true);
  ops::bias_backward(dout, 1, db, true);
  Tensor da = empty(s.a.shape());
  ops::conv2d_backward_input(dout, params_.get(name("c", "w")), kConv3, da);
  const Tensor dn = silu_backward(da, s.n);
  Tensor din = empty(s.in.shape()), dgamma = empty(s.gamma.shape()), dbeta = empty(s.beta.shape());
  ops::group_norm_backward(dn, s.in, c_.groups, s.gamma, s.mean, s.rstd, din, dgamma, dbeta);
  nn::linear_backward(dcond_, g.get(name("s", "w")), g.get(name("s", "b")), dgamma, cond_,
                      params_.get(name("s", "w")), true);
  nn::linear_backward(dcond_, g.get(name("h", "w")), g.get(name("h", "b")), dbeta, cond_,
                      params_.get(name("h", "w")), true);
  return din;
}

Tensor UNet::block_forward(Block& b, const Tensor& x) {
  stage_forward(b.name, 1, x, b.out_ch, b.s1);
  stage_forward(b.name, 2, b.s1.out, b.out_ch, b.s2);
  b.y = b.s2.out;
  if (b.in_ch == b.out_ch)
    ops::axpby(1.0, x, 1.0, b.y);
  else
    ops::conv2d_forward(x, params_.get(pname(b.name, "skip.w")), params_.get(pname(b.name, "skip.b")),
                        kConv1, b.y, /*accumulate=*/true);
  return b.y;
}

Tensor UNet::block_backward(Block& b, const Tensor& dy, ParameterSet& g) {
  Tensor dx = stage_backward(b.name, 1, b.s1, stage_backward(b.name, 2, b.s2, dy, g), g);
  if (b.in_ch == b.out_ch) {
    ops::axpby(1.0, dy, 1.0, dx);
  } else {
    Tensor dw = g.get(pname(b.name, "skip.w")), db = g.get(pname(b.name, "skip.b"));
    ops::conv2d_backward_weight(b.s1.in, dy, kConv1, dw, true);
    ops::bias_backward(dy, 1, db, true);
    ops::conv2d_backward_input(dy, params_.get(pname(b.name, "skip.w")), kConv1, dx,
                               /*accumulate=*/true);
  }
  return dx;
}

Tensor UNet::forward(const Tensor& x_in, const std::vector<double>& noise,
                     const std::vector<int32_t>& actions) {
  const int64_t B = x_in.size(0), K = c_.context, A = c_.actions, F = c_.noise_features;
  NAQS_CHECK(x_in.rank() == 4 && x_in.size(1) == 1 + K && x_in.size(2) == c_.height &&
                 x_in.size(3) == c_.width,
             "UNet: x_in ", x_in.str(), " is not (B, ", 1 + K, ", ", c_.height, ", ", c_.width, ")");
  NAQS_CHECK(static_cast<int64_t>(noise.size()) == B &&
                 static_cast<int64_t>(actions.size()) == B * K,
             "UNet: ", noise.size(), " noise values and ", actions.size(), " actions for ", B,
             " samples of ", K, " past actions");
  // conditioning: Fourier features of c_noise | action embeddings
  std::vector<double> fourier(static_cast<size_t>(B * 2 * F));
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < F; ++j) {
      const double w = std::exp2(0.5 * double(j)) * noise[i];
      fourier[i * 2 * F + j] = std::sin(w);
      fourier[i * 2 * F + F + j] = std::cos(w);
    }
  std::vector<int32_t> ids(actions.size());
  for (int64_t i = 0; i < B * K; ++i) {
    NAQS_REQUIRE(actions[i] >= 0 && actions[i] < A, "action ", actions[i], " (sample ", i / K,
                 ", past position ", i % K, ") is outside 0..", A - 1);
    ids[i] = static_cast<int32_t>((i % K) * A + actions[i]);
  }
  ids_ = Tensor::from_vector(ids, {B, K}).to(device_);
  const int64_t E = c_.action_dim;
  cond_in_ = empty({B, 2 * F + K * E});
  Tensor part = cond_in_.narrow(1, 0, 2 * F);
  ops::copy(from_host_f64(fourier, {B, 2 * F}, dtype_, device_), part);
  Tensor emb = empty({B, K, E});
  nn::embedding_forward(emb, ids_, params_.get("act.table"));
  part = cond_in_.narrow(1, 2 * F, K * E);
  ops::copy(emb.reshape({B, K * E}), part);
  const int64_t D = c_.cond_dim;
  cond_pre1_ = empty({B, D});
  nn::linear_forward(cond_pre1_, cond_in_, params_.get("cond1.w"), params_.get("cond1.b"));
  cond_h1_ = silu(cond_pre1_);
  cond_pre2_ = empty({B, D});
  nn::linear_forward(cond_pre2_, cond_h1_, params_.get("cond2.w"), params_.get("cond2.b"));
  cond_ = silu(cond_pre2_);

  // the U
  const int64_t L = static_cast<int64_t>(c_.channels.size());
  x_in_ = x_in;
  h0_ = empty({B, c_.channels[0], c_.height, c_.width});
  ops::conv2d_forward(x_in, params_.get("in.w"), params_.get("in.b"), kConv3, h0_);
  Tensor h = h0_;
  pooled_.assign(static_cast<size_t>(L), Tensor());
  for (int64_t l = 0; l < L; ++l) {
    if (l > 0) {
      pooled_[l] = empty({B, h.size(1), h.size(2) / 2, h.size(3) / 2});
      ops::avg_pool2x2(h, pooled_[l]);
      h = pooled_[l];
    }
    h = block_forward(enc_[l], h);
  }
  upsampled_.assign(static_cast<size_t>(L), Tensor());
  concat_.assign(static_cast<size_t>(L), Tensor());
  for (int64_t l = L - 2, i = 0; l >= 0; --l, ++i) {
    const Tensor& skip = enc_[l].y;
    Tensor& up = upsampled_[l];
    up = empty({B, h.size(1), skip.size(2), skip.size(3)});
    ops::upsample_nearest2x(h, up);
    Tensor& cat_t = concat_[l];
    cat_t = empty({B, up.size(1) + skip.size(1), skip.size(2), skip.size(3)});
    Tensor v = cat_t.narrow(1, 0, up.size(1));
    ops::copy(up, v);
    v = cat_t.narrow(1, up.size(1), skip.size(1));
    ops::copy(skip, v);
    h = block_forward(dec_[i], cat_t);
  }
  // head
  out_pre_ = empty(h.shape());
  out_mean_ = empty({B, c_.groups});
  out_rstd_ = empty({B, c_.groups});
  ops::group_norm_forward(h, c_.groups, params_.get("out_gn.w"), params_.get("out_gn.b"),
                          kGroupNormEps, out_pre_, out_mean_, out_rstd_);
  out_act_ = silu(out_pre_);
  out_ = empty({B, 1, c_.height, c_.width});
  ops::conv2d_forward(out_act_, params_.get("out.w"), params_.get("out.b"), kConv3, out_);
  return out_;
}

void UNet::backward(const Tensor& dout, ParameterSet& g) {
  NAQS_CHECK(out_.defined() && dout.shape() == out_.shape(), "UNet::backward: dout ", dout.str(),
             " does not match the last forward's output");
  Tensor flat = g.flat();
  ops::fill(flat, 0.0);
  const int64_t B = dout.size(0), L = static_cast<int64_t>(c_.channels.size());
  dcond_ = Tensor::zeros({B, c_.cond_dim}, dtype_, device_);
  // head
  Tensor dw = g.get("out.w"), db = g.get("out.b");
  ops::conv2d_backward_weight(out_act_, dout, kConv3, dw, true);
  ops::bias_backward(dout, 1, db, true);
  Tensor dact = empty(out_act_.shape());
  ops::conv2d_backward_input(dout, params_.get("out.w"), kConv3, dact);
  const Tensor dpre = silu_backward(dact, out_pre_);
  const Tensor& h_last = L > 1 ? dec_.back().y : enc_[0].y;
  Tensor dh = empty(h_last.shape()), dgw = g.get("out_gn.w"), dgb = g.get("out_gn.b");
  ops::group_norm_backward(dpre, h_last, c_.groups, params_.get("out_gn.w"), out_mean_,
                           out_rstd_, dh, dgw, dgb);
  // decoder, from level 0 up: split each concatenation into the upsampled path and the skip
  std::vector<Tensor> dskip(static_cast<size_t>(L));
  for (int64_t l = 0, i = L - 2; l <= L - 2; ++l, --i) {
    const Tensor dcat = block_backward(dec_[i], dh, g);
    const int64_t cu = upsampled_[l].size(1);
    const Tensor dup = dcat.narrow(1, 0, cu).contiguous();
    dskip[l] = dcat.narrow(1, cu, dcat.size(1) - cu).contiguous();
    const Tensor& low = enc_[l + 1].y;
    dh = empty(low.shape());
    ops::upsample_nearest2x_backward(dup, dh);
  }
  // encoder, from the last level down
  for (int64_t l = L - 1; l >= 0; --l) {
    if (l < L - 1) ops::axpby(1.0, dskip[l], 1.0, dh);
    Tensor dx = block_backward(enc_[l], dh, g);
    if (l > 0) {
      const Tensor& above = enc_[l - 1].y;
      dh = empty(above.shape());
      ops::avg_pool2x2_backward(dx, dh);
    } else {
      dh = dx;
    }
  }
  dw = g.get("in.w");
  db = g.get("in.b");
  ops::conv2d_backward_weight(x_in_, dh, kConv3, dw, true);
  ops::bias_backward(dh, 1, db, true);
  // conditioning
  const Tensor dpre2 = silu_backward(dcond_, cond_pre2_);
  Tensor dh1 = empty(cond_h1_.shape());
  Tensor gw = g.get("cond2.w"), gb = g.get("cond2.b");
  nn::linear_backward(dh1, gw, gb, dpre2, cond_h1_, params_.get("cond2.w"));
  const Tensor dpre1 = silu_backward(dh1, cond_pre1_);
  Tensor dcond_in = empty(cond_in_.shape());
  gw = g.get("cond1.w");
  gb = g.get("cond1.b");
  nn::linear_backward(dcond_in, gw, gb, dpre1, cond_in_, params_.get("cond1.w"));
  const int64_t F = c_.noise_features, K = c_.context, E = c_.action_dim;
  const Tensor demb = dcond_in.narrow(1, 2 * F, K * E).contiguous().reshape({B, K, E});
  nn::embedding_backward(g.get("act.table"), demb, ids_);
}

}  // namespace naqs::ml::diffusion
