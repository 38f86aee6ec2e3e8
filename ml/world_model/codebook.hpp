// The vector quantiser of the Δ-IRIS tokenizer (Micheli et al. 2024): a cosine-similarity
// codebook updated by moving averages (not by gradients), with dead-code revival, the
// straight-through gradient and the commitment loss.
//
// Shapes: K codes of dimension D; N input vectors z (N, D) (the encoder's token vectors, all
// frames and grid cells of a batch as rows).
//   normalise   zhat = z / sqrt(|z|^2 + kNormEps)   (rows; ops rmsnorm with weight 1/sqrt(D))
//   assign      token_i = argmax_k <zhat_i, e_k>, ties to the lower k (ops::topk_rows, k = 1)
//               codes e_k (K, D) are unit rows, so this is the largest cosine similarity
//   quantise    q_i = e_{token_i}                             (N, D), the layer's forward value
//   commitment  C = beta * sum_{i,d} (zhat_id - q_id)^2 / (N D)  (q held constant: stop-gradient)
//   backward    straight-through: the output is zhat + sg(q - zhat), so for the gradient dq of
//               a loss with respect to q (N, D) and the weight w of C in the total loss,
//               dzhat = dq + w * 2 beta (zhat - q) / (N D),  dz = d normalise^T dzhat.
// Moving-average update (training, once per batch, after the forward; decay gamma):
//   n_k = |{i : token_i = k}|, c_k = sum_{token_i = k} zhat_i / n_k (the mean of its inputs);
//   e_k <- normalise(gamma e_k + (1 - gamma) c_k) for n_k > 0; e_k unchanged for n_k = 0.
// Dead-code revival (the rule): idle_k counts the consecutive updates in which no input chose
//   code k (reset to 0 by any use). When an update leaves idle_k >= revive_after, e_k is
//   replaced by the normalised input zhat_j of that batch ("a random recent input") with
//   j = floor(u N), u = philox_uniform_f64(seed, kReviveStream, updates * K + k) (updates = the
//   number of updates before this one), and idle_k is reset to 0; only while updates <
//   revive_until (when revive_until >= 0). Two codes revived in one
//   update may pick the same input; the next updates separate them.
// Initial codes: Philox normal (seed, kInitStream), rows normalised (uniform on the sphere).
// Backend-neutral: every step is an op on the codebook's device; the counts n_k (K values) and
// the revival rows go through the host.
// Tests: tests/unit/test_codebook.cpp (assignment vs a brute-force cosine argmax, the update and
// the revival trigger vs hand values, the straight-through gradient, the commitment gradient vs
// float64 central differences, errors).
#pragma once
#include <cstdint>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ml::world_model {

struct CodebookConfig {
  int64_t codes = 1024;        // K
  int64_t dim = 64;            // D
  double decay = 0.99;         // gamma of the moving average, in [0, 1)
  double commitment = 0.02;    // beta (Δ-IRIS's weight of the commitment loss)
  int64_t revive_after = 50;   // updates without use before a code is revived, >= 1
  // Revival only in the first revive_until updates (Δ-IRIS revives during its first epoch);
  // -1: always. Later, unused codes stay where they are.
  int64_t revive_until = -1;
  void validate() const;       // UsageError naming the bad value
};

// One forward's results, kept for the backward and the update.
struct VqBatch {
  Tensor z;       // (N, D) the input (a handle: the caller keeps it unchanged until backward)
  Tensor zhat;    // (N, D) normalised rows
  Tensor rstd;    // (N) 1/sqrt(mean(z^2) + kNormEps/D): the normalisation's scale times 1/sqrt(D)
  Tensor tokens;  // (N) i32 in [0, K)
  Tensor q;       // (N, D) the chosen codes: the layer's output
  double commitment = 0;  // C (beta included)
};

class Codebook {
 public:
  // Only keeps a zero row finite (zhat = 0): below any rounding of |z|^2 >= 1e-14.
  static constexpr double kNormEps = 1e-30;
  static constexpr uint64_t kInitStream = 0, kReviveStream = 1;

  Codebook(const CodebookConfig& c, DType dtype, Device device, uint64_t seed);

  const CodebookConfig& config() const { return cfg_; }
  const Tensor& codes() const { return codes_; }       // (K, D) unit rows
  const std::vector<int64_t>& idle() const { return idle_; }
  int64_t updates() const { return updates_; }
  // Restores a saved state (a checkpoint's): codes (K, D) (normalised again), idle (K) >= 0.
  void set_state(const Tensor& codes, const std::vector<int64_t>& idle, int64_t updates);

  // z (N, D) on the codebook's device and dtype, N >= 1.
  VqBatch quantize(const Tensor& z) const;
  // dz (N, D) = the gradient with respect to z, for dq (N, D) (may be undefined: zero) and the
  // commitment loss's weight in the total loss. Reads b.z, b.zhat, b.rstd, b.q.
  void backward(const VqBatch& b, const Tensor& dq, double commitment_weight, Tensor dz) const;
  // The moving-average update and revival from one batch (its tokens and zhat). Returns the
  // indices of the codes revived by this update.
  std::vector<int64_t> update(const VqBatch& b);

 private:
  void normalise_rows(const Tensor& x, Tensor y, Tensor rstd) const;

  CodebookConfig cfg_;
  uint64_t seed_;
  Tensor codes_;  // (K, D)
  Tensor unit_;   // (D) filled with 1/sqrt(D): rmsnorm's weight that turns it into x / |x|
  std::vector<int64_t> idle_;
  int64_t updates_ = 0;
};

}  // namespace naqs::ml::world_model
