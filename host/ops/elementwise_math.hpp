// The elementwise formulas, written once and compiled for both the host (CPU loops in
// host/ops/elementwise.cpp) and the device (kernels in cuda/elementwise.cu, cuda/conv_site.cu).
//   unary_value<F>(x)       f(x)
//   unary_derivative<F>(x)  f'(x)
//   binary_value<F>(a, b)
// selu uses the constants of Klambauer et al. (2017), arXiv:1706.02515.
// gelu (Hendrycks & Gimpel 2016, arXiv:1606.08415) is the exact x*Phi(x) = x/2 erfc(-x/sqrt 2);
// gelu_tanh is GPT-2's approximation x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
// evaluated as x * sigmoid(2u) (the same function, no cancellation in 1 + tanh for x << 0);
// silu(x) = x * sigmoid(x) (a.k.a. swish).
// with_unary / with_binary turn a runtime enum into a compile-time one, so loops and kernels are
// specialised per function (no switch per element).
#pragma once
#include <cmath>
#include <type_traits>

#include "host/core/hd.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

inline constexpr double kSeluLambda = 1.0507009873554804934193349852946;
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSqrtHalf = 0.70710678118654752440084436210485;      // 1/sqrt(2)
inline constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993439;    // 1/sqrt(2 pi)
inline constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;   // sqrt(2/pi)
inline constexpr double kGeluTanhCubic = 0.044715;

// Logistic function, evaluated without overflow for either sign of x.
template <class T>
NAQS_HD T sigmoid_value(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// 2u of gelu_tanh: 2 sqrt(2/pi) (x + 0.044715 x^3).
template <class T>
NAQS_HD T gelu_tanh_arg(T x) {
  return T(2 * kSqrt2OverPi) * (x + T(kGeluTanhCubic) * x * x * x);
}

template <Unary F, class T>
NAQS_HD T unary_value(T x) {
  if constexpr (F == Unary::relu) return x > T(0) ? x : T(0);
  if constexpr (F == Unary::selu)
    return x > T(0) ? T(kSeluLambda) * x : T(kSeluLambda * kSeluAlpha) * std::expm1(x);
  if constexpr (F == Unary::tanh) return std::tanh(x);
  if constexpr (F == Unary::sigmoid) return sigmoid_value(x);
  if constexpr (F == Unary::exp) return std::exp(x);
  if constexpr (F == Unary::log) return std::log(x);
  // softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
  if constexpr (F == Unary::softplus)
    return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x)));
  if constexpr (F == Unary::square) return x * x;
  if constexpr (F == Unary::sqrt) return std::sqrt(x);
  if constexpr (F == Unary::abs) return std::abs(x);
  if constexpr (F == Unary::neg) return -x;
  if constexpr (F == Unary::gelu) return T(0.5) * x * std::erfc(-x * T(kSqrtHalf));
  if constexpr (F == Unary::gelu_tanh) return x * sigmoid_value(gelu_tanh_arg(x));
  if constexpr (F == Unary::silu) return x * sigmoid_value(x);
}

// Derivatives; at kinks (relu, abs at 0) the value 0 is used.
template <Unary F, class T>
NAQS_HD T unary_derivative(T x) {
  if constexpr (F == Unary::relu) return x > T(0) ? T(1) : T(0);
  if constexpr (F == Unary::selu)
    return x > T(0) ? T(kSeluLambda) : T(kSeluLambda * kSeluAlpha) * std::exp(x);
  if constexpr (F == Unary::tanh) {
    const T t = std::tanh(x);
    return T(1) - t * t;
  }
  if constexpr (F == Unary::sigmoid) {
    const T s = sigmoid_value(x);
    return s * (T(1) - s);
  }
  if constexpr (F == Unary::exp) return std::exp(x);
  if constexpr (F == Unary::log) return T(1) / x;
  if constexpr (F == Unary::softplus) return sigmoid_value(x);
  if constexpr (F == Unary::square) return T(2) * x;
  if constexpr (F == Unary::sqrt) return T(0.5) / std::sqrt(x);
  if constexpr (F == Unary::abs) return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  if constexpr (F == Unary::neg) return T(-1);
  // Phi(x) + x phi(x)
  if constexpr (F == Unary::gelu)
    return T(0.5) * std::erfc(-x * T(kSqrtHalf)) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
  // s + x s (1 - s) d(2u)/dx,  s = sigmoid(2u)
  if constexpr (F == Unary::gelu_tanh) {
    const T s = sigmoid_value(gelu_tanh_arg(x));
    return s + x * s * (T(1) - s) * T(2 * kSqrt2OverPi) * (T(1) + T(3 * kGeluTanhCubic) * x * x);
  }
  if constexpr (F == Unary::silu) {
    const T s = sigmoid_value(x);
    return s * (T(1) + x * (T(1) - s));
  }
}

template <Binary F, class T>
NAQS_HD T binary_value(T a, T b) {
  if constexpr (F == Binary::add) return a + b;
  if constexpr (F == Binary::sub) return a - b;
  if constexpr (F == Binary::mul) return a * b;
  if constexpr (F == Binary::div) return a / b;
  if constexpr (F == Binary::maximum) return a > b ? a : b;
  if constexpr (F == Binary::minimum) return a < b ? a : b;
}

template <Unary F>
using UnaryTag = std::integral_constant<Unary, F>;
template <Binary F>
using BinaryTag = std::integral_constant<Binary, F>;

// Calls fn(UnaryTag<f>{}) (host side).
template <class Fn>
void with_unary(Unary f, Fn&& fn) {
  switch (f) {
    case Unary::relu:
      return fn(UnaryTag<Unary::relu>{});
    case Unary::selu:
      return fn(UnaryTag<Unary::selu>{});
    case Unary::tanh:
      return fn(UnaryTag<Unary::tanh>{});
    case Unary::sigmoid:
      return fn(UnaryTag<Unary::sigmoid>{});
    case Unary::exp:
      return fn(UnaryTag<Unary::exp>{});
    case Unary::log:
      return fn(UnaryTag<Unary::log>{});
    case Unary::softplus:
      return fn(UnaryTag<Unary::softplus>{});
    case Unary::square:
      return fn(UnaryTag<Unary::square>{});
    case Unary::sqrt:
      return fn(UnaryTag<Unary::sqrt>{});
    case Unary::abs:
      return fn(UnaryTag<Unary::abs>{});
    case Unary::neg:
      return fn(UnaryTag<Unary::neg>{});
    case Unary::gelu:
      return fn(UnaryTag<Unary::gelu>{});
    case Unary::gelu_tanh:
      return fn(UnaryTag<Unary::gelu_tanh>{});
    case Unary::silu:
      return fn(UnaryTag<Unary::silu>{});
  }
}

template <class Fn>
void with_binary(Binary f, Fn&& fn) {
  switch (f) {
    case Binary::add:
      return fn(BinaryTag<Binary::add>{});
    case Binary::sub:
      return fn(BinaryTag<Binary::sub>{});
    case Binary::mul:
      return fn(BinaryTag<Binary::mul>{});
    case Binary::div:
      return fn(BinaryTag<Binary::div>{});
    case Binary::maximum:
      return fn(BinaryTag<Binary::maximum>{});
    case Binary::minimum:
      return fn(BinaryTag<Binary::minimum>{});
  }
}

}  // namespace naqs::ops
