// The transformer wavefunction (definition, evaluation paths and tests: the header).
#include "physics/models/transformer_wavefunction.hpp"

#include "host/core/error.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"

namespace naqs {
namespace {

// out (i32, sigma's shape) = the local state index (1 - sigma) / 2: 0 for +1, 1 for -1.
void spin_index(const Tensor& sigma, Tensor out) {
  Tensor s = Tensor::empty(sigma.shape(), sigma.dtype(), sigma.device());
  ops::fill(s, 0.5);
  ops::axpby(-0.5, sigma, 1.0, s);
  ops::cast(s, out);
}

}  // namespace

ml::TransformerConfig TransformerWavefunctionConfig::transformer() const {
  NAQS_REQUIRE(n_sites >= 1, "transformer wavefunction: n_sites must be >= 1, got ", n_sites);
  // The transformer's own checks name the LM's options: these name the wavefunction's first.
  NAQS_REQUIRE(depth >= 1, "--depth ", depth, " must be >= 1 (transformer layers)");
  NAQS_REQUIRE(heads >= 1 && width % heads == 0 && (width / heads) % 2 == 0, "--width ", width,
               " must be --heads ", heads, " x an even head dim (RoPE rotates pairs)");
  NAQS_REQUIRE(kv_heads >= 1 && heads % kv_heads == 0, "--heads ", heads,
               " must be a multiple of --kv-heads ", kv_heads);
  NAQS_REQUIRE(kv_share >= 1 && kv_share <= depth, "--kv-share ", kv_share, " must be in [1, ",
               depth, "] (--depth)");
  ml::TransformerConfig c;
  c.d_model = width;
  c.layers = depth;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.head_dim = width / heads;
  c.kv_share = kv_share;
  c.context = n_sites;
  c.vocab = 2;
  c.out = phase_mode == PhaseMode::complex ? 4 : 2;
  c.learned_positions = true;
  c.cond_dim = conditioned ? 1 : 0;
  c.validate();
  return c;
}

TransformerWavefunction::TransformerWavefunction(const TransformerWavefunctionConfig& config,
                                                 DType dtype, Device device, uint64_t seed)
    : config_(config), net_(config.transformer(), dtype, device) {
  net_.init(seed);
  grads_ = net_.params().like(dtype, device);
}

std::size_t TransformerWavefunction::forward_bytes_per_sample() const {
  // Per position and layer: ~10 activations of C, the SwiGLU's 4 of F, the attention
  // probabilities Hq x N; the logits and head temporaries ~10 x O.
  const ml::TransformerConfig& c = net_.config();
  const int64_t n = config_.n_sites;
  const int64_t per_position = c.layers * (10 * c.d_model + 4 * c.hidden() + c.heads * n) +
                               10 * c.outputs();
  return static_cast<std::size_t>(per_position * n) * dtype_size(dtype()) +
         static_cast<std::size_t>(n) * 4;
}

int64_t TransformerWavefunction::kv_bytes_per_sample() const {
  return net_.config().kv_bytes_per_token(static_cast<int64_t>(dtype_size(dtype()))) *
         config_.n_sites;
}

void TransformerWavefunction::set_condition(double value) {
  NAQS_REQUIRE(config_.conditioned, "set_condition: this transformer wavefunction was built "
               "without a conditioning input (TransformerWavefunctionConfig::conditioned)");
  condition_ = value;
}

Tensor TransformerWavefunction::cond_of(int64_t batch) const {
  return config_.conditioned ? Tensor::full({batch, 1}, condition_, dtype(), device()) : Tensor();
}

Tensor TransformerWavefunction::tokens_of(const Tensor& sigma) const {
  const int64_t b = sigma.size(0), n = n_sites();
  // The spin indices shifted one site to the right behind the start token 0.
  Tensor tokens = Tensor::zeros({b, n}, DType::i32, device());
  if (n > 1) {
    Tensor shifted = Tensor::empty({b, n - 1}, DType::i32, device());
    spin_index(sigma.narrow(1, 0, n - 1).contiguous(), shifted);
    tokens.narrow(1, 1, n - 1).copy_from(shifted);
  }
  return tokens;
}

void TransformerWavefunction::split_logits(const Tensor& logits, Tensor& re, Tensor& im) const {
  // logits (B, T, O) -> re (B, 2, T) = logits[..., 0:2]^T, im = logits[..., 2:4]^T.
  re.copy_from(logits.narrow(2, 0, 2).permute({0, 2, 1}));
  if (phase_mode() == PhaseMode::complex)
    im.copy_from(logits.narrow(2, 2, 2).permute({0, 2, 1}));
  else
    ops::fill(im, 0.0);
}

void TransformerWavefunction::logits(const Tensor& sigma, Tensor& re, Tensor& im) {
  const char* op = "TransformerWavefunction::logits";
  const int64_t b = sigma.size(0), n = n_sites();
  check_shape(op, sigma, {b, n}, "sigma");
  check_shape(op, re, {b, 2, n}, "re");
  check_shape(op, im, {b, 2, n}, "im");
  Tensor tokens = tokens_of(sigma);
  if (keep_activations()) {
    tokens_ = tokens;
    net_.forward_train(tokens, state_, Tensor(), cond_of(b));
    split_logits(state_.logits, re, im);
  } else {
    ml::KvCache cache(net_.config(), b, n, dtype(), device());
    Tensor out = Tensor::empty({b, n, net_.config().outputs()}, dtype(), device());
    net_.infer(tokens, 0, cache, out, Tensor(), cond_of(b));
    split_logits(out, re, im);
  }
}

void TransformerWavefunction::logits_backward(const Tensor& d_re, const Tensor& d_im,
                                              Tensor& grad_or_jac, bool per_sample,
                                              bool accumulate) {
  const char* op = "TransformerWavefunction::logits_backward";
  NAQS_CHECK(tokens_.defined(), op, ": no logits() call with activations kept precedes it");
  const int64_t b = tokens_.size(0), n = n_sites(), o = net_.config().outputs();
  const int64_t p = params().size();
  check_shape(op, d_re, {b, 2, n}, "d_re");
  check_shape(op, grad_or_jac, per_sample ? Shape{b, p} : Shape{p}, "grad_or_jac");
  // dlogits (B, N, O) = [d_re^T, d_im^T].
  Tensor dlogits = Tensor::empty({b, n, o}, dtype(), device());
  dlogits.narrow(2, 0, 2).copy_from(d_re.permute({0, 2, 1}));
  if (phase_mode() == PhaseMode::complex) {
    check_shape(op, d_im, {b, 2, n}, "d_im");
    dlogits.narrow(2, 2, 2).copy_from(d_im.permute({0, 2, 1}));
  }
  auto write = [&](Tensor dst) {  // dst (P) = or += the gradient in grads_
    if (accumulate)
      ops::axpby(1.0, grads_.flat(), 1.0, dst);
    else
      dst.copy_from(grads_.flat());
  };
  if (!per_sample) {
    net_.backward(state_, dlogits, grads_);
    write(grad_or_jac);
    return;
  }
  ml::TrainState one;
  for (int64_t i = 0; i < b; ++i) {
    net_.forward_train(tokens_.narrow(0, i, 1), one, Tensor(),
                       state_.cond.defined() ? state_.cond.narrow(0, i, 1) : Tensor());
    net_.backward(one, dlogits.narrow(0, i, 1), grads_);
    write(grad_or_jac.select(0, i));
  }
}

std::vector<std::pair<std::string, Tensor>> TransformerWavefunction::hidden_layers() const {
  NAQS_CHECK(!state_.layers.empty(), "TransformerWavefunction::hidden_layers: no logits() call "
             "with activations kept yet");
  auto sites_last = [](const Tensor& x) { return x.permute({0, 2, 1}).contiguous(); };
  std::vector<std::pair<std::string, Tensor>> out{{"embed", sites_last(state_.layers[0].x_in)}};
  for (std::size_t l = 1; l < state_.layers.size(); ++l)
    out.emplace_back(cat("layer", l), sites_last(state_.layers[l].x_in));
  out.emplace_back(cat("layer", state_.layers.size()), sites_last(state_.x_out));
  return out;
}

void TransformerWavefunction::cache_begin(int64_t batch) {
  NAQS_CHECK(batch >= 1, "TransformerWavefunction::cache_begin: batch must be >= 1, got ", batch);
  cache_ = ml::KvCache(net_.config(), batch, n_sites(), dtype(), device());
  next_token_ = Tensor::zeros({batch, 1}, DType::i32, device());
  step_logits_ = Tensor::empty({batch, 1, net_.config().outputs()}, dtype(), device());
  cache_cond_ = cond_of(batch);
}

void TransformerWavefunction::cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) {
  const char* op = "TransformerWavefunction::cache_logits";
  const int64_t batch = cache_.batch();
  NAQS_CHECK(batch > 0, op, ": cache_begin was not called");
  NAQS_CHECK(t >= 0 && t < n_sites(), op, ": site ", t, " out of range");
  check_shape(op, re_t, {batch, 2}, "re_t");
  check_shape(op, im_t, {batch, 2}, "im_t");
  net_.infer(next_token_, t, cache_, step_logits_, Tensor(), cache_cond_);
  Tensor re3 = re_t.reshape({batch, 2, 1}), im3 = im_t.reshape({batch, 2, 1});
  split_logits(step_logits_, re3, im3);
}

void TransformerWavefunction::cache_set_site(int64_t t, const Tensor& sigma_t) {
  const int64_t batch = cache_.batch();
  NAQS_CHECK(batch > 0 && t >= 0 && t < n_sites(),
             "TransformerWavefunction::cache_set_site: site ", t, " without cache_begin");
  check_shape("TransformerWavefunction::cache_set_site", sigma_t, {batch}, "sigma_t");
  spin_index(sigma_t, next_token_.reshape({batch}));
}

}  // namespace naqs
