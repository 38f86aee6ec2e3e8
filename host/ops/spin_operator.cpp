// The compiled spin operator's storage (see spin_operator.hpp).
#include "host/ops/spin_operator.hpp"

#include <cstring>

#include "host/core/error.hpp"

namespace naqs::ops {

namespace {

// Adds row (i, i + shift, coef) to the group with the same shift and coefficient, or opens one
// (groups in order of first appearance).
void add_to_group(std::vector<SpinBitGroup>& groups, int32_t i, int32_t shift, double coef) {
  for (SpinBitGroup& g : groups)
    if (g.shift == shift && g.coef == coef) {
      g.mask |= uint64_t{1} << i;
      return;
    }
  groups.push_back(SpinBitGroup{uint64_t{1} << i, shift, coef});
}

}  // namespace

SpinOperator SpinOperator::to(Device device) const {
  SpinOperator out = *this;
  if (sites.defined()) out.sites = sites.to(device);
  if (coef.defined()) out.coef = coef.to(device);
  if (groups.defined()) out.groups = groups.to(device);
  return out;
}

SpinOperatorView SpinOperator::view(const char* op) const {
  NAQS_CHECK(n_zz >= 0 && n_z >= 0 && n_flip >= 0 && n_exch >= 0, op, ": negative term counts");
  if (n_terms() == 0) return {nullptr, nullptr, 0, 0, 0, 0, nullptr, 0, 0, 0, 0, 0.0};
  check_shape(op, sites, Shape{n_terms(), 2}, "operator sites");
  check_shape(op, coef, Shape{n_terms()}, "operator coef");
  check_dtype(op, sites, DType::i32, "operator sites");
  check_dtype(op, coef, DType::f64, "operator coef");
  check_same_device(op, {&sites, &coef});
  SpinOperatorView v{sites.data<int32_t>(), coef.data<double>(), n_zz, n_z, n_flip, n_exch,
                     nullptr, 0, 0, 0, 0, diag_const};
  if (groups.defined()) {
    check_shape(op, groups, Shape{n_groups() * static_cast<int64_t>(sizeof(SpinBitGroup))},
                "operator groups");
    check_dtype(op, groups, DType::u8, "operator groups");
    check_same_device(op, {&sites, &groups});
    v.groups = static_cast<const SpinBitGroup*>(groups.raw_data());
    v.g_zz = g_zz;
    v.g_z = g_z;
    v.g_flip = g_flip;
    v.g_exch = g_exch;
  }
  return v;
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
  if (n_terms == 0) return out;
  out.sites = Tensor::from_vector(sites, {n_terms, 2});
  out.coef = Tensor::from_vector(coef, {n_terms});
  if (n_sites > 64) return out;
  // The grouped form: the same rows, kind by kind; diag_const sums the diagonal rows in order.
  std::vector<SpinBitGroup> zz, z, flip, exch;
  for (int64_t k = 0; k < n_terms; ++k) {
    const int32_t i = sites[2 * k], j = sites[2 * k + 1];
    if (k < n_zz) {
      add_to_group(zz, i, j - i, coef[k]);
      out.diag_const += coef[k];
    } else if (k < n_zz + n_z) {
      add_to_group(z, i, 0, coef[k]);
      out.diag_const += coef[k];
    } else if (k < n_zz + n_z + n_flip) {
      add_to_group(flip, i, 0, coef[k]);
    } else {
      add_to_group(exch, i, j - i, coef[k]);
    }
  }
  out.g_zz = static_cast<int32_t>(zz.size());
  out.g_z = static_cast<int32_t>(z.size());
  out.g_flip = static_cast<int32_t>(flip.size());
  out.g_exch = static_cast<int32_t>(exch.size());
  std::vector<SpinBitGroup> all;
  for (auto* part : {&zz, &z, &flip, &exch}) all.insert(all.end(), part->begin(), part->end());
  std::vector<uint8_t> bytes(all.size() * sizeof(SpinBitGroup));
  std::memcpy(bytes.data(), all.data(), bytes.size());
  out.groups = Tensor::from_vector(bytes, {static_cast<int64_t>(bytes.size())});
  return out;
}

}  // namespace naqs::ops
