// Causal masked conv1d: argument checks, dispatch and the CPU implementations. See conv1d.hpp.
#include "host/ops/conv1d.hpp"

#include <cstring>

#include "host/core/cuda_runtime.hpp"

namespace naqs::ops {

namespace {

// Checks x (B,Cin,L) and w (Cout,Cin,K) against the spec and returns the sizes.
Conv1dDims conv_dims(const char* op, const Tensor& x, const char* x_name, const Tensor& w,
                     const Conv1dSpec& s) {
  check_defined(op, x, x_name);
  check_defined(op, w, "w");
  NAQS_CHECK(s.kernel >= 1 && s.dilation >= 1, op, ": kernel ", s.kernel, " and dilation ",
             s.dilation, " must be >= 1");
  check_rank(op, x, 3, x_name);
  check_rank(op, w, 3, "w");
  if (w.size(2) != s.kernel)
    throw Error(cat(op, ": 'w' is ", w.str(), " but the spec's kernel is ", s.kernel));
  Conv1dDims d;
  d.n_batch = x.size(0);
  d.length = x.size(2);
  d.c_out = w.size(0);
  d.c_in = w.size(1);
  d.kernel = s.kernel;
  d.dilation = s.dilation;
  d.shift = s.exclusive ? 1 : 0;
  return d;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& x, const Conv1dDims& d) {
  if (!bias.defined()) return;
  check_shape(op, bias, {d.c_out}, "bias");
  check_same_device(op, {&x, &bias});
  check_same_dtype(op, {&x, &bias});
}

template <class T>
const T* bias_ptr(const Tensor& bias) {
  return bias.defined() ? bias.data<T>() : nullptr;
}

void set_cuda_device(const Tensor& t) {
  NAQS_CUDA_BRANCH("conv1d", cuda_rt::set_device(t.device().index));
}

}  // namespace

// ---- direct-loop CPU references ------------------------------------------------------------

namespace detail {

void conv1d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const Conv1dSpec& s, Tensor& y) {
  const Conv1dDims d = conv_dims("conv1d_forward", x, "x", w, s);
  dispatch_float(x.dtype(), "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = bias_ptr<T>(bias);
    T* py = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        T* yrow = py + (b * d.c_out + o) * d.length;  // y[b,o,:]
        const T init = pb ? pb[o] : T(0);
        for (int64_t t = 0; t < d.length; ++t) yrow[t] = init;
        for (int64_t c = 0; c < d.c_in; ++c) {
          const T* xrow = px + (b * d.c_in + c) * d.length;  // x[b,c,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t t = back; t < d.length; ++t) yrow[t] += wv * xrow[t - back];
          }
        }
      }
  });
}

void conv1d_backward_input_direct(const Tensor& dy, const Tensor& w, const Conv1dSpec& s,
                                  Tensor& dx, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_input", dx, "dx", w, s);
  dispatch_float(dy.dtype(), "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    const T* pw = w.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t c = 0; c < d.c_in; ++c) {
        T* dxrow = pdx + (b * d.c_in + c) * d.length;  // dx[b,c,:]
        if (!accumulate)
          for (int64_t p = 0; p < d.length; ++p) dxrow[p] = T(0);
        for (int64_t o = 0; o < d.c_out; ++o) {
          const T* dyrow = pdy + (b * d.c_out + o) * d.length;  // dy[b,o,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t p = 0; p + back < d.length; ++p) dxrow[p] += wv * dyrow[p + back];
          }
        }
      }
  });
}

void conv1d_backward_weight_direct(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                   Tensor& dw, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_weight", x, "x", dw, s);
  dispatch_float(x.dtype(), "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdw = dw.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t o = 0; o < d.c_out; ++o)
      for (int64_t c = 0; c < d.c_in; ++c)
        for (int k = 0; k < d.kernel; ++k) {
          const int64_t back = d.back(k);
          T sum = 0;
          for (int64_t b = 0; b < d.n_batch; ++b) {
            const T* dyrow = pdy + (b * d.c_out + o) * d.length;
            const T* xrow = px + (b * d.c_in + c) * d.length;
            for (int64_t t = back; t < d.length; ++t) sum += dyrow[t] * xrow[t - back];
          }
          T& out = pdw[(o * d.c_in + c) * d.kernel + k];
          out = accumulate ? out + sum : sum;
        }
  });
}

}  // namespace detail

// ---- public ops ----------------------------------------------------------------------------

void conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                    Tensor& y) {
  const char* op = "conv1d_forward";
  const Conv1dDims d = conv_dims(op, x, "x", w, s);
  check_defined(op, y, "y");
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_shape(op, x, {d.n_batch, d.c_in, d.length}, "x");
  check_shape(op, y, {d.n_batch, d.c_out, d.length}, "y");
  check_bias(op, bias, x, d);
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_forward_cuda(
                             x.raw_data(), w.raw_data(), bias.defined() ? bias.raw_data() : nullptr,
                             y.raw_data(), x.dtype(), d));
    return;
  }
  detail::conv1d_forward_direct(x, w, bias, s, y);
}

void conv1d_backward_input(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                           bool accumulate) {
  const char* op = "conv1d_backward_input";
  const Conv1dDims d = conv_dims(op, dx, "dx", w, s);
  check_defined(op, dy, "dy");
  check_same_device(op, {&dy, &w, &dx});
  check_same_dtype(op, {&dy, &w, &dx});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (dy.device().is_cuda()) {
    set_cuda_device(dy);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_input_cuda(dy.raw_data(), w.raw_data(),
                                                            dx.raw_data(), dy.dtype(), d,
                                                            accumulate));
    return;
  }
  detail::conv1d_backward_input_direct(dy, w, s, dx, accumulate);
}

void conv1d_backward_weight(const Tensor& x, const Tensor& dy, const Conv1dSpec& s, Tensor& dw,
                            bool accumulate) {
  const char* op = "conv1d_backward_weight";
  const Conv1dDims d = conv_dims(op, x, "x", dw, s);
  check_defined(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_cuda(x.raw_data(), dy.raw_data(),
                                                             dw.raw_data(), x.dtype(), d,
                                                             accumulate));
    return;
  }
  detail::conv1d_backward_weight_direct(x, dy, s, dw, accumulate);
}

void conv1d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                       Tensor& dw) {
  const char* op = "conv1d_backward_weight_per_sample";
  check_defined(op, dw, "dw");
  check_rank(op, dw, 4, "dw");
  // dw[b] has the weight's shape (Cout,Cin,K); check x and dy against it.
  const Tensor w_shape = dw.select(0);
  const Conv1dDims d = conv_dims(op, x, "x", w_shape, s);
  check_defined(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  check_shape(op, dw, {d.n_batch, d.c_out, d.c_in, d.kernel}, "dw");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_per_sample_cuda(
                             x.raw_data(), dy.raw_data(), dw.raw_data(), x.dtype(), d));
    return;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdw = dw.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        const T* dyrow = pdy + (b * d.c_out + o) * d.length;  // dy[b,o,:]
        for (int64_t c = 0; c < d.c_in; ++c) {
          const T* xrow = px + (b * d.c_in + c) * d.length;  // x[b,c,:]
          for (int k = 0; k < d.kernel; ++k) {
            const int64_t back = d.back(k);
            T sum = 0;
            for (int64_t t = back; t < d.length; ++t) sum += dyrow[t] * xrow[t - back];
            pdw[((b * d.c_out + o) * d.c_in + c) * d.kernel + k] = sum;
          }
        }
      }
  });
}

void conv1d_forward_at(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                       int64_t t, Tensor& y_t) {
  const char* op = "conv1d_forward_at";
  const Conv1dDims d = conv_dims(op, x, "x", w, s);
  check_defined(op, y_t, "y_t");
  check_same_device(op, {&x, &w, &y_t});
  check_same_dtype(op, {&x, &w, &y_t});
  check_shape(op, x, {d.n_batch, d.c_in, d.length}, "x");
  check_shape(op, y_t, {d.n_batch, d.c_out}, "y_t");
  check_bias(op, bias, x, d);
  NAQS_CHECK(t >= 0 && t < d.length, op, ": position ", t, " out of range for x ", x.str());
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_forward_at_cuda(
                             x.raw_data(), w.raw_data(), bias.defined() ? bias.raw_data() : nullptr,
                             y_t.raw_data(), x.dtype(), d, t));
    return;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = bias_ptr<T>(bias);
    T* py = y_t.data<T>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        T sum = pb ? pb[o] : T(0);
        for (int64_t c = 0; c < d.c_in; ++c)
          for (int k = 0; k < d.kernel; ++k) {
            const int64_t p = t - d.back(k);
            if (p >= 0) sum += pw[(o * d.c_in + c) * d.kernel + k] * px[(b * d.c_in + c) * d.length + p];
          }
        py[b * d.c_out + o] = sum;
      }
  });
}

}  // namespace naqs::ops
