// Representation alignment (ml/align/align.hpp, host/ops/knn.hpp):
// - ops::topk_rows against a full stable sort (random values, many ties, the diagonal left out,
//   strided rows), one documented tie case, knn_overlap by hand, argument errors;
// - every metric against the numpy reference tests/align_reference.py (written from the paper's
//   definitions, dense) on fixed random inputs for several N, D, k and quantiles: preprocessed
//   features to 1e-15, neighbour lists and overlap counts exactly, k-NN scores to 1e-15, the CKA
//   family to 1e-12 relative (float64 sums in different orders);
// - score(X, X) = 1 and score(X, c X Q) = 1 (orthogonal Q, c > 0; quantile 1, since the
//   per-feature clamp is not rotation invariant); Gram block sizes do not change the neighbours;
//   the permutation null's relabelled lists equal recomputed ones; best_pair's tie rule; errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>

#include "host/core/error.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/io/hdf5.hpp"
#include "host/ops/knn.hpp"
#include "ml/align/align.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;
using namespace naqs::ml::align;

// Entries uniform in [-1, 1), or integers in [0, levels) (many ties).
std::vector<double> random_values(int64_t n, uint64_t seed, int levels = 0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& e : v) e = levels > 0 ? std::floor((u(gen) + 1) / 2 * levels) : u(gen);
  return v;
}

// ---- topk_rows / knn_overlap ---------------------------------------------------------------

TEST(AlignTopk, MatchesFullStableSort) {
  for (DType dt : {DType::f32, DType::f64})
    for (int levels : {0, 3})
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {5, 9}, {33, 257}, {4, 3000}})
        for (int64_t skip : {int64_t{-1}, int64_t{0}, int64_t{2}})
          for (int64_t k : {int64_t{1}, int64_t{4}, int64_t{cols}}) {
            const int64_t avail = cols - (skip >= 0 && skip < cols ? 1 : 0);
            const int64_t kk = std::min(k, avail);
            if (kk < 1) continue;
            const std::vector<double> v = random_values(rows * (cols + 3), 11 + rows + levels,
                                                        levels);
            Tensor wide = from_host_f64(v, {rows, cols + 3}, dt, Device::cpu());
            const Tensor x = wide.narrow(1, 3, cols);  // row stride cols + 3
            const std::vector<double> xv = to_host_f64(x.contiguous());
            Tensor values = Tensor::zeros({rows, kk}, dt);
            Tensor index = Tensor::zeros({rows, kk}, DType::i32);
            ops::topk_rows(x, kk, values, index, skip);
            const std::vector<int32_t> got = index.to_vector<int32_t>();
            const std::vector<double> got_v = to_host_f64(values);
            for (int64_t r = 0; r < rows; ++r) {
              std::vector<int64_t> order;
              for (int64_t c = 0; c < cols; ++c)
                if (skip < 0 || c != skip + r) order.push_back(c);
              std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
                return xv[r * cols + a] > xv[r * cols + b];
              });
              for (int64_t j = 0; j < kk; ++j) {
                ASSERT_EQ(got[r * kk + j], order[j])
                    << "row " << r << " rank " << j << " rows " << rows << " cols " << cols
                    << " skip " << skip << " levels " << levels << " " << dtype_name(dt);
                ASSERT_EQ(got_v[r * kk + j], xv[r * cols + order[j]]);
              }
            }
          }
}

// The documented tie rule: equal values in ascending column order; the diagonal is left out.
TEST(AlignTopk, TieCase) {
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 3, 3, 2, 3,  //
                                                           3, 3, 0, 3, 1},
                                       {2, 5});
  Tensor values = Tensor::zeros({2, 3}, DType::f64), index = Tensor::zeros({2, 3}, DType::i32);
  ops::topk_rows(x, 3, values, index);
  EXPECT_EQ(index.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 4, 0, 1, 3}));
  // row r leaves out column 1 + r: row 0 loses column 1, row 1 column 2
  ops::topk_rows(x, 3, values, index, /*skip_offset=*/1);
  EXPECT_EQ(index.to_vector<int32_t>(), (std::vector<int32_t>{2, 4, 3, 0, 1, 3}));
  EXPECT_EQ(values.to_vector<double>(), (std::vector<double>{3, 3, 2, 3, 3, 3}));
  // values are optional
  Tensor none;
  ops::topk_rows(x, 2, none, index = Tensor::zeros({2, 2}, DType::i32));
  EXPECT_EQ(index.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 0, 1}));
}

