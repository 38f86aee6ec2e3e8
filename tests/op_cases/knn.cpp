// Op cases of host/ops/knn.hpp (CUDA twin cuda/knn.cu): topk_rows (with and without the
// diagonal left out, on dense rows and on a narrowed view with row stride > columns, random
// values and values with many ties) and knn_overlap. Tolerance 0: both sides only compare and
// copy (indices and values must be identical). No gradient (selection, integer outputs).
#include <cmath>

#include "host/core/tensor_convert.hpp"
#include "host/ops/knn.hpp"
#include "tests/op_cases/common.hpp"

namespace naqs::testing {
namespace {

using namespace naqs::ops;
using namespace naqs::testing::op_cases_common;

// (rows x cols) with every entry rounded down to an integer in [0, levels) when levels > 0
// (many ties), uniform in [-1, 1) otherwise, with `pad` extra leading columns that the case's run
// leaves out by a narrow (so the op sees row stride cols + pad on every device).
Tensor knn_input(int64_t rows, int64_t cols, int64_t pad, int levels, DType dt, uint64_t seed) {
  Tensor wide = random_tensor({rows, cols + pad}, DType::f64, seed, levels > 0 ? 0.0 : -1.0,
                              levels > 0 ? double(levels) : 1.0);
  std::vector<double> v = wide.to_vector<double>();
  if (levels > 0)
    for (double& e : v) e = std::floor(e);
  return from_host_f64(v, {rows, cols + pad}, dt, Device::cpu());
}

NAQS_OP_CASES(knn_cases) {
  struct Shape2 {
    int64_t rows, cols;
  };
  const Shape2 shapes[] = {{1, 1}, {1, 2}, {17, 33}, {64, 1025}, {3, 5000}};
  uint64_t seed = 4100;
  for (DType dt : kFloatTypes)
    for (const Shape2& s : shapes)
      for (int64_t skip : {int64_t{-1}, int64_t{0}, int64_t{5}})
        for (int levels : {0, 3})
          for (int64_t pad : {int64_t{0}, int64_t{7}})
            for (int64_t k_want : {int64_t{1}, int64_t{10}, int64_t{-1}}) {
              // k = 1, 10 and every column left (that one only for narrow rows), each once
              const int64_t available = s.cols - (skip >= 0 && skip < s.cols ? 1 : 0);
              const int64_t k = k_want < 0 ? available : k_want;
              if (k < 1 || k > available || (k_want < 0 && (available > 40 || available <= 10)))
                continue;
              OpCase c;
              c.op = "topk_rows";
              c.params = OpParams(cat("x=", s.rows, "x", s.cols, " k=", k, " skip=", skip,
                                      " levels=", levels, " pad=", pad));
              c.dtype = dt;
              c.seed = ++seed;
              c.why = "exact: comparisons and copies only";
              c.make = [=](const OpCase& c) {
                return OpTensors{{knn_input(s.rows, s.cols, pad, levels, c.dtype, c.seed)},
                                 {Tensor::zeros({s.rows, k}, c.dtype),
                                  Tensor::zeros({s.rows, k}, DType::i32)}};
              };
              c.run = [k, skip, pad, s](const std::vector<Tensor>& in,
                                        std::vector<Tensor>& out) {
                topk_rows(in[0].narrow(1, pad, s.cols), k, out[0], out[1], skip);
              };
              cases.push_back(c);
            }
  // knn_overlap: lists of distinct entries drawn from [0, n) (n small: many shared entries)
  for (int64_t rows : {int64_t{1}, int64_t{17}, int64_t{1025}})
    for (int64_t ka : {int64_t{1}, int64_t{10}})
      for (int64_t kb : {int64_t{1}, int64_t{10}, int64_t{33}}) {
        OpCase c;
        c.op = "knn_overlap";
        c.params = OpParams(cat("rows=", rows, " ka=", ka, " kb=", kb));
        c.dtype = DType::i32;
        c.seed = ++seed;
        c.why = "exact: integer counts";
        c.make = [=](const OpCase& c) {
          const int64_t n = 40;
          auto lists = [&](int64_t width, uint64_t sd) {
            // row r: a random permutation's first `width` entries of [0, n)
            std::vector<double> u = random_tensor({rows, n}, DType::f64, sd).to_vector<double>();
            std::vector<int32_t> v;
            for (int64_t r = 0; r < rows; ++r) {
              std::vector<int32_t> perm(n);
              for (int64_t i = 0; i < n; ++i) perm[i] = int32_t(i);
              std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) {
                return u[r * n + a] < u[r * n + b];
              });
              v.insert(v.end(), perm.begin(), perm.begin() + width);
            }
            return Tensor::from_vector(v, {rows, width});
          };
          return OpTensors{{lists(ka, c.seed), lists(kb, c.seed + 1)},
                           {Tensor::zeros({rows}, DType::i32)}};
        };
        c.run = [](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
          knn_overlap(in[0], in[1], out[0]);
        };
        cases.push_back(c);
      }
}

}  // namespace
}  // namespace naqs::testing
