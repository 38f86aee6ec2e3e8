// BlasSingleThreaded: OpenBLAS's own thread count set to 1 for the lifetime of the guard
// (restored after). The CPU ops that call OpenBLAS (host/ops/conv1d.cpp, conv_site.cpp) split
// their work into chunks fixed by the sizes and run them on parallel_chunks' threads
// (host/core/parallel.hpp), calling OpenBLAS from those threads, so OpenBLAS must not thread
// again inside. Ops run on one host thread at a time, so the global setting is not raced.
// Host-only (includes cblas.h); covered by the ops' thread-count tests.
#pragma once
#include <cblas.h>

namespace naqs::ops {

class BlasSingleThreaded {
 public:
  BlasSingleThreaded() : saved_(openblas_get_num_threads()) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThreaded() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_;
};

}  // namespace naqs::ops
