// Helpers shared by the NAQS tests: small models with random parameters and full enumeration of
// the configuration space.
#pragma once
#include <cstdint>
#include <vector>

#include "host/core/tensor.hpp"
#include "physics/naqs_conv1d.hpp"
#include "tests/support/testing.hpp"

namespace naqs::testing {

// All 2^N configurations as (2^N, N) +1/-1: row k has sigma_i = -1 iff bit i of k is set (the
// packed convention of physics/hamiltonian.hpp).
inline Tensor all_configurations(int64_t n_sites, DType dtype) {
  const int64_t n_states = int64_t{1} << n_sites;
  std::vector<double> v(static_cast<std::size_t>(n_states * n_sites));
  for (int64_t k = 0; k < n_states; ++k)
    for (int64_t i = 0; i < n_sites; ++i) v[k * n_sites + i] = ((k >> i) & 1) ? -1.0 : 1.0;
  return from_host_f64(v, {n_states, n_sites}, dtype, Device::cpu());
}

// A small model whose every parameter (including biases and g) is random, so no term of the
// forward or backward pass is trivially zero.
inline NaqsConv1d random_model(const NaqsConv1dConfig& config, DType dtype, uint64_t seed,
                               double scale = 0.5) {
  NaqsConv1d model(config, dtype, Device::cpu(), seed);
  Tensor flat = model.params().flat();
  flat.copy_from(random_tensor(flat.shape(), dtype, seed + 1, -scale, scale));
  // Keep the weight-norm gains away from zero so v/||v|| is well conditioned.
  for (const ParameterEntry& e : model.params().layout())
    if (e.name.size() > 2 && e.name.substr(e.name.size() - 2) == ".g") {
      Tensor g = model.params().get(e.name);
      g.copy_from(random_tensor(g.shape(), dtype, seed + 7 + static_cast<uint64_t>(e.offset), 0.5,
                                1.5));
    }
  return model;
}

}  // namespace naqs::testing
