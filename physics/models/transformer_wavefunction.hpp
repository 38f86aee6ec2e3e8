// A transformer wavefunction: an autoregressive quantum state whose conditionals come from the
// decoder-only transformer of ml/transformer/model.hpp (RMSNorm, SwiGLU, RoPE, grouped-query
// attention, cross-layer KV sharing), sampled exactly through its KV cache.
//
//   Sites in the model's order (chains; square lattices in raster order), s_i = 0 for
//   sigma_i = +1, 1 for sigma_i = -1 (the packed-bit convention of
//   physics/models/autoregressive_wavefunction.hpp).
//   Input at position t: the token of the previous site's state, s_{t-1} (vocabulary 2); position
//     0 has no previous site and reads token 0, which the learned position embedding wpe[0] makes
//     a start token (the transformer's learned_positions: wpe (N, C) besides RoPE).
//   Output at position t: O = 2 logits, Re z[s, t] for s = 0, 1 (real mode), or O = 4 (complex
//     mode: Re z[0], Re z[1], Im z[0], Im z[1]); the shared head of AutoregressiveWavefunction
//     normalises them, so psi is exactly normalised and the magnetisation constraint masks them.
//   Causality is the attention's causal mask: position t sees tokens 0..t, i.e. sites < t.
//   Conditioned (config.conditioned): a scalar (the field h) enters every position through the
//     transformer's conditioning vector (cond_dim 1), so one network serves a whole sweep.
//
// Three ways to evaluate:
//   logits() for training (Transformer::forward_train, activations kept) and the backward
//     (Transformer::backward); per-sample gradients run one forward and backward per
//     configuration (B passes of batch 1: simple, exact, and costs B small passes);
//   logits_no_backward() (the naive sampler, log psi of local energies): Transformer::infer of
//     the whole sequence into a fresh cache, whose row-independent ops make it equal, bit for
//     bit, to
//   the cached sampler: cache_begin(B) makes a KV cache for N positions; cache_logits(t) runs one
//     decode step at position t; cache_set_site(t, sigma_t) turns the sampled spins into the
//     token of position t + 1.
//   So cached sampling equals naive sampling bit for bit (CPU; tests/unit/test_transformer_wf.cpp).
//
// KV cache per sample: kv_bytes_per_sample() = N · 2 Hkv Dh ceil(L / s) · sizeof(dtype).
// Errors (UsageError, one line): the transformer's (heads vs kv heads, kv share, width = heads x
// head dim with an even head dim), n_sites < 1.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ml/transformer/model.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"

namespace naqs {

struct TransformerWavefunctionConfig {
  int64_t n_sites = 0;
  int64_t width = 32;    // d_model C
  int64_t depth = 2;     // layers L
  int64_t heads = 4;     // query heads Hq (head dim = width / heads)
  int64_t kv_heads = 4;  // key/value heads Hkv (MHA = heads, GQA between, MQA = 1)
  int64_t kv_share = 1;  // CLA: one KV owner per kv_share layers
  PhaseMode phase_mode = PhaseMode::real_positive;
  // Conditioned on one scalar (the transverse field h of a sweep trained as one network): the
  // transformer's conditioning vector, width 1, added at every position (set_condition).
  bool conditioned = false;
  // The transformer this describes (vocabulary 2, O = 2 or 4, context N, learned positions).
  ml::TransformerConfig transformer() const;
};

class TransformerWavefunction final : public AutoregressiveWavefunction {
 public:
  // Parameters allocated in dtype on device and initialised from Philox(seed) (the
  // transformer's initialisation: N(0, 0.02), so the first conditionals are near uniform).
  TransformerWavefunction(const TransformerWavefunctionConfig& config, DType dtype,
                          Device device, uint64_t seed);
  TransformerWavefunction(TransformerWavefunction&&) = default;
  TransformerWavefunction& operator=(TransformerWavefunction&&) = default;

  const TransformerWavefunctionConfig& config() const { return config_; }
  int64_t n_sites() const override { return config_.n_sites; }
  PhaseMode phase_mode() const override { return config_.phase_mode; }
  DType dtype() const override { return net_.dtype(); }
  Device device() const override { return net_.device(); }
  ParameterSet& params() override { return net_.params(); }
  const ParameterSet& params() const override { return net_.params(); }
  std::size_t forward_bytes_per_sample() const override;
  int64_t kv_bytes_per_sample() const;
  // The conditioning value every following evaluation uses (conditioned models only; 0 until
  // set). UsageError for a model without conditioning.
  void set_condition(double value);
  double condition() const { return condition_; }

  void logits(const Tensor& sigma, Tensor& re, Tensor& im) override;
  void logits_backward(const Tensor& d_re, const Tensor& d_im, Tensor& grad_or_jac,
                       bool per_sample, bool accumulate) override;

  // The residual stream of the last logits() call with activations kept, each (B, C, N):
  // "embed" (the input of layer 1) and "layer<l>" (the output of layer l); `naqs features`.
  std::vector<std::pair<std::string, Tensor>> hidden_layers() const;

  void cache_begin(int64_t batch) override;
  void cache_logits(int64_t t, Tensor& re_t, Tensor& im_t) override;
  void cache_set_site(int64_t t, const Tensor& sigma_t) override;

 private:
  // tokens (B, N) i32: position t holds s_{t-1}, position 0 holds 0.
  Tensor tokens_of(const Tensor& sigma) const;
  // (B, 1) filled with the condition, or undefined for a model without one.
  Tensor cond_of(int64_t batch) const;
  // re, im (B, 2, N) from logits (B, N, O); im zero in real mode.
  void split_logits(const Tensor& logits, Tensor& re, Tensor& im) const;

  TransformerWavefunctionConfig config_;
  ml::Transformer net_;
  double condition_ = 0;
  // The last logits() call with activations kept (for the backward).
  Tensor tokens_;
  ml::TrainState state_;
  ParameterSet grads_;  // scratch gradient like params()
  // Cached sampler.
  ml::KvCache cache_;
  Tensor next_token_;   // (B, 1) i32: the input of the next decode step
  Tensor cache_cond_;   // (B, 1) the condition, or undefined
  Tensor step_logits_;  // (B, 1, O)
};

}  // namespace naqs
