// The Hilbert space of N spin-1/2 sites, optionally restricted to a fixed total magnetisation
// M = Σ_i σ_i (σ_i = ±1; total Sz = M/2 in spin-½ units, M = 0 is the Sz = 0 sector). The one
// description of "which configurations exist" that every part uses:
//   - the autoregressive models' constraint (AutoregressiveWavefunction::set_hilbert: the
//     conditionals are masked so that only configurations with Σσ = M have weight);
//   - the samplers (vmc::make_sampler: exact sampling through the model's masked conditionals;
//     Metropolis with Sz-conserving exchange moves from initial states with Σσ = M);
//   - the ED basis (ed::make_basis: the Sz sector with n_down = (N − M)/2 spins down).
// Tests: tests/unit/test_hilbert.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace naqs {

class SpinHilbert {
 public:
  // All 2^N configurations.
  static SpinHilbert full(int64_t n_sites);
  // Configurations with Σ_i σ_i = magnetisation. UsageError when N + M is odd or |M| > N.
  static SpinHilbert with_magnetisation(int64_t n_sites, int64_t magnetisation);

  int64_t n_sites() const { return n_sites_; }
  bool constrained() const { return magnetisation_.has_value(); }
  // Σσ of every configuration (Error when not constrained).
  int64_t magnetisation() const;
  // Spins up (σ = +1) and down (σ = −1) of every configuration (Error when not constrained).
  int64_t n_up() const { return (n_sites_ + magnetisation()) / 2; }
  int64_t n_down() const { return n_sites_ - n_up(); }
  // Whether site i may still be up / down after n_up_before up spins among sites < i, so that
  // the configuration can end in the space (always true when not constrained).
  bool up_allowed(int64_t /*i*/, int64_t n_up_before) const {
    return !constrained() || n_up_before < n_up();
  }
  bool down_allowed(int64_t i, int64_t n_up_before) const {
    return !constrained() || i - n_up_before < n_sites_ - n_up();
  }
  // Whether a configuration of n_sites() spins with n_up spins up lies in the space.
  bool contains_n_up(int64_t n_up_count) const {
    return !constrained() || n_up_count == n_up();
  }
  // "16 sites" or "16 sites, sum sigma = 0".
  std::string str() const;
  bool operator==(const SpinHilbert&) const = default;

 private:
  SpinHilbert(int64_t n_sites, std::optional<int64_t> magnetisation)
      : n_sites_(n_sites), magnetisation_(magnetisation) {}
  int64_t n_sites_ = 0;
  std::optional<int64_t> magnetisation_;
};

}  // namespace naqs
