// CPU reference of the shifted-window 2-D convolution and device dispatch (see conv2d.hpp).
#include "host/ops/conv2d.hpp"

#include <algorithm>
#include <vector>

#include "host/core/cuda_runtime.hpp"

namespace naqs::ops {

Conv2dSpec conv2d_vertical_spec(int kernel, bool shift_down) {
  NAQS_REQUIRE(kernel >= 1 && kernel % 2 == 1,
               "conv2d_vertical_spec: kernel must be odd and >= 1, got ", kernel);
  const int h = kernel / 2;
  return {h + 1, kernel, -h - (shift_down ? 1 : 0), -h};
}

Conv2dSpec conv2d_horizontal_spec(int kernel, bool exclusive) {
  NAQS_REQUIRE(kernel >= 1 && kernel % 2 == 1,
               "conv2d_horizontal_spec: kernel must be odd and >= 1, got ", kernel);
  const int h = kernel / 2;
  return {1, h + 1, 0, -h - (exclusive ? 1 : 0)};
}

Conv2dSpec conv2d_pointwise_spec(int down, int right) { return {1, 1, -down, -right}; }

namespace {

// Threads only pay off above ~1e5 multiply-adds (a parallel region costs microseconds, far
// more on a loaded machine); the sampler's per-pixel calls are often smaller.
bool worth_threads(const detail::Conv2dDims& d, const Conv2dSpec& s, int64_t n_outputs) {
  return n_outputs * d.n_in * s.kernel_h * s.kernel_w > (int64_t{1} << 17);
}

void check_spec(const char* op, const Conv2dSpec& s) {
  NAQS_CHECK(s.kernel_h >= 1 && s.kernel_w >= 1, op, ": kernel ", s.kernel_h, "x", s.kernel_w,
             " must be at least 1x1");
}

// Checks the (B,C,H,W) activation `a` and the (Cout,Cin,kh,kw) weight; returns the sizes.
// `a_is_input` says whether `a` has Cin (x, dx) or Cout (dy) channels.
detail::Conv2dDims dims_of(const char* op, const Tensor& a, const char* a_name, bool a_is_input,
                           const Tensor& w, const Conv2dSpec& s) {
  check_spec(op, s);
  check_defined(op, a, a_name);
  check_defined(op, w, "w");
  check_rank(op, a, 4, a_name);
  check_rank(op, w, 4, "w");
  dispatch_float(a.dtype(), op, [](auto) {});
  check_shape(op, w, {w.size(0), w.size(1), s.kernel_h, s.kernel_w}, "w");
  detail::Conv2dDims d{a.size(0), w.size(1), w.size(0), a.size(2), a.size(3)};
  const int64_t channels = a_is_input ? d.n_in : d.n_out;
  if (a.size(1) != channels)
    throw Error(cat(op, ": '", a_name, "' ", a.str(), " has ", a.size(1), " channels but w ",
                    w.str(), " needs ", channels));
  return d;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& w) {
  if (!bias.defined()) return;
  check_same_device(op, {&bias, &w});
  check_same_dtype(op, {&bias, &w});
  check_shape(op, bias, {w.size(0)}, "bias");
}

// ---- CPU reference ---------------------------------------------------------------------
// Every loop keeps the channels being produced innermost and contiguous (weights and, for the
// weight gradient, the input are transposed once per call), so it vectorises over channels
// while each output element still adds its terms one at a time in a fixed order.

// A copy of `src` viewed as (rows, cols), transposed to (cols, rows).
template <class T>
std::vector<T> transposed(const T* src, int64_t rows, int64_t cols) {
  std::vector<T> out(static_cast<std::size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = src[i * cols + j];
  return out;
}

// acc[o] += sum over in-range taps, in (ci, i, j) order, of wt[(ci,i,j), o] * x[ci, r+oh+i,
// c+ow+j]: one output pixel, all output channels. xb is sample b's (Cin,H,W) planes, wt the
// weight transposed to (Cin*kh*kw, Cout). Shared by forward and forward_at (bit-identical).
template <class T>
void pixel_all_outputs(const T* xb, const T* wt, const Conv2dSpec& s,
                       const detail::Conv2dDims& d, int64_t r, int64_t c, T* acc) {
  const int64_t hw = d.height * d.width;
  for (int64_t ci = 0; ci < d.n_in; ++ci) {
    for (int i = 0; i < s.kernel_h; ++i) {
      const int64_t rr = r + s.offset_h + i;
      if (rr < 0 || rr >= d.height) continue;
      for (int j = 0; j < s.kernel_w; ++j) {
        const int64_t cc = c + s.offset_w + j;
        if (cc < 0 || cc >= d.width) continue;
        const T xv = xb[ci * hw + rr * d.width + cc];
        const T* wk = wt + ((ci * s.kernel_h + i) * s.kernel_w + j) * d.n_out;
        for (int64_t o = 0; o < d.n_out; ++o) acc[o] += wk[o] * xv;
      }
    }
  }
}

// Output channel o of pixel pix = r*W + c in [pix_lo, pix_hi) of sample b, at
// out[(pix - pix_lo) + o * out_stride], (+)= bias + conv. acc has Cout elements.
template <class T>
void forward_pixels(const T* px, const T* wt, const T* pb, const Conv2dSpec& s,
                    const detail::Conv2dDims& d, int64_t b, int64_t pix_lo, int64_t pix_hi,
                    T* out, int64_t out_stride, bool accumulate, std::vector<T>& acc) {
  const int64_t hw = d.height * d.width;
  for (int64_t pix = pix_lo; pix < pix_hi; ++pix) {
    T* dst = out + (pix - pix_lo);
    for (int64_t o = 0; o < d.n_out; ++o)
      acc[o] = (accumulate ? dst[o * out_stride] : T(0)) + (pb ? pb[o] : T(0));
    pixel_all_outputs(px + b * d.n_in * hw, wt, s, d, pix / d.width, pix % d.width, acc.data());
    for (int64_t o = 0; o < d.n_out; ++o) dst[o * out_stride] = acc[o];
  }
}

// Output rows [row_begin, row_end) of y.
template <class T>
void forward_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                 const detail::Conv2dDims& d, int64_t row_begin, int64_t row_end, Tensor& y,
                 bool accumulate) {
  const T* px = x.data<T>();
  const std::vector<T> wt = transposed(w.data<T>(), d.n_out, d.n_in * s.kernel_h * s.kernel_w);
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y.data<T>();
  const int64_t hw = d.height * d.width;
  const int64_t n_rows = row_end - row_begin;
#pragma omp parallel if (worth_threads(d, s, d.batch * d.n_out * n_rows * d.width))
  {
    std::vector<T> acc(static_cast<std::size_t>(d.n_out));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.batch; ++b)
      for (int64_t r = row_begin; r < row_end; ++r)
        forward_pixels(px, wt.data(), pb, s, d, b, r * d.width, (r + 1) * d.width,
                       py + b * d.n_out * hw + r * d.width, hw, accumulate, acc);
  }
}

template <class T>
void forward_at_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    const detail::Conv2dDims& d, int64_t r, int64_t c, Tensor& y_rc,
                    bool accumulate) {
  const T* px = x.data<T>();
  const std::vector<T> wt = transposed(w.data<T>(), d.n_out, d.n_in * s.kernel_h * s.kernel_w);
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y_rc.data<T>();
  const int64_t pix = r * d.width + c;
#pragma omp parallel if (worth_threads(d, s, d.batch * d.n_out))
  {
    std::vector<T> acc(static_cast<std::size_t>(d.n_out));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < d.batch; ++b)
      forward_pixels(px, wt.data(), pb, s, d, b, pix, pix + 1, py + b * d.n_out, 1, accumulate,
                     acc);
  }
}

