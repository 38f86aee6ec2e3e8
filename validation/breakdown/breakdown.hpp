// The ferromagnetic breakdown of local-update MCMC (issue 6; Sharir et al., PRL 124, 020503):
// for the periodic TFIM chain across h, one trained NAQS is measured with
//   naqs_exact           exact i.i.d. autoregressive samples,
//   naqs_metropolis      Metropolis single flips on the SAME wavefunction,
//   naqs_metropolis_gf   the same plus global-flip proposals (the textbook cure),
// and a trained RBM (whose |psi|^2 only Metropolis can sample) with
//   rbm_metropolis       Metropolis single flips,
// each compared with ED: <m_z> (exact 0 by the spin-flip symmetry), <|m_z|>, <m_z^2>, E, plus
// tau_int, split-R-hat, ESS and effective samples per second of the sampler alone (local
// energies excluded). In the ordered phase (h < 1) the two ferromagnetic sectors are separated
// by a barrier of ~N local flips: a local chain stays in the sector where it thermalised, so
// its <m_z> is wrong and R-hat across chains explodes, while exact sampling draws both sectors.
//
// Procedure per h: ED reference (physics/ed via physics/vmc/exact_reference); the NAQS and
// the RBM are trained by run_vmc (NAQS: exact samples; RBM: Metropolis, both SR), each run
// writing <out_dir>/<model>_h<h>.h5; the final parameters are read back from that file and
// measured with fresh samplers (`n_samples` samples each; Metropolis: `n_chains` chains after
// `burn_in` sweeps, one sweep between samples). Everything is keyed by `seed`.
// Output: <out_dir>/breakdown.h5 (layout in docs/BREAKDOWN.md; h5py: f["naqs_metropolis/mz_mean"]).
// Tests: tests/unit/test_breakdown.cpp (a tiny run: layout, exact sampler consistent with ED).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/core/console.hpp"
#include "physics/models/autoregressive_wavefunction.hpp"

namespace naqs::breakdown {

struct BreakdownConfig {
  int n_sites = 20;
  double J = 1.0;
  std::vector<double> fields{0.3, 0.6, 0.9, 1.2, 1.5};
  // NAQS training (1D masked conv, exact samples, SR)
  int naqs_width = 8, naqs_depth = 2;
  int64_t naqs_steps = 100, naqs_batch = 256;
  // RBM training (Metropolis, SR)
  double rbm_alpha = 1.0;
  int64_t rbm_steps = 100, rbm_batch = 512;
  // measurement
  int64_t n_samples = 4096;
  int64_t n_chains = 32;
  int64_t burn_in = 20;
  double p_global = 0.1;  // naqs_metropolis_gf
  uint64_t seed = 1;
  std::string out_dir = "breakdown";
  std::string command_line, config_text;  // provenance
};

// The trained 1D NAQS of a `naqs vmc` output file (/system n_sites, /model width, depth, kernel,
// dilations, activation, phase, dtype; final /model/parameters), on the CPU; sets h_out to the
// run's field. Used by bench/bench_metropolis.cpp on the per-run files of a breakdown.
std::unique_ptr<AutoregressiveWavefunction> load_naqs_run(const std::string& path, double& h_out);

// Runs the study and writes <out_dir>/breakdown.h5 (refuses to overwrite it); sends its header and
// one table row per (h, method) to `console` (and the runs' warnings). Returns the path of
// breakdown.h5.
std::string run_breakdown(const BreakdownConfig& config, const Console& console = {});

}  // namespace naqs::breakdown
