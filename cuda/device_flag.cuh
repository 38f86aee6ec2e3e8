// A device word through which a kernel reports the first failing position (an index out of
// range, a zero row): first_flagged() sets it to "none", runs the launch with it, copies it back
// (one 8-byte device-to-host copy, which waits for the kernel) and returns the smallest
// position a thread recorded with atomicMin, or -1. The copy's wait is the price of the ops'
// contract (a bad index is an error at the call, naming it): deferring the check would report
// it at some later call, so gather, scatter_add, embedding and weight_norm keep it.
#pragma once
#include <cstdint>

#include "cuda/check.cuh"
#include "host/core/tensor.hpp"

namespace naqs::cuda_rt {

template <class Launch>
int64_t first_flagged(Device device, Launch&& launch) {
  constexpr unsigned long long kNone = ~0ull;
  Tensor flag = Tensor::empty({1}, DType::f64, device);  // 8 bytes of device memory
  auto* p = static_cast<unsigned long long*>(flag.raw_data());
  NAQS_CUDA_CHECK(cudaMemset(p, 0xff, sizeof(unsigned long long)));  // = kNone
  launch(p);
  unsigned long long host = kNone;
  NAQS_CUDA_CHECK(cudaMemcpy(&host, p, sizeof(host), cudaMemcpyDeviceToHost));
  return host == kNone ? -1 : static_cast<int64_t>(host);
}

}  // namespace naqs::cuda_rt
