// RoPE's per-element math, shared by the CPU reference (host/ops/attention.cpp) and the CUDA
// twin (cuda/attention.cu); the convention is documented in host/ops/attention.hpp.
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"

namespace naqs::ops {

// cos and sin of the angle of pair i (< head_dim / 2) at absolute position p:
// p * base^(-2i / head_dim), in double.
NAQS_HD void rope_cos_sin(int64_t position, int64_t i, int64_t head_dim, double base, double& c,
                          double& s) {
  const double theta = ::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
  const double angle = static_cast<double>(position) * theta;
  c = ::cos(angle);
  s = ::sin(angle);
}

// (y0, y1) = (x0 c - x1 s, x1 c + x0 s); reads both inputs before writing (y may alias x).
template <class T>
NAQS_HD void rope_rotate(T x0, T x1, T c, T s, T& y0, T& y1) {
  const T a = x0 * c - x1 * s;
  const T b = x1 * c + x0 * s;
  y0 = a;
  y1 = b;
}

}  // namespace naqs::ops
