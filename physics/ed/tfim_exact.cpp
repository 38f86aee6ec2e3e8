// Closed-form periodic TFIM chain (see tfim_exact.hpp).
#include "physics/ed/tfim_exact.hpp"

#include <cmath>
#include <numbers>

#include "host/core/error.hpp"

namespace naqs {

namespace {
double momentum(int n, int n_sites) { return (2 * n + 1) * std::numbers::pi / n_sites; }
}  // namespace

double tfim_chain_energy(int n_sites, double J, double h) {
  NAQS_CHECK(n_sites >= 2, "tfim_chain_energy: n_sites = ", n_sites);
  double e = 0;
  for (int n = 0; n < n_sites; ++n)
    e -= std::sqrt(J * J + h * h - 2 * J * h * std::cos(momentum(n, n_sites)));
  return e;
}

double tfim_chain_x_mean(int n_sites, double J, double h) {
  NAQS_CHECK(n_sites >= 2, "tfim_chain_x_mean: n_sites = ", n_sites);
  double s = 0;
  for (int n = 0; n < n_sites; ++n) {
    const double c = std::cos(momentum(n, n_sites));
    s += (h - J * c) / std::sqrt(J * J + h * h - 2 * J * h * c);
  }
  return s / n_sites;
}

bool tfim_closed_form_applies(bool is_chain, bool periodic, int n_sites, double J, double hz) {
  return is_chain && periodic && n_sites >= 4 && n_sites % 2 == 0 && J > 0 && hz == 0;
}

}  // namespace naqs
