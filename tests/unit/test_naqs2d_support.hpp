// Helpers shared by the 2D NAQS and symmetrisation tests: small 2D models with random parameters.
#pragma once
#include <cstdint>
#include <vector>

#include "physics/naqs_conv2d.hpp"
#include "tests/unit/test_naqs1d_support.hpp"

namespace naqs::testing {

inline NaqsConv2dConfig small_2d_config(int64_t lx, int64_t ly, int depth, int width,
                                        PhaseMode mode) {
  NaqsConv2dConfig c;
  c.lx = lx;
  c.ly = ly;
  c.depth = depth;
  c.width = width;
  c.phase_mode = mode;
  return c;
}

// Every parameter (biases and gains included) random, so no term is trivially zero.
inline NaqsConv2d random_2d_model(const NaqsConv2dConfig& config, DType dtype, uint64_t seed,
                                  double scale = 0.5) {
  NaqsConv2d model(config, dtype, Device::cpu(), seed);
  Tensor flat = model.params().flat();
  flat.copy_from(random_tensor(flat.shape(), dtype, seed + 1, -scale, scale));
  for (const ParameterEntry& e : model.params().layout())
    if (e.name.size() > 2 && e.name.substr(e.name.size() - 2) == ".g") {
      Tensor g = model.params().get(e.name);
      g.copy_from(random_tensor(g.shape(), dtype, seed + 7 + static_cast<uint64_t>(e.offset), 0.5,
                                1.5));
    }
  return model;
}

// Random +1/-1 configurations (B,N) in f64 on the CPU.
inline Tensor random_spins(int64_t batch, int64_t n, uint64_t seed, DType dtype = DType::f64) {
  std::vector<double> v = to_host_f64(random_tensor({batch, n}, DType::f64, seed));
  for (double& x : v) x = x < 0 ? -1.0 : 1.0;
  return from_host_f64(v, {batch, n}, dtype, Device::cpu());
}

// sum_sigma |psi(sigma)|^2 over all 2^N configurations, accumulated in double.
inline double total_probability(AutoregressiveWavefunction& model) {
  Tensor all = all_configurations(model.n_sites(), model.dtype());
  Tensor lr = Tensor::empty({all.size(0)}, model.dtype()), li = lr.clone();
  model.log_psi(all, lr, li);
  double total = 0;
  for (double v : to_host_f64(lr)) total += std::exp(2 * v);
  return total;
}

}  // namespace naqs::testing
