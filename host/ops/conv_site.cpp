// One output site over site-major activations: checks, dispatch and the CPU implementation
// (one OpenBLAS GEMM per tap and chunk of batch rows). See conv_site.hpp.
#include "host/ops/conv_site.hpp"

#include <algorithm>
#include <type_traits>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/blas_cpu.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops {

namespace {

// Batch rows per chunk (the unit of threading). Fixed, so the result does not depend on the
// thread count; 128 rows of 16-32 channels keep a chunk's x blocks and y in L1/L2.
constexpr int64_t kChunkRows = 128;

// Whether the byte ranges of two tensors overlap.
bool overlaps(const Tensor& a, const Tensor& b) {
  const auto* pa = static_cast<const char*>(a.raw_data());
  const auto* pb = static_cast<const char*>(b.raw_data());
  return a.numel() > 0 && b.numel() > 0 && pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

// The activation of a call without one.
struct NoActivation {
  template <class T>
  T operator()(T v) const {
    return v;
  }
};

// Rows [b0, b0 + n_b) of y: y = bias (or y += bias when accumulating), one GEMM per tap with
// beta = 1, then act and the residual as flat branch-free loops. (Measured: OpenBLAS's beta = 0
// path costs a separate zeroing pass, more than writing the bias; with the conditions inside
// one loop the elementwise work was scalar and cost as much as the GEMMs at B = 256, width 16.)
template <class T, class Act>
void site_chunk(const T* x, const T* wt, const T* bias, const T* residual, T* y,
                const detail::ConvSiteDims& d, std::span<const SiteTap> taps, bool accumulate,
                int64_t b0, int64_t n_b, Act act) {
  T* yc = y + b0 * d.c_out;
  if (accumulate) {
    if (bias)
      for (int64_t j = 0; j < n_b; ++j)
        for (int64_t o = 0; o < d.c_out; ++o) yc[j * d.c_out + o] += bias[o];
  } else if (bias) {  // the bias in row 0, then doubling copies (a per-row copy is a call each)
    std::copy_n(bias, d.c_out, yc);
    for (int64_t rows = 1; rows < n_b; rows *= 2)
      std::copy_n(yc, std::min(rows, n_b - rows) * d.c_out, yc + rows * d.c_out);
  } else {
    std::fill_n(yc, n_b * d.c_out, T(0));
  }
  if (d.c_in > 0)
    for (const SiteTap& tap : taps)
      gemm_rm(false, false, n_b, d.c_out, d.c_in, T(1),
              x + (tap.site * d.n_batch + b0) * d.c_in, d.c_in, wt + tap.tap * d.c_in * d.c_out,
              d.c_out, T(1), yc, d.c_out);
  // The chunk's rows are contiguous in y and in residual: two flat loops.
  const int64_t n = n_b * d.c_out;
  if constexpr (!std::is_same_v<Act, NoActivation>)
    for (int64_t i = 0; i < n; ++i) yc[i] = act(yc[i]);
  if (residual) {
    const T* rc = residual + b0 * d.c_out;
    for (int64_t i = 0; i < n; ++i) yc[i] += rc[i];
  }
}

template <class T, class Act>
void conv_site_cpu(const T* x, const T* wt, const T* bias, const T* residual, T* y,
                   const detail::ConvSiteDims& d, std::span<const SiteTap> taps, bool accumulate,
                   Act act) {
  const int64_t n_chunks = (d.n_batch + kChunkRows - 1) / kChunkRows;
  const int64_t macs = d.n_batch * d.c_in * d.c_out * static_cast<int64_t>(taps.size());
  const BlasSingleThreaded blas_threads;
  parallel_chunks(n_chunks, macs >= kMinParallelMacs ? parallel_slots() : 1,
                  [&](int64_t chunk, int) {
                    const int64_t b0 = chunk * kChunkRows;
                    site_chunk(x, wt, bias, residual, y, d, taps, accumulate, b0,
                               std::min(kChunkRows, d.n_batch - b0), act);
                  });
}

}  // namespace

void conv_site_forward(const Tensor& x, const Tensor& wt, const Tensor& bias,
                       std::span<const SiteTap> taps, std::optional<Unary> act, Tensor& y,
                       const Tensor& residual, bool accumulate) {
  const char* op = "conv_site_forward";
  check_defined(op, x, "x");
  check_contiguous(op, x, "x");
  check_defined(op, wt, "wt");
  check_contiguous(op, wt, "wt");
  check_defined(op, y, "y");
  check_contiguous(op, y, "y");
  check_rank(op, x, 3, "x");
  check_rank(op, wt, 3, "wt");
  check_same_device(op, {&x, &wt, &y});
  check_same_dtype(op, {&x, &wt, &y});
  dispatch_float(x.dtype(), op, [](auto) {});
  detail::ConvSiteDims d;
  d.n_batch = x.size(1);
  d.c_in = x.size(2);
  d.c_out = wt.size(2);
  if (wt.size(1) != d.c_in)
    throw Error(cat(op, ": wt ", wt.str(), " has ", wt.size(1), " input channels but x ", x.str(),
                    " has ", d.c_in));
  check_shape(op, y, {d.n_batch, d.c_out}, "y");
  if (bias.defined()) {
    check_contiguous(op, bias, "bias");
    check_same_device(op, {&x, &bias});
    check_same_dtype(op, {&x, &bias});
    check_shape(op, bias, {d.c_out}, "bias");
  }
  if (residual.defined()) {
    check_contiguous(op, residual, "residual");
    check_same_device(op, {&x, &residual});
    check_same_dtype(op, {&x, &residual});
    check_shape(op, residual, {d.n_batch, d.c_out}, "residual");
    NAQS_CHECK(!overlaps(y, residual), op, ": y ", y.str(), " must not overlap residual ",
               residual.str());
  }
  NAQS_CHECK(!overlaps(y, x), op, ": y ", y.str(), " must not overlap x ", x.str());
  for (const SiteTap& tap : taps)
    NAQS_CHECK(tap.site >= 0 && tap.site < x.size(0) && tap.tap >= 0 && tap.tap < wt.size(0), op,
               ": tap (site ", tap.site, ", weight tap ", tap.tap, ") out of range for x ",
               x.str(), " and wt ", wt.str());
  if (x.device().is_cuda()) {
    NAQS_CHECK(static_cast<int64_t>(taps.size()) <= kMaxSiteTaps, op, ": ", taps.size(),
               " taps, but the CUDA kernel takes at most ", kMaxSiteTaps);
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(x.device().index));
    NAQS_CUDA_BRANCH(op, detail::conv_site_forward_cuda(
                             x.raw_data(), wt.raw_data(),
                             bias.defined() ? bias.raw_data() : nullptr,
                             residual.defined() ? residual.raw_data() : nullptr, y.raw_data(),
                             x.dtype(), d, taps, act ? static_cast<int>(*act) : -1, accumulate));
    return;
  }
  if (y.numel() == 0) return;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const T* pr = residual.defined() ? residual.data<T>() : nullptr;
    if (!act) {
      conv_site_cpu(x.data<T>(), wt.data<T>(), pb, pr, y.data<T>(), d, taps, accumulate,
                    NoActivation{});
      return;
    }
    with_unary(*act, [&](auto ft) {
      conv_site_cpu(x.data<T>(), wt.data<T>(), pb, pr, y.data<T>(), d, taps, accumulate,
                    [](T v) { return unary_value<decltype(ft)::value>(v); });
    });
  });
}

}  // namespace naqs::ops