TEST(AlignTopk, OverlapAndErrors) {
  const Tensor a = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector(std::vector<int32_t>{3, 9, 1, 7, 8, 0, 6, 5}, {2, 4});
  Tensor count = Tensor::zeros({2}, DType::i32);
  ops::knn_overlap(a, b, count);
  EXPECT_EQ(count.to_vector<int32_t>(), (std::vector<int32_t>{2, 2}));
  const Tensor x = Tensor::zeros({3, 4}, DType::f64);
  Tensor v = Tensor::zeros({3, 4}, DType::f64), i = Tensor::zeros({3, 4}, DType::i32);
  EXPECT_THROW(ops::topk_rows(x, 4, v, i, 0), Error);  // only 3 columns left per row
  EXPECT_THROW(ops::topk_rows(x, 0, v, i), Error);
  Tensor wrong = Tensor::zeros({3, 4}, DType::f32);
  EXPECT_THROW(ops::topk_rows(x, 4, wrong, i), Error);
}

// ---- against the numpy reference ---------------------------------------------------------

std::string python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

class AlignNumpy : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string check = python() + " -c 'import numpy, h5py' 2>/dev/null";
    ASSERT_EQ(std::system(check.c_str()), 0)
        << python() << " cannot import numpy and h5py (Debian: apt-get install python3-numpy "
        << "python3-h5py, as scripts/setup.sh does)";
    dir_ = fs::temp_directory_path() / ("naqs_align_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

// b = tanh(a W) + noise: related to a, so the scores are neither 0 nor 1.
std::vector<double> related(const std::vector<double>& a, int64_t n, int64_t da, int64_t db,
                            uint64_t seed) {
  const std::vector<double> w = random_values(da * db, seed);
  const std::vector<double> noise = random_values(n * db, seed + 1);
  std::vector<double> b(static_cast<std::size_t>(n * db));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < db; ++j) {
      double s = 0;
      for (int64_t c = 0; c < da; ++c) s += a[i * da + c] * w[c * db + j];
      b[i * db + j] = std::tanh(s) + 0.3 * noise[i * db + j] + (j == 0 ? 3.0 * noise[i * db] : 0);
    }
  return b;
}

TEST_F(AlignNumpy, EveryMetricMatchesReference) {
  struct Case {
    int64_t n, da, db, k;
    double q;
  };
  const Case cases[] = {{7, 3, 5, 1, 0.95},     {7, 3, 5, 6, 1.0},      {50, 16, 8, 10, 0.95},
                        {50, 16, 8, 3, 0.5},    {300, 32, 64, 10, 0.95}, {513, 20, 7, 17, 1.0}};
  uint64_t seed = 900;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "N " << c.n << " Da " << c.da << " Db " << c.db << " k "
                                      << c.k << " q " << c.q);
    std::vector<double> a = random_values(c.n * c.da, ++seed);
    a[3] = 40.0;  // an outlier for the clamp
    const std::vector<double> b = related(a, c.n, c.da, c.db, ++seed);
    const fs::path in = dir_ / "in.h5", out = dir_ / "out.h5";
    fs::remove(in);
    fs::remove(out);
    {
      H5File f = H5File::create_exclusive(in.string());
      f.write_dataset("/a", a, {c.n, c.da});
      f.write_dataset("/b", b, {c.n, c.db});
      f.set_attr("/", "k", c.k);
      f.set_attr("/", "quantile", c.q);
      f.close();
    }
    const std::string cmd = python() + " " NAQS_SOURCE_DIR "/tests/align_reference.py " +
                            in.string() + " " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    H5File ref = H5File::open_read(out.string());

    const Tensor pa = preprocess(Tensor::from_vector(a, {c.n, c.da}), c.q);
    const Tensor pb = preprocess(Tensor::from_vector(b, {c.n, c.db}), c.q);
    EXPECT_TRUE(testing::all_close(pa, Tensor::from_vector(ref.read_doubles("/prep_a"),
                                                           {c.n, c.da}), 1e-15, 0));
    EXPECT_TRUE(testing::all_close(pb, Tensor::from_vector(ref.read_doubles("/prep_b"),
                                                           {c.n, c.db}), 1e-15, 0));
    const Layer la = make_layer(pa, c.k, /*block_rows=*/7), lb = make_layer(pb, c.k);
    const std::vector<int64_t> ka = ref.read_int64s("/knn_a"), kb = ref.read_int64s("/knn_b");
    ASSERT_EQ(std::vector<int64_t>(la.knn.begin(), la.knn.end()), ka);
    ASSERT_EQ(std::vector<int64_t>(lb.knn.begin(), lb.knn.end()), kb);
    Tensor count = Tensor::zeros({c.n}, DType::i32);
    ops::knn_overlap(la.index, lb.index, count);
    const std::vector<int32_t> cv = count.to_vector<int32_t>();
    EXPECT_EQ(std::vector<int64_t>(cv.begin(), cv.end()), ref.read_int64s("/overlap"));
    for (Metric m : all_metrics()) {
      const double want = ref.read_doubles("/scores/" + metric_name(m))[0];
      const double got = score(m, la, lb, /*block_rows=*/5);
      const bool kernel = m == Metric::cka || m == Metric::unbiased_cka || m == Metric::cknna;
      const double tol = kernel ? 1e-12 * std::abs(want) : 1e-15;
      if (std::isnan(want)) {  // cknna's normaliser can vanish for k = 1 on tiny N
        EXPECT_TRUE(std::isnan(got)) << metric_name(m) << " " << got;
        continue;
      }
      EXPECT_NEAR(got, want, tol) << metric_name(m);
      if (c.n == 300) EXPECT_LT(got, 0.999) << metric_name(m) << ": the case should not be trivial";
    }
  }
}

