// What a VMC run writes and shows: the HDF5 output (`Output`) and the console lines and table.
//
// Output (HDF5, docs/HDF5_LAYOUT.md): provenance on "/", /system, /model and /sampler attributes,
// /model/layout and /model/parameters (final), the /train trace (columns kTrainColumns),
// /observables trace when observe_every > 0, /results (final estimates, `<q>_mean`, `<q>_err`,
// relative errors `<q>_rel_err` against /exact; for Metropolis also `<q>_tau`, `<q>_r_hat`,
// `<q>_ess`, `acceptance` and the `warnings` text) and /exact (with `method`).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/dist/comm.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "physics/vmc/config.hpp"
#include "physics/vmc/exact_reference.hpp"
#include "physics/vmc/observables.hpp"
#include "physics/vmc/trainer.hpp"

namespace naqs::vmc {

// The HDF5 output of a run (optional: nothing when c.output is empty).
class Output {
 public:
  // reopen: continue the existing output (its identity was checked by the caller) from
  // first_step; otherwise create it exclusively with `identity`.
  Output(const VmcConfig& c, Trainer& t, int64_t first_step, bool reopen,
         const RunIdentity& identity);
  // A /train row for the step (its relative error against exact.energy, NaN without one).
  void append(const StepRecord& r, const ExactReference& exact);
  // An /observables row (observe_every > 0).
  void append_observables(int64_t step, const VmcObservables& o);
  // The final parameters, /results, /exact and the provenance's finished_utc.
  void finish(Trainer& t, const VmcObservables& o, const ExactReference& exact);
  void flush();

 private:
  void write_static(H5File& f, Trainer& t);

  VmcConfig c_;
  std::unique_ptr<H5File> file_;
  std::unique_ptr<H5Trace> train_, observe_;
};

// One line naming the model and its size ("naqs_conv1d width 16 depth 2").
std::string model_description(const VmcConfig& c);
// The lines a run starts with: the exact energy (when known) and what runs (system, model,
// parameters, device, optimiser, batch, steps, sampler, MPI ranks).
std::vector<std::string> run_header(const VmcConfig& c, Trainer& t, const ExactReference& exact,
                                    const dist::Communicator& comm);
// The progress line's fields of a step (energy, error, variance, rel. error, acceptance, rate).
std::string progress_fields(const StepRecord& r, const ExactReference& exact);
// The observables table printed at the end (VMC ± error, exact, relative error, deviation in
// error bars); also used by `naqs vmc`.
std::string observables_table(const VmcObservables& o, const ExactReference& exact, int n_sites);

}  // namespace naqs::vmc
