#include "ml/align/align.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/knn.hpp"

namespace naqs::ml::align {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t gram_block_rows(int64_t n, int64_t block_rows) {
  if (block_rows > 0) return std::min(block_rows, std::max<int64_t>(n, 1));
  return std::clamp<int64_t>(kGramBlockBytes / (8 * std::max<int64_t>(n, 1)), 1,
                             std::max<int64_t>(n, 1));
}

// numpy's linear-interpolation quantile of the values v (reordered: the two order statistics
// it needs are selected with nth_element, O(n)); numpy's _lerp evaluates from the upper end when
// the weight is >= 1/2.
double quantile_of(std::vector<double>& v, double q) {
  const int64_t n = static_cast<int64_t>(v.size());
  const double virt = q * double(n - 1);
  const double lo_f = std::floor(virt);
  const int64_t lo = static_cast<int64_t>(lo_f), hi = std::min(lo + 1, n - 1);
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double a = v[lo];
  const double b = hi == lo ? a : *std::min_element(v.begin() + lo + 1, v.end());
  const double t = virt - lo_f;
  const double d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

// Length of the longest common subsequence / Levenshtein distance of two short lists.
int64_t lcs_length(const int32_t* x, const int32_t* y, int64_t k, std::vector<int64_t>& dp) {
  dp.assign(static_cast<std::size_t>((k + 1) * (k + 1)), 0);
  for (int64_t i = 1; i <= k; ++i)
    for (int64_t j = 1; j <= k; ++j)
      dp[i * (k + 1) + j] = x[i - 1] == y[j - 1]
                                ? dp[(i - 1) * (k + 1) + j - 1] + 1
                                : std::max(dp[(i - 1) * (k + 1) + j], dp[i * (k + 1) + j - 1]);
  return dp[k * (k + 1) + k];
}
int64_t edit_distance(const int32_t* x, const int32_t* y, int64_t k, std::vector<int64_t>& dp) {
  dp.assign(static_cast<std::size_t>((k + 1) * (k + 1)), 0);
  for (int64_t i = 0; i <= k; ++i) dp[i * (k + 1)] = i;
  for (int64_t j = 0; j <= k; ++j) dp[j] = j;
  for (int64_t i = 1; i <= k; ++i)
    for (int64_t j = 1; j <= k; ++j)
      dp[i * (k + 1) + j] =
          std::min({dp[(i - 1) * (k + 1) + j] + 1, dp[i * (k + 1) + j - 1] + 1,
                    dp[(i - 1) * (k + 1) + j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)});
  return dp[k * (k + 1) + k];
}

double mutual_knn(const Layer& a, const Layer& b) {
  Tensor count = Tensor::zeros({a.n()}, DType::i32, a.index.device());
  ops::knn_overlap(a.index, b.index, count);
  int64_t total = 0;
  for (int32_t c : count.to_vector<int32_t>()) total += c;
  return double(total) / (double(a.n()) * double(a.k()));
}

double cycle_knn(const Layer& a, const Layer& b) {
  const int64_t n = a.n(), k = a.k();
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool back = false;
    for (int64_t p = 0; p < k && !back; ++p) {
      const int32_t j = b.knn[i * k + p];
      for (int64_t q = 0; q < k; ++q)
        if (a.knn[j * k + q] == i) {
          back = true;
          break;
        }
    }
    hits += back;
  }
  return double(hits) / double(n);
}

double sequence_metric(const Layer& a, const Layer& b, bool lcs) {
  const int64_t n = a.n(), k = a.k();
  std::vector<int64_t> dp;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i)
    total += lcs ? lcs_length(&a.knn[i * k], &b.knn[i * k], k, dp)
                 : edit_distance(&a.knn[i * k], &b.knn[i * k], k, dp);
  const double mean = double(total) / (double(n) * double(k));
  return lcs ? mean : 1.0 - mean;
}

