// The byte-level transformer (definition, conventions and tests: model.hpp).
#include "ml/transformer/model.hpp"

#include <cmath>
#include <sstream>

#include "host/core/error.hpp"
#include "host/ops/attention.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm_rows.hpp"
#include "host/ops/random.hpp"
#include "nn/layers.hpp"

namespace naqs::ml {
namespace {

std::string layer_name(int64_t l, const char* what) { return cat("l", l, ".", what); }

}  // namespace

// ---- configuration ----------------------------------------------------------------------------

void TransformerConfig::validate() const {
  auto need = [](bool ok, auto&&... parts) {
    if (!ok) throw UsageError(cat(parts...));
  };
  need(d_model >= 1, "--d-model ", d_model, " must be >= 1");
  need(layers >= 1, "--layers ", layers, " must be >= 1");
  need(heads >= 1, "--heads ", heads, " must be >= 1");
  need(kv_heads >= 1 && heads % kv_heads == 0, "--heads ", heads,
       " is not a multiple of --kv-heads ", kv_heads,
       " (each key/value head serves heads/kv_heads query heads)");
  need(head_dim >= 2 && head_dim % 2 == 0, "--head-dim ", head_dim,
       " must be even and >= 2 (RoPE rotates pairs)");
  need(d_model == heads * head_dim, "--d-model ", d_model, " must equal --heads ", heads,
       " x --head-dim ", head_dim, " = ", heads * head_dim);
  need(kv_share >= 1 && kv_share <= layers, "--kv-share ", kv_share, " must be in [1, ",
       layers, "] (--layers)");
  need(context >= 1, "--context ", context, " must be >= 1");
  need(vocab >= 1, "the vocabulary ", vocab, " must be >= 1");
  need(ffn_hidden >= 0, "--ffn-hidden ", ffn_hidden, " must be >= 0 (0: 8 d_model / 3)");
  need(rope_base > 1, "--rope-base ", rope_base, " must be > 1");
}

int64_t TransformerConfig::hidden() const {
  return ffn_hidden > 0 ? ffn_hidden : 16 * ((8 * d_model + 47) / 48);
}

int64_t TransformerConfig::n_params() const {
  const int64_t c = d_model, f = hidden(), qd = heads * head_dim, kvd = kv_heads * head_dim;
  return 2 * vocab * c + c + layers * (2 * c + 2 * qd * c + 3 * f * c) +
         kv_owners() * 2 * kvd * c;
}

int64_t TransformerConfig::kv_bytes_per_token(int64_t dtype_bytes) const {
  return 2 * kv_heads * head_dim * kv_owners() * dtype_bytes;
}

std::string TransformerConfig::str() const {
  std::ostringstream s;
  s << "d_model=" << d_model << " layers=" << layers << " heads=" << heads
    << " kv_heads=" << kv_heads << " head_dim=" << head_dim << " kv_share=" << kv_share
    << " context=" << context << " ffn_hidden=" << hidden() << " rope_base=" << rope_base
    << " norm_eps=" << norm_eps << " vocab=" << vocab;
  return s.str();
}

// ---- KV cache ---------------------------------------------------------------------------------

bool KvCache::fits(const TransformerConfig& cfg, DType dtype, Device device) const {
  if (static_cast<int64_t>(k_.size()) != cfg.kv_owners()) return false;
  for (const std::vector<Tensor>* kv : {&k_, &v_})
    for (const Tensor& t : *kv)
      if (t.shape()[2] != cfg.kv_heads || t.shape()[3] != cfg.head_dim ||
          t.dtype() != dtype || t.device() != device)
        return false;
  return true;
}

KvCache::KvCache(const TransformerConfig& cfg, int64_t batch, int64_t capacity, DType dtype,
                 Device device)
    : batch_(batch), capacity_(capacity) {
  for (int64_t o = 0; o < cfg.kv_owners(); ++o) {
    k_.push_back(Tensor::zeros({batch, capacity, cfg.kv_heads, cfg.head_dim}, dtype, device));
    v_.push_back(Tensor::zeros({batch, capacity, cfg.kv_heads, cfg.head_dim}, dtype, device));
  }
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const Tensor& t : k_) total += static_cast<int64_t>(t.nbytes());
  for (const Tensor& t : v_) total += static_cast<int64_t>(t.nbytes());
  return total;
}

// ---- model ------------------------------------------------------------------------------------

