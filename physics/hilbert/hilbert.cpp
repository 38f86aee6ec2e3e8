// The spin-1/2 Hilbert space with an optional magnetisation (see hilbert.hpp).
#include "physics/hilbert/hilbert.hpp"

#include "host/core/error.hpp"

namespace naqs {

SpinHilbert SpinHilbert::full(int64_t n_sites) {
  NAQS_REQUIRE(n_sites > 0, "a spin Hilbert space needs at least one site, got ", n_sites);
  return SpinHilbert(n_sites, std::nullopt);
}

SpinHilbert SpinHilbert::with_magnetisation(int64_t n_sites, int64_t magnetisation) {
  NAQS_REQUIRE(n_sites > 0, "magnetisation constraint: n_sites must be positive, got ", n_sites);
  NAQS_REQUIRE((n_sites + magnetisation) % 2 == 0 && magnetisation <= n_sites &&
                   magnetisation >= -n_sites,
               "magnetisation constraint: sum of spins ", magnetisation,
               " is impossible on ", n_sites, " sites (needs the parity of N and |M| <= N)");
  return SpinHilbert(n_sites, magnetisation);
}

int64_t SpinHilbert::magnetisation() const {
  NAQS_CHECK(magnetisation_.has_value(), "SpinHilbert: ", str(), " has no fixed magnetisation");
  return *magnetisation_;
}

std::string SpinHilbert::str() const {
  return magnetisation_ ? cat(n_sites_, " sites, sum sigma = ", *magnetisation_)
                        : cat(n_sites_, " sites");
}

}  // namespace naqs
