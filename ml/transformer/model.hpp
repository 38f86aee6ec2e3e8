// A decoder-only byte-level transformer with grouped-query attention (MQA/GQA) and Cross-Layer
// Attention (CLA, Brandon et al. 2024), its hand-written backward, and its KV cache.
//
// Definition (exact; the PyTorch peer in bench/ and docs/ML.md follow it):
//   Vocabulary: bytes, V = 256 (token = byte value; config vocab for other streams).
//   C = d_model = Hq * Dh.
//   x = wte[tokens] (+ embed, optional)              (B, T, C); no position embedding (RoPE)
//   for layer l = 0 .. L-1:
//     h   = rmsnorm(x) * norm1_l                     (eps 1e-5, weight only)
//     q   = rope(h wq_l^T)                            (B, T, Hq, Dh)
//     owner o = s * floor(l / s) (s = kv_share); only owners have wk, wv:
//     if l == o: k_o = rope(h wk_l^T), v_o = h wv_l^T (B, T, Hkv, Dh), kept (cached)
//     a   = attention(q, k_o, v_o)                   causal, scale 1/sqrt(Dh), query head h reads
//                                                     kv head h / (Hq / Hkv)
//     x   = x + a wo_l^T                             (a as (B, T, Hq*Dh))
//     h2  = rmsnorm(x) * norm2_l
//     x   = x + (silu(h2 w1_l^T) * (h2 w3_l^T)) w2_l^T    SwiGLU, hidden F
//   logits = (rmsnorm(x) * norm_f) lm_head^T         (B, T, V); lm_head untied from wte
//   No biases anywhere. Weights stored (out, in) as PyTorch's nn.Linear.
//   RoPE: rotate-half pairs (i, i + Dh/2), theta_i = 10000^(-2i/Dh), host/ops/attention.hpp.
//   SwiGLU hidden F = ffn_hidden, default 16 * ceil(8 C / 48) (8C/3 rounded up to 16).
//   Init (Philox normal, stream = the parameter's index in the layout, seed = the init seed):
//   wte, lm_head, wq, wk, wv, w1, w3 ~ N(0, 0.02); wo, w2 ~ N(0, 0.02 / sqrt(2 L)) (GPT-2's
//   residual scaling); norm weights 1.
//   Parameter count: 2 V C + C + L (2 C + 2 Hq Dh C + 3 F C) + ceil(L / s) 2 Hkv Dh C.
//   Loss: mean cross entropy (nats) of next-byte predictions; bits per character = loss / ln 2.
//
// Two ways to run the forward:
//   forward_train / backward: training (ops::gemm / OpenBLAS for the linear layers),
//     activations kept in TrainState, gradients into a ParameterSet like the parameters.
//   infer: inference for Tn new tokens at positions pos0 .. pos0 + Tn - 1 with a KvCache
//     (prefill: pos0 = 0, Tn = prompt; decode step: Tn = 1; the "full forward" is infer of the
//     whole sequence into a fresh cache). On the CPU every op it uses computes each row in a
//     fixed order that does not depend on how many rows are processed together (linear layers
//     through ops::gemm_rows, attention through ops::attention_forward), so decoding token by
//     token equals the full forward bit for bit (tests/unit/test_transformer.cpp, f32 and f64,
//     MHA/GQA/MQA with and without CLA). On CUDA the linear layers are cuBLAS.
//
// KvCache: keys and values of the owner layers only, (B, capacity, Hkv, Dh) each;
//   bytes() = 2 Hkv Dh ceil(L / s) capacity B sizeof(dtype).
// Errors (UsageError, one line): Hq % Hkv != 0, kv_share outside [1, L], d_model != Hq Dh, an
// odd Dh, positions beyond the context, token ids outside [0, 256).
// Tests: tests/unit/test_transformer.cpp; tests/statistical/test_lm_learns.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/params.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ml {

inline constexpr int64_t kByteVocab = 256;

