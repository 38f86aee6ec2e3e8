// RingCache: per-step activations kept along a leading time axis, for models that compute one
// step at a time and read earlier steps back. data is (capacity, row...) on one device; step t
// lives in slot t % capacity, so the cache holds the last `capacity` steps (a ring), or every
// step when capacity >= the sequence length (an append buffer, e.g. a transformer's K or V
// cache with row = (B, H, Dh): no slot is ever overwritten).
//   - append() hands out the row of the next step (the oldest slot once full) to be written,
//     e.g. by an op's output argument; steps() counts the steps appended. write(t) is append()
//     for t = steps() and the row of a held step otherwise (rewritten in place: a step evaluated
//     again); a gap (t > steps()) is refused.
//   - at(t) is the row of a held step t (steps() - capacity <= t < steps()), slot(t) its slot
//     number, for ops that read the whole ring with slot numbers (ops::conv_site_forward taps).
//   - last(k) is the last k steps in time order as at most two contiguous (n, row...) pieces
//     of data (the second is empty unless the k steps wrap around the end of the ring): the
//     keys/values an attention step reads. With capacity >= the sequence length it is always
//     one piece.
// Used by the NAQS cached samplers (physics/models/naqs_model.hpp: every layer's outputs,
// site-major) and meant for the ML KV caches. Zeros on allocation, so a tap that reads a slot
// before it is written (the causal zero padding) reads 0.
// Errors (naqs::Error naming the call, the step and the range held): at() of a step not held,
// write(t) past steps(), last(k) with k > min(steps, capacity), any access before allocate();
// allocate() with capacity < 1 or a row of rank > kMaxRank - 1.
// Tests: tests/unit/test_ring_cache.cpp (ring order, wrap-around pieces, append-buffer mode,
// refusals); through the cached samplers (tests/unit/test_naqs1d_sampler.cpp, test_naqs2d.cpp).
#pragma once
#include <cstdint>

#include "host/core/tensor.hpp"

namespace naqs::nn {

class RingCache {
 public:
  // (capacity, row_shape...) zeros of dtype on device; no steps held. row_shape has rank
  // <= kMaxRank - 1.
  void allocate(int64_t capacity, const Shape& row_shape, DType dtype, Device device);
  bool allocated() const { return data_.defined(); }
  int64_t capacity() const { return capacity_; }
  int64_t steps() const { return steps_; }  // steps appended since allocate() / clear()
  const Tensor& data() const { return data_; }
  int64_t slot(int64_t t) const { return t % capacity_; }

  Tensor append();             // row view of step steps() (then steps() + 1)
  Tensor write(int64_t t);     // append() when t == steps(), else at(t)
  Tensor at(int64_t t) const;  // row view of a held step
  struct Window {
    // (n1, row...) and (n2, row...), n1 + n2 = k; second undefined if n2 = 0 (both if k = 0)
    Tensor first, second;
  };
  Window last(int64_t k) const;
  void clear() { steps_ = 0; }  // forget the steps (contents stay until overwritten)

 private:
  Tensor data_;
  int64_t capacity_ = 0;
  int64_t steps_ = 0;
};

}  // namespace naqs::nn
