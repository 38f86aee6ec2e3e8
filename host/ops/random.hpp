// Random fills from the counter-based Philox-4x32-10 generator (host/core/philox.hpp, which
// documents how (seed, stream, index) map to Philox's key and counter).
//   fill_uniform: x[i] = uniform in [0, 1) (f32: 24 random bits, f64: 53)
//   fill_normal:  x[i] = mean + stddev * z, z standard normal (Box-Muller, computed in double)
// x is any shape, f32 or f64, contiguous; element i (flat row-major) uses index offset + i, so a
// value depends only on (seed, stream, offset + i): splitting a fill in two at the right offsets,
// or drawing it on another device or thread count, gives the same numbers.
// CPU reference here (OpenMP); CUDA twin in cuda/random.cu (one thread per element, same
// NAQS_HD code). Tests: tests/unit/test_philox.cpp (splitting, mapping),
// tests/statistical/test_random_stats.cpp (distribution), tests/op_cases/random.cpp
// (CPU == CUDA bitwise: tolerance 0 because both sides run the same correctly rounded ops).
#pragma once
#include <cstdint>

#include "host/core/tensor.hpp"

namespace naqs::ops {

void fill_uniform(Tensor& x, uint64_t seed, uint64_t stream, uint64_t offset);
void fill_normal(Tensor& x, uint64_t seed, uint64_t stream, uint64_t offset, double mean = 0,
                 double stddev = 1);

// Scalar host helpers: the value element `index` of a fill would get (f64 rules).
double philox_uniform(uint64_t seed, uint64_t stream, uint64_t index);
double philox_normal(uint64_t seed, uint64_t stream, uint64_t index);

namespace detail {
// CUDA twins (cuda/random.cu); x points to n device elements of x_dtype.
void fill_uniform_cuda(void* x, DType x_dtype, int64_t n, uint64_t seed, uint64_t stream,
                       uint64_t offset);
void fill_normal_cuda(void* x, DType x_dtype, int64_t n, uint64_t seed, uint64_t stream,
                      uint64_t offset, double mean, double stddev);
}  // namespace detail

}  // namespace naqs::ops