// Column-centred copy of x (N, D) f64.
Tensor centred(const Tensor& x) {
  const int64_t n = x.size(0), d = x.size(1);
  std::vector<double> v = to_host_f64(x), mean(static_cast<std::size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += v[i * d + j];
  for (double& m : mean) m /= double(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) v[i * d + j] -= mean[j];
  return from_host_f64(v, x.shape(), DType::f64, x.device());
}

double frobenius2(const Tensor& p, const Tensor& q) {
  Tensor c = Tensor::zeros({p.size(1), q.size(1)}, DType::f64, p.device());
  ops::matmul(p.transpose(0, 1), q, c);
  double s = 0;
  for (double e : to_host_f64(c)) s += e * e;
  return s;
}

double kernel_ratio(double kl, double kk, double ll) {
  const double den = kk * ll;
  return den > 0 ? kl / std::sqrt(den) : kNaN;
}

double cka_biased(const Layer& a, const Layer& b) {
  const Tensor xa = centred(a.x), xb = centred(b.x);
  return kernel_ratio(frobenius2(xa, xb), frobenius2(xa, xa), frobenius2(xb, xb));
}

// The unbiased HSIC's four sums for the pairs (K,L), (K,K), (L,L), over Gram row blocks.
double cka_unbiased(const Layer& a, const Layer& b, int64_t block_rows) {
  const int64_t n = a.n();
  const int64_t rows = gram_block_rows(n, block_rows);
  Tensor ka = Tensor::empty({rows, n}, DType::f64, a.x.device());
  Tensor kb = Tensor::empty({rows, n}, DType::f64, a.x.device());
  double t_kl = 0, t_kk = 0, t_ll = 0, s_k = 0, s_l = 0;
  std::vector<double> r_k(static_cast<std::size_t>(n)), r_l(static_cast<std::size_t>(n));
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    const int64_t m = std::min(rows, n - r0);
    Tensor ba = ka.narrow(0, 0, m), bb = kb.narrow(0, 0, m);
    ops::matmul(a.x.narrow(0, r0, m), a.x.transpose(0, 1), ba);
    ops::matmul(b.x.narrow(0, r0, m), b.x.transpose(0, 1), bb);
    const Tensor ha = ba.to(Device::cpu()), hb = bb.to(Device::cpu());
    const double* pa = ha.data<double>();
    const double* pb = hb.data<double>();
    for (int64_t i = 0; i < m; ++i) {
      double rk = 0, rl = 0;
      const int64_t gi = r0 + i;
      for (int64_t j = 0; j < n; ++j) {
        if (j == gi) continue;
        const double x = pa[i * n + j], y = pb[i * n + j];
        t_kl += x * y;
        t_kk += x * x;
        t_ll += y * y;
        rk += x;
        rl += y;
      }
      r_k[gi] = rk;
      r_l[gi] = rl;
      s_k += rk;
      s_l += rl;
    }
  }
  double rkl = 0, rkk = 0, rll = 0;
  for (int64_t i = 0; i < n; ++i) {
    rkl += r_k[i] * r_l[i];
    rkk += r_k[i] * r_k[i];
    rll += r_l[i] * r_l[i];
  }
  const double nn = double(n);
  auto hsic = [&](double t, double s1, double s2, double r) {
    return (t + s1 * s2 / ((nn - 1) * (nn - 2)) - 2 * r / (nn - 2)) / (nn * (nn - 3));
  };
  return kernel_ratio(hsic(t_kl, s_k, s_l, rkl), hsic(t_kk, s_k, s_k, rkk),
                      hsic(t_ll, s_l, s_l, rll));
}

// Unbiased HSIC of (M∘K, M∘L), M_ij = 1[j in both lists of i]; K values from a, L from b.
double masked_hsic(const Layer& a, const Layer& b) {
  const int64_t n = a.n(), k = a.k();
  struct Entry {
    int32_t j;
    double kv, lv;
  };
  // rows of M, sorted by column, with K_ij and L_ij
  std::vector<std::vector<Entry>> rows(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < k; ++p) {
      const int32_t j = a.knn[i * k + p];
      for (int64_t q = 0; q < k; ++q)
        if (b.knn[i * k + q] == j) {
          rows[i].push_back({j, a.sim[i * k + p], b.sim[i * k + q]});
          break;
        }
    }
    std::sort(rows[i].begin(), rows[i].end(),
              [](const Entry& x, const Entry& y) { return x.j < y.j; });
  }
  double t1 = 0, s_a = 0, s_b = 0;
  std::vector<double> col_a(static_cast<std::size_t>(n), 0.0), row_b(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double rb = 0;
    for (const Entry& e : rows[i]) {
      s_a += e.kv;
      s_b += e.lv;
      rb += e.lv;
      col_a[e.j] += e.kv;
      // B_ji: (j, i) in M?
      const auto& rj = rows[e.j];
      const auto it = std::lower_bound(rj.begin(), rj.end(), int32_t(i),
                                       [](const Entry& x, int32_t c) { return x.j < c; });
      if (it != rj.end() && it->j == i) t1 += e.kv * it->lv;
    }
    row_b[i] = rb;
  }
  double t3 = 0;
  for (int64_t m = 0; m < n; ++m) t3 += col_a[m] * row_b[m];
  const double nn = double(n);
  return (t1 + s_a * s_b / ((nn - 1) * (nn - 2)) - 2 * t3 / (nn - 2)) / (nn * (nn - 3));
}

