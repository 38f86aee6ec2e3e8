// Representations of the byte-level transformer for `naqs features` and `naqs align`
// (ml/align/align.hpp): the residual stream, mean-pooled over positions, on a fixed and
// reproducible set of held-out windows.
//
// Windows (choose_windows): the held-out text (Corpus::val, the validation works concatenated in
// their file order; the synthetic source's validation text counts as one work) is cut into
// disjoint slots of T bytes that never cross a work boundary: slot s of work w covers bytes
// start_w + s T .. start_w + (s + 1) T - 1 of Corpus::val, s < floor(len_w / T) (a work's last
// len_w mod T bytes are in no slot). N of the M slots are drawn without replacement by a partial
// Fisher-Yates shuffle (step i = 0 .. N-1 swaps slot i with slot i + floor(u_i (M - i)),
// u_i = philox_uniform_f64(seed, kWindowStream, i)), then sorted by offset. A window's id is its
// offset in Corpus::val. Disjoint slots: no two windows share a byte, so no input repeats.
// N > M or T < 1 is a UsageError naming N, T and M.
//
// Layers (residual_stream): layer 0 = the embedding output wte[tokens] (the stream entering the
// first block), layer i = 1 .. L = the stream after block i (x after its attention and its MLP
// residual additions; layer L is what the final RMSNorm and lm_head read). Each (B, T, C), from
// Transformer::forward_train (its kept activations: layer l's input and the final x_out).
// mean_pooled_features: per layer, the mean over the T positions of each window, summed in
// double in position order, stored as float (the /features/layer_<i> rows, (N, C)).
// Layer names: "embedding", "block1" .. "block<L>".
// Tests: tests/unit/test_lm_features.cpp (windows: disjoint, inside one work, reproducible, the
// N limit; layers equal a forward of one window by itself; layer L through the final norm and
// lm_head gives the inference logits; layer 0 = the mean of the embedding rows).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"
#include "ml/transformer/corpus.hpp"
#include "ml/transformer/model.hpp"

namespace naqs::ml {

inline constexpr uint64_t kWindowStream = 3;  // Philox stream of the window draw

struct LmWindows {
  int64_t context = 0;           // T
  std::vector<int64_t> offsets;  // (N) into Corpus::val, ascending; the ids
  std::vector<uint8_t> bytes;    // (N, T) row-major
  int64_t n() const { return static_cast<int64_t>(offsets.size()); }
};

// Slots of T bytes in the held-out text (the M of the header comment), and their offsets.
std::vector<int64_t> window_slots(const Corpus& corpus, int64_t context);
LmWindows choose_windows(const Corpus& corpus, int64_t n, int64_t context, uint64_t seed);

// tokens (B, T) i32 on the model's device -> L + 1 tensors (B, T, C) (layer 0 = embedding).
std::vector<Tensor> residual_stream(const Transformer& model, const Tensor& tokens);

std::vector<std::string> residual_layer_names(const Transformer& model);

// Per layer, (N, C) row-major means over positions; forward passes of `batch` windows.
std::vector<std::vector<float>> mean_pooled_features(const Transformer& model,
                                                     const LmWindows& windows, int64_t batch);

}  // namespace naqs::ml
