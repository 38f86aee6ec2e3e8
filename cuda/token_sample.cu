// CUDA twins of token sampling and argmax (host/ops/token_sample.hpp): one thread per row,
// calling the same NAQS_HD row functions as the CPU reference. Parity:
// tests/op_cases/token_sample.cpp.
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/ops/token_sample.hpp"

namespace naqs::ops::detail {
namespace {

template <class T>
__global__ void sample_tokens_kernel(int64_t rows, int64_t n, const T* x, TokenSampleSpec spec,
                                     int32_t* tokens) {
  NAQS_GRID_STRIDE(r, rows) { tokens[r] = sample_row(x + r * n, n, spec, r); }
}

template <class T>
__global__ void argmax_kernel(int64_t rows, int64_t n, const T* x, int32_t* index) {
  NAQS_GRID_STRIDE(r, rows) { index[r] = argmax_row(x + r * n, n); }
}

}  // namespace

void sample_tokens_cuda(DType dtype, int64_t rows, int64_t n, const void* logits,
                        const TokenSampleSpec& spec, int32_t* tokens) {
  if (rows == 0) return;
  dispatch_float(dtype, "sample_tokens", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(rows), 128, 0, sample_tokens_kernel<T>)(
        rows, n, static_cast<const T*>(logits), spec, tokens);
  });
}

void argmax_cuda(DType dtype, int64_t rows, int64_t n, const void* x, int32_t* index) {
  if (rows == 0) return;
  dispatch_float(dtype, "argmax", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(rows), 128, 0, argmax_kernel<T>)(
        rows, n, static_cast<const T*>(x), index);
  });
}

}  // namespace naqs::ops::detail
