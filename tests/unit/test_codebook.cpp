// The Δ-IRIS vector quantiser (ml/world_model/codebook.hpp): the assignment against a brute-force
// cosine argmax, the moving-average update and the revival trigger against hand values, the
// straight-through gradient, the commitment gradient against float64 central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "ml/world_model/codebook.hpp"

using namespace naqs;
using namespace naqs::ml::world_model;

namespace {

std::vector<double> uniform(int64_t n, uint64_t stream, double scale) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = scale * (2 * philox_uniform_f64(11, stream, i) - 1);
  return v;
}

// Rows of different lengths, so the normalisation matters.
std::vector<double> random_inputs(int64_t N, int64_t D, uint64_t stream) {
  std::vector<double> z = uniform(N * D, stream, 1.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) z[i * D + d] *= 0.1 + 3.0 * double(i % 5);
  return z;
}

CodebookConfig config(int64_t K, int64_t D) {
  CodebookConfig c;
  c.codes = K;
  c.dim = D;
  c.decay = 0.75;  // not 0.5, so gamma and 1 - gamma cannot be swapped unseen
  c.commitment = 0.7;
  c.revive_after = 2;
  return c;
}

std::vector<int32_t> host_tokens(const VqBatch& b) {
  const Tensor t = b.tokens.to(Device::cpu());
  return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel());
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double atol,
                 double rtol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LE(std::abs(got[i] - want[i]), atol + rtol * std::abs(want[i]))
        << what << " [" << i << "]: " << got[i] << " vs " << want[i];
}

void assignment_matches_brute_force(DType dt) {
  const int64_t K = 7, D = 5, N = 60;
  Codebook cb(config(K, D), dt, Device::cpu(), 3);
  const std::vector<double> z = random_inputs(N, D, 1);
  const VqBatch b = cb.quantize(from_host_f64(z, {N, D}, dt, Device::cpu()));
  const std::vector<double> e = to_host_f64(cb.codes());
  const std::vector<int32_t> tok = host_tokens(b);
  const std::vector<double> q = to_host_f64(b.q), zhat = to_host_f64(b.zhat);
  const double tol = dt == DType::f64 ? 1e-14 : 1e-6;
  for (int64_t i = 0; i < N; ++i) {
    double zn = 0;
    for (int64_t d = 0; d < D; ++d) zn += z[i * D + d] * z[i * D + d];
    zn = std::sqrt(zn);
    int best = -1;
    double best_cos = -2, second = -2;
    for (int64_t k = 0; k < K; ++k) {
      double dotp = 0, en = 0;
      for (int64_t d = 0; d < D; ++d) {
        dotp += z[i * D + d] * e[k * D + d];
        en += e[k * D + d] * e[k * D + d];
      }
      const double cos = dotp / (zn * std::sqrt(en));
      if (cos > best_cos) {
        second = best_cos;
        best_cos = cos;
        best = int(k);
      } else if (cos > second) {
        second = cos;
      }
    }
    ASSERT_GT(best_cos - second, 1e-5) << "row " << i << " is a near tie; pick other inputs";
    EXPECT_EQ(tok[i], best) << "row " << i;
    for (int64_t d = 0; d < D; ++d) {
      EXPECT_EQ(q[i * D + d], e[best * D + d]) << "q is the chosen code, row " << i;
      EXPECT_NEAR(zhat[i * D + d], z[i * D + d] / zn, tol) << "zhat row " << i;
    }
  }
}

// L = <w, zhat(z)> + weight * C(z) with the codes chosen at z0 held fixed, in float64 on the
// host (an implementation independent of the ops).
double surrogate(const std::vector<double>& z, const std::vector<double>& w,
                 const std::vector<double>& q, int64_t N, int64_t D, double beta, double weight) {
  double l = 0, c = 0;
  for (int64_t i = 0; i < N; ++i) {
    double n2 = 0;
    for (int64_t d = 0; d < D; ++d) n2 += z[i * D + d] * z[i * D + d];
    const double inv = 1 / std::sqrt(n2 + Codebook::kNormEps);
    for (int64_t d = 0; d < D; ++d) {
      const double zh = z[i * D + d] * inv;
      l += w[i * D + d] * zh;
      c += (zh - q[i * D + d]) * (zh - q[i * D + d]);
    }
  }
  return l + weight * beta * c / double(N * D);
}

}  // namespace

