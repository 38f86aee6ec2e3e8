// The compiled spin operator's storage (see spin_operator.hpp).
#include "host/ops/spin_operator.hpp"

#include "host/core/error.hpp"

namespace naqs::ops {

SpinOperator SpinOperator::to(Device device) const {
  SpinOperator out = *this;
  if (sites.defined()) out.sites = sites.to(device);
  if (coef.defined()) out.coef = coef.to(device);
  return out;
}

SpinOperatorView SpinOperator::view(const char* op) const {
  NAQS_CHECK(n_zz >= 0 && n_z >= 0 && n_flip >= 0 && n_exch >= 0, op, ": negative term counts");
  if (n_terms() == 0) return {nullptr, nullptr, 0, 0, 0, 0};
  check_shape(op, sites, Shape{n_terms(), 2}, "operator sites");
  check_shape(op, coef, Shape{n_terms()}, "operator coef");
  check_dtype(op, sites, DType::i32, "operator sites");
  check_dtype(op, coef, DType::f64, "operator coef");
  check_same_device(op, {&sites, &coef});
  return {sites.data<int32_t>(), coef.data<double>(), n_zz, n_z, n_flip, n_exch};
}

SpinOperator make_spin_operator(int32_t n_sites, int32_t n_zz, int32_t n_z, int32_t n_flip,
                                int32_t n_exch, const std::vector<int32_t>& sites,
                                const std::vector<double>& coef) {
  SpinOperator out;
  out.n_sites = n_sites;
  out.n_zz = n_zz;
  out.n_z = n_z;
  out.n_flip = n_flip;
  out.n_exch = n_exch;
  const int64_t n_terms = out.n_terms();
  NAQS_CHECK(static_cast<int64_t>(coef.size()) == n_terms &&
                 static_cast<int64_t>(sites.size()) == 2 * n_terms,
             "make_spin_operator: ", coef.size(), " coefficients and ", sites.size(),
             " site entries for ", n_terms, " terms");
  for (int64_t k = 0; k < n_terms; ++k) {
    const int32_t i = sites[2 * k], j = sites[2 * k + 1];
    const bool pair = k < n_zz || k >= n_zz + n_z + n_flip;
    NAQS_CHECK(i >= 0 && i < n_sites && (pair ? (j >= 0 && j < n_sites && j != i) : j == -1),
               "make_spin_operator: term ", k, " has sites (", i, ", ", j, ") on ", n_sites,
               " sites");
  }
  if (n_terms > 0) {
    out.sites = Tensor::from_vector(sites, {n_terms, 2});
    out.coef = Tensor::from_vector(coef, {n_terms});
  }
  return out;
}

}  // namespace naqs::ops
