// Representation alignment: the metrics of Huh et al. 2024, "The Platonic Representation
// Hypothesis" (arXiv:2405.07987), on features of N paired inputs from two models.
//
// Preprocessing (preprocess): each feature (column) is clamped to [-q_j, q_j], q_j the
// `quantile` quantile of |x_ij| over the rows (numpy's default linear interpolation; quantile in
// (0, 1], 1 = no clamp), then each row is L2-normalised (an all-zero row stays zero). Cosine
// similarity is then the dot product; all scoring is in float64.
//
// Neighbours (neighbours): the k nearest neighbours of row i by cosine similarity, itself left
// out, in descending similarity, ties broken by the lower row index. The Gram matrix X X^T is
// formed by ops::matmul in square blocks of kNeighbourBlock rows, only on and above the block
// diagonal (half the multiply-adds): block (I, J) goes through ops::topk_rows for the rows of I,
// its transpose for the rows of J, and the per-block lists are merged in the same total order,
// so the whole N x N matrix never exists (N = 16384: 32 MiB blocks) and the result equals one
// top-k over the full rows.
// Metrics (score), with knn_A(i), knn_B(i) those ordered lists:
//   mutual_knn        mean_i |knn_A(i) ∩ knn_B(i)| / k (ops::knn_overlap). Chance k/(N-1).
//   cycle_knn         fraction of i with i ∈ knn_A(j) for some j ∈ knn_B(i) (A -> B -> A).
//                     k-NN is not symmetric, so cycle_knn(X, X) can be < 1 (a point that is
//                     nobody's neighbour, or one of many exact duplicates).
//   lcs_knn           mean_i LCS(knn_A(i), knn_B(i)) / k (longest common subsequence of the two
//                     ordered lists; divided by k so that identical lists score 1).
//   edit_distance_knn 1 - mean_i ED(knn_A(i), knn_B(i)) / k (Levenshtein, unit costs).
//   cka               linear CKA with the biased HSIC: HSIC(K, L) = tr(K H L H), H = I - 11^T/N,
//                     computed as ||Xc^T Yc||_F^2 (Xc, Yc column-centred; ops::matmul);
//                     cka = HSIC(K,L) / sqrt(HSIC(K,K) HSIC(L,L)).
//   unbiased_cka      the same with the unbiased HSIC of Song et al. 2012 on K~, L~ (the Gram
//                     matrices with a zero diagonal): [tr(K~ L~) + 1^T K~ 1 1^T L~ 1 / ((N-1)(N-2))
//                     - 2/(N-2) 1^T K~ L~ 1] / (N(N-3)); accumulated over the Gram row blocks.
//   cknna             CKA restricted to mutual neighbours: Align(K, L) = unbiased HSIC of
//                     (M∘K, M∘L) with M_ij = 1[j ∈ knn_A(i) and j ∈ knn_B(i)], and
//                     cknna = Align(K, L) / sqrt(Align(K, K) Align(L, L)) (M = knn_A resp.
//                     knn_B for the two normalisers). Sparse: O(N k log k) from the neighbour
//                     lists and their similarities. The reference code's "+ 1e-6" in the
//                     denominator is left out, so cknna(X, X) = 1 exactly.
// A kernel score whose denominator is not positive (a constant layer) is NaN; best_pair skips
// NaN entries.
//
// Layer pairs (best_pair): the maximum over the (L_A, L_B) matrix; ties go to the lower layer
// index of A, then of B (row-major first).
// Permutation null (permuted): B's rows permuted by a Philox Fisher-Yates shuffle; the neighbour
// lists are relabelled instead of recomputed (identical except in the order of exactly tied
// similarities, which keep their original index order).
//
// Tests: tests/unit/test_align.cpp (against tests/align_reference.py, numpy), tests/statistical/
// test_align_stats.cpp (chance level). Benchmark: bench/bench_align.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::ml::align {

enum class Metric { mutual_knn, cycle_knn, lcs_knn, edit_distance_knn, cka, unbiased_cka, cknna };

const std::vector<Metric>& all_metrics();
std::string metric_name(Metric m);
// "all" or one metric name; UsageError listing the allowed names otherwise.
std::vector<Metric> parse_metrics(const std::string& text);
bool needs_neighbours(Metric m);  // the k-NN metrics and cknna

// Largest Gram row block (bytes) unbiased_cka forms at once; neighbours' square block size.
constexpr int64_t kGramBlockBytes = int64_t{256} << 20;
constexpr int64_t kNeighbourBlock = 2048;

// UsageError "<what> row <i> has a NaN or Inf" for the first non-finite row of x (N, D).
void check_finite(const Tensor& x, const std::string& what);

// Clamp (quantile in (0, 1], UsageError otherwise) and row L2 normalisation of x (N, D), any
// float dtype and device; returns an (N, D) f64 tensor on `device`.
Tensor preprocess(const Tensor& x, double quantile, Device device = Device::cpu());

// The k nearest neighbours of each row of x (N, D) f64 (rows normalised): index (N, k) i32 and
// similarity (N, k) f64, on x's device. block_rows > 0 forces the Gram block size (tests).
void neighbours(const Tensor& x, int64_t k, Tensor& similarity, Tensor& index,
                int64_t block_rows = 0);

// One layer's features ready for scoring.
struct Layer {
  Tensor x;                  // (N, D) f64, preprocessed, on the compute device
  Tensor index;              // (N, k) i32 neighbours (needs_neighbours), same device
  std::vector<int32_t> knn;  // host copy of index, row-major
  std::vector<double> sim;   // (N, k) host: the similarities of those neighbours
  int64_t n() const { return x.size(0); }
  int64_t k() const { return index.defined() ? index.size(1) : 0; }
};

// preprocessed x -> Layer; k = 0 skips the neighbours.
Layer make_layer(const Tensor& x, int64_t k, int64_t block_rows = 0);

// k must satisfy 1 <= k < N for the neighbour metrics (UsageError otherwise); the kernel
// metrics need N >= 2 (cka) and N >= 4 (unbiased_cka, cknna).
void check_k(int64_t n, int64_t k);
double score(Metric m, const Layer& a, const Layer& b, int64_t block_rows = 0);

// Analytic chance level under independent representations, or NaN where there is none in closed
// form (then the permutation null's mean is the reference): mutual_knn k/(N-1).
double chance(Metric m, int64_t n, int64_t k);

struct PairMatrix {
  int64_t la = 0, lb = 0;
  std::vector<double> s;  // (la, lb) row-major
  double best = 0;        // NaN when every entry is NaN
  int64_t best_a = -1, best_b = -1;
};
PairMatrix score_matrix(Metric m, const std::vector<Layer>& a, const std::vector<Layer>& b);
// Fills best, best_a, best_b from s.
void best_pair(PairMatrix& p);

// perm[i]: the old row that becomes row i (Fisher-Yates with philox_uniform_f64(seed, stream, .)).
std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint64_t stream);
// b with row i = old row perm[i] (features and relabelled neighbour lists).
Layer permuted(const Layer& b, const std::vector<int64_t>& perm);

}  // namespace naqs::ml::align