struct TransformerConfig {
  int64_t d_model = 128;
  int64_t layers = 4;
  int64_t heads = 4;      // Hq
  int64_t kv_heads = 4;   // Hkv
  int64_t head_dim = 32;  // Dh
  int64_t kv_share = 1;   // s (CLA sharing factor)
  int64_t context = 128;  // longest sequence (positions 0 .. context-1)
  int64_t ffn_hidden = 0; // F; 0 = 16 * ceil(8 d_model / 48)
  double rope_base = 10000.0;
  double norm_eps = 1e-5;
  int64_t vocab = kByteVocab;  // V; other vocabularies for other token streams (ml/world_model)

  void validate() const;          // UsageError naming the bad value and what is allowed
  int64_t hidden() const;         // F after the default
  int64_t kv_owners() const { return (layers + kv_share - 1) / kv_share; }  // ceil(L/s)
  bool is_owner(int64_t l) const { return l % kv_share == 0; }
  int64_t owner_of(int64_t l) const { return kv_share * (l / kv_share); }
  int64_t n_params() const;       // the formula in the header comment
  // 2 Hkv Dh ceil(L/s) sizeof(dtype): KV-cache bytes per token of one sequence
  int64_t kv_bytes_per_token(int64_t dtype_bytes) const;
  std::string str() const;        // "d_model=128 layers=4 heads=4 kv_heads=1 ..." (fingerprints)
};

class KvCache {
 public:
  KvCache() = default;
  KvCache(const TransformerConfig& cfg, int64_t batch, int64_t capacity, DType dtype,
          Device device);
  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  int64_t bytes() const;
  // Whether this cache was made for a model of `cfg`'s K/V shape (owners, Hkv, Dh), dtype and
  // device: infer() refuses any other cache, forward_train() rebuilds its own.
  bool fits(const TransformerConfig& cfg, DType dtype, Device device) const;
  Tensor& k(int64_t owner_index) { return k_[owner_index]; }  // (B, capacity, Hkv, Dh)
  Tensor& v(int64_t owner_index) { return v_[owner_index]; }

 private:
  int64_t batch_ = 0, capacity_ = 0;
  std::vector<Tensor> k_, v_;
};

// Activations of one training forward, kept for the backward.
struct TrainState {
  int64_t batch = 0, length = 0;
  Tensor tokens;  // (B, T) i32
  KvCache kv;     // owners' rope'd k and v, capacity T
  struct Layer {
    Tensor x_in, h1, rstd1, q, probs, att, x_mid, h2, rstd2, g, sg, u, m;  // sg = silu(g)
  };
  std::vector<Layer> layers;
  Tensor x_out, hf, rstdf, logits;
};

class Transformer {
 public:
  Transformer(const TransformerConfig& cfg, DType dtype, Device device);
  const TransformerConfig& config() const { return cfg_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }
  void init(uint64_t seed);  // the initialisation in the header comment

  // Training forward: tokens (B, T) i32, T <= context; returns logits (B, T, V) (in st).
  // embed (B, T, C), optional: added to the token embeddings (x = wte[tokens] + embed), so a
  // position can carry a vector computed outside (the world model's frame embeddings).
  void forward_train(const Tensor& tokens, TrainState& st, const Tensor& embed = Tensor()) const;
  // Backward of the training forward given dlogits (B, T, V); grads like params(), overwritten;
  // dembed (B, T, C), optional: the gradient with respect to embed.
  void backward(const TrainState& st, const Tensor& dlogits, ParameterSet& grads,
                Tensor dembed = Tensor()) const;

  // Inference: tokens (B, Tn) i32 at positions pos0 ..; keys/values written into cache;
  // logits (B, Tn, V) written; embed (B, Tn, C) optional as in forward_train.
  void infer(const Tensor& tokens, int64_t pos0, KvCache& cache, Tensor& logits,
             const Tensor& embed = Tensor()) const;

 private:
  void check_tokens(const char* op, const Tensor& tokens, int64_t pos0) const;
  void check_embed(const char* op, const Tensor& embed, int64_t b, int64_t t) const;
  TransformerConfig cfg_;
  DType dtype_;
  Device device_;
  ParameterSet params_;
};

// Mean cross entropy (nats) of logits (N, V) against targets (N) i32; with dlogits defined
// (N, V), writes d(mean loss)/dlogits = (softmax - onehot) / N. Sums in double on the host (the
// logits are copied there on CUDA).
double cross_entropy(const Tensor& logits, const Tensor& targets, Tensor dlogits);

}  // namespace naqs::ml
