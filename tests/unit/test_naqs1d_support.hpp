// Helpers shared by the 1D NAQS tests: small models with random parameters (enumeration and
// gradient checks: tests/support/wavefunction_checks.hpp).
#pragma once
#include <cstdint>

#include "host/core/tensor.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "tests/support/testing.hpp"
#include "tests/support/wavefunction_checks.hpp"

namespace naqs::testing {

// A small model whose every parameter (including biases and g) is random, so no term of the
// forward or backward pass is trivially zero.
inline NaqsConv1d random_model(const NaqsConv1dConfig& config, DType dtype, uint64_t seed,
                               double scale = 0.5) {
  NaqsConv1d model(config, dtype, Device::cpu(), seed);
  randomise_parameters(model.params(), seed, scale);
  return model;
}

}  // namespace naqs::testing
