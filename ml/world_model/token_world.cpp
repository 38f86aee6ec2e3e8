// The Δ-IRIS world model; see token_world.hpp.
#include "ml/world_model/token_world.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/quantize.hpp"
#include "ml/world_model/tokenizer_train.hpp"
#include "nn/layers.hpp"

namespace naqs::ml::world_model {
namespace {

constexpr uint64_t kFrameInitStream = uint64_t{1} << 32;  // beyond the transformer's streams
constexpr uint64_t kWindowStream = 3;

TransformerConfig net_config(const TokenWorldConfig& c) {
  c.validate();
  TransformerConfig n = c.net;
  n.vocab = c.vocab();
  return n;
}

// A draw from ids [lo, hi) of one logits row: argmax at tau = 0 (ties to the lower id), else
// the inverse of the softmax of logits / tau at u. logp: the drawn id's log-probability under
// the softmax of the logits over [lo, hi) (tau 1).
int32_t draw(const double* row, int64_t lo, int64_t hi, double tau, double u, double& logp) {
  int64_t best = lo;
  for (int64_t i = lo + 1; i < hi; ++i)
    if (row[i] > row[best]) best = i;
  double lse = 0;
  for (int64_t i = lo; i < hi; ++i) lse += std::exp(row[i] - row[best]);
  lse = row[best] + std::log(lse);
  int64_t pick = hi - 1;
  if (tau == 0) {
    pick = best;
  } else {
    std::vector<double> p(static_cast<size_t>(hi - lo));
    double z = 0, acc = 0;
    for (int64_t i = lo; i < hi; ++i) z += p[i - lo] = std::exp((row[i] - row[best]) / tau);
    for (int64_t i = lo; i < hi; ++i) {
      acc += p[i - lo] / z;
      if (u < acc) {
        pick = i;
        break;
      }
    }
  }
  logp = row[pick] - lse;
  return int32_t(pick);
}

}  // namespace

void TokenWorldConfig::validate() const {
  NAQS_REQUIRE(tokens >= 1, "the tokens per frame ", tokens, " must be at least 1");
  NAQS_REQUIRE(codes >= 1, "the codebook size ", codes, " must be at least 1");
  NAQS_REQUIRE(actions >= 1, "the number of actions ", actions, " must be at least 1");
  NAQS_REQUIRE(frame >= 1, "the frame size ", frame, " must be at least 1");
  NAQS_REQUIRE(net.context >= block(), "--context ", net.context,
               " is not allowed: use at least one block of ", block(), " positions");
}

int32_t outcome_of(float reward, uint8_t terminal) {
  return 3 * (terminal ? 1 : 0) + (reward < 0 ? 0 : reward > 0 ? 2 : 1);
}

TokenWorldModel::TokenWorldModel(const TokenWorldConfig& c, DType dtype, Device device)
    : c_(c), dtype_(dtype), device_(device), net_(net_config(c), dtype, device) {
  c_.net.vocab = c.vocab();
  frame_.add("frame.w", {c.net.d_model, c.frame * c.frame});
  frame_.add("frame.b", {c.net.d_model});
  frame_.allocate(dtype, device);
}

void TokenWorldModel::init(uint64_t seed) {
  net_.init(seed);
  const int64_t in = c_.frame * c_.frame;
  std::vector<double> w(static_cast<size_t>(c_.net.d_model * in));
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = (2 * philox_uniform_f64(seed, kFrameInitStream, i) - 1) / std::sqrt(double(in));
  frame_.get("frame.w").copy_from(from_host_f64(w, {c_.net.d_model, in}, dtype_, device_));
  Tensor b = frame_.get("frame.b");
  b.copy_from(Tensor::zeros(b.shape(), dtype_, device_));
}

WorldBatch TokenWorldModel::make_batch(const diffusion::WorldData& w,
                                       const std::vector<int32_t>& tokens,
                                       const std::vector<std::pair<int64_t, int64_t>>& at,
                                       int64_t steps) const {
  const int64_t n = c_.tokens, B = int64_t(at.size()), hw = c_.frame * c_.frame;
  NAQS_REQUIRE(w.height == c_.frame && w.width == c_.frame, "the episodes' frames ", w.height,
               "x", w.width, " are not the world model's ", c_.frame, "x", c_.frame);
  NAQS_REQUIRE(int64_t(tokens.size()) == w.episodes * w.steps * n, "the tokens (",
               tokens.size(), ") are not ", n, " per transition of ", w.episodes, " x ",
               w.steps);
  NAQS_REQUIRE(w.actions_count <= c_.actions, "the episodes' ", w.actions_count,
               " actions exceed the world model's ", c_.actions);
  NAQS_REQUIRE(steps >= 1 && steps * c_.block() <= c_.net.context, "a window of ", steps,
               " steps (", steps * c_.block(), " positions) does not fit the context ",
               c_.net.context);
  std::vector<int32_t> ids, targets;
  std::vector<double> frames;
  for (const auto& [e, s0] : at) {
    NAQS_CHECK(e >= 0 && e < w.episodes && s0 >= 0 && s0 + steps <= w.steps, "make_batch: (",
               e, ", ", s0, ") + ", steps, " steps is outside the episodes");
    for (int64_t t = s0; t < s0 + steps; ++t) {
      const int32_t* z = &tokens[size_t((e * w.steps + t) * n)];
      ids.push_back(int32_t(c_.frame_id()));
      ids.push_back(int32_t(c_.codes + kOutcomes + w.action(e, t)));
      ids.insert(ids.end(), z, z + n);
      targets.insert(targets.end(), z, z + n);
      targets.push_back(int32_t(c_.codes) + outcome_of(w.rewards[e * w.steps + t],
                                                       w.terminals[e * w.steps + t]));
      const uint8_t* f = w.frame(e, t);
      for (int64_t i = 0; i < hw; ++i)
        frames.push_back(ops::detail::dequantize_u8_value(f[i], ops::kFrameScale,
                                                          ops::kFrameOffset));
    }
  }
  WorldBatch b;
  b.batch = B;
  b.steps = steps;
  b.ids = Tensor::from_vector(ids, {B, steps * c_.block()}, device_);
  b.targets = Tensor::from_vector(targets, {B * steps * (n + 1)}, device_);
  b.frames = from_host_f64(frames, {B * steps, hw}, dtype_, device_);
  return b;
}

Tensor TokenWorldModel::frame_embed(const Tensor& frames) const {
  Tensor out = Tensor::empty({frames.size(0), c_.net.d_model}, dtype_, device_);
  nn::linear_forward(out, frames, frame_.get("frame.w"), frame_.get("frame.b"));
  return out;
}

Tensor TokenWorldModel::embed(const Tensor& frames, int64_t batch, int64_t steps) const {
  const int64_t C = c_.net.d_model;
  Tensor e = Tensor::zeros({batch, steps, c_.block(), C}, dtype_, device_);
  Tensor slots = e.narrow(2, 0, 1);
  ops::copy(frame_embed(frames).reshape({batch, steps, 1, C}), slots);
  return e.reshape({batch, steps * c_.block(), C});
}

double TokenWorldModel::loss(const WorldBatch& b, ParameterSet* net_grads,
                             ParameterSet* frame_grads) {
  const int64_t B = b.batch, H = b.steps, blk = c_.block(), n1 = c_.tokens + 1;
  const int64_t V = c_.vocab(), C = c_.net.d_model, T = H * blk;
  net_.forward_train(b.ids, st_, embed(b.frames, B, H));
  const Tensor pred =
      st_.logits.reshape({B, H, blk, V}).narrow(2, 1, n1).contiguous().reshape({B * H * n1, V});
  const bool grads = net_grads != nullptr;
  NAQS_CHECK(grads == (frame_grads != nullptr), "TokenWorldModel::loss: both gradient sets or "
             "neither");
  Tensor dpred = grads ? Tensor::empty(pred.shape(), dtype_, device_) : Tensor();
  const double l = cross_entropy(pred, b.targets, dpred);
  if (!grads) return l;
  Tensor dlogits = Tensor::zeros({B, H, blk, V}, dtype_, device_);
  Tensor view = dlogits.narrow(2, 1, n1);
  ops::copy(dpred.reshape({B, H, n1, V}), view);
  Tensor dembed = Tensor::empty({B, T, C}, dtype_, device_);
  net_.backward(st_, dlogits.reshape({B, T, V}), *net_grads, dembed);
  const Tensor dframe = dembed.reshape({B, H, blk, C}).narrow(2, 0, 1).contiguous();
  nn::linear_backward(Tensor(), frame_grads->get("frame.w"), frame_grads->get("frame.b"),
                      dframe.reshape({B * H, C}), b.frames, frame_.get("frame.w"));
  return l;
}

TokenWorldModel::Imagined TokenWorldModel::imagine(ConvTokenizer& tokenizer,
                                                   const Codebook& codebook,
                                                   const std::vector<uint8_t>& first,
                                                   const std::vector<int32_t>& actions,
                                                   int64_t horizon, bool use_cache,
                                                   double temperature, uint64_t seed) {
  const int64_t H = c_.frame, hw = H * H, n = c_.tokens, blk = c_.block(), K = c_.codes;
  const int64_t C = c_.net.d_model, V = c_.vocab();
  NAQS_REQUIRE(!first.empty() && int64_t(first.size()) % hw == 0, "imagine: ", first.size(),
               " first-frame values are not frames of ", H, "x", H);
  const int64_t B = int64_t(first.size()) / hw, T = horizon * blk;
  NAQS_REQUIRE(horizon >= 1 && T <= c_.net.context, "a horizon of ", horizon, " steps (", T,
               " positions) does not fit the context ", c_.net.context);
  NAQS_REQUIRE(int64_t(actions.size()) == B * horizon, "imagine: ", actions.size(),
               " actions for ", B, " x ", horizon, " steps");
  NAQS_REQUIRE(temperature >= 0 && std::isfinite(temperature), "the temperature ", temperature,
               " is not allowed: use a finite value >= 0");
  NAQS_REQUIRE(codebook.config().codes == K && tokenizer.config().tokens() == n &&
                   tokenizer.config().frame == H,
               "the tokenizer (", tokenizer.config().tokens(), " tokens of ",
               codebook.config().codes, " codes, frames ", tokenizer.config().frame,
               ") does not match the world model (", n, " of ", K, ", ", H, ")");
  for (int32_t a : actions)
    NAQS_REQUIRE(a >= 0 && a < c_.actions, "imagine: action ", a, " is outside [0, ",
                 c_.actions, ")");

  Imagined r;
  r.tokens.assign(size_t(B * horizon * n), 0);
  r.outcomes.assign(size_t(B * horizon), 0);
  r.frames.assign(size_t(B * horizon * hw), 0);
  r.logp.assign(size_t(B * horizon * (n + 1)), 0.0);
  std::vector<int32_t> ids(size_t(B * T), 0);  // (B, T), filled as the sequence grows
  Tensor emb = Tensor::zeros({B, T, C}, dtype_, device_);
  KvCache cache = use_cache ? KvCache(c_.net, B, T, dtype_, device_) : KvCache();
  // Runs positions [pos, end) (all of [0, end) without the cache); the last position's logits.
  const auto last_logits = [&](int64_t pos, int64_t end) {
    const int64_t from = use_cache ? pos : 0, tn = end - from;
    std::vector<int32_t> part(size_t(B * tn));
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(&ids[size_t(b * T + from)], tn, &part[size_t(b * tn)]);
    KvCache fresh = use_cache ? KvCache() : KvCache(c_.net, B, tn, dtype_, device_);
    Tensor logits = Tensor::empty({B, tn, V}, dtype_, device_);
    net_.infer(Tensor::from_vector(part, {B, tn}, device_), from, use_cache ? cache : fresh,
               logits, emb.narrow(1, from, tn).contiguous());
    return to_host_f64(logits.narrow(1, tn - 1, 1));
  };

  Tensor x8 = Tensor::from_vector(first, {B, 1, H, H}, device_);
  Tensor x = Tensor::empty({B, 1, H, H}, dtype_, device_);
  for (int64_t t = 0; t < horizon; ++t) {
    const int64_t pos = t * blk;
    ops::dequantize_u8(x8, ops::kFrameScale, ops::kFrameOffset, x);
    Tensor slot = emb.narrow(1, pos, 1);
    ops::copy(frame_embed(x.reshape({B, hw})).reshape({B, 1, C}), slot);
    std::vector<int32_t> a_t(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      a_t[b] = actions[b * horizon + t];
      ids[b * T + pos] = int32_t(c_.frame_id());
      ids[b * T + pos + 1] = int32_t(K + kOutcomes + a_t[b]);
    }
    int64_t end = pos + 2;
    for (int64_t j = 0; j <= n; ++j) {  // j < n: token j + 1 of the block; j = n: the outcome
      const std::vector<double> rows = last_logits(end - (j == 0 ? 2 : 1), end);
      for (int64_t b = 0; b < B; ++b) {
        const double u = philox_uniform_f64(seed, uint64_t(b), uint64_t(t * (n + 1) + j));
        const double* row = &rows[size_t(b * V)];
        double& logp = r.logp[size_t((b * horizon + t) * (n + 1) + j)];
        if (j < n) {
          const int32_t z = draw(row, 0, K, temperature, u, logp);
          ids[b * T + end] = z;
          r.tokens[size_t((b * horizon + t) * n + j)] = z;
        } else {
          r.outcomes[size_t(b * horizon + t)] = draw(row, K, K + kOutcomes, temperature, u, logp) -
                                                int32_t(K);
        }
      }
      if (j < n) ++end;
    }
    // the next frame: the tokenizer's decoder on x_t, a_t and the drawn codes
    std::vector<int32_t> z(static_cast<size_t>(B * n));
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(&r.tokens[size_t((b * horizon + t) * n)], n, &z[size_t(b * n)]);
    Tensor q = Tensor::empty({B * n, codebook.config().dim}, dtype_, device_);
    nn::embedding_forward(q, Tensor::from_vector(z, {B * n}, device_), codebook.codes());
    const Tensor pred = tokenizer.decode(x, a_t, q);
    ops::quantize_u8(pred, ops::kFrameScale, ops::kFrameOffset, x8);
    const std::vector<uint8_t> f = x8.to_vector<uint8_t>();
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(&f[size_t(b * hw)], hw, &r.frames[size_t((b * horizon + t) * hw)]);
  }
  return r;
}

std::vector<int32_t> tokenize_episodes(ConvTokenizer& tokenizer, const Codebook& codebook,
                                       const diffusion::WorldData& w, int64_t chunk) {
  NAQS_REQUIRE(chunk >= 1, "the chunk ", chunk, " must be at least 1");
  std::vector<std::pair<int64_t, int64_t>> all;
  for (int64_t e = 0; e < w.episodes; ++e)
    for (int64_t s = 0; s < w.steps; ++s) all.emplace_back(e, s);
  const Tensor flat = tokenizer.params().flat();
  std::vector<int32_t> out;
  for (size_t i = 0; i < all.size(); i += size_t(chunk)) {
    const std::vector<std::pair<int64_t, int64_t>> at(
        all.begin() + i, all.begin() + std::min(all.size(), i + size_t(chunk)));
    const Transitions t = make_transitions(w, at, flat.dtype(), flat.device());
    const VqBatch vq = codebook.quantize(tokenizer.encode(t.x_t, t.x_next, t.actions));
    const std::vector<int32_t> z = vq.tokens.to_vector<int32_t>();
    out.insert(out.end(), z.begin(), z.end());
  }
  return out;
}

TokenWorldTrainer::TokenWorldTrainer(TokenWorldModel& m, double lr, double weight_decay,
                                     uint64_t seed)
    : m_(m), lr_(lr), seed_(seed) {
  opt_net_ = nn::make_optimizer("adamw", nn::AdamOptions{0.9, 0.999, 1e-8}, 0.0, weight_decay);
  opt_frame_ = nn::make_optimizer("adamw", nn::AdamOptions{0.9, 0.999, 1e-8}, 0.0, weight_decay);
  const Tensor f = m.net().params().flat();
  g_net_ = m.net().params().like(f.dtype(), f.device());
  g_frame_ = m.frame_params().like(f.dtype(), f.device());
}

double TokenWorldTrainer::step(const diffusion::WorldData& w, const std::vector<int32_t>& tokens,
                               int64_t batch, int64_t steps) {
  NAQS_REQUIRE(batch >= 1, "--batch ", batch, " is not allowed: use at least 1");
  NAQS_REQUIRE(steps >= 1 && steps <= w.steps, "a window of ", steps,
               " steps is not allowed: use 1 to the episodes' ", w.steps);
  NAQS_REQUIRE(!w.train_episodes.empty(), "no train episodes");
  const int64_t ne = int64_t(w.train_episodes.size()), starts = w.steps - steps + 1;
  std::vector<std::pair<int64_t, int64_t>> at;
  for (int64_t i = 0; i < batch; ++i) {
    const uint64_t k = 2 * uint64_t(steps_ * batch + i);
    const int64_t e = std::min(ne - 1, int64_t(philox_uniform_f64(seed_, kWindowStream, k) * ne));
    const int64_t s =
        std::min(starts - 1, int64_t(philox_uniform_f64(seed_, kWindowStream, k + 1) * starts));
    at.emplace_back(w.train_episodes[e], s);
  }
  const double l = m_.loss(m_.make_batch(w, tokens, at, steps), &g_net_, &g_frame_);
  Tensor p = m_.net().params().flat();
  opt_net_->step(p, g_net_.flat(), lr_);
  p = m_.frame_params().flat();
  opt_frame_->step(p, g_frame_.flat(), lr_);
  ++steps_;
  return l;
}

}  // namespace naqs::ml::world_model
