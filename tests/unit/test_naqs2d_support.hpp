// Helpers shared by the 2D NAQS and symmetrisation tests: small 2D models with random parameters.
#pragma once
#include <cstdint>

#include "physics/models/naqs_conv2d.hpp"
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
  randomise_parameters(model.params(), seed, scale);
  return model;
}

}  // namespace naqs::testing
