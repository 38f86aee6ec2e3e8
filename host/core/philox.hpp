// Philox-4x32-10 counter-based random numbers (Salmon, Moraes, Dror, Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC11), written from the paper as NAQS_HD inline functions so the
// CPU reference and the CUDA kernels (cuda/random.cu) run the same code and draw the same bits.
//
// Mapping of (seed, stream, index) onto Philox's 2-word key and 4-word counter (little end first):
//   key     = { seed & 0xffffffff, seed >> 32 }
//   counter = { stream & 0xffffffff, stream >> 32, index & 0xffffffff, index >> 32 }
// One Philox block (four 32-bit words w0..w3) per index; a value depends only on
// (seed, stream, index). What each value uses of its block:
//   uniform f32: (w0 >> 8) * 2^-24                          in [0, 1), 24 random bits
//   uniform f64: ((w0 >> 5) * 2^26 + (w1 >> 6)) * 2^-53     in [0, 1), 53 random bits
//   normal:      Box-Muller cosine branch, u1 = 1 - uniform_f64(w0, w1) in (0, 1],
//                u2 = uniform_f64(w2, w3): z = sqrt(-2 ln u1) cos(2 pi u2), computed in double
//                (and rounded once to float for f32 tensors).
// log and cos are evaluated here by explicit fma polynomials (not libm / CUDA math), because
// those libraries differ in the last bit between CPU and GPU; with only correctly rounded
// operations (+ - * / sqrt fma frexp) in a fixed order, CPU and CUDA results are bitwise equal.
// No expression below may be written as a*b+c without fma(): nvcc would contract it on the
// device and not on the host.
//
// Tests: tests/unit/test_philox.cpp (Random123 known-answer vectors, mapping, accuracy of the
// log/cos helpers), tests/statistical/test_random_stats.cpp, tests/op_cases/random.cpp.
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"

namespace naqs {

struct PhiloxBlock {
  uint32_t w[4];
};

namespace philox_detail {
constexpr uint32_t kMul0 = 0xD2511F53u;   // round multipliers (paper, Table 2)
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // key increments: golden ratio, sqrt(3)-1
constexpr uint32_t kWeyl1 = 0xBB67AE85u;

NAQS_HD void mul_hi_lo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}
}  // namespace philox_detail

// The raw bijection: 10 rounds of Philox-4x32 on counter c with key k.
NAQS_HD PhiloxBlock philox4x32_10(PhiloxBlock c, uint32_t k0, uint32_t k1) {
  using namespace philox_detail;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {  // the key schedule bumps the key before every round but the first
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mul_hi_lo(kMul0, c.w[0], hi0, lo0);
    mul_hi_lo(kMul1, c.w[2], hi1, lo1);
    c = PhiloxBlock{{hi1 ^ c.w[1] ^ k0, lo1, hi0 ^ c.w[3] ^ k1, lo0}};
  }
  return c;
}

// The block for (seed, stream, index), with the key/counter mapping documented above.
NAQS_HD PhiloxBlock philox_block(uint64_t seed, uint64_t stream, uint64_t index) {
  PhiloxBlock c{{static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32),
                 static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)}};
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// [0, 1) from 24 bits (exact in float).
NAQS_HD float uniform_f32_from(uint32_t w0) {
  return static_cast<float>(w0 >> 8) * (1.0f / 16777216.0f);
}