double cknna(const Layer& a, const Layer& b) {
  return kernel_ratio(masked_hsic(a, b), masked_hsic(a, a), masked_hsic(b, b));
}

}  // namespace

const std::vector<Metric>& all_metrics() {
  static const std::vector<Metric> m = {Metric::mutual_knn,        Metric::cycle_knn,
                                        Metric::lcs_knn,           Metric::edit_distance_knn,
                                        Metric::cka,               Metric::unbiased_cka,
                                        Metric::cknna};
  return m;
}

std::string metric_name(Metric m) {
  switch (m) {
    case Metric::mutual_knn: return "mutual_knn";
    case Metric::cycle_knn: return "cycle_knn";
    case Metric::lcs_knn: return "lcs_knn";
    case Metric::edit_distance_knn: return "edit_distance_knn";
    case Metric::cka: return "cka";
    case Metric::unbiased_cka: return "unbiased_cka";
    case Metric::cknna: return "cknna";
  }
  return "?";
}

std::vector<Metric> parse_metrics(const std::string& text) {
  if (text == "all") return all_metrics();
  std::string allowed;
  for (Metric m : all_metrics()) {
    if (metric_name(m) == text) return {m};
    allowed += metric_name(m) + ", ";
  }
  throw UsageError(cat("--metric '", text, "' is not a metric: use one of ", allowed, "or all"));
}

bool needs_neighbours(Metric m) { return m != Metric::cka && m != Metric::unbiased_cka; }

void check_finite(const Tensor& x, const std::string& what) {
  const std::vector<double> v = to_host_f64(x);
  const int64_t d = x.rank() == 2 ? x.size(1) : 1;
  for (std::size_t p = 0; p < v.size(); ++p)
    NAQS_REQUIRE(std::isfinite(v[p]), what, " row ", int64_t(p) / d, " has a NaN or Inf (column ",
                 int64_t(p) % d, ")");
}

Tensor preprocess(const Tensor& x, double quantile, Device device) {
  NAQS_REQUIRE(quantile > 0 && quantile <= 1, "--quantile ", quantile,
               " is not allowed: use a value in (0, 1] (1 = no outlier clamp)");
  NAQS_CHECK(x.rank() == 2, "align::preprocess: features ", x.str(), " are not (N, D)");
  const int64_t n = x.size(0), d = x.size(1);
  std::vector<double> v = to_host_f64(x);
  if (quantile < 1 && n > 0) {
    // per-feature thresholds from a column-major copy of |x| (contiguous columns: the strided
    // column walk of the row-major matrix was most of this function's time)
    std::vector<double> cols(static_cast<std::size_t>(n * d));
    constexpr int64_t kTile = 64;
    for (int64_t i0 = 0; i0 < n; i0 += kTile)
      for (int64_t j0 = 0; j0 < d; j0 += kTile)
        for (int64_t i = i0; i < std::min(n, i0 + kTile); ++i)
          for (int64_t j = j0; j < std::min(d, j0 + kTile); ++j)
            cols[j * n + i] = std::abs(v[i * d + j]);
    std::vector<double> limit(static_cast<std::size_t>(d));
    std::vector<double> col(static_cast<std::size_t>(n));
    for (int64_t j = 0; j < d; ++j) {
      std::copy_n(cols.begin() + j * n, n, col.begin());
      limit[j] = quantile_of(col, quantile);
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) v[i * d + j] = std::clamp(v[i * d + j], -limit[j], limit[j]);
  }
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) s += v[i * d + j] * v[i * d + j];
    const double norm = std::sqrt(s);
    if (norm > 0)
      for (int64_t j = 0; j < d; ++j) v[i * d + j] /= norm;
  }
  return from_host_f64(v, {n, d}, DType::f64, device);
}