TEST(Codebook, AssignmentIsTheBruteForceCosineArgmaxF64) {
  assignment_matches_brute_force(DType::f64);
}

TEST(Codebook, AssignmentIsTheBruteForceCosineArgmaxF32) {
  assignment_matches_brute_force(DType::f32);
}

TEST(Codebook, InitialCodesAreUnitRowsAndSeeded) {
  Codebook a(config(9, 4), DType::f64, Device::cpu(), 5);
  Codebook b(config(9, 4), DType::f64, Device::cpu(), 5);
  Codebook c(config(9, 4), DType::f64, Device::cpu(), 6);
  const std::vector<double> ea = to_host_f64(a.codes());
  EXPECT_EQ(ea, to_host_f64(b.codes()));
  EXPECT_NE(ea, to_host_f64(c.codes()));
  for (int k = 0; k < 9; ++k) {
    double n2 = 0;
    for (int d = 0; d < 4; ++d) n2 += ea[k * 4 + d] * ea[k * 4 + d];
    EXPECT_NEAR(n2, 1.0, 1e-14);
  }
}

// Codes e0 = (1, 0), e1 = (0, 1), e2 = (-1, 0); inputs (2, 1), (1, -1), (0, 3); decay 0.75,
// beta 0.7, revive_after 2.
// Assignment: (2,1)/sqrt5 and (1,-1)/sqrt2 -> e0 (cos 0.894, 0.707), (0, 1) -> e1; e2 unused.
// Commitment: [(2/sqrt5 - 1)^2 + (1/sqrt5)^2 + (1/sqrt2 - 1)^2 + (1/sqrt2)^2 + 0] / 6 * beta
//             = 0.13282200927117885 * 0.7.
// Update 1: c0 = ((2/sqrt5 + 1/sqrt2)/2, (1/sqrt5 - 1/sqrt2)/2) = (0.80077, -0.12995),
//   e0 = normalise(0.75 (1, 0) + 0.25 c0) = (0.9994160485139105, -0.034169605980182545);
//   c1 = (0, 1), e1 = normalise(0.75 (0,1) + 0.25 (0,1)) = (0, 1); e2 unchanged; idle (0, 0, 1).
// Update 2 (same inputs; still none choose e2): idle_2 = 2 = revive_after, so e2 becomes the
//   input zhat_j, j = floor(3 u), u = philox_uniform_f64(seed, 1, 1 * 3 + 2); idle_2 = 0.
TEST(Codebook, MovingAverageUpdateAndRevivalByHand) {
  const uint64_t seed = 17;
  Codebook cb(config(3, 2), DType::f64, Device::cpu(), seed);
  cb.set_state(from_host_f64({1, 0, 0, 1, -1, 0}, {3, 2}, DType::f64, Device::cpu()), {0, 0, 0},
               0);
  const Tensor z = from_host_f64({2, 1, 1, -1, 0, 3}, {3, 2}, DType::f64, Device::cpu());

  VqBatch b = cb.quantize(z);
  EXPECT_EQ(host_tokens(b), (std::vector<int32_t>{0, 0, 1}));
  EXPECT_NEAR(b.commitment, 0.7 * 0.13282200927117885, 1e-15);
  EXPECT_TRUE(cb.update(b).empty());
  expect_near(to_host_f64(cb.codes()),
              {0.9994160485139105, -0.034169605980182545, 0, 1, -1, 0}, 1e-15, 0, "update 1");
  EXPECT_EQ(cb.idle(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(cb.updates(), 1);

  b = cb.quantize(z);
  EXPECT_EQ(host_tokens(b), (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(cb.update(b), (std::vector<int64_t>{2}));
  const int64_t j = int64_t(3 * philox_uniform_f64(seed, Codebook::kReviveStream, 1 * 3 + 2));
  const std::vector<double> zhat = to_host_f64(b.zhat), e = to_host_f64(cb.codes());
  EXPECT_EQ(e[4], zhat[j * 2]);
  EXPECT_EQ(e[5], zhat[j * 2 + 1]);
  EXPECT_EQ(cb.idle(), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(cb.updates(), 2);
}

// One unused update is not enough at revive_after 2, and a use in between resets the count.
TEST(Codebook, RevivalNeedsConsecutiveIdleUpdates) {
  Codebook cb(config(3, 2), DType::f64, Device::cpu(), 2);
  cb.set_state(from_host_f64({1, 0, 0, 1, -1, 0}, {3, 2}, DType::f64, Device::cpu()), {0, 0, 0},
               0);
  const Tensor without = from_host_f64({2, 1, 0, 3}, {2, 2}, DType::f64, Device::cpu());
  const Tensor with = from_host_f64({-2, 0.1}, {1, 2}, DType::f64, Device::cpu());
  EXPECT_TRUE(cb.update(cb.quantize(without)).empty());  // idle_2 = 1
  EXPECT_EQ(cb.idle(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_TRUE(cb.update(cb.quantize(with)).empty());  // e2 used: idle_2 = 0, others 1
  EXPECT_EQ(cb.idle(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_TRUE(cb.update(cb.quantize(without)).empty());  // idle_2 = 1 again
  EXPECT_EQ(cb.update(cb.quantize(without)), (std::vector<int64_t>{2}));
}

// The idle sequence of RevivalNeedsConsecutiveIdleUpdates revives e2 in its fourth update (3
// updates before it): with revive_until 4 it is revived, with 3 it is not (and stays idle 2).
TEST(Codebook, RevivalStopsAfterReviveUntil) {
  for (int64_t until : {4, 3}) {
    CodebookConfig c = config(3, 2);
    c.revive_until = until;
    Codebook cb(c, DType::f64, Device::cpu(), 2);
    cb.set_state(from_host_f64({1, 0, 0, 1, -1, 0}, {3, 2}, DType::f64, Device::cpu()),
                 {0, 0, 0}, 0);
    const Tensor without = from_host_f64({2, 1, 0, 3}, {2, 2}, DType::f64, Device::cpu());
    const Tensor with = from_host_f64({-2, 0.1}, {1, 2}, DType::f64, Device::cpu());
    cb.update(cb.quantize(without));
    cb.update(cb.quantize(with));
    cb.update(cb.quantize(without));
    const std::vector<int64_t> revived = cb.update(cb.quantize(without));  // update index 3
    EXPECT_EQ(revived, until == 4 ? std::vector<int64_t>{2} : std::vector<int64_t>{}) << until;
    EXPECT_EQ(cb.idle()[2], until == 4 ? 0 : 2) << until;
  }
  CodebookConfig bad = config(3, 2);
  bad.revive_until = -2;
  EXPECT_THROW(Codebook(bad, DType::f64, Device::cpu(), 1), UsageError);
}

// The forward value is the chosen code (piecewise constant in z), yet the gradient passes
// straight through: with no commitment term, dz is the gradient of <dq, zhat(z)>.
TEST(Codebook, StraightThroughGradient) {
  const int64_t K = 5, D = 4, N = 9;
  Codebook cb(config(K, D), DType::f64, Device::cpu(), 8);
  const std::vector<double> z0 = random_inputs(N, D, 2), w = uniform(N * D, 3, 1.0);
  const VqBatch b = cb.quantize(from_host_f64(z0, {N, D}, DType::f64, Device::cpu()));
  Tensor dz = Tensor::empty({N, D}, DType::f64, Device::cpu());
  cb.backward(b, from_host_f64(w, {N, D}, DType::f64, Device::cpu()), 0.0, dz);
  const std::vector<double> g = to_host_f64(dz), q = to_host_f64(b.q);
  const double h = 1e-6;
  std::vector<double> fd(z0.size());
  for (size_t p = 0; p < z0.size(); ++p) {
    std::vector<double> zp = z0, zm = z0;
    zp[p] += h;
    zm[p] -= h;
    fd[p] = (surrogate(zp, w, q, N, D, 0.7, 0) - surrogate(zm, w, q, N, D, 0.7, 0)) / (2 * h);
  }
  // O(h^2) truncation + eps |L| / h rounding.
  expect_near(g, fd, 1e-8, 1e-6, "straight-through dz");
  double gn = 0;
  for (double x : g) gn += x * x;
  EXPECT_GT(gn, 1e-2) << "the gradient must not vanish through the quantiser";
}

// The commitment loss of the real forward (the argmax recomputed at z +- h) against its
// backward, alone and together with a straight-through term.
TEST(Codebook, CommitmentGradientMatchesCentralDifferences) {
  const int64_t K = 6, D = 3, N = 8;
  Codebook cb(config(K, D), DType::f64, Device::cpu(), 4);
  const std::vector<double> z0 = random_inputs(N, D, 5), w = uniform(N * D, 6, 1.0);
  const auto commitment = [&](const std::vector<double>& z) {
    return cb.quantize(from_host_f64(z, {N, D}, DType::f64, Device::cpu())).commitment;
  };
  const VqBatch b = cb.quantize(from_host_f64(z0, {N, D}, DType::f64, Device::cpu()));
  const std::vector<double> q = to_host_f64(b.q);
  const double h = 1e-6, weight = 2.5;
  Tensor dz = Tensor::empty({N, D}, DType::f64, Device::cpu());
  cb.backward(b, Tensor(), weight, dz);
  const std::vector<double> g_c = to_host_f64(dz);
  cb.backward(b, from_host_f64(w, {N, D}, DType::f64, Device::cpu()), weight, dz);
  const std::vector<double> g_all = to_host_f64(dz);
  std::vector<double> fd_c(z0.size()), fd_all(z0.size());
  for (size_t p = 0; p < z0.size(); ++p) {
    std::vector<double> zp = z0, zm = z0;
    zp[p] += h;
    zm[p] -= h;
    fd_c[p] = weight * (commitment(zp) - commitment(zm)) / (2 * h);
    fd_all[p] = (surrogate(zp, w, q, N, D, 0.7, weight) - surrogate(zm, w, q, N, D, 0.7, weight)) /
                (2 * h);
  }
  expect_near(g_c, fd_c, 1e-8, 1e-6, "commitment dz");
  expect_near(g_all, fd_all, 1e-8, 1e-6, "straight-through + commitment dz");
}

TEST(Codebook, BadSettingsAndInputs) {
  CodebookConfig c = config(4, 3);
  c.decay = 1;
  EXPECT_THROW(Codebook(c, DType::f64, Device::cpu(), 1), UsageError);
  c = config(4, 3);
  c.revive_after = 0;
  EXPECT_THROW(Codebook(c, DType::f64, Device::cpu(), 1), UsageError);
  c = config(0, 3);
  EXPECT_THROW(Codebook(c, DType::f64, Device::cpu(), 1), UsageError);
  Codebook cb(config(4, 3), DType::f64, Device::cpu(), 1);
  EXPECT_THROW(cb.quantize(Tensor::zeros({5, 2}, DType::f64)), UsageError);
  EXPECT_THROW(cb.quantize(Tensor::zeros({5, 3}, DType::f32)), UsageError);
  EXPECT_THROW(cb.set_state(Tensor::zeros({3, 3}, DType::f64), {0, 0, 0}, 0), UsageError);
  EXPECT_THROW(cb.set_state(cb.codes(), {0, 0, -1, 0}, 0), UsageError);
}
