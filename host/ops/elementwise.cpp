#include "host/ops/elementwise.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops {
namespace {

template <class F>
void for_each_index(int64_t n, F&& f) {
#pragma omp parallel for if (n > kMinParallelElements)
  for (int64_t i = 0; i < n; ++i) f(i);
}

void unary_cpu(Unary f, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    with_unary(f, [&](auto ft) {
      for_each_index(x.numel(),
                     [&](int64_t i) { py[i] = unary_value<decltype(ft)::value>(px[i]); });
    });
  });
}

void unary_backward_cpu(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  dispatch_float(x.dtype(), "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    with_unary(f, [&](auto ft) {
      for_each_index(x.numel(), [&](int64_t i) {
        pdx[i] = unary_derivative<decltype(ft)::value>(px[i]) * pdy[i];
      });
    });
  });
}

void binary_cpu(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  dispatch_float(a.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    with_binary(f, [&](auto ft) {
      for_each_index(a.numel(),
                     [&](int64_t i) { pc[i] = binary_value<decltype(ft)::value>(pa[i], pb[i]); });
    });
  });
}

// A zero coefficient drops its term without reading it (BLAS convention), so NaN or inf in an
// ignored operand does not propagate: beta = 0 overwrites y, and scale() reads x only once.
void axpby_cpu(double alpha, const Tensor& x, double beta, Tensor& y) {
  dispatch_float(x.dtype(), "axpby", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    const bool read_x = alpha != 0.0, read_y = beta != 0.0;
    for_each_index(x.numel(), [&](int64_t i) {
      py[i] = (read_x ? a * px[i] : T(0)) + (read_y ? b * py[i] : T(0));
    });
  });
}

void bias_add_cpu(Tensor& x, const Tensor& bias, const AxisSplit& s) {
  dispatch_float(x.dtype(), "bias_add", [&](auto tag) {
    using T = decltype(tag);
    T* px = x.data<T>();
    const T* pb = bias.data<T>();
#pragma omp parallel for collapse(2) if (x.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t c = 0; c < s.n; ++c) {
        T* row = px + (o * s.n + c) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) row[i] += pb[c];
      }
  });
}

// Sums in double for either dtype (the CUDA twin does the same).
void bias_backward_cpu(const Tensor& dy, const AxisSplit& s, Tensor& dbias, bool accumulate) {
  dispatch_float(dy.dtype(), "bias_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    T* pb = dbias.data<T>();
#pragma omp parallel for if (dy.numel() > kMinParallelElements)
    for (int64_t c = 0; c < s.n; ++c) {
      double sum = 0;
      for (int64_t o = 0; o < s.outer; ++o) {
        const T* row = pdy + (o * s.n + c) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) sum += row[i];
      }
      pb[c] = static_cast<T>(accumulate ? pb[c] + sum : sum);
    }
  });
}

}  // namespace

const char* unary_name(Unary f) {
  static const char* const names[] = {"relu", "selu",   "tanh", "sigmoid", "exp",  "log",
                                      "softplus", "square", "sqrt", "abs", "neg", "gelu",
                                      "gelu_tanh", "silu"};
  return names[static_cast<int>(f)];
}

const char* binary_name(Binary f) {
  static const char* const names[] = {"add", "sub", "mul", "div", "maximum", "minimum"};
  return names[static_cast<int>(f)];
}

void check_float_alike(const char* op, std::initializer_list<const Tensor*> ts,
                       std::initializer_list<const char*> names) {
  auto name = names.begin();
  for (const Tensor* t : ts) {
    check_defined(op, *t, *name);
    check_contiguous(op, *t, *name++);
  }
  check_same_device(op, ts);
  check_same_dtype(op, ts);
  const Tensor& first = **ts.begin();
  dispatch_float(first.dtype(), op, [](auto) {});
  name = names.begin();
  for (const Tensor* t : ts) check_shape(op, *t, first.shape(), *name++);
}

AxisSplit split_axis(const char* op, const Tensor& x, int axis) {
  const int a = axis < 0 ? axis + x.rank() : axis;
  if (a < 0 || a >= x.rank()) throw Error(cat(op, ": axis ", axis, " out of range for ", x.str()));
  AxisSplit s{a, 1, x.size(a), 1};
  for (int d = 0; d < a; ++d) s.outer *= x.size(d);
  for (int d = a + 1; d < x.rank(); ++d) s.inner *= x.size(d);
  return s;
}

void unary(Unary f, const Tensor& x, Tensor& y) {
  check_float_alike("unary", {&x, &y}, {"x", "y"});
  if (x.device().is_cpu()) {
    unary_cpu(f, x, y);
  } else {
    NAQS_CUDA_BRANCH("unary", detail::unary_cuda(f, x, y));
  }
}

void unary_backward(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  check_float_alike("unary_backward", {&x, &dy, &dx}, {"x", "dy", "dx"});
  if (x.device().is_cpu()) {
    unary_backward_cpu(f, x, dy, dx);
  } else {
    NAQS_CUDA_BRANCH("unary_backward", detail::unary_backward_cuda(f, x, dy, dx));
  }
}

void binary(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  check_float_alike("binary", {&a, &b, &c}, {"a", "b", "c"});
  if (a.device().is_cpu()) {
    binary_cpu(f, a, b, c);
  } else {
    NAQS_CUDA_BRANCH("binary", detail::binary_cuda(f, a, b, c));
  }
}

void axpby(double alpha, const Tensor& x, double beta, Tensor& y) {
  check_float_alike("axpby", {&x, &y}, {"x", "y"});
  if (x.device().is_cpu()) {
    axpby_cpu(alpha, x, beta, y);
  } else {
    NAQS_CUDA_BRANCH("axpby", detail::axpby_cuda(alpha, x, beta, y));
  }
}

void scale(Tensor& x, double alpha) { axpby(0.0, x, alpha, x); }

void bias_add(Tensor& x, const Tensor& bias, int axis) {
  check_float_alike("bias_add", {&x}, {"x"});
  check_defined("bias_add", bias, "bias");
  check_contiguous("bias_add", bias, "bias");
  check_same_device("bias_add", {&x, &bias});
  check_same_dtype("bias_add", {&x, &bias});
  const AxisSplit s = split_axis("bias_add", x, axis);
  check_shape("bias_add", bias, {s.n}, "bias");
  if (x.device().is_cpu()) {
    bias_add_cpu(x, bias, s);
  } else {
    NAQS_CUDA_BRANCH("bias_add", detail::bias_add_cuda(x, bias, s));
  }
}

void bias_backward(const Tensor& dy, int axis, Tensor& dbias, bool accumulate) {
  check_float_alike("bias_backward", {&dy}, {"dy"});
  check_defined("bias_backward", dbias, "dbias");
  check_contiguous("bias_backward", dbias, "dbias");
  check_same_device("bias_backward", {&dy, &dbias});
  check_same_dtype("bias_backward", {&dy, &dbias});
  const AxisSplit s = split_axis("bias_backward", dy, axis);
  check_shape("bias_backward", dbias, {s.n}, "dbias");
  if (dy.device().is_cpu()) {
    bias_backward_cpu(dy, s, dbias, accumulate);
  } else {
    NAQS_CUDA_BRANCH("bias_backward", detail::bias_backward_cuda(dy, s, dbias, accumulate));
  }
}

}  // namespace naqs::ops