void neighbours(const Tensor& x, int64_t k, Tensor& similarity, Tensor& index,
                int64_t block_rows) {
  const int64_t n = x.size(0);
  const int64_t b = block_rows > 0 ? std::min(block_rows, std::max<int64_t>(n, 1))
                                   : std::min<int64_t>(n, kNeighbourBlock);
  // Running lists per row, best first in topk_rows' order; (value, column), column -1 = empty.
  std::vector<double> best_v(static_cast<std::size_t>(n * k), 0.0);
  std::vector<int64_t> best_c(static_cast<std::size_t>(n * k), -1);
  std::vector<double> merged_v(static_cast<std::size_t>(k));
  std::vector<int64_t> merged_c(static_cast<std::size_t>(k));
  // Merges a block's candidates (rows r0.., kk per row, columns offset by c0) into the lists.
  auto merge = [&](const Tensor& vals, const Tensor& idx, int64_t r0, int64_t c0) {
    const std::vector<double> v = to_host_f64(vals);
    const std::vector<int32_t> c = idx.to_vector<int32_t>();
    const int64_t rows = vals.size(0), kk = vals.size(1);
    for (int64_t r = 0; r < rows; ++r) {
      const double* av = &best_v[(r0 + r) * k];
      const int64_t* ac = &best_c[(r0 + r) * k];
      int64_t i = 0, j = 0;
      for (int64_t t = 0; t < k; ++t) {
        const bool has_a = i < k && ac[i] >= 0, has_b = j < kk;
        if (!has_a && !has_b) {
          merged_c[t] = -1;
          continue;
        }
        const double bv = has_b ? v[r * kk + j] : 0.0;
        const int64_t bc = has_b ? c0 + c[r * kk + j] : 0;
        const bool take_a = has_a && (!has_b || av[i] > bv || (av[i] == bv && ac[i] < bc));
        if (take_a) {
          merged_v[t] = av[i];
          merged_c[t] = ac[i++];
        } else {
          merged_v[t] = bv;
          merged_c[t] = bc;
          ++j;
        }
      }
      std::copy(merged_v.begin(), merged_v.end(), best_v.begin() + (r0 + r) * k);
      std::copy(merged_c.begin(), merged_c.end(), best_c.begin() + (r0 + r) * k);
    }
  };
  Tensor gram = Tensor::empty({b, b}, DType::f64, x.device());
  for (int64_t i0 = 0; i0 < n; i0 += b) {
    const int64_t mi = std::min(b, n - i0);
    for (int64_t j0 = i0; j0 < n; j0 += b) {
      const int64_t mj = std::min(b, n - j0);
      // block (I, J) of the Gram matrix; the lower triangle's (J, I) is its transpose
      Tensor c = gram.narrow(0, 0, mi).narrow(1, 0, mj);
      ops::matmul(x.narrow(0, i0, mi), x.narrow(0, j0, mj).transpose(0, 1), c);
      const bool diagonal = i0 == j0;
      const int64_t kk = std::min(k, mj - (diagonal ? 1 : 0));
      if (kk >= 1) {
        Tensor v = Tensor::empty({mi, kk}, DType::f64, x.device());
        Tensor ix = Tensor::empty({mi, kk}, DType::i32, x.device());
        ops::topk_rows(c, kk, v, ix, diagonal ? 0 : -1);
        merge(v, ix, i0, j0);
      }
      if (!diagonal) {
        const Tensor ct = c.transpose(0, 1).contiguous();  // rows of J over the columns of I
        const int64_t kt = std::min(k, mi);
        Tensor v = Tensor::empty({mj, kt}, DType::f64, x.device());
        Tensor ix = Tensor::empty({mj, kt}, DType::i32, x.device());
        ops::topk_rows(ct, kt, v, ix, -1);
        merge(v, ix, j0, i0);
      }
    }
  }
  std::vector<int32_t> c32(best_c.size());
  for (std::size_t t = 0; t < best_c.size(); ++t) {
    NAQS_CHECK(best_c[t] >= 0, "align::neighbours: row ", int64_t(t) / k, " has fewer than ", k,
               " neighbours");
    c32[t] = static_cast<int32_t>(best_c[t]);
  }
  similarity = from_host_f64(best_v, {n, k}, DType::f64, x.device());
  index = Tensor::from_vector(c32, {n, k}, x.device());
}

