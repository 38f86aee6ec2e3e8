// Local energies through the shared connected-states primitive (see local_energy.hpp).
#include "physics/local_energy.hpp"

#include <algorithm>
#include <cmath>

namespace naqs {

int64_t local_energy_group_size(const Wavefunction& psi,
                                const Hamiltonian& hamiltonian,
                                const LocalEnergyOptions& options) {
  const std::size_t n = static_cast<std::size_t>(psi.n_sites());
  // One connected configuration: host int8 copy, host f64 staging, device copy, activations.
  const std::size_t bytes_per_config =
      psi.forward_bytes_per_sample() + n * (1 + sizeof(double) + dtype_size(psi.dtype()));
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

  const std::vector<double> sigma_host = to_host_f64(sigma);
  std::vector<int8_t> spins(sigma_host.size());
  for (std::size_t i = 0; i < spins.size(); ++i) spins[i] = sigma_host[i] > 0 ? 1 : -1;
  const std::vector<double> base_re = to_host_f64(log_re), base_im = to_host_f64(log_im);
  std::vector<double> e_re(static_cast<std::size_t>(batch)), e_im(static_cast<std::size_t>(batch));

  const int64_t group = local_energy_group_size(psi, hamiltonian, options);
  ConnectedBatch cb;
  for (int64_t g0 = 0; g0 < batch; g0 += group) {
    const int64_t n_group = std::min(group, batch - g0);
    connected_batch_cpu(hamiltonian, spins.data() + g0 * n, n_group, cb);
    const int64_t n_conn = cb.offsets.back();
    std::vector<double> conn_re, conn_im;
    if (n_conn > 0) {
      std::vector<double> configs(cb.configs.begin(), cb.configs.end());
      Tensor sigma_conn = from_host_f64(configs, {n_conn, n}, psi.dtype(), psi.device());
      Tensor lr = Tensor::empty({n_conn}, psi.dtype(), psi.device());
      Tensor li = Tensor::empty({n_conn}, psi.dtype(), psi.device());
      psi.log_psi(sigma_conn, lr, li);
      conn_re = to_host_f64(lr);
      conn_im = to_host_f64(li);
    }
    for (int64_t b = 0; b < n_group; ++b) {
      const int64_t gb = g0 + b;
      double sum_re = cb.diagonal[b], sum_im = 0;
      for (int64_t m = cb.offsets[b]; m < cb.offsets[b + 1]; ++m) {
        const double ratio = std::exp(conn_re[m] - base_re[gb]);
        const double phase = conn_im[m] - base_im[gb];
        sum_re += cb.elements[m] * ratio * std::cos(phase);
        sum_im += cb.elements[m] * ratio * std::sin(phase);
      }
      e_re[gb] = sum_re;
      e_im[gb] = sum_im;
    }
  }
  eloc_re.copy_from(from_host_f64(e_re, {batch}, psi.dtype(), psi.device()));
  eloc_im.copy_from(from_host_f64(e_im, {batch}, psi.dtype(), psi.device()));
}

}  // namespace naqs
