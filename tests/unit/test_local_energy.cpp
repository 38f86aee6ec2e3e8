// Local energies (physics/local_energy.*) against <sigma|H|psi>/psi(sigma) with H applied as the
// dense matrix of the packed (ED) form of the same Hamiltonian description and psi the full
// wavefunction vector from enumeration. Every model, boundary and sign option; float64, 1e-10.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <complex>

#include "physics/operator/local_energy.hpp"
#include "tests/unit/test_naqs1d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

NaqsConv1dConfig energy_config(int64_t n, PhaseMode mode) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 3;
  c.depth = 1;
  c.kernel = 3;
  c.phase_mode = mode;
  return c;
}

// E_loc of every configuration k (bit i set = site i is -1) from (H psi)(k) / psi(k), with
// (H psi)(k) = sum_k' H_kk' psi(k') through the spin operator's primitive on packed states
// (the form ED's rows use; the primitive itself is checked against dense Pauli matrices in
// tests/unit/test_spin_operator.cpp).
std::vector<std::complex<double>> reference_local_energies(const Hamiltonian& h,
                                                           const std::vector<double>& lr,
                                                           const std::vector<double>& li) {
  const std::size_t n_states = lr.size();
  std::vector<std::complex<double>> psi(n_states), eloc(n_states);
  for (std::size_t k = 0; k < n_states; ++k) psi[k] = std::exp(std::complex<double>(lr[k], li[k]));
  for (std::size_t k = 0; k < n_states; ++k) {
    const ops::PackedSpins s{static_cast<uint64_t>(k)};
    std::complex<double> h_psi = 0;
    const double diagonal = h.connections(
        s, [&](int i, int j, double element) { h_psi += element * psi[s.flipped(i, j)]; });
    h_psi = diagonal * psi[k] + h_psi;
    eloc[k] = h_psi / psi[k];
  }
  return eloc;
}

struct Case {
  ModelParams params;
  bool periodic;
  const char* label;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (bool periodic : {true, false}) {
    ModelParams tfim;
    tfim.model = Model::tfim;
    tfim.J = 1.0;
    tfim.h = 0.7;
    tfim.hz = 0.3;
    cases.push_back({tfim, periodic, "tfim"});
    ModelParams heis;
    heis.model = Model::heisenberg;
    heis.J = 1.0;
    heis.h = 0.0;
    heis.Delta = 1.0;
    cases.push_back({heis, periodic, "heisenberg"});
    heis.marshall = true;
    cases.push_back({heis, periodic, "heisenberg marshall"});
    heis.Delta = 0.5;
    heis.marshall = false;
    cases.push_back({heis, periodic, "xxz"});
    heis.marshall = true;
    cases.push_back({heis, periodic, "xxz marshall"});
  }
  return cases;
}

// Compares local_energy on every configuration (or every configuration in the model's
// constrained sector) with the dense reference.
void check_case(NaqsConv1d& model, const Hamiltonian& h, const LocalEnergyOptions& options) {
  const int64_t n = model.n_sites(), n_states = int64_t{1} << n;
  Tensor all = all_configurations(n, DType::f64);
  Tensor lr = Tensor::empty({n_states}, DType::f64), li = lr.clone();
  model.log_psi(all, lr, li);
  const std::vector<double> lr_h = to_host_f64(lr), li_h = to_host_f64(li);
  std::vector<int64_t> keep;
  for (int64_t k = 0; k < n_states; ++k)
    if (model.hilbert().contains_n_up(n - std::popcount(static_cast<uint64_t>(k))))
      keep.push_back(k);
  const int64_t batch = static_cast<int64_t>(keep.size());
  std::vector<double> sigma_h, br, bi;
  const std::vector<double> all_h = to_host_f64(all);
  for (int64_t k : keep) {
    sigma_h.insert(sigma_h.end(), all_h.begin() + k * n, all_h.begin() + (k + 1) * n);
    br.push_back(lr_h[k]);
    bi.push_back(li_h[k]);
  }
  Tensor sigma = Tensor::from_vector(sigma_h, {batch, n});
  Tensor base_re = Tensor::from_vector(br, {batch}), base_im = Tensor::from_vector(bi, {batch});
  Tensor e_re = Tensor::empty({batch}, DType::f64), e_im = e_re.clone();
  local_energy(model, h, sigma, base_re, base_im, e_re, e_im, options);
  const auto ref = reference_local_energies(h, lr_h, li_h);
  std::vector<double> ref_re, ref_im;
  for (int64_t k : keep) {
    ref_re.push_back(ref[k].real());
    ref_im.push_back(ref[k].imag());
  }
  // Both sides sum the same O(N) terms in double in a different order: 1e-10 is far above
  // rounding (~1e-14) and far below any wrong element or ratio.
  EXPECT_TRUE(all_close(e_re, Tensor::from_vector(ref_re, {batch}), 1e-10, 1e-10));
  EXPECT_TRUE(all_close(e_im, Tensor::from_vector(ref_im, {batch}), 1e-10, 1e-10));
}

}  // namespace

TEST(LocalEnergy, MatchesDenseHamiltonianEveryOption) {
  const int n = 6;
  int seed = 300;
  for (const Case& c : all_cases())
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex}) {
      SCOPED_TRACE(::testing::Message() << c.label << (c.periodic ? " pbc " : " obc ")
                                        << phase_mode_name(mode));
      NaqsConv1d model = random_model(energy_config(n, mode), DType::f64, seed++, 1.0);
      Hamiltonian h(Lattice::chain(n, c.periodic), c.params);
      check_case(model, h, {});
    }
}

TEST(LocalEnergy, ConstrainedHeisenbergSector) {
  const int n = 8;
  ModelParams heis;
  heis.model = Model::heisenberg;
  heis.h = 0.0;
  heis.marshall = true;
  NaqsConv1d model = random_model(energy_config(n, PhaseMode::complex), DType::f64, 320, 1.0);
  model.set_hilbert(SpinHilbert::with_magnetisation(n, 0));
  check_case(model, Hamiltonian(Lattice::chain(n, true), heis), {});
}

TEST(LocalEnergy, IndependentOfMemoryCap) {
  const int n = 7;
  ModelParams tfim;
  tfim.h = 1.3;
  NaqsConv1d model = random_model(energy_config(n, PhaseMode::complex), DType::f64, 330, 1.0);
  Hamiltonian h(Lattice::chain(n, true), tfim);
  LocalEnergyOptions tiny;
  tiny.memory_cap_bytes = 1;  // one sample per forward group
  EXPECT_EQ(local_energy_group_size(model, h, tiny), 1);
  EXPECT_GT(local_energy_group_size(model, h, {}), 1000);
  check_case(model, h, tiny);
}
