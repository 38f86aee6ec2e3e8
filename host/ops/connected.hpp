// Connected configurations of a batch and the local-energy combination, on the batch's device
// (used by physics/operator/local_energy.cpp). The Hamiltonian is the compiled spin operator
// (host/ops/spin_operator.hpp, built by physics/operator/hamiltonian.hpp) and every per-sample
// value comes from its one primitive (spin_diagonal / for_each_spin_connection), the same one ED's
// rows use.
//
//   connected_count:   sigma (B,N) f32/f64 +-1 -> diagonal (B) f64, counts (B) i32
//   exclusive_scan:    counts (B) i32 -> offsets (B+1) i32, returns offsets[B] (the total M;
//                      on CUDA one 4-byte device-to-host copy)
//   connected_list:    sigma, offsets -> flips (M,3) i32 = (sample, site a, site b or -1),
//                      elements (M) f64; sample b owns rows [offsets[b], offsets[b+1]), in
//                      term order
//   connected_configs: sigma, flips -> configs (M,N) sigma's dtype: row m = sigma[flips[m,0]]
//                      with sites a and b negated
//   local_energy_combine: E_loc(b) = diagonal[b] + sum_m elements[m] exp(conn[m] - base[b]) for
//                      the rows m of b, complex: conn = conn_re + i conn_im, base = base_re +
//                      i base_im (M)/(B) in the model dtype; summed in f64 in row order;
//                      eloc_re, eloc_im (B) in the model dtype.
//   connected_generate: the composition count -> scan -> list (allocates the outputs).
// CPU reference: host/ops/connected.cpp (OpenMP over samples); CUDA twin: cuda/connected.cu (one
// thread per sample, except connected_configs: one thread per output element; the scan is one
// block). Both call the NAQS_HD per-sample functions below. Tests: tests/unit/test_connected.cpp
// (hand-computed connections, equality with the primitive per sample),
// tests/unit/test_spin_operator.cpp (against dense matrices built independently),
// tests/op_cases/connected.cpp (integer outputs, diagonal and configurations exact: the
// same additions of +-coef in the same order; local energies to 1e-13 relative in f64:
// exp/sin/cos differ by about an ulp between libm and CUDA).
#pragma once
#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/spin_operator.hpp"

namespace naqs::ops {

void connected_count(const Tensor& sigma, const SpinOperator& terms, Tensor& diagonal,
                     Tensor& counts);
int64_t exclusive_scan(const Tensor& counts, Tensor& offsets);
void connected_list(const Tensor& sigma, const SpinOperator& terms, const Tensor& offsets,
                    Tensor& flips, Tensor& elements);
void connected_configs(const Tensor& sigma, const Tensor& flips, Tensor& configs);
void local_energy_combine(const Tensor& diagonal, const Tensor& offsets, const Tensor& elements,
                          const Tensor& conn_re, const Tensor& conn_im, const Tensor& base_re,
                          const Tensor& base_im, Tensor& eloc_re, Tensor& eloc_im);

// The connections of a batch on sigma's device (outputs allocated here).
struct ConnectedList {
  Tensor diagonal;  // (B) f64
  Tensor offsets;   // (B+1) i32
  Tensor flips;     // (M,3) i32 (undefined when M = 0)
  Tensor elements;  // (M) f64 (undefined when M = 0)
  int64_t n_connected = 0;  // M
};
void connected_generate(const Tensor& sigma, const SpinOperator& terms, ConnectedList& out);

// ---- per-sample logic shared by the CPU reference and the CUDA kernels ---------------------
// Writes the rows of `sample` starting at flips + 3*offset, elements + offset.
template <class T>
NAQS_HD void connected_list_one(const T* s, const SpinOperatorView& v, int32_t sample,
                                int32_t* flips, double* elements) {
  int32_t m = 0;
  for_each_spin_connection(v, SpinArray<T>{s}, [&](int32_t a, int32_t b, double e) {
    flips[3 * m] = sample;
    flips[3 * m + 1] = a;
    flips[3 * m + 2] = b;
    elements[m] = e;
    ++m;
  });
}

// Element (m, i) of connected_configs.
template <class T>
NAQS_HD T connected_config_at(const T* sigma, int64_t n_sites, const int32_t* flip_row, int64_t i) {
  const T x = sigma[static_cast<int64_t>(flip_row[0]) * n_sites + i];
  return (i == flip_row[1] || i == flip_row[2]) ? -x : x;
}

// E_loc of one sample over its rows [begin, end).
template <class T>
NAQS_HD void local_energy_one(double diagonal, int32_t begin, int32_t end, const double* elements,
                              const T* conn_re, const T* conn_im, double base_re, double base_im,
                              double& eloc_re, double& eloc_im) {
  double sum_re = diagonal, sum_im = 0;
  for (int32_t m = begin; m < end; ++m) {
    const double ratio = ::exp(static_cast<double>(conn_re[m]) - base_re);
    const double phase = static_cast<double>(conn_im[m]) - base_im;
    sum_re += elements[m] * ratio * ::cos(phase);
    sum_im += elements[m] * ratio * ::sin(phase);
  }
  eloc_re = sum_re;
  eloc_im = sum_im;
}

namespace detail {
void connected_count_cuda(const void* sigma, DType dtype, int64_t batch, int64_t n_sites,
                          const SpinOperatorView& terms, double* diagonal, int32_t* counts);
int64_t exclusive_scan_cuda(const int32_t* counts, int64_t n, int32_t* offsets);
void connected_list_cuda(const void* sigma, DType dtype, int64_t batch, int64_t n_sites,
                         const SpinOperatorView& terms, const int32_t* offsets, int32_t* flips,
                         double* elements);
void connected_configs_cuda(const void* sigma, DType dtype, int64_t n_sites, const int32_t* flips,
                            int64_t n_connected, void* configs);
void local_energy_combine_cuda(DType dtype, int64_t batch, const double* diagonal,
                               const int32_t* offsets, const double* elements, const void* conn_re,
                               const void* conn_im, const void* base_re, const void* base_im,
                               void* eloc_re, void* eloc_im);
}  // namespace detail

}  // namespace naqs::ops
