// Elementwise ops on contiguous f32/f64 tensors of any shape:
//   unary(f, x, y)             y = f(x)                       x, y same shape; y may alias x
//   unary_backward(f,x,dy,dx)  dx = f'(x) * dy                x, dy, dx same shape
//   binary(f, a, b, c)         c = f(a, b)                    a, b, c same shape; c may alias a
//   axpby(alpha, x, beta, y)   y = alpha*x + beta*y           x, y same shape; a zero
//                              coefficient's operand is not read (beta = 0 overwrites y)
//   scale(x, alpha)            x *= alpha
//   bias_add(x, bias, axis)    x[o,c,i] += bias[c]            x viewed (outer,C,inner), bias (C)
//   bias_backward(dy, axis, dbias, accumulate)  dbias[c] (+)= sum_{o,i} dy[o,c,i]
// The formulas (and derivatives) live once in host/ops/elementwise_math.hpp (NAQS_HD), shared
// by the CPU loops here and the CUDA kernels in cuda/elementwise.cu. Exception: the f32 sigmoid
// and silu (forward and backward) on a CPU with AVX2+FMA run 8 lanes at a time on a polynomial
// exp (elementwise.cpp; within 2 ulp of the libm path; 30x faster on the U-Net's activations);
// f64 stays on libm (the reference of the finite-difference tests).
// Tests: tests/unit/test_ops_dense.cpp (hand values; f64 central differences of every
// unary_backward, 1e-8 + 1e-7|g|, and of bias_backward, 1e-8: O(h^2) truncation with h = 1e-6
// plus rounding eps*|f|/h); tests/op_cases/elementwise.cpp (CUDA vs CPU within 8 eps: the same
// formula, but CUDA's exp/tanh/... are within 2 ulp and glibc's within 1 (erfc, for gelu: 5 ulp,
// in the tail only, where |gelu| << 1); binary ops exact).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

// gelu is the exact x*Phi(x) (erf form, PyTorch's default); gelu_tanh the tanh approximation
// of GPT-2 (llm.c, PyTorch approximate='tanh'); silu(x) = x*sigmoid(x). Formulas:
// elementwise_math.hpp.
enum class Unary {
  relu, selu, tanh, sigmoid, exp, log, softplus, square, sqrt, abs, neg, gelu, gelu_tanh, silu
};
void unary(Unary f, const Tensor& x, Tensor& y);
void unary_backward(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx);
const char* unary_name(Unary f);  // "relu", ... (for messages and test names)

enum class Binary { add, sub, mul, div, maximum, minimum };
void binary(Binary f, const Tensor& a, const Tensor& b, Tensor& c);
const char* binary_name(Binary f);

void axpby(double alpha, const Tensor& x, double beta, Tensor& y);
void scale(Tensor& x, double alpha);

void bias_add(Tensor& x, const Tensor& bias, int axis);
void bias_backward(const Tensor& dy, int axis, Tensor& dbias, bool accumulate = false);

// Checks of an op on several tensors: each defined, all on one device, of one float dtype
// (f32/f64) and of the first tensor's shape. Errors name the op, the argument and the tensors.
void check_float_alike(const char* op, std::initializer_list<const Tensor*> ts,
                       std::initializer_list<const char*> names);

// x viewed as (outer, n, inner) around `axis` (negative counts from the end), n = x.size(axis).
// Used by every op that works along one axis (bias, reduce, softmax, gather).
struct AxisSplit {
  int axis;
  int64_t outer, n, inner;
};
AxisSplit split_axis(const char* op, const Tensor& x, int axis);

// The n elements along the axis at (o, i) of a (outer, n, inner) array: row[j] = data[o,j,i].
template <class T>
struct AxisRow {
  T* base;
  int64_t stride;
  T& operator[](int64_t j) const { return base[j * stride]; }
};
template <class T>
AxisRow<T> axis_row(T* data, const AxisSplit& s, int64_t o, int64_t i) {
  return {data + o * s.n * s.inner + i, s.inner};
}

namespace detail {
void unary_cuda(Unary f, const Tensor& x, Tensor& y);
void unary_backward_cuda(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx);
void binary_cuda(Binary f, const Tensor& a, const Tensor& b, Tensor& c);
void axpby_cuda(double alpha, const Tensor& x, double beta, Tensor& y);
void bias_add_cuda(Tensor& x, const Tensor& bias, const AxisSplit& s);
void bias_backward_cuda(const Tensor& dy, const AxisSplit& s, Tensor& dbias, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
