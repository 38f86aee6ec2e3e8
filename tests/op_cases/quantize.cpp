// Op cases of host/ops/quantize.hpp (CUDA twin cuda/quantize.cu): dequantize_u8 over every u8
// value and random bytes, quantize_u8 over random values beyond [-1, 1] with the edges planted
// (NaN, +-inf, the half-way points -0.5, 0.5, 1.5, 254.5, 255.5 in q units), f32 and f64, frame
// scale and an odd one. Tolerance 0: both backends compute each element with the same NAQS_HD
// function in double (an explicit fma, a division and rint).
#include <cmath>
#include <limits>
#include <random>

#include "host/ops/quantize.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

Tensor random_bytes(const Shape& s, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<uint8_t> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = i < 256 ? uint8_t(i) : uint8_t(gen() & 255);
  return Tensor::from_vector(v, s);
}

// Values (x - offset) / scale in [-20, 275] with the edges in the first elements.
Tensor values_to_quantize(const Shape& s, DType dt, double scale, double offset, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-20, 275);
  const double inf = std::numeric_limits<double>::infinity();
  const double edges[] = {std::nan(""), inf, -inf, -0.5, 0.5, 1.5, 2.5, 254.5, 255.5, 0, 255};
  std::vector<double> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double units = i < std::size(edges) ? edges[i] : u(gen);
    v[i] = units * scale + offset;
  }
  return dispatch_float(dt, "values_to_quantize", [&](auto tag) {
    using T = decltype(tag);
    return Tensor::from_vector(std::vector<T>(v.begin(), v.end()), s);
  });
}

NAQS_OP_CASES(quantize_cases) {
  const char* const shapes[] = {"1", "17", "1025", "3x40x40"};
  const double scales[][2] = {{kFrameScale, kFrameOffset}, {0.37, 3.25}};
  uint64_t seed = 2100;
  for (DType dt : kFloatTypes)
    for (const char* shape_text : shapes)
      for (const auto& so : scales) {
        const double scale = so[0], offset = so[1];
        for (bool quantize : {false, true}) {
          OpCase c;
          c.op = quantize ? "quantize_u8" : "dequantize_u8";
          c.params = OpParams(cat("shape=", shape_text, " scale=", scale, " offset=", offset));
          c.dtype = dt;
          c.seed = ++seed;
          c.why = "the same NAQS_HD element function in double on both sides (fma, division, rint)";
          c.make = [quantize, scale, offset](const OpCase& k) {
            const Shape s = k.params.shape("shape");
            if (quantize)
              return OpTensors{{values_to_quantize(s, k.dtype, scale, offset, k.seed)},
                               {random_bytes(s, k.seed + 1)}};
            return OpTensors{{random_bytes(s, k.seed)}, {random_tensor(s, k.dtype, k.seed + 1)}};
          };
          c.run = [quantize, scale, offset](const std::vector<Tensor>& in,
                                            std::vector<Tensor>& out) {
            if (quantize) {
              quantize_u8(in[0], scale, offset, out[0]);
            } else {
              dequantize_u8(in[0], scale, offset, out[0]);
            }
          };
          cases.push_back(c);
        }
      }
}

}  // namespace
}  // namespace naqs::testing
