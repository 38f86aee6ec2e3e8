// Closed form of the periodic transverse-field Ising chain (DESIGN.md §1), Pauli units:
//   H = −J Σ_i Z_i Z_{i+1} − h Σ_i X_i, N sites, periodic.
// Jordan–Wigner: the ground state lies in the even-parity sector, whose fermions take the
// antiperiodic momenta k = (2n+1)π/N, n = 0..N−1, so
//   E0 = −Σ_k ε_k,  ε_k = sqrt(J² + h² − 2Jh cos k),
//   <X> = −(1/N) dE0/dh = (1/N) Σ_k (h − J cos k) / ε_k     (Hellmann–Feynman).
// Valid for N >= 2 even and J > 0 (the ferromagnet; for odd N the ground state is also even but
// the tests and the CLI use the formula only for even N). At h = J: E0 = −2J / sin(π/2N).
// Tests: tests/unit/test_tfim_exact.cpp (h = J identity, small-N dense ED) and test_ed.cpp.
#pragma once

namespace naqs {

double tfim_chain_energy(int n_sites, double J, double h);
double tfim_chain_x_mean(int n_sites, double J, double h);
// Whether the closed form applies to a TFIM on a lattice: periodic chain, even N >= 4, J > 0,
// hz = 0.
bool tfim_closed_form_applies(bool is_chain, bool periodic, int n_sites, double J, double hz);

}  // namespace naqs
