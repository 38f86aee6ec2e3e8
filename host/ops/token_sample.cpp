// CPU reference of token sampling and argmax, and device dispatch; see token_sample.hpp.
#include "host/ops/token_sample.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs::ops {
namespace {

void check_rows(const char* op, const Tensor& x, const Tensor& out, const char* out_name) {
  check_defined(op, x, "x");
  check_rank(op, x, 2, "x");
  check_contiguous(op, x, "x");
  dispatch_float(x.dtype(), op, [](auto) {});
  NAQS_CHECK(x.size(1) > 0, op, ": ", x.str(), " has no columns to choose from");
  check_defined(op, out, out_name);
  check_shape(op, out, Shape{x.size(0)}, out_name);
  check_dtype(op, out, DType::i32, out_name);
  check_contiguous(op, out, out_name);
  check_same_device(op, {&x, &out});
}

}  // namespace

void sample_tokens(const Tensor& logits, const TokenSampleSpec& spec, Tensor& tokens) {
  const char* op = "sample_tokens";
  check_rows(op, logits, tokens, "tokens");
  NAQS_CHECK(spec.temperature >= 0 && std::isfinite(spec.temperature), op, ": temperature ",
             spec.temperature, " must be finite and >= 0");
  NAQS_CHECK(spec.first_sequence >= 0 && spec.position >= 0, op,
             ": first_sequence and position must be >= 0 (got ", spec.first_sequence, ", ",
             spec.position, ")");
  const int64_t rows = logits.size(0), n = logits.size(1);
  if (logits.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(logits.device().index));
    NAQS_CUDA_BRANCH(op, detail::sample_tokens_cuda(logits.dtype(), rows, n, logits.raw_data(),
                                                    spec, tokens.data<int32_t>()));
    return;
  }
  dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* x = logits.data<T>();
    int32_t* out = tokens.data<int32_t>();
    for (int64_t r = 0; r < rows; ++r) out[r] = sample_row(x + r * n, n, spec, r);
  });
}

void argmax(const Tensor& x, Tensor& index) {
  const char* op = "argmax";
  check_rows(op, x, index, "index");
  const int64_t rows = x.size(0), n = x.size(1);
  if (x.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(x.device().index));
    NAQS_CUDA_BRANCH(op, detail::argmax_cuda(x.dtype(), rows, n, x.raw_data(),
                                             index.data<int32_t>()));
    return;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    int32_t* out = index.data<int32_t>();
    for (int64_t r = 0; r < rows; ++r) out[r] = argmax_row(xp + r * n, n);
  });
}

}  // namespace naqs::ops