// ---- invariances -------------------------------------------------------------------------

// An orthogonal (d, d) matrix: Gram-Schmidt of random columns.
std::vector<double> orthogonal(int64_t d, uint64_t seed) {
  std::vector<double> q = random_values(d * d, seed);
  for (int64_t j = 0; j < d; ++j) {
    for (int64_t p = 0; p < j; ++p) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += q[i * d + j] * q[i * d + p];
      for (int64_t i = 0; i < d; ++i) q[i * d + j] -= dot * q[i * d + p];
    }
    double norm = 0;
    for (int64_t i = 0; i < d; ++i) norm += q[i * d + j] * q[i * d + j];
    for (int64_t i = 0; i < d; ++i) q[i * d + j] /= std::sqrt(norm);
  }
  return q;
}

TEST(AlignInvariance, SelfAndScaledRotationScoreOne) {
  const int64_t n = 200, d = 24, k = 10;
  const std::vector<double> x = random_values(n * d, 77);
  const std::vector<double> q = orthogonal(d, 78);
  std::vector<double> y(x.size(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t c = 0; c < d; ++c) y[i * d + j] += 2.5 * x[i * d + c] * q[c * d + j];
  for (double quantile : {0.95, 1.0}) {
    const Layer lx = make_layer(preprocess(Tensor::from_vector(x, {n, d}), quantile), k);
    for (Metric m : all_metrics()) EXPECT_NEAR(score(m, lx, lx), 1.0, 1e-12) << metric_name(m);
  }
  const Layer lx = make_layer(preprocess(Tensor::from_vector(x, {n, d}), 1.0), k);
  const Layer ly = make_layer(preprocess(Tensor::from_vector(y, {n, d}), 1.0), k);
  EXPECT_EQ(lx.knn, ly.knn);
  for (Metric m : all_metrics()) EXPECT_NEAR(score(m, lx, ly), 1.0, 1e-12) << metric_name(m);
}

// Block size n is one top-k over the full rows; smaller blocks merge per-block lists (upper
// triangle and its transpose). Rows 60.. repeat rows 0.. (exact ties across blocks: the lower
// index must win). Similarities to 1e-15: an entry and its mirror may come from different GEMM
// tiles, so they can differ in the last bit.
TEST(AlignInvariance, BlockSizeDoesNotChangeNeighbours) {
  const int64_t n = 97, d = 9;
  std::vector<double> v = random_values(n * d, 5, 4);
  for (int64_t i = 60; i < n; ++i) std::copy_n(&v[(i - 60) * d], d, &v[i * d]);
  const Tensor x = preprocess(Tensor::from_vector(v, {n, d}), 0.95);
  const Layer ref = make_layer(x, 8, n);
  for (int64_t rows : {1, 2, 13, 96}) {
    const Layer l = make_layer(x, 8, rows);
    EXPECT_EQ(l.knn, ref.knn) << rows;
    for (std::size_t t = 0; t < l.sim.size(); ++t) ASSERT_NEAR(l.sim[t], ref.sim[t], 1e-15) << rows;
  }
  const Layer other = make_layer(preprocess(Tensor::from_vector(random_values(n * 4, 6),
                                                                {n, 4}), 1.0), 8);
  for (int64_t rows : {1, 13})
    EXPECT_NEAR(score(Metric::unbiased_cka, ref, other, rows),
                score(Metric::unbiased_cka, ref, other, n), 1e-13);
}

TEST(AlignInvariance, PermutedListsEqualRecomputed) {
  const int64_t n = 120, d = 6, k = 7;
  const std::vector<double> xv = random_values(n * d, 9);
  const Layer l = make_layer(preprocess(Tensor::from_vector(xv, {n, d}), 1.0), k);
  const std::vector<int64_t> perm = permutation(n, 42, 3);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(perm, permutation(n, 42, 4));
  EXPECT_EQ(perm, permutation(n, 42, 3));
  const Layer p = permuted(l, perm);
  std::vector<double> yv(xv.size());
  for (int64_t i = 0; i < n; ++i) std::copy_n(&xv[perm[i] * d], d, &yv[i * d]);
  const Layer r = make_layer(preprocess(Tensor::from_vector(yv, {n, d}), 1.0), k);
  EXPECT_EQ(p.knn, r.knn);
  for (Metric m : all_metrics())
    EXPECT_NEAR(score(m, l, p), score(m, l, r), 1e-13) << metric_name(m);
}

TEST(AlignPairs, BestPairTiesGoToLowerIndices) {
  PairMatrix p;
  p.la = 2;
  p.lb = 3;
  p.s = {0.2, std::nan(""), 0.7, 0.7, 0.1, 0.7};
  best_pair(p);
  EXPECT_EQ(p.best, 0.7);
  EXPECT_EQ(p.best_a, 0);
  EXPECT_EQ(p.best_b, 2);
  p.s = {std::nan(""), std::nan(""), std::nan(""), std::nan(""), std::nan(""), std::nan("")};
  best_pair(p);
  EXPECT_TRUE(std::isnan(p.best));
  EXPECT_EQ(p.best_a, -1);
}

TEST(AlignErrors, OneClearLine) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no UsageError");
  };
  EXPECT_EQ(message([] { check_k(10, 0); }),
            "--k 0 is not allowed for N = 10 inputs: use 1 <= k < N (each input has N - 1 "
            "possible neighbours)");
  EXPECT_NE(message([] { check_k(10, 10); }).find("--k 10 is not allowed"), std::string::npos);
  EXPECT_NE(message([] { preprocess(Tensor::zeros({3, 2}, DType::f32), 0.0); })
                .find("--quantile 0 is not allowed: use a value in (0, 1]"),
            std::string::npos);
  EXPECT_NE(message([] { preprocess(Tensor::zeros({3, 2}, DType::f32), 1.5); }).find("(0, 1]"),
            std::string::npos);
  const std::string unknown = message([] { parse_metrics("svcca"); });
  EXPECT_NE(unknown.find("'svcca' is not a metric"), std::string::npos);
  for (Metric m : all_metrics()) EXPECT_NE(unknown.find(metric_name(m)), std::string::npos);
  EXPECT_EQ(parse_metrics("all").size(), all_metrics().size());
  Tensor x = Tensor::zeros({4, 3}, DType::f32);
  std::vector<float> v(12, 0.f);
  v[7] = std::nanf("");
  x = Tensor::from_vector(v, {4, 3});
  EXPECT_EQ(message([&] { check_finite(x, "a.h5:/features/layer_1"); }),
            "a.h5:/features/layer_1 row 2 has a NaN or Inf (column 1)");
}

}  // namespace
}  // namespace naqs
