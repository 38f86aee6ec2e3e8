// The TFIM and Heisenberg/XXZ models compiled into the spin operator (see hamiltonian.hpp;
// tests: tests/unit/test_hamiltonian.cpp, tests/unit/test_spin_operator.cpp).
#include "physics/operator/hamiltonian.hpp"

#include <cmath>

#include "host/core/error.hpp"

namespace naqs {

Model parse_model(const std::string& name) {
  if (name == "tfim") return Model::tfim;
  if (name == "heisenberg") return Model::heisenberg;
  throw UsageError(cat("unknown model '", name, "': use tfim or heisenberg"));
}

const char* model_name(Model m) { return m == Model::tfim ? "tfim" : "heisenberg"; }

Hamiltonian::Hamiltonian(const Lattice& lattice, const ModelParams& p)
    : lattice_(lattice), params_(p) {
  for (auto [name, v] : {std::pair{"J", p.J}, {"h", p.h}, {"hz", p.hz}, {"Delta", p.Delta}})
    NAQS_REQUIRE(std::isfinite(v), "parameter ", name, " = ", v, " is not a finite number");
  // Rows by kind (zz, z, flip, exchange), each kind in bond (or site) order.
  std::vector<int32_t> zz_sites, z_sites, flip_sites, exch_sites;
  std::vector<double> zz_coef, z_coef, flip_coef, exch_coef;
  auto row = [](std::vector<int32_t>& sites, std::vector<double>& coef, int i, int j, double c) {
    sites.insert(sites.end(), {static_cast<int32_t>(i), static_cast<int32_t>(j)});
    coef.push_back(c);
  };
  if (p.model == Model::tfim) {
    NAQS_REQUIRE(!p.marshall, "the Marshall sign rule applies to the Heisenberg model only");
    for (auto [i, j] : lattice.bonds())
      if (p.J != 0) row(zz_sites, zz_coef, i, j, -p.J);
    for (int i = 0; i < lattice.n_sites(); ++i) {
      if (p.hz != 0) row(z_sites, z_coef, i, -1, -p.hz);
      if (p.h != 0) row(flip_sites, flip_coef, i, -1, -p.h);
    }
  } else {
    NAQS_REQUIRE(p.hz == 0 && p.h == 0,
                 "the Heisenberg model takes no fields (h, hz); use --hamiltonian tfim for fields");
    NAQS_REQUIRE(!p.marshall || lattice.is_bipartite(), "the Marshall sign rule needs a "
                 "bipartite lattice, and ", lattice.str(), " is not (a periodic direction of odd "
                 "length); drop --marshall or use an even length");
    const double off = p.marshall ? -2 * p.J : 2 * p.J;
    for (auto [i, j] : lattice.bonds()) {
      if (p.J * p.Delta != 0) row(zz_sites, zz_coef, i, j, p.J * p.Delta);
      if (p.J != 0) row(exch_sites, exch_coef, i, j, off);
    }
  }
  std::vector<int32_t> sites;
  std::vector<double> coef;
  for (auto* part : {&zz_sites, &z_sites, &flip_sites, &exch_sites})
    sites.insert(sites.end(), part->begin(), part->end());
  for (auto* part : {&zz_coef, &z_coef, &flip_coef, &exch_coef})
    coef.insert(coef.end(), part->begin(), part->end());
  auto count = [](const std::vector<double>& c) { return static_cast<int32_t>(c.size()); };
  op_ = ops::make_spin_operator(lattice.n_sites(), count(zz_coef), count(z_coef),
                                count(flip_coef), count(exch_coef), sites, coef);
  view_ = op_.view("Hamiltonian");
}

std::string Hamiltonian::str() const {
  if (params_.model == Model::tfim)
    return cat("tfim J=", params_.J, " h=", params_.h, " hz=", params_.hz, " on ",
               lattice_.str());
  return cat("heisenberg J=", params_.J, " Delta=", params_.Delta,
             params_.marshall ? " marshall" : "", " on ", lattice_.str());
}

}  // namespace naqs