// Gather form of the adjoint, as the CUDA kernel: dx[b,ci,p,q] (+)= sum over (o,i,j) of
// w[o,ci,i,j] * dy[b,o,p-oh-i,q-ow-j], vectorised over ci with w transposed to (Cout*kh*kw, Cin).
template <class T>
void backward_input_cpu(const Tensor& dy, const Tensor& w, const Conv2dSpec& s,
                        const detail::Conv2dDims& d, Tensor& dx, bool accumulate) {
  const T* pdy = dy.data<T>();
  const int taps = s.kernel_h * s.kernel_w;
  std::vector<T> wt(static_cast<std::size_t>(w.numel()));  // (o, i, j, ci)
  const T* pw = w.data<T>();
  for (int64_t o = 0; o < d.n_out; ++o)
    for (int64_t ci = 0; ci < d.n_in; ++ci)
      for (int t = 0; t < taps; ++t)
        wt[(o * taps + t) * d.n_in + ci] = pw[(o * d.n_in + ci) * taps + t];
  T* pdx = dx.data<T>();
  const int64_t hw = d.height * d.width;
#pragma omp parallel if (worth_threads(d, s, d.batch * d.n_out * hw))
  {
    std::vector<T> acc(static_cast<std::size_t>(d.n_in));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.batch; ++b) {
      for (int64_t p = 0; p < d.height; ++p) {
        for (int64_t q = 0; q < d.width; ++q) {
          T* dst = pdx + b * d.n_in * hw + p * d.width + q;
          for (int64_t ci = 0; ci < d.n_in; ++ci) acc[ci] = accumulate ? dst[ci * hw] : T(0);
          for (int64_t o = 0; o < d.n_out; ++o) {
            const T* dyo = pdy + (b * d.n_out + o) * hw;
            for (int i = 0; i < s.kernel_h; ++i) {
              const int64_t r = p - s.offset_h - i;
              if (r < 0 || r >= d.height) continue;
              for (int j = 0; j < s.kernel_w; ++j) {
                const int64_t c = q - s.offset_w - j;
                if (c < 0 || c >= d.width) continue;
                const T g = dyo[r * d.width + c];
                const T* wk = wt.data() + (o * taps + i * s.kernel_w + j) * d.n_in;
                for (int64_t ci = 0; ci < d.n_in; ++ci) acc[ci] += wk[ci] * g;
              }
            }
          }
          for (int64_t ci = 0; ci < d.n_in; ++ci) dst[ci * hw] = acc[ci];
        }
      }
    }
  }
}

