// RingCache (see ring_cache.hpp).
#include "nn/ring_cache.hpp"

#include <algorithm>

#include "host/core/error.hpp"

namespace naqs::nn {

void RingCache::allocate(int64_t capacity, const Shape& row_shape, DType dtype, Device device) {
  NAQS_CHECK(capacity >= 1, "RingCache::allocate: capacity must be >= 1, got ", capacity);
  NAQS_CHECK(row_shape.rank <= kMaxRank - 1, "RingCache::allocate: row ", row_shape.str(),
             " has rank ", row_shape.rank, " (at most ", kMaxRank - 1, ")");
  Shape shape;
  shape.rank = row_shape.rank + 1;
  shape[0] = capacity;
  for (int d = 0; d < row_shape.rank; ++d) shape[d + 1] = row_shape[d];
  data_ = Tensor::zeros(shape, dtype, device);
  capacity_ = capacity;
  steps_ = 0;
}

Tensor RingCache::append() {
  NAQS_CHECK(allocated(), "RingCache::append: allocate() was not called");
  return data_.select(slot(steps_++));
}

Tensor RingCache::write(int64_t t) {
  if (t == steps_) return append();
  NAQS_CHECK(t < steps_, "RingCache::write: step ", t, " would leave a gap (", steps_,
             " steps held so far)");
  return at(t);
}

Tensor RingCache::at(int64_t t) const {
  NAQS_CHECK(allocated(), "RingCache::at: allocate() was not called");
  NAQS_CHECK(t < steps_ && t >= std::max<int64_t>(0, steps_ - capacity_), "RingCache::at: step ",
             t, " is not held (steps ", std::max<int64_t>(0, steps_ - capacity_), "..",
             steps_ - 1, " are; capacity ", capacity_, ")");
  return data_.select(slot(t));
}

RingCache::Window RingCache::last(int64_t k) const {
  NAQS_CHECK(allocated(), "RingCache::last: allocate() was not called");
  const int64_t held = std::min(steps_, capacity_);
  NAQS_CHECK(k >= 0 && k <= held, "RingCache::last: ", k, " steps asked, ", held, " held");
  Window w;
  if (k == 0) return w;
  const int64_t start = slot(steps_ - k);
  const int64_t n1 = std::min(k, capacity_ - start);
  w.first = data_.narrow(start, n1);
  if (k > n1) w.second = data_.narrow(0, k - n1);
  return w;
}

}  // namespace naqs::nn