Transformer::Transformer(const TransformerConfig& cfg, DType dtype, Device device)
    : cfg_(cfg), dtype_(dtype), device_(device) {
  cfg_.validate();
  NAQS_CHECK(dtype == DType::f32 || dtype == DType::f64, "Transformer: dtype ",
             dtype_name(dtype), " (f32 or f64)");
  const int64_t c = cfg_.d_model, f = cfg_.hidden(), qd = cfg_.heads * cfg_.head_dim;
  const int64_t kvd = cfg_.kv_heads * cfg_.head_dim;
  params_.add("wte", {cfg_.vocab, c});
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    params_.add(layer_name(l, "norm1"), {c});
    params_.add(layer_name(l, "wq"), {qd, c});
    if (cfg_.is_owner(l)) {
      params_.add(layer_name(l, "wk"), {kvd, c});
      params_.add(layer_name(l, "wv"), {kvd, c});
    }
    params_.add(layer_name(l, "wo"), {c, qd});
    params_.add(layer_name(l, "norm2"), {c});
    params_.add(layer_name(l, "w1"), {f, c});
    params_.add(layer_name(l, "w3"), {f, c});
    params_.add(layer_name(l, "w2"), {c, f});
  }
  params_.add("norm_f", {c});
  params_.add("lm_head", {cfg_.vocab, c});
  params_.allocate(dtype, device);
}

void Transformer::init(uint64_t seed) {
  const double std_in = 0.02, std_out = 0.02 / std::sqrt(2.0 * double(cfg_.layers));
  const auto& layout = params_.layout();
  for (size_t i = 0; i < layout.size(); ++i) {
    const std::string& name = layout[i].name;
    Tensor t = params_.get(name);
    const bool norm = name.find("norm") != std::string::npos;
    const bool residual_out = name.size() > 3 && (name.compare(name.size() - 3, 3, ".wo") == 0 ||
                                                  name.compare(name.size() - 3, 3, ".w2") == 0);
    if (norm)
      ops::fill(t, 1.0);
    else
      ops::fill_normal(t, seed, i, 0, 0.0, residual_out ? std_out : std_in);
  }
}

void Transformer::check_tokens(const char* op, const Tensor& tokens, int64_t pos0) const {
  check_defined(op, tokens, "tokens");
  check_rank(op, tokens, 2, "tokens");
  check_dtype(op, tokens, DType::i32, "tokens");
  NAQS_CHECK(tokens.device() == device_, op, ": tokens on ", tokens.device().str(),
             ", the model on ", device_.str());
  const int64_t end = pos0 + tokens.size(1);
  if (pos0 < 0 || end > cfg_.context)
    throw UsageError(cat(op, ": positions ", pos0, "..", end - 1, " exceed the model's context ",
                         cfg_.context, " (positions 0..", cfg_.context - 1, ")"));
}

namespace {

struct Runner {
  const TransformerConfig& cfg;
  const ParameterSet& p;
  DType dtype;
  Device device;
  bool exact;  // inference: row-independent ops::gemm_rows

  Tensor make(const Shape& s) const { return Tensor::empty(s, dtype, device); }
  // out (..., OC) = in (..., IC) w^T, w (OC, IC)
  void linear(Tensor out, const Tensor& in, const Tensor& w) const {
    if (exact) {
      Tensor o2 = out.reshape({-1, w.size(0)});
      ops::gemm_rows(in.reshape({-1, w.size(1)}), w, o2);
    } else {
      nn::linear_forward(out, in, w, Tensor());
    }
  }
};

}  // namespace