// dw[o,ci,i,j] (+)= sum over samples b (all, or one per sample) and pixels (r,c) of
// dy[b,o,r,c] * x[b,ci,r+oh+i,c+ow+j], summed in double. One thread owns one (group, o) slice
// of dw, so the result does not depend on the thread count; x is transposed to channels-last
// (B, H*W, Cin) so the innermost loop runs over ci.
template <class T>
void backward_weight_cpu(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         const detail::Conv2dDims& d, Tensor& dw, bool accumulate,
                         bool per_sample) {
  const int64_t hw = d.height * d.width;
  std::vector<T> xt(static_cast<std::size_t>(x.numel()));
  const T* px = x.data<T>();
  for (int64_t b = 0; b < d.batch; ++b) {
    const std::vector<T> one = transposed(px + b * d.n_in * hw, d.n_in, hw);
    std::copy(one.begin(), one.end(), xt.begin() + b * d.n_in * hw);
  }
  const T* pdy = dy.data<T>();
  T* pdw = dw.data<T>();
  const int taps = s.kernel_h * s.kernel_w;
  const int64_t n_groups = per_sample ? d.batch : 1;  // independent dw blocks
#pragma omp parallel if (worth_threads(d, s, d.batch * d.n_out * hw))
  {
    std::vector<double> acc(static_cast<std::size_t>(taps * d.n_in));  // (i, j, ci)
#pragma omp for collapse(2) schedule(static)
    for (int64_t g = 0; g < n_groups; ++g) {
      for (int64_t o = 0; o < d.n_out; ++o) {
        std::fill(acc.begin(), acc.end(), 0.0);
        const int64_t b_lo = per_sample ? g : 0, b_hi = per_sample ? g + 1 : d.batch;
        for (int64_t b = b_lo; b < b_hi; ++b) {
          const T* dyo = pdy + (b * d.n_out + o) * hw;
          const T* xb = xt.data() + b * hw * d.n_in;
          for (int64_t r = 0; r < d.height; ++r) {
            for (int64_t c = 0; c < d.width; ++c) {
              const double gv = dyo[r * d.width + c];
              for (int i = 0; i < s.kernel_h; ++i) {
                const int64_t rr = r + s.offset_h + i;
                if (rr < 0 || rr >= d.height) continue;
                for (int j = 0; j < s.kernel_w; ++j) {
                  const int64_t cc = c + s.offset_w + j;
                  if (cc < 0 || cc >= d.width) continue;
                  const T* xs = xb + (rr * d.width + cc) * d.n_in;
                  double* at = acc.data() + (i * s.kernel_w + j) * d.n_in;
                  for (int64_t ci = 0; ci < d.n_in; ++ci)
                    at[ci] += gv * static_cast<double>(xs[ci]);
                }
              }
            }
          }
        }
        T* dwo = pdw + (g * d.n_out + o) * d.n_in * taps;
        for (int64_t ci = 0; ci < d.n_in; ++ci) {
          for (int t = 0; t < taps; ++t) {
            const double v = acc[t * d.n_in + ci];
            T& dst = dwo[ci * taps + t];
            dst = static_cast<T>(accumulate ? static_cast<double>(dst) + v : v);
          }
        }
      }
    }
  }
}

}  // namespace

// ---- dispatch --------------------------------------------------------------------------
namespace {
void forward_any(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias,
                 const Conv2dSpec& s, int64_t row_begin, int64_t row_end, Tensor& y,
                 bool accumulate) {
  const detail::Conv2dDims d = dims_of(op, x, "x", true, w, s);
  check_defined(op, y, "y");
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_bias(op, bias, w);
  check_shape(op, y, {d.batch, d.n_out, d.height, d.width}, "y");
  NAQS_CHECK(0 <= row_begin && row_begin <= row_end && row_end <= d.height, op, ": rows [",
             row_begin, ",", row_end, ") outside the ", d.height, " rows of x ", x.str());
  if (y.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      forward_cpu<decltype(tag)>(x, w, bias, s, d, row_begin, row_end, y, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_forward_cuda(x, w, bias, s, d, row_begin, row_end, y,
                                                     accumulate));
  }
}
}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    Tensor& y, bool accumulate) {
  forward_any("conv2d_forward", x, w, bias, s, 0, x.rank() == 4 ? x.size(2) : 0, y,
              accumulate);
}

