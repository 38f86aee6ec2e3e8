// Chance level of mutual k-NN (ml/align/align.hpp), fixed seeds:
// - independent Gaussian features (N = 64, 256, 1024; D = 32 and 48; k = 10): for each input
//   the k-NN sets in the two representations are independent uniform k-subsets of the other
//   N - 1 inputs, so E[overlap / k] = k / (N - 1). The mean over 50 draws must lie within 3
//   standard errors (the draws' sample standard deviation / sqrt(50)) of it.
// - the permutation null of two related representations (two random tanh networks of a shared
//   latent, whose real score is far above chance) centres on chance the same way, over 200
//   permutations. (Synthetic stand-ins for two trained models; docs/ML.md has the real ones.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ml/align/align.hpp"

namespace naqs {
namespace {

using namespace naqs::ml::align;

std::vector<double> gaussian(int64_t n, std::mt19937_64& gen) {
  std::normal_distribution<double> g;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& e : v) e = g(gen);
  return v;
}

struct MeanSe {
  double mean, se;
};
MeanSe mean_se(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s2 = 0;
  for (double x : v) s2 += (x - m) * (x - m);
  s2 /= double(v.size() - 1);
  return {m, std::sqrt(s2 / double(v.size()))};
}

TEST(AlignStats, IndependentGaussianFeaturesScoreChance) {
  const int64_t k = 10;
  std::mt19937_64 gen(20261206);
  for (int64_t n : {64, 256, 1024}) {
    std::vector<double> scores;
    for (int draw = 0; draw < 50; ++draw) {
      const Layer a = make_layer(preprocess(Tensor::from_vector(gaussian(n * 32, gen), {n, 32}),
                                            0.95), k);
      const Layer b = make_layer(preprocess(Tensor::from_vector(gaussian(n * 48, gen), {n, 48}),
                                            0.95), k);
      scores.push_back(score(Metric::mutual_knn, a, b));
    }
    const MeanSe r = mean_se(scores);
    const double want = chance(Metric::mutual_knn, n, k);
    EXPECT_NEAR(want, double(k) / double(n - 1), 0);
    EXPECT_LE(std::abs(r.mean - want), 3 * r.se)
        << "N " << n << ": mean " << r.mean << " +- " << r.se << ", chance " << want;
  }
}

TEST(AlignStats, PermutationNullOfRelatedModelsCentresOnChance) {
  const int64_t n = 512, k = 10, latent = 4;
  std::mt19937_64 gen(77);
  const std::vector<double> z = gaussian(n * latent, gen);
  auto network = [&](int64_t width) {  // tanh(z W1) W2
    const std::vector<double> w1 = gaussian(latent * width, gen), w2 = gaussian(width * width, gen);
    std::vector<double> h(static_cast<std::size_t>(n * width)), y(h.size(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < width; ++j) {
        double s = 0;
        for (int64_t c = 0; c < latent; ++c) s += z[i * latent + c] * w1[c * width + j];
        h[i * width + j] = std::tanh(s);
      }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < width; ++j)
        for (int64_t c = 0; c < width; ++c)
          y[i * width + j] += h[i * width + c] * w2[c * width + j];
    return make_layer(preprocess(Tensor::from_vector(y, {n, width}), 0.95), k);
  };
  const Layer a = network(32), b = network(24);
  const double real = score(Metric::mutual_knn, a, b);
  const double want = chance(Metric::mutual_knn, n, k);
  EXPECT_GT(real, 10 * want) << "the two representations should be related";
  std::vector<double> null;
  for (int p = 0; p < 200; ++p)
    null.push_back(score(Metric::mutual_knn, a, permuted(b, permutation(n, 5, uint64_t(p)))));
  const MeanSe r = mean_se(null);
  EXPECT_LE(std::abs(r.mean - want), 3 * r.se)
      << "null mean " << r.mean << " +- " << r.se << ", chance " << want << ", real " << real;
}

}  // namespace
}  // namespace naqs
