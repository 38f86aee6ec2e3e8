#include "physics/vmc/observable_table.hpp"

namespace naqs::vmc {

const std::vector<ObservableRow>& observable_table() {
  using Ex = const ExactReference&;
  constexpr auto none = TraceColumns::none, mean = TraceColumns::mean,
                 both = TraceColumns::mean_err;
  static const std::vector<ObservableRow> t = {
      {"energy", "E", "Pauli units", &VmcObservables::energy,
       [](Ex e, int) { return e.energy; }, both, true},
      {"energy_per_site", "E/N", "Pauli units per site", &VmcObservables::energy_per_site,
       [](Ex e, int n) { return e.energy ? std::optional<double>(*e.energy / n) : std::nullopt; },
       none, true},
      {"energy_imag", "Im E", "Pauli units (0 for a real wavefunction)",
       &VmcObservables::energy_imag, nullptr, none, false},
      {"energy_var", "Var E", "Pauli units squared, <|E_loc - E|^2>", &VmcObservables::energy_var,
       nullptr, mean, true},
      {"vscore", "V-score", "N Var E / E^2 (Wu et al. 2024)", &VmcObservables::vscore, nullptr,
       none, true},
      {"mz", "<m_z>", "m_z = sum_i Z_i / N", &VmcObservables::mz, nullptr, none, false},
      {"abs_mz", "<|m_z|>", "m_z = sum_i Z_i / N", &VmcObservables::abs_mz,
       [](Ex e, int) { return e.abs_mz; }, both, true},
      {"mz2", "<m_z^2>", "m_z = sum_i Z_i / N", &VmcObservables::mz2,
       [](Ex e, int) { return e.mz2; }, both, true},
      {"x", "<X>", "sum_i <X_i> / N", &VmcObservables::x_mean, [](Ex e, int) { return e.x_mean; },
       both, true},
      {"ms2", "<m_s^2>", "m_s = sum_i (-1)^(x_i + y_i) Z_i / N", &VmcObservables::ms2,
       [](Ex e, int) { return e.ms2; }, both, true},
  };
  return t;
}

std::vector<std::string> observe_columns() {
  std::vector<std::string> c = {"step"};
  for (const ObservableRow& r : observable_table()) {
    if (r.trace == TraceColumns::none) continue;
    c.push_back(std::string(r.name) + "_mean");
    if (r.trace == TraceColumns::mean_err) c.push_back(std::string(r.name) + "_err");
  }
  return c;
}

std::vector<double> observe_row(int64_t step, const VmcObservables& o) {
  std::vector<double> v = {static_cast<double>(step)};
  for (const ObservableRow& r : observable_table()) {
    if (r.trace == TraceColumns::none) continue;
    v.push_back((o.*r.estimate).mean);
    if (r.trace == TraceColumns::mean_err) v.push_back((o.*r.estimate).err);
  }
  return v;
}

}  // namespace naqs::vmc
