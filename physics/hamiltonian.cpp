// Term lists of the TFIM and Heisenberg/XXZ models and their packed bit-mask form
// (see hamiltonian.hpp; tests: tests/unit/test_hamiltonian.cpp).
#include "physics/hamiltonian.hpp"

#include <cmath>

#include "host/core/error.hpp"

namespace naqs {

Model parse_model(const std::string& name) {
  if (name == "tfim") return Model::tfim;
  if (name == "heisenberg") return Model::heisenberg;
  throw UsageError(cat("unknown model '", name, "': use tfim or heisenberg"));
}

const char* model_name(Model m) { return m == Model::tfim ? "tfim" : "heisenberg"; }

namespace {

// Groups terms with the same (shift, coef) into one mask; site i is the lower site.
void add_to_group(std::vector<BitGroup>& groups, int i, int shift, double coef) {
  for (BitGroup& g : groups)
    if (g.shift == shift && g.coef == coef) {
      g.mask |= uint64_t{1} << i;
      return;
    }
  groups.push_back(BitGroup{uint64_t{1} << i, shift, coef});
}

}  // namespace

Hamiltonian::Hamiltonian(const Lattice& lattice, const ModelParams& p)
    : lattice_(lattice), params_(p) {
  for (auto [name, v] : {std::pair{"J", p.J}, {"h", p.h}, {"hz", p.hz}, {"Delta", p.Delta}})
    NAQS_REQUIRE(std::isfinite(v), "parameter ", name, " = ", v, " is not a finite number");
  if (p.model == Model::tfim) {
    NAQS_REQUIRE(!p.marshall, "the Marshall sign rule applies to the Heisenberg model only");
    for (auto [i, j] : lattice.bonds())
      if (p.J != 0) zz_.push_back({i, j, -p.J});
    for (int i = 0; i < lattice.n_sites(); ++i) {
      if (p.hz != 0) z_.push_back({i, -p.hz});
      if (p.h != 0) flip_.push_back({i, -p.h});
    }
  } else {
    NAQS_REQUIRE(p.hz == 0 && p.h == 0,
                 "the Heisenberg model takes no fields (h, hz); use --model tfim for fields");
    NAQS_REQUIRE(!p.marshall || lattice.is_bipartite(), "the Marshall sign rule needs a "
                 "bipartite lattice, and ", lattice.str(), " is not (a periodic direction of odd "
                 "length); drop --marshall or use an even length");
    const double off = p.marshall ? -2 * p.J : 2 * p.J;
    for (auto [i, j] : lattice.bonds()) {
      if (p.J * p.Delta != 0) zz_.push_back({i, j, p.J * p.Delta});
      if (p.J != 0) exchange_.push_back({i, j, off});
    }
  }
  if (lattice.n_sites() <= 64) {
    packed_.n_sites = lattice.n_sites();
    for (const PairTerm& t : zz_) {
      add_to_group(packed_.zz, t.i, t.j - t.i, t.coef);
      packed_.diag_const += t.coef;
    }
    for (const SiteTerm& t : z_) {
      add_to_group(packed_.z, t.i, 0, t.coef);
      packed_.diag_const += t.coef;
    }
    for (const SiteTerm& t : flip_) add_to_group(packed_.flip, t.i, 0, t.coef);
    for (const PairTerm& t : exchange_) add_to_group(packed_.exchange, t.i, t.j - t.i, t.coef);
    have_packed_ = true;
  }
}

const PackedTerms& Hamiltonian::packed() const {
  NAQS_CHECK(have_packed_, "packed (uint64) spin configurations need N <= 64 sites, and ",
             lattice_.str(), " has ", n_sites());
  return packed_;
}

double Hamiltonian::diagonal(const int8_t* spins) const {
  double d = 0;
  for (const PairTerm& t : zz_) d += t.coef * spins[t.i] * spins[t.j];
  for (const SiteTerm& t : z_) d += t.coef * spins[t.i];
  return d;
}

double Hamiltonian::connected(const int8_t* spins, std::vector<Connection>& out) const {
  out.clear();
  for_each_connected(spins, [&](int a, int b, double e) { out.push_back({a, b, e}); });
  return diagonal(spins);
}

std::string Hamiltonian::str() const {
  if (params_.model == Model::tfim)
    return cat("tfim J=", params_.J, " h=", params_.h, " hz=", params_.hz, " on ",
               lattice_.str());
  return cat("heisenberg J=", params_.J, " Delta=", params_.Delta,
             params_.marshall ? " marshall" : "", " on ", lattice_.str());
}

}  // namespace naqs