// One forward over tokens (B, Tn) at positions pos0..; train != nullptr keeps activations.
static void run_forward(const TransformerConfig& cfg, const ParameterSet& p, DType dtype,
                        Device device, const Tensor& tokens, const Tensor& embed, int64_t pos0,
                        KvCache& cache, Tensor& logits, TrainState* train) {
  const Runner r{cfg, p, dtype, device, train == nullptr};
  const int64_t b = tokens.size(0), tn = tokens.size(1), c = cfg.d_model, f = cfg.hidden();
  const int64_t hq = cfg.heads, hkv = cfg.kv_heads, dh = cfg.head_dim, tk = pos0 + tn;
  const double scale = 1.0 / std::sqrt(double(dh));
  Tensor x = r.make({b, tn, c});
  nn::embedding_forward(x, tokens, p.get("wte"));
  if (embed.defined()) ops::binary(ops::Binary::add, x, embed, x);
  if (train) train->layers.assign(static_cast<size_t>(cfg.layers), {});
  for (int64_t l = 0; l < cfg.layers; ++l) {
    const int64_t o = cfg.owner_of(l) / cfg.kv_share;
    Tensor h1 = r.make({b, tn, c}), rstd1 = r.make({b, tn});
    nn::rmsnorm_forward(h1, rstd1, x, p.get(layer_name(l, "norm1")), cfg.norm_eps);
    Tensor q = r.make({b, tn, hq, dh});
    r.linear(q.reshape({b, tn, hq * dh}), h1, p.get(layer_name(l, "wq")));
    ops::rope_forward(q, pos0, cfg.rope_base, q);
    if (cfg.is_owner(l)) {
      Tensor kn = r.make({b, tn, hkv, dh}), vn = r.make({b, tn, hkv, dh});
      r.linear(kn.reshape({b, tn, hkv * dh}), h1, p.get(layer_name(l, "wk")));
      r.linear(vn.reshape({b, tn, hkv * dh}), h1, p.get(layer_name(l, "wv")));
      ops::rope_forward(kn, pos0, cfg.rope_base, kn);
      Tensor kd = cache.k(o).narrow(1, pos0, tn), vd = cache.v(o).narrow(1, pos0, tn);
      kd.copy_from(kn);
      vd.copy_from(vn);
    }
    const Tensor k = cache.k(o).narrow(1, 0, tk), v = cache.v(o).narrow(1, 0, tk);
    Tensor att = r.make({b, tn, hq, dh});
    Tensor probs = train ? r.make({b, hq, tn, tk}) : Tensor();
    ops::attention_forward(q, k, v, pos0, scale, att, probs);
    Tensor proj = r.make({b, tn, c}), x_mid = r.make({b, tn, c});
    r.linear(proj, att.reshape({b, tn, hq * dh}), p.get(layer_name(l, "wo")));
    ops::binary(ops::Binary::add, x, proj, x_mid);
    Tensor h2 = r.make({b, tn, c}), rstd2 = r.make({b, tn});
    nn::rmsnorm_forward(h2, rstd2, x_mid, p.get(layer_name(l, "norm2")), cfg.norm_eps);
    Tensor g = r.make({b, tn, f}), u = r.make({b, tn, f}), sg = r.make({b, tn, f});
    Tensor m = r.make({b, tn, f});
    r.linear(g, h2, p.get(layer_name(l, "w1")));
    r.linear(u, h2, p.get(layer_name(l, "w3")));
    nn::activation_forward(ops::Unary::silu, sg, g);
    ops::binary(ops::Binary::mul, sg, u, m);
    Tensor x_out = r.make({b, tn, c});
    r.linear(proj, m, p.get(layer_name(l, "w2")));
    ops::binary(ops::Binary::add, x_mid, proj, x_out);
    if (train) {
      TrainState::Layer& s = train->layers[static_cast<size_t>(l)];
      s.x_in = x;
      s.h1 = h1;
      s.rstd1 = rstd1;
      s.q = q;
      s.probs = probs;
      s.att = att;
      s.x_mid = x_mid;
      s.h2 = h2;
      s.rstd2 = rstd2;
      s.g = g;
      s.sg = sg;
      s.u = u;
      s.m = m;
    }
    x = x_out;
  }
  Tensor hf = r.make({b, tn, c}), rstdf = r.make({b, tn});
  nn::rmsnorm_forward(hf, rstdf, x, p.get("norm_f"), cfg.norm_eps);
  r.linear(logits, hf, p.get("lm_head"));
  if (train) {
    train->x_out = x;
    train->hf = hf;
    train->rstdf = rstdf;
  }
}

void Transformer::check_embed(const char* op, const Tensor& embed, int64_t b, int64_t t) const {
  if (!embed.defined()) return;
  check_shape(op, embed, Shape{b, t, cfg_.d_model}, "embed");
  NAQS_CHECK(embed.dtype() == dtype_ && embed.device() == device_, op, ": embed ", embed.str(),
             " is not on the model's dtype and device");
}

