// ml/align on a CUDA device against the CPU (skipped without a GPU): the same neighbour lists
// (random features: no similarity is within cuBLAS-vs-OpenBLAS rounding of another at the k-th
// place) and every metric to 1e-12 (float64 Gram entries differ by summation order only).
#include <gtest/gtest.h>

#include <random>

#include "host/core/device.hpp"
#include "ml/align/align.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using namespace naqs::ml::align;

TEST(AlignGpu, MatchesCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  const int64_t n = 700, da = 40, db = 24, k = 10;
  std::mt19937_64 gen(3);
  std::normal_distribution<double> g;
  std::vector<double> a(n * da), b(n * db);
  for (double& v : a) v = g(gen);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < db; ++j) b[i * db + j] = std::tanh(a[i * da + j] + a[i * da + j + 1]);
  const Tensor ta = Tensor::from_vector(a, {n, da}), tb = Tensor::from_vector(b, {n, db});
  const Device cuda = Device::cuda(0);
  const Layer ca = make_layer(preprocess(ta, 0.95), k, 300);
  const Layer cb = make_layer(preprocess(tb, 0.95), k, 300);
  const Layer ga = make_layer(preprocess(ta, 0.95, cuda), k, 300);
  const Layer gb = make_layer(preprocess(tb, 0.95, cuda), k, 300);
  EXPECT_TRUE(ga.x.device().is_cuda());
  EXPECT_EQ(ga.knn, ca.knn);
  EXPECT_EQ(gb.knn, cb.knn);
  for (Metric m : all_metrics())
    EXPECT_NEAR(score(m, ga, gb, 256), score(m, ca, cb, 256), 1e-12) << metric_name(m);
}

}  // namespace
}  // namespace naqs
