// Weight normalisation forward/backward on the host (see weight_norm.hpp).
#include "physics/weight_norm.hpp"

#include <cmath>

#include "host/core/error.hpp"

namespace naqs {

void WeightNorm::initialise(double* v, double* g, int cout, int64_t fan_in, double g_scale) {
  const double root = std::sqrt(static_cast<double>(fan_in));
  for (int o = 0; o < cout; ++o) {
    double norm2 = 0;
    for (int64_t m = 0; m < fan_in; ++m) {
      v[o * fan_in + m] /= root;
      norm2 += v[o * fan_in + m] * v[o * fan_in + m];
    }
    g[o] = std::sqrt(norm2) * g_scale;
  }
}

void WeightNorm::forward(const double* v, const double* g, int cout, int64_t fan_in,
                         const std::string& layer, std::vector<double>& w) {
  cout_ = cout;
  fan_in_ = fan_in;
  const std::size_t n = static_cast<std::size_t>(cout * fan_in);
  v_unit_.resize(n);
  g_over_norm_.resize(static_cast<std::size_t>(cout));
  w.resize(n);
  for (int o = 0; o < cout; ++o) {
    double norm2 = 0;
    for (int64_t m = 0; m < fan_in; ++m) norm2 += v[o * fan_in + m] * v[o * fan_in + m];
    const double norm = std::sqrt(norm2);
    NAQS_CHECK(norm > 0, "weight norm: direction of ", layer, " channel ", o, " is zero");
    g_over_norm_[o] = g[o] / norm;
    for (int64_t m = 0; m < fan_in; ++m) {
      v_unit_[o * fan_in + m] = v[o * fan_in + m] / norm;
      w[o * fan_in + m] = g[o] * v_unit_[o * fan_in + m];
    }
  }
}

void WeightNorm::backward(const double* dw, double* dv, double* dg) const {
  for (int o = 0; o < cout_; ++o) {
    const double* u = v_unit_.data() + o * fan_in_;
    const double* d = dw + o * fan_in_;
    double dot = 0;
    for (int64_t m = 0; m < fan_in_; ++m) dot += d[m] * u[m];
    for (int64_t m = 0; m < fan_in_; ++m)
      dv[o * fan_in_ + m] += g_over_norm_[o] * (d[m] - dot * u[m]);
    dg[o] += dot;
  }
}

}  // namespace naqs