void Transformer::forward_train(const Tensor& tokens, TrainState& st, const Tensor& embed) const {
  check_tokens("forward_train", tokens, 0);
  const int64_t b = tokens.size(0), t = tokens.size(1);
  check_embed("forward_train", embed, b, t);
  st.batch = b;
  st.length = t;
  st.tokens = tokens;
  if (st.kv.batch() != b || st.kv.capacity() != t || !st.kv.fits(cfg_, dtype_, device_))
    st.kv = KvCache(cfg_, b, t, dtype_, device_);
  st.logits = Tensor::empty({b, t, cfg_.vocab}, dtype_, device_);
  run_forward(cfg_, params_, dtype_, device_, tokens, embed, 0, st.kv, st.logits, &st);
}

void Transformer::infer(const Tensor& tokens, int64_t pos0, KvCache& cache, Tensor& logits,
                        const Tensor& embed) const {
  const char* op = "Transformer::infer";
  check_tokens(op, tokens, pos0);
  const int64_t b = tokens.size(0), tn = tokens.size(1);
  NAQS_CHECK(cache.batch() == b, op, ": cache for ", cache.batch(), " sequences, tokens for ", b);
  NAQS_CHECK(cache.fits(cfg_, dtype_, device_), op,
             ": the KV cache was made for another model (owners, kv heads, head dim, dtype or "
             "device differ from ", cfg_.str(), ")");
  if (pos0 + tn > cache.capacity())
    throw UsageError(cat(op, ": positions up to ", pos0 + tn - 1, " exceed the cache's ",
                         cache.capacity()));
  check_shape(op, logits, Shape{b, tn, cfg_.vocab}, "logits");
  check_embed(op, embed, b, tn);
  run_forward(cfg_, params_, dtype_, device_, tokens, embed, pos0, cache, logits, nullptr);
}

void Transformer::backward(const TrainState& st, const Tensor& dlogits, ParameterSet& grads,
                           Tensor dembed) const {
  const auto& p = params_;
  const int64_t b = st.batch, t = st.length, c = cfg_.d_model, f = cfg_.hidden();
  const int64_t hq = cfg_.heads, hkv = cfg_.kv_heads, dh = cfg_.head_dim;
  const double scale = 1.0 / std::sqrt(double(dh));
  check_shape("Transformer::backward", dlogits, Shape{b, t, cfg_.vocab}, "dlogits");
  if (dembed.defined()) check_shape("Transformer::backward", dembed, Shape{b, t, c}, "dembed");
  auto zeros = [&](const Shape& s) { return Tensor::zeros(s, dtype_, device_); };
  Tensor flat = grads.flat();
  ops::fill(flat, 0.0);
  // Every call accumulates: parameter gradients start at zero, and dx is the residual stream's
  // gradient, to which each branch adds.
  Tensor dhf = zeros({b, t, c});
  nn::linear_backward(dhf, grads.get("lm_head"), Tensor(), dlogits, st.hf, p.get("lm_head"),
                      true);
  Tensor dx = zeros({b, t, c});
  nn::rmsnorm_backward(dx, grads.get("norm_f"), dhf, st.x_out, p.get("norm_f"), st.rstdf, true);
  std::vector<Tensor> dk_acc, dv_acc;
  for (int64_t o = 0; o < cfg_.kv_owners(); ++o) {
    dk_acc.push_back(zeros({b, t, hkv, dh}));
    dv_acc.push_back(zeros({b, t, hkv, dh}));
  }
  KvCache& kv = const_cast<KvCache&>(st.kv);
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) {
    const TrainState::Layer& s = st.layers[static_cast<size_t>(l)];
    const int64_t o = cfg_.owner_of(l) / cfg_.kv_share;
    // MLP: x_out = x_mid + (silu(g) * u) w2^T
    Tensor dm = zeros({b, t, f});
    nn::linear_backward(dm, grads.get(layer_name(l, "w2")), Tensor(), dx, s.m,
                        p.get(layer_name(l, "w2")), true);
    Tensor du = Tensor::empty({b, t, f}, dtype_, device_);
    Tensor dsg = Tensor::empty({b, t, f}, dtype_, device_);
    ops::binary(ops::Binary::mul, dm, s.sg, du);
    ops::binary(ops::Binary::mul, dm, s.u, dsg);
    Tensor dg = zeros({b, t, f});
    nn::activation_backward(ops::Unary::silu, dg, dsg, s.g);
    Tensor dh2 = zeros({b, t, c});
    nn::linear_backward(dh2, grads.get(layer_name(l, "w1")), Tensor(), dg, s.h2,
                        p.get(layer_name(l, "w1")), true);
    nn::linear_backward(dh2, grads.get(layer_name(l, "w3")), Tensor(), du, s.h2,
                        p.get(layer_name(l, "w3")), true);
    nn::rmsnorm_backward(dx, grads.get(layer_name(l, "norm2")), dh2, s.x_mid,
                         p.get(layer_name(l, "norm2")), s.rstd2, true);
    // attention: x_mid = x_in + att wo^T
    Tensor datt = zeros({b, t, hq, dh});
    nn::linear_backward(datt.reshape({b, t, hq * dh}), grads.get(layer_name(l, "wo")), Tensor(),
                        dx, s.att.reshape({b, t, hq * dh}), p.get(layer_name(l, "wo")), true);
    Tensor dq = zeros({b, t, hq, dh}), dk = zeros({b, t, hkv, dh}), dv = zeros({b, t, hkv, dh});
    ops::attention_backward(datt, s.q, kv.k(o), kv.v(o), s.probs, 0, scale, dq, dk, dv);
    ops::axpby(1.0, dk, 1.0, dk_acc[static_cast<size_t>(o)]);
    ops::axpby(1.0, dv, 1.0, dv_acc[static_cast<size_t>(o)]);
    ops::rope_backward(dq, 0, cfg_.rope_base, dq);
    Tensor dh1 = zeros({b, t, c});
    nn::linear_backward(dh1, grads.get(layer_name(l, "wq")), Tensor(),
                        dq.reshape({b, t, hq * dh}), s.h1, p.get(layer_name(l, "wq")), true);
    if (cfg_.is_owner(l)) {  // every member (l' > l) has added its dk, dv by now
      Tensor& dka = dk_acc[static_cast<size_t>(o)];
      ops::rope_backward(dka, 0, cfg_.rope_base, dka);
      nn::linear_backward(dh1, grads.get(layer_name(l, "wk")), Tensor(),
                          dka.reshape({b, t, hkv * dh}), s.h1, p.get(layer_name(l, "wk")), true);
      nn::linear_backward(dh1, grads.get(layer_name(l, "wv")), Tensor(),
                          dv_acc[static_cast<size_t>(o)].reshape({b, t, hkv * dh}), s.h1,
                          p.get(layer_name(l, "wv")), true);
    }
    nn::rmsnorm_backward(dx, grads.get(layer_name(l, "norm1")), dh1, s.x_in,
                         p.get(layer_name(l, "norm1")), s.rstd1, true);
  }
  nn::embedding_backward(grads.get("wte"), dx, st.tokens, true);
  if (dembed.defined()) dembed.copy_from(dx);
}