Layer make_layer(const Tensor& x, int64_t k, int64_t block_rows) {
  Layer l;
  l.x = x;
  if (k > 0) {
    check_k(x.size(0), k);
    Tensor sim;
    neighbours(x, k, sim, l.index, block_rows);
    l.knn = l.index.to_vector<int32_t>();
    l.sim = sim.to_vector<double>();
  }
  return l;
}

void check_k(int64_t n, int64_t k) {
  NAQS_REQUIRE(k >= 1 && k < n, "--k ", k, " is not allowed for N = ", n,
               " inputs: use 1 <= k < N (each input has N - 1 possible neighbours)");
}

double score(Metric m, const Layer& a, const Layer& b, int64_t block_rows) {
  NAQS_CHECK(a.n() == b.n(), "align::score: ", a.n(), " and ", b.n(), " rows");
  const int64_t n = a.n();
  if (needs_neighbours(m)) {
    NAQS_CHECK(a.k() >= 1 && a.k() == b.k(), "align::score: ", metric_name(m),
               " needs the neighbour lists of both layers with the same k");
  }
  switch (m) {
    case Metric::mutual_knn: return mutual_knn(a, b);
    case Metric::cycle_knn: return cycle_knn(a, b);
    case Metric::lcs_knn: return sequence_metric(a, b, true);
    case Metric::edit_distance_knn: return sequence_metric(a, b, false);
    case Metric::cka:
      NAQS_REQUIRE(n >= 2, "cka needs N >= 2 inputs, got ", n);
      return cka_biased(a, b);
    case Metric::unbiased_cka:
      NAQS_REQUIRE(n >= 4, "unbiased_cka needs N >= 4 inputs, got ", n);
      return cka_unbiased(a, b, block_rows);
    case Metric::cknna:
      NAQS_REQUIRE(n >= 4, "cknna needs N >= 4 inputs, got ", n);
      return cknna(a, b);
  }
  return kNaN;
}

double chance(Metric m, int64_t n, int64_t k) {
  return m == Metric::mutual_knn ? double(k) / double(n - 1) : kNaN;
}

void best_pair(PairMatrix& p) {
  p.best = kNaN;
  p.best_a = p.best_b = -1;
  for (int64_t i = 0; i < p.la; ++i)
    for (int64_t j = 0; j < p.lb; ++j) {
      const double v = p.s[i * p.lb + j];
      if (std::isnan(v)) continue;
      if (p.best_a < 0 || v > p.best) {  // strictly greater: the first (lowest) pair keeps a tie
        p.best = v;
        p.best_a = i;
        p.best_b = j;
      }
    }
}

PairMatrix score_matrix(Metric m, const std::vector<Layer>& a, const std::vector<Layer>& b) {
  PairMatrix p;
  p.la = static_cast<int64_t>(a.size());
  p.lb = static_cast<int64_t>(b.size());
  for (const Layer& x : a)
    for (const Layer& y : b) p.s.push_back(score(m, x, y));
  best_pair(p);
  return p;
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> perm(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const double u = philox_uniform_f64(seed, stream, static_cast<uint64_t>(i));
    const int64_t j = std::min<int64_t>(static_cast<int64_t>(u * double(i + 1)), i);
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

Layer permuted(const Layer& b, const std::vector<int64_t>& perm) {
  const int64_t n = b.n(), d = b.x.size(1), k = b.k();
  NAQS_CHECK(static_cast<int64_t>(perm.size()) == n, "align::permuted: ", perm.size(),
             " entries for ", n, " rows");
  std::vector<int64_t> inverse(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) inverse[perm[i]] = i;
  const std::vector<double> x = to_host_f64(b.x);
  std::vector<double> px(x.size());
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(&x[perm[i] * d], d, &px[i * d]);
  Layer out;
  out.x = from_host_f64(px, b.x.shape(), DType::f64, b.x.device());
  if (k > 0) {
    out.knn.resize(b.knn.size());
    out.sim.resize(b.sim.size());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < k; ++p) {
        out.knn[i * k + p] = static_cast<int32_t>(inverse[b.knn[perm[i] * k + p]]);
        out.sim[i * k + p] = b.sim[perm[i] * k + p];
      }
    out.index = Tensor::from_vector(out.knn, {n, k}, b.index.device());
  }
  return out;
}

}  // namespace naqs::ml::align
