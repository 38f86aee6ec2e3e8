// Training of the Δ-IRIS tokenizer; see tokenizer_train.hpp.
#include "ml/world_model/tokenizer_train.hpp"

#include <cmath>
#include <map>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/quantize.hpp"

namespace naqs::ml::world_model {
namespace {
constexpr uint64_t kBatchStream = 2;
}  // namespace

Transitions make_transitions(const diffusion::WorldData& w,
                             const std::vector<std::pair<int64_t, int64_t>>& at, DType dtype,
                             Device device) {
  const int64_t B = int64_t(at.size()), n = w.frame_size();
  std::vector<double> x(static_cast<size_t>(B * n)), y(x.size());
  Transitions t;
  for (int64_t b = 0; b < B; ++b) {
    const auto [e, s] = at[b];
    NAQS_CHECK(e >= 0 && e < w.episodes && s >= 0 && s < w.steps, "make_transitions: (", e,
               ", ", s, ") is outside the episodes");
    const uint8_t* f0 = w.frame(e, s);
    const uint8_t* f1 = w.frame(e, s + 1);
    for (int64_t i = 0; i < n; ++i) {
      x[b * n + i] = ops::detail::dequantize_u8_value(f0[i], ops::kFrameScale, ops::kFrameOffset);
      y[b * n + i] = ops::detail::dequantize_u8_value(f1[i], ops::kFrameScale, ops::kFrameOffset);
    }
    t.actions.push_back(w.action(e, s));
  }
  t.x_t = from_host_f64(x, {B, 1, w.height, w.width}, dtype, device);
  t.x_next = from_host_f64(y, {B, 1, w.height, w.width}, dtype, device);
  return t;
}

TokenizerTrainer::TokenizerTrainer(ConvTokenizer& net, Codebook& codebook, double lr,
                                   double weight_decay, uint64_t seed, int64_t warmup,
                                   bool zero_token_layer)
    : net_(net), codebook_(codebook), lr_(lr), seed_(seed), warmup_(warmup) {
  NAQS_REQUIRE(warmup >= 0, "the warm-up ", warmup, " is not allowed: use 0 or more steps");
  if (zero_token_layer) {
    Tensor w = net.params().get("enc.tok.w");
    ops::fill(w, 0.0);
  }
  NAQS_REQUIRE(codebook.config().dim == net.config().token_dim, "the code dimension ",
               codebook.config().dim, " differs from the tokenizer's token_dim ",
               net.config().token_dim);
  opt_ = nn::make_optimizer("adamw", nn::AdamOptions{0.9, 0.999, 1e-8}, 0.0, weight_decay);
  grads_ = net.params().like(net.params().flat().dtype(), net.params().flat().device());
}

TokenizerStep TokenizerTrainer::step(const diffusion::WorldData& w, int64_t batch) {
  NAQS_REQUIRE(batch >= 1, "--batch ", batch, " is not allowed: use at least 1");
  NAQS_REQUIRE(!w.train_episodes.empty(), "no train episodes");
  std::vector<std::pair<int64_t, int64_t>> at;
  for (int64_t i = 0; i < batch; ++i) {
    const uint64_t k = 2 * uint64_t(steps_ * batch + i);
    const int64_t ne = int64_t(w.train_episodes.size());
    const int64_t e = std::min(ne - 1, int64_t(philox_uniform_f64(seed_, kBatchStream, k) * ne));
    const int64_t s =
        std::min(w.steps - 1, int64_t(philox_uniform_f64(seed_, kBatchStream, k + 1) * w.steps));
    at.emplace_back(w.train_episodes[e], s);
  }
  const Tensor flat = net_.params().flat();
  const Transitions t = make_transitions(w, at, flat.dtype(), flat.device());

  const bool warm = steps_ < warmup_;
  const VqBatch vq = codebook_.quantize(net_.encode(t.x_t, t.x_next, t.actions));
  const Tensor pred = net_.decode(
      t.x_t, t.actions, warm ? Tensor::zeros(vq.q.shape(), vq.q.dtype(), vq.q.device()) : vq.q);
  Tensor dpred = Tensor::empty(pred.shape(), pred.dtype(), pred.device());
  ops::binary(ops::Binary::sub, pred, t.x_next, dpred);
  TokenizerStep r;
  const Tensor d1 = dpred.reshape({dpred.numel()});
  r.mse = nn::dot(d1, d1) / double(dpred.numel());
  r.commitment = vq.commitment;
  ops::scale(dpred, 2.0 / double(dpred.numel()));
  const Tensor dq = net_.decode_backward(dpred, grads_);
  if (warm) {  // the encoder's gradients stay 0
    for (const ParameterEntry& e : net_.params().layout()) {
      if (e.name.rfind("enc.", 0) != 0) continue;
      Tensor g = grads_.get(e.name);
      ops::fill(g, 0.0);
    }
  } else {
    Tensor dz = Tensor::empty(vq.z.shape(), vq.z.dtype(), vq.z.device());
    codebook_.backward(vq, dq, 1.0, dz);
    net_.encode_backward(dz, grads_);
  }
  Tensor params = net_.params().flat();
  opt_->step(params, grads_.flat(), lr_);
  if (!warm) r.revived = int64_t(codebook_.update(vq).size());
  ++steps_;
  return r;
}

namespace {
double mse(const Tensor& pred, const Tensor& target) {
  Tensor d = Tensor::empty(pred.shape(), pred.dtype(), pred.device());
  ops::binary(ops::Binary::sub, pred, target, d);
  const Tensor d1 = d.reshape({d.numel()});
  return nn::dot(d1, d1) / double(d.numel());
}
}  // namespace

TokenizerEval TokenizerTrainer::evaluate(const Transitions& t) {
  const VqBatch vq = codebook_.quantize(net_.encode(t.x_t, t.x_next, t.actions));
  TokenizerEval r;
  const Tensor h = vq.tokens.to(Device::cpu());
  r.tokens.assign(h.data<int32_t>(), h.data<int32_t>() + h.numel());
  r.mse = mse(net_.decode(t.x_t, t.actions, vq.q), t.x_next);
  // q rolled by one transition (g g rows): transition b gets b + 1's tokens
  const int64_t n = net_.config().tokens(), rows = vq.q.size(0);
  Tensor rolled = Tensor::empty(vq.q.shape(), vq.q.dtype(), vq.q.device());
  Tensor part = rolled.narrow(0, 0, rows - n);
  ops::copy(vq.q.narrow(0, n, rows - n), part);
  part = rolled.narrow(0, rows - n, n);
  ops::copy(vq.q.narrow(0, 0, n), part);
  r.mse_swapped = mse(net_.decode(t.x_t, t.actions, rolled), t.x_next);
  return r;
}

double token_entropy_bits(const std::vector<int32_t>& tokens, int64_t per_frame) {
  NAQS_CHECK(per_frame >= 1 && int64_t(tokens.size()) % per_frame == 0,
             "token_entropy_bits: ", tokens.size(), " tokens are not frames of ", per_frame);
  std::map<std::vector<int32_t>, int64_t> count;
  for (size_t i = 0; i < tokens.size(); i += size_t(per_frame))
    ++count[std::vector<int32_t>(tokens.begin() + i, tokens.begin() + i + per_frame)];
  const double n = double(tokens.size() / size_t(per_frame));
  double h = 0;
  for (const auto& [tuple, c] : count) h -= double(c) / n * std::log2(double(c) / n);
  return h;
}

}  // namespace naqs::ml::world_model