// ---- loss ---------------------------------------------------------------------------------------

double cross_entropy(const Tensor& logits, const Tensor& targets, Tensor dlogits) {
  const char* op = "cross_entropy";
  check_rank(op, logits, 2, "logits");
  const int64_t n = logits.size(0), v = logits.size(1);
  check_shape(op, targets, Shape{n}, "targets");
  check_dtype(op, targets, DType::i32, "targets");
  if (dlogits.defined()) {
    check_shape(op, dlogits, logits.shape(), "dlogits");
    check_same_dtype(op, {&logits, &dlogits});
  }
  const Tensor host = logits.contiguous().to(Device::cpu());
  const std::vector<int32_t> tg = targets.to_vector<int32_t>();
  Tensor grad_host = dlogits.defined() ? Tensor::empty(logits.shape(), logits.dtype()) : Tensor();
  double total = 0;
  dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* x = host.data<T>();
    T* g = grad_host.defined() ? grad_host.data<T>() : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      const T* row = x + i * v;
      const int32_t y = tg[static_cast<size_t>(i)];
      NAQS_CHECK(y >= 0 && y < v, op, ": target ", y, " at row ", i, " outside [0, ", v, ")");
      double m = -INFINITY;
      for (int64_t j = 0; j < v; ++j) m = std::max(m, double(row[j]));
      double z = 0;
      for (int64_t j = 0; j < v; ++j) z += std::exp(double(row[j]) - m);
      const double lse = m + std::log(z);
      total += lse - double(row[y]);
      if (g)
        for (int64_t j = 0; j < v; ++j)
          g[i * v + j] = static_cast<T>((std::exp(double(row[j]) - lse) - (j == y ? 1.0 : 0.0)) /
                                        double(n));
    }
  });
  if (dlogits.defined()) dlogits.copy_from(grad_host);
  return n > 0 ? total / double(n) : 0.0;
}

}  // namespace naqs::ml