void conv2d_forward_rows(const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Conv2dSpec& s, int64_t row_begin, int64_t row_end, Tensor& y,
                         bool accumulate) {
  forward_any("conv2d_forward_rows", x, w, bias, s, row_begin, row_end, y, accumulate);
}

void conv2d_forward_at(const Tensor& x, const Tensor& w, const Tensor& bias,
                       const Conv2dSpec& s, int64_t r, int64_t c, Tensor& y_rc,
                       bool accumulate) {
  const char* op = "conv2d_forward_at";
  const detail::Conv2dDims d = dims_of(op, x, "x", true, w, s);
  check_defined(op, y_rc, "y_rc");
  check_same_device(op, {&x, &w, &y_rc});
  check_same_dtype(op, {&x, &w, &y_rc});
  check_bias(op, bias, w);
  check_shape(op, y_rc, {d.batch, d.n_out}, "y_rc");
  NAQS_CHECK(r >= 0 && r < d.height && c >= 0 && c < d.width, op, ": pixel (", r, ",", c,
             ") outside the ", d.height, "x", d.width, " lattice of x ", x.str());
  if (y_rc.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      forward_at_cpu<decltype(tag)>(x, w, bias, s, d, r, c, y_rc, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_forward_at_cuda(x, w, bias, s, d, r, c, y_rc,
                                                        accumulate));
  }
}

void conv2d_backward_input(const Tensor& dy, const Tensor& w, const Conv2dSpec& s, Tensor& dx,
                           bool accumulate) {
  const char* op = "conv2d_backward_input";
  const detail::Conv2dDims d = dims_of(op, dy, "dy", false, w, s);
  check_defined(op, dx, "dx");
  check_same_device(op, {&dy, &w, &dx});
  check_same_dtype(op, {&dy, &w, &dx});
  check_shape(op, dx, {d.batch, d.n_in, d.height, d.width}, "dx");
  if (dx.device().is_cpu()) {
    dispatch_float(dy.dtype(), op, [&](auto tag) {
      backward_input_cpu<decltype(tag)>(dy, w, s, d, dx, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_backward_input_cuda(dy, w, s, d, dx, accumulate));
  }
}

namespace {
void backward_weight_any(const char* op, const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         Tensor& dw, bool accumulate, bool per_sample) {
  check_spec(op, s);
  check_defined(op, x, "x");
  check_defined(op, dy, "dy");
  check_defined(op, dw, "dw");
  check_rank(op, x, 4, "x");
  check_rank(op, dy, 4, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  dispatch_float(x.dtype(), op, [](auto) {});
  const detail::Conv2dDims d{x.size(0), x.size(1), dy.size(1), x.size(2), x.size(3)};
  check_shape(op, dy, {d.batch, d.n_out, d.height, d.width}, "dy");
  const int64_t n_w = d.n_out * d.n_in * s.kernel_h * s.kernel_w;
  if (per_sample) {
    const bool ok = (dw.rank() == 2 || (dw.rank() == 4 && dw.size(1) == d.n_out &&
                                         dw.size(2) == d.n_in)) &&
                    dw.size(0) == d.batch && dw.numel() == d.batch * n_w;
    if (!ok)
      throw Error(cat(op, ": 'dw' is ", dw.str(), " but (", d.batch, ",", n_w, ") or (",
                      d.batch, ",", d.n_out, ",", d.n_in, ",", s.kernel_h * s.kernel_w,
                      ") is required"));
  } else {
    check_shape(op, dw, {d.n_out, d.n_in, s.kernel_h, s.kernel_w}, "dw");
  }
  if (dw.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      backward_weight_cpu<decltype(tag)>(x, dy, s, d, dw, accumulate, per_sample);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_backward_weight_cuda(x, dy, s, d, dw, accumulate,
                                                             per_sample));
  }
}
}  // namespace

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Conv2dSpec& s, Tensor& dw,
                            bool accumulate) {
  backward_weight_any("conv2d_backward_weight", x, dy, s, dw, accumulate, false);
}

void conv2d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                                       Tensor& dw) {
  backward_weight_any("conv2d_backward_weight_per_sample", x, dy, s, dw, false, true);
}

}  // namespace naqs::ops