// [0, 1) from 53 bits (exact in double).
NAQS_HD double uniform_f64_from(uint32_t w0, uint32_t w1) {
  const uint64_t bits = (static_cast<uint64_t>(w0 >> 5) << 26) | static_cast<uint64_t>(w1 >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// ---- deterministic log and cos (only correctly rounded operations, fixed order) ------------

// Natural log for x > 0 (finite, normal): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, atanh series to s^25 (error < 1e-18).
NAQS_HD double hd_log(double x) {
  int e = 0;
  double m = ::frexp(x, &e);  // m in [0.5, 1), exact
  if (m < 0.70710678118654752440) {
    m = m * 2.0;  // exact
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  // 1 + z/3 + z^2/5 + ... + z^12/25 (Horner, innermost first)
  double p = 1.0 / 25.0;
  p = ::fma(p, z, 1.0 / 23.0);
  p = ::fma(p, z, 1.0 / 21.0);
  p = ::fma(p, z, 1.0 / 19.0);
  p = ::fma(p, z, 1.0 / 17.0);
  p = ::fma(p, z, 1.0 / 15.0);
  p = ::fma(p, z, 1.0 / 13.0);
  p = ::fma(p, z, 1.0 / 11.0);
  p = ::fma(p, z, 1.0 / 9.0);
  p = ::fma(p, z, 1.0 / 7.0);
  p = ::fma(p, z, 1.0 / 5.0);
  p = ::fma(p, z, 1.0 / 3.0);
  const double two_s = 2.0 * s;
  const double log_m = ::fma(two_s * z, p, two_s);  // 2s + 2s z (1/3 + ...)
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split: hi has 32 bits, so
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // e * hi is exact for |e| < 2^20
  const double ed = static_cast<double>(e);
  return ::fma(ed, kLn2Hi, ::fma(ed, kLn2Lo, log_m));
}

// cos(2 pi u) for u in [0, 1): 4u = q + f with q the nearest integer (exact), f in [-1/2, 1/2],
// y = f pi/2 in [-pi/4, pi/4]; Taylor series of sin and cos in y (terms to y^21, error < 1e-18).
NAQS_HD double hd_cos_2pi(double u) {
  const double v = 4.0 * u;  // exact
  const double q = ::floor(v + 0.5);
  const double y = (v - q) * 1.57079632679489661923;  // v - q exact (Sterbenz / integers)
  const double z = y * y;
  double c = 1.0 / 2432902008176640000.0;  // 1/20!
  c = ::fma(c, -z, 1.0 / 6402373705728000.0);  // 1/18!
  c = ::fma(c, -z, 1.0 / 20922789888000.0);    // 1/16!
  c = ::fma(c, -z, 1.0 / 87178291200.0);       // 1/14!
  c = ::fma(c, -z, 1.0 / 479001600.0);         // 1/12!
  c = ::fma(c, -z, 1.0 / 3628800.0);           // 1/10!
  c = ::fma(c, -z, 1.0 / 40320.0);             // 1/8!
  c = ::fma(c, -z, 1.0 / 720.0);               // 1/6!
  c = ::fma(c, -z, 1.0 / 24.0);                // 1/4!
  c = ::fma(c, -z, 0.5);                       // 1/2!
  c = ::fma(c, -z, 1.0);                       // cos y
  double s = 1.0 / 51090942171709440000.0;     // 1/21!
  s = ::fma(s, -z, 1.0 / 121645100408832000.0);  // 1/19!
  s = ::fma(s, -z, 1.0 / 355687428096000.0);     // 1/17!
  s = ::fma(s, -z, 1.0 / 1307674368000.0);       // 1/15!
  s = ::fma(s, -z, 1.0 / 6227020800.0);          // 1/13!
  s = ::fma(s, -z, 1.0 / 39916800.0);            // 1/11!
  s = ::fma(s, -z, 1.0 / 362880.0);              // 1/9!
  s = ::fma(s, -z, 1.0 / 5040.0);                // 1/7!
  s = ::fma(s, -z, 1.0 / 120.0);                 // 1/5!
  s = ::fma(s, -z, 1.0 / 6.0);                   // 1/3!
  s = ::fma(s, -z, 1.0);
  s = s * y;                                     // sin y
  // cos(q pi/2 + y) for q mod 4 = 0, 1, 2, 3: cos y, -sin y, -cos y, sin y
  switch (static_cast<int>(q) & 3) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
  }
}

// A standard normal deviate from one block (Box-Muller, cosine branch).
NAQS_HD double normal_from(const PhiloxBlock& b) {
  const double u1 = 1.0 - uniform_f64_from(b.w[0], b.w[1]);  // (0, 1], exact
  const double u2 = uniform_f64_from(b.w[2], b.w[3]);
  const double r = ::sqrt(-2.0 * hd_log(u1));
  return r * hd_cos_2pi(u2);
}

// The per-element values of the random fills (host/ops/random.hpp).
NAQS_HD float philox_uniform_f32(uint64_t seed, uint64_t stream, uint64_t index) {
  return uniform_f32_from(philox_block(seed, stream, index).w[0]);
}
NAQS_HD double philox_uniform_f64(uint64_t seed, uint64_t stream, uint64_t index) {
  const PhiloxBlock b = philox_block(seed, stream, index);
  return uniform_f64_from(b.w[0], b.w[1]);
}
NAQS_HD double philox_normal_f64(uint64_t seed, uint64_t stream, uint64_t index, double mean,
                                 double stddev) {
  return ::fma(stddev, normal_from(philox_block(seed, stream, index)), mean);
}

}  // namespace naqs
