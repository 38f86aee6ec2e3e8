// Weight normalisation op: checks, CPU reference and dispatch (see weight_norm.hpp).
#include "host/ops/weight_norm.hpp"

#include <cmath>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"
#include "host/core/parallel.hpp"

namespace naqs::ops {
namespace {

// v (Cout, F), g (Cout); returns Cout.
void check_vg(const char* op, const Tensor& v, const Tensor& g) {
  check_defined(op, v, "v");
  check_defined(op, g, "g");
  check_rank(op, v, 2, "v");
  check_shape(op, g, {v.size(0)}, "g");
  check_same_device(op, {&v, &g});
  check_same_dtype(op, {&v, &g});
  check_contiguous(op, v, "v");
  check_contiguous(op, g, "g");
  dispatch_float(v.dtype(), op, [](auto) {});
}

[[noreturn]] void zero_row(const char* op, std::string_view layer, int64_t channel) {
  throw Error(cat(op, ": direction of ", layer, " channel ", channel, " is zero"));
}

// ||v[o,:]|| in double, the running sum in index order.
template <class T>
double row_norm(const T* v, int64_t f) {
  double norm2 = 0;
  for (int64_t m = 0; m < f; ++m) norm2 += static_cast<double>(v[m]) * static_cast<double>(v[m]);
  return std::sqrt(norm2);
}

// Returns the first zero row, or -1.
int64_t forward_cpu(const Tensor& v, const Tensor& g, Tensor& w) {
  const int64_t c_out = v.size(0), f = v.size(1);
  return dispatch_float(v.dtype(), "weight_norm_forward", [&](auto tag) -> int64_t {
    using T = decltype(tag);
    const T* pv = v.data<T>();
    const T* pg = g.data<T>();
    T* pw = w.data<T>();
    std::vector<double> norms(static_cast<std::size_t>(c_out));
    for (int64_t o = 0; o < c_out; ++o) {  // zero directions first: nothing written if one is
      norms[o] = row_norm(pv + o * f, f);
      if (!(norms[o] > 0)) return o;
    }
    for (int64_t o = 0; o < c_out; ++o) {
      const T* row = pv + o * f;
      const double norm = norms[o];
      const double go = static_cast<double>(pg[o]);
      for (int64_t m = 0; m < f; ++m)
        pw[o * f + m] = static_cast<T>(go * detail::weight_norm_unit(row[m], norm));
    }
    return -1;
  });
}

int64_t backward_cpu(const Tensor& v, const Tensor& g, const Tensor& dw, Tensor& dv, Tensor& dg,
                     int64_t rows, bool accumulate) {
  const int64_t c_out = v.size(0), f = v.size(1);
  // Zero directions first (one pass over v), so no output is written when one exists.
  return dispatch_float(v.dtype(), "weight_norm_backward", [&](auto tag) -> int64_t {
    using T = decltype(tag);
    const T* pv = v.data<T>();
    const T* pg = g.data<T>();
    const T* pdw = dw.data<T>();
    T* pdv = dv.data<T>();
    T* pdg = dg.data<T>();
    std::vector<double> norms(static_cast<std::size_t>(c_out));
    for (int64_t o = 0; o < c_out; ++o) {
      norms[o] = row_norm(pv + o * f, f);
      if (!(norms[o] > 0)) return o;
    }
#pragma omp parallel for if (rows * f > kMinParallelElements)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t o = row % c_out;
      const T* vo = pv + o * f;
      const T* d = pdw + row * f;
      T* out = pdv + row * f;
      const double norm = norms[o];
      const double g_over_norm = static_cast<double>(pg[o]) / norm;
      double dot = 0;
      for (int64_t m = 0; m < f; ++m)
        dot += static_cast<double>(d[m]) * detail::weight_norm_unit(vo[m], norm);
      for (int64_t m = 0; m < f; ++m) {
        const double value = detail::weight_norm_dv(g_over_norm, d[m], dot,
                                                    detail::weight_norm_unit(vo[m], norm));
        out[m] = static_cast<T>(accumulate ? static_cast<double>(out[m]) + value : value);
      }
      pdg[row] = static_cast<T>(accumulate ? static_cast<double>(pdg[row]) + dot : dot);
    }
    return -1;
  });
}

}  // namespace

void weight_norm_forward(const Tensor& v, const Tensor& g, Tensor& w, std::string_view layer) {
  const char* op = "weight_norm_forward";
  check_vg(op, v, g);
  check_defined(op, w, "w");
  check_shape(op, w, v.shape(), "w");
  check_same_device(op, {&v, &w});
  check_same_dtype(op, {&v, &w});
  int64_t bad = -1;
  if (v.device().is_cpu()) {
    bad = forward_cpu(v, g, w);
  } else {
    NAQS_CUDA_BRANCH(op, bad = detail::weight_norm_forward_cuda(v, g, w));
  }
  if (bad >= 0) zero_row(op, layer, bad);
}

void weight_norm_backward(const Tensor& v, const Tensor& g, const Tensor& dw, Tensor& dv,
                          Tensor& dg, bool accumulate, std::string_view layer) {
  const char* op = "weight_norm_backward";
  check_vg(op, v, g);
  check_defined(op, dw, "dw");
  check_defined(op, dv, "dv");
  check_defined(op, dg, "dg");
  const int64_t c_out = v.size(0), f = v.size(1);
  int64_t rows = c_out;
  if (dw.rank() == 3) {
    rows = dw.size(0) * c_out;
    check_shape(op, dw, {dw.size(0), c_out, f}, "dw");
    check_shape(op, dg, {dw.size(0), c_out}, "dg");
  } else {
    check_shape(op, dw, v.shape(), "dw");
    check_shape(op, dg, {c_out}, "dg");
  }
  check_shape(op, dv, dw.shape(), "dv");
  check_same_device(op, {&v, &dw, &dv, &dg});
  check_same_dtype(op, {&v, &dw, &dv, &dg});
  int64_t bad = -1;
  if (v.device().is_cpu()) {
    bad = backward_cpu(v, g, dw, dv, dg, rows, accumulate);
  } else {
    NAQS_CUDA_BRANCH(op, bad = detail::weight_norm_backward_cuda(v, g, dw, dv, dg, rows,
                                                                 accumulate));
  }
  if (bad >= 0) zero_row(op, layer, bad % c_out);
}

}  // namespace naqs::ops
