// Weight normalisation (Salimans & Kingma 2016) per output channel, shared by the masked-conv
// models (physics/naqs_conv1d.*, physics/naqs_conv2d.*). On host f64 copies of the parameters:
//   w[o] = g[o] v[o] / ||v[o]||            v[o] = the fan_in weights of output channel o
// backward, with v^ = v/||v||:
//   dg[o] = dw[o] . v^[o],   dv[o] = (g[o]/||v[o]||) (dw[o] - dg[o] v^[o]).
// The models form w once per pass (a few thousand numbers per layer) and upload it.
// Tests: the models' finite-difference gradient checks (tests/unit/test_naqs1d.cpp,
// tests/unit/test_naqs2d.cpp) cover forward and backward.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace naqs {

class WeightNorm {
 public:
  // Initial values: v (cout, fan_in), standard normals on entry, is scaled by 1/sqrt(fan_in);
  // g[o] = ||v[o]|| * g_scale (so w = g_scale v).
  static void initialise(double* v, double* g, int cout, int64_t fan_in, double g_scale);

  // w (cout*fan_in) from v (cout, fan_in) and g (cout); keeps v^ and g/||v|| for backward.
  // Error naming `layer` and the channel when a direction v[o] is zero.
  void forward(const double* v, const double* g, int cout, int64_t fan_in,
               const std::string& layer, std::vector<double>& w);

  // dv (cout*fan_in) += (g/||v||)(dw - dg v^), dg (cout) += dw . v^ for the effective-weight
  // gradient dw (cout*fan_in) of the last forward().
  void backward(const double* dw, double* dv, double* dg) const;

 private:
  int cout_ = 0;
  int64_t fan_in_ = 0;
  std::vector<double> v_unit_, g_over_norm_;  // (cout*fan_in), (cout)
};

}  // namespace naqs
