// Local energies through the shared connected-states primitive (see local_energy.hpp).
#include "physics/operator/local_energy.hpp"

#include <algorithm>

namespace naqs {

int64_t local_energy_group_size(const Wavefunction& psi,
                                const Hamiltonian& hamiltonian,
                                const LocalEnergyOptions& options) {
  const std::size_t n = static_cast<std::size_t>(psi.n_sites());
  const std::size_t t_size = dtype_size(psi.dtype());
  // One connected configuration: the configuration, its flips row (3 i32), element (f64),
  // log psi (2 values) and the model's activations.
  const std::size_t bytes_per_config =
      psi.forward_bytes_per_sample() + n * t_size + 3 * sizeof(int32_t) + sizeof(double) +
      2 * t_size;
  const std::size_t per_sample =
      static_cast<std::size_t>(std::max(1, hamiltonian.max_connected())) * bytes_per_config;
  return std::max<int64_t>(1, static_cast<int64_t>(options.memory_cap_bytes / per_sample));
}

void local_energy(Wavefunction& psi, const Hamiltonian& hamiltonian,
                  const Tensor& sigma, const Tensor& log_re, const Tensor& log_im,
                  Tensor& eloc_re, Tensor& eloc_im, const LocalEnergyOptions& options) {
  const char* op = "local_energy";
  const int64_t n = psi.n_sites();
  NAQS_REQUIRE(hamiltonian.n_sites() == n, op, ": Hamiltonian on ", hamiltonian.n_sites(),
               " sites, wavefunction on ", n);
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0);
  check_shape(op, sigma, {batch, n}, "sigma");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&log_re, &log_im, &eloc_re, &eloc_im})
    check_shape(op, *t, {batch}, "log psi / eloc");

  const ops::SpinOperator terms = hamiltonian.op().to(psi.device());
  const int64_t group = local_energy_group_size(psi, hamiltonian, options);
  ops::ConnectedList connections;
  Tensor configs, conn_re, conn_im;
  for (int64_t g0 = 0; g0 < batch; g0 += group) {
    const int64_t n_group = std::min(group, batch - g0);
    const Tensor sigma_g = sigma.narrow(g0, n_group);
    ops::connected_generate(sigma_g, terms, connections);
    const int64_t n_conn = connections.n_connected;
    if (n_conn > 0) {
      ensure_tensor(configs, {n_conn, n}, psi.dtype(), psi.device());
      ensure_tensor(conn_re, {n_conn}, psi.dtype(), psi.device());
      ensure_tensor(conn_im, {n_conn}, psi.dtype(), psi.device());
      ops::connected_configs(sigma_g, connections.flips, configs);
      psi.log_psi(configs, conn_re, conn_im);
    }
    Tensor er = eloc_re.narrow(g0, n_group), ei = eloc_im.narrow(g0, n_group);
    ops::local_energy_combine(connections.diagonal, connections.offsets, connections.elements,
                              conn_re, conn_im, log_re.narrow(g0, n_group),
                              log_im.narrow(g0, n_group), er, ei);
  }
}

}  // namespace naqs
