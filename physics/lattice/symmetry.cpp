// Lattice symmetry groups by closure of generators (see symmetry.hpp).
#include "physics/lattice/symmetry.hpp"

#include <functional>
#include <map>
#include <numeric>
#include <utility>

#include "host/core/error.hpp"

namespace naqs {

namespace {

SymmetryElement compose(const SymmetryElement& g, const SymmetryElement& h) {
  SymmetryElement gh;
  gh.perm.resize(g.perm.size());
  for (std::size_t i = 0; i < g.perm.size(); ++i)
    gh.perm[i] = h.perm[static_cast<std::size_t>(g.perm[i])];
  gh.flip = g.flip != h.flip;
  return gh;
}

// The permutation of a map of lattice coordinates (x, y) -> (x', y'): perm[site(x,y)] =
// site(x',y').
SymmetryElement from_site_map(const Lattice& l,
                              const std::function<std::pair<int, int>(int, int)>& map) {
  SymmetryElement e;
  e.perm.resize(static_cast<std::size_t>(l.n_sites()));
  for (int i = 0; i < l.n_sites(); ++i) {
    const auto [x, y] = map(l.x_of(i), l.y_of(i));
    e.perm[static_cast<std::size_t>(i)] = l.site_of(x, y);
  }
  return e;
}

}  // namespace

SymmetryGroup SymmetryGroup::trivial(int64_t n_sites) { return generate(n_sites, {}); }

SymmetryGroup SymmetryGroup::generate(int64_t n_sites,
                                      const std::vector<SymmetryElement>& generators) {
  NAQS_REQUIRE(n_sites >= 1, "symmetry group: n_sites must be >= 1, got ", n_sites);
  for (const SymmetryElement& g : generators) {
    NAQS_REQUIRE(static_cast<int64_t>(g.perm.size()) == n_sites, "symmetry group: generator with ",
                 g.perm.size(), " sites for ", n_sites, " sites");
    std::vector<bool> seen(static_cast<std::size_t>(n_sites), false);
    for (int32_t p : g.perm) {
      NAQS_REQUIRE(p >= 0 && p < n_sites && !seen[static_cast<std::size_t>(p)],
                   "symmetry group: generator is not a permutation of the sites");
      seen[static_cast<std::size_t>(p)] = true;
    }
  }
  SymmetryGroup group;
  group.n_sites_ = n_sites;
  SymmetryElement identity;
  identity.perm.resize(static_cast<std::size_t>(n_sites));
  std::iota(identity.perm.begin(), identity.perm.end(), 0);
  std::map<std::pair<std::vector<int32_t>, bool>, bool> known;
  known[{identity.perm, false}] = true;
  group.elements_.push_back(identity);
  // Breadth-first closure: multiply every element found by every generator (a finite group is
  // closed under products with generators alone).
  for (std::size_t k = 0; k < group.elements_.size(); ++k)
    for (const SymmetryElement& gen : generators) {
      SymmetryElement next = compose(group.elements_[k], gen);
      if (known.emplace(std::make_pair(next.perm, next.flip), true).second)
        group.elements_.push_back(std::move(next));
    }
  return group;
}

SymmetryGroup SymmetryGroup::of_lattice(const Lattice& l, bool translations, bool point_group,
                                        bool spin_flip) {
  const int lx = l.length_x(), ly = l.length_y();
  std::vector<SymmetryElement> gens;
  if (translations && l.periodic_x())
    gens.push_back(from_site_map(l, [&](int x, int y) { return std::pair((x + 1) % lx, y); }));
  if (translations && l.periodic_y() && ly > 1)
    gens.push_back(from_site_map(l, [&](int x, int y) { return std::pair(x, (y + 1) % ly); }));
  if (point_group) {
    gens.push_back(from_site_map(l, [&](int x, int y) { return std::pair(lx - 1 - x, y); }));
    if (l.kind() == LatticeKind::square) {
      gens.push_back(from_site_map(l, [&](int x, int y) { return std::pair(x, ly - 1 - y); }));
      if (lx == ly && l.periodic_x() == l.periodic_y())
        gens.push_back(from_site_map(l, [](int x, int y) { return std::pair(y, x); }));
    }
  }
  if (spin_flip) {
    SymmetryElement f;
    f.perm.resize(static_cast<std::size_t>(l.n_sites()));
    std::iota(f.perm.begin(), f.perm.end(), 0);
    f.flip = true;
    gens.push_back(std::move(f));
  }
  return generate(l.n_sites(), gens);
}

bool SymmetryGroup::has_flip() const {
  for (const SymmetryElement& e : elements_)
    if (e.flip) return true;
  return false;
}

void SymmetryGroup::apply(int64_t g, const double* sigma, double* out, int64_t batch) const {
  NAQS_CHECK(g >= 0 && g < size(), "SymmetryGroup::apply: element ", g, " of ", size());
  const SymmetryElement& e = element(g);
  const double f = e.flip ? -1.0 : 1.0;
  const int64_t n = n_sites_;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i) out[b * n + i] = f * sigma[b * n + e.perm[static_cast<std::size_t>(i)]];
}

}  // namespace naqs
