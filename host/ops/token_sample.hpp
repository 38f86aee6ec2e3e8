// Choosing tokens from logits: categorical sampling keyed by (seed, sequence, position), and
// argmax.
//
// sample_tokens(logits, spec, tokens)    logits (B, V) f32/f64; tokens (B) i32.
//   Row b is sequence s = spec.first_sequence + b. With temperature T > 0:
//     w_v = exp((x_v - max_v x_v) / T) (double), u = philox_uniform_f64(seed, s, position),
//     token = the first v with w_0 + ... + w_v > u * sum_v w_v (v ascending; if rounding leaves
//     none, the last v with w_v > 0).
//   T = 0 is argmax (greedy). The token of a row depends only on (seed, sequence, position) and
//   its logits: not on the batch split, the thread count or the device.
// argmax(x, index)    x (R, V) f32/f64; index (R) i32: the first v of the largest x (NaN never
//   wins unless the row is all NaN: then 0).
// CUDA twin: cuda/token_sample.cu (one thread per row, the same NAQS_HD row functions).
// Tests: tests/unit/test_token_sample.cpp (histogram vs softmax probabilities, batch split
// invariance, temperature limits, argmax ties); tests/op_cases/token_sample.cpp (parity exact:
// the CUDA exp may differ by an ulp, which can move a token only when u lands within an ulp of
// a cumulative boundary, which the fixed seeds avoid).
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

struct TokenSampleSpec {
  uint64_t seed = 0;
  int64_t first_sequence = 0;  // global index of row 0's sequence
  int64_t position = 0;        // position of the token being drawn
  double temperature = 1.0;    // >= 0; 0 = argmax
};

void sample_tokens(const Tensor& logits, const TokenSampleSpec& spec, Tensor& tokens);
void argmax(const Tensor& x, Tensor& index);

template <class T>
NAQS_HD int32_t argmax_row(const T* x, int64_t n) {
  int64_t best = 0;
  for (int64_t v = 1; v < n; ++v)
    if (x[v] > x[best] || (x[best] != x[best] && x[v] == x[v])) best = v;
  return static_cast<int32_t>(best);
}

template <class T>
NAQS_HD int32_t sample_row(const T* x, int64_t n, const TokenSampleSpec& spec, int64_t row) {
  if (spec.temperature <= 0) return argmax_row(x, n);
  const double m = static_cast<double>(x[argmax_row(x, n)]);
  double total = 0;
  for (int64_t v = 0; v < n; ++v) total += ::exp((static_cast<double>(x[v]) - m) / spec.temperature);
  const double u = philox_uniform_f64(spec.seed, static_cast<uint64_t>(spec.first_sequence + row),
                                      static_cast<uint64_t>(spec.position));
  const double target = u * total;
  double cum = 0;
  int64_t last_positive = 0;
  for (int64_t v = 0; v < n; ++v) {
    const double w = ::exp((static_cast<double>(x[v]) - m) / spec.temperature);
    if (w > 0) last_positive = v;
    cum += w;
    if (cum > target) return static_cast<int32_t>(v);
  }
  return static_cast<int32_t>(last_positive);
}

namespace detail {
void sample_tokens_cuda(DType dtype, int64_t rows, int64_t n, const void* logits,
                        const TokenSampleSpec& spec, int32_t* tokens);
void argmax_cuda(DType dtype, int64_t rows, int64_t n, const void* x, int32_t* index);
}  // namespace detail

}  // namespace naqs::ops
