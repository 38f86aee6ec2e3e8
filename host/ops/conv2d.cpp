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

// Half-open range of output indices t in [0, n) whose tap t + shift lies in [0, n).
struct Range {
  int64_t lo, hi;
};
Range valid(int64_t n, int64_t shift) {
  return {std::max<int64_t>(0, -shift), std::min<int64_t>(n, n - shift)};
}

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
template <class T>
void forward_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                 const detail::Conv2dDims& d, Tensor& y, bool accumulate) {
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y.data<T>();
  const int64_t hw = d.height * d.width;
  const bool parallel = worth_threads(d, s, d.batch * d.n_out * hw);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t o = 0; o < d.n_out; ++o) {
      T* yp = py + (b * d.n_out + o) * hw;
      const T b0 = pb ? pb[o] : T(0);
      for (int64_t t = 0; t < hw; ++t) yp[t] = (accumulate ? yp[t] : T(0)) + b0;
      // Same per-element order as conv2d_pixel (ci, i, j), so forward_at matches bit for bit.
      for (int64_t ci = 0; ci < d.n_in; ++ci) {
        const T* xp = px + (b * d.n_in + ci) * hw;
        const T* wp = pw + (o * d.n_in + ci) * s.kernel_h * s.kernel_w;
        for (int i = 0; i < s.kernel_h; ++i) {
          const Range rows = valid(d.height, s.offset_h + i);
          for (int j = 0; j < s.kernel_w; ++j) {
            const int shift = s.offset_w + j;
            const Range cols = valid(d.width, shift);
            const T wv = wp[i * s.kernel_w + j];
            for (int64_t r = rows.lo; r < rows.hi; ++r) {
              T* yr = yp + r * d.width;
              const T* xr = xp + (r + s.offset_h + i) * d.width;
              for (int64_t c = cols.lo; c < cols.hi; ++c) yr[c] += wv * xr[c + shift];
            }
          }
        }
      }
    }
  }
}

template <class T>
void forward_at_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    const detail::Conv2dDims& d, int64_t r, int64_t c, Tensor& y_rc,
                    bool accumulate) {
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y_rc.data<T>();
  const int64_t hw = d.height * d.width;
  const int64_t n_taps = d.n_in * s.kernel_h * s.kernel_w;
  const bool parallel = worth_threads(d, s, d.batch * d.n_out);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t o = 0; o < d.n_out; ++o) {
      T& out = py[b * d.n_out + o];
      const T acc = (accumulate ? out : T(0)) + (pb ? pb[o] : T(0));
      out = conv2d_pixel<T>(px + b * d.n_in * hw, pw + o * n_taps, d.n_in, d.height, d.width,
                            s.kernel_h, s.kernel_w, s.offset_h, s.offset_w, r, c, acc);
    }
  }
}

// Scatter form of the adjoint: every (b,ci) plane of dx is owned by one thread.
template <class T>
void backward_input_cpu(const Tensor& dy, const Tensor& w, const Conv2dSpec& s,
                        const detail::Conv2dDims& d, Tensor& dx, bool accumulate) {
  const T* pdy = dy.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
  const int64_t hw = d.height * d.width;
  const bool parallel = worth_threads(d, s, d.batch * d.n_out * hw);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t ci = 0; ci < d.n_in; ++ci) {
      T* dxp = pdx + (b * d.n_in + ci) * hw;
      if (!accumulate) std::fill(dxp, dxp + hw, T(0));
      for (int64_t o = 0; o < d.n_out; ++o) {
        const T* dyp = pdy + (b * d.n_out + o) * hw;
        const T* wp = pw + (o * d.n_in + ci) * s.kernel_h * s.kernel_w;
        for (int i = 0; i < s.kernel_h; ++i) {
          const Range rows = valid(d.height, s.offset_h + i);
          for (int j = 0; j < s.kernel_w; ++j) {
            const int shift = s.offset_w + j;
            const Range cols = valid(d.width, shift);
            const T wv = wp[i * s.kernel_w + j];
            for (int64_t r = rows.lo; r < rows.hi; ++r) {
              const T* dyr = dyp + r * d.width;
              T* dxr = dxp + (r + s.offset_h + i) * d.width;
              for (int64_t c = cols.lo; c < cols.hi; ++c) dxr[c + shift] += wv * dyr[c];
            }
          }
        }
      }
    }
  }
}

// sum_{r,c} dy[o,r,c] * x[ci, r+oh+i, c+ow+j] for one sample's planes, in double.
template <class T>
double tap_correlation(const T* xp, const T* dyp, const Conv2dSpec& s,
                       const detail::Conv2dDims& d, int i, int j) {
  const Range rows = valid(d.height, s.offset_h + i);
  const int shift = s.offset_w + j;
  const Range cols = valid(d.width, shift);
  double acc = 0;
  for (int64_t r = rows.lo; r < rows.hi; ++r) {
    const T* dyr = dyp + r * d.width;
    const T* xr = xp + (r + s.offset_h + i) * d.width;
    for (int64_t c = cols.lo; c < cols.hi; ++c)
      acc += static_cast<double>(dyr[c]) * static_cast<double>(xr[c + shift]);
  }
  return acc;
}

// dw[o,ci,i,j] (+)= sum_b (or, per_sample, dw[b,o,ci,i,j] =) tap_correlation.
template <class T>
void backward_weight_cpu(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         const detail::Conv2dDims& d, Tensor& dw, bool accumulate,
                         bool per_sample) {
  const T* px = x.data<T>();
  const T* pdy = dy.data<T>();
  T* pdw = dw.data<T>();
  const int64_t hw = d.height * d.width;
  const int n_taps = s.kernel_h * s.kernel_w;
  const int64_t n_groups = per_sample ? d.batch : 1;  // independent dw blocks
  const bool parallel = worth_threads(d, s, d.batch * d.n_out * hw);
#pragma omp parallel for collapse(3) schedule(static) if (parallel)
  for (int64_t g = 0; g < n_groups; ++g) {
    for (int64_t o = 0; o < d.n_out; ++o) {
      for (int64_t ci = 0; ci < d.n_in; ++ci) {
        T* dwp = pdw + ((g * d.n_out + o) * d.n_in + ci) * n_taps;
        const int64_t b_lo = per_sample ? g : 0, b_hi = per_sample ? g + 1 : d.batch;
        for (int t = 0; t < n_taps; ++t) {
          double acc = 0;
          for (int64_t b = b_lo; b < b_hi; ++b)
            acc += tap_correlation(px + (b * d.n_in + ci) * hw, pdy + (b * d.n_out + o) * hw, s,
                                   d, t / s.kernel_w, t % s.kernel_w);
          dwp[t] = static_cast<T>(accumulate ? static_cast<double>(dwp[t]) + acc : acc);
        }
      }
    }
  }
}

}  // namespace

// ---- dispatch --------------------------------------------------------------------------
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    Tensor& y, bool accumulate) {
  const char* op = "conv2d_forward";
  const detail::Conv2dDims d = dims_of(op, x, "x", true, w, s);
  check_defined(op, y, "y");
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_bias(op, bias, w);
  check_shape(op, y, {d.batch, d.n_out, d.height, d.width}, "y");
  if (y.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      forward_cpu<decltype(tag)>(x, w, bias, s, d, y, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_forward_cuda(x, w, bias, s, d, y, accumulate));
  }
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
