// The one table of a VMC run's scalar observables (issue 14, part 3): name, console label,
// estimator (a VmcObservables member, physics/vmc/observables.hpp), exact value where one is
// known (ExactReference, physics/vmc/exact_reference.hpp), unit/convention, and where it goes.
// Everything that lists observables derives from it: the /observables trace columns
// (observe_columns), the /results and /exact datasets and the console table (driver.cpp), the
// per-task results of a sweep and the collected table's observable axis (sweep_observables()).
// Adding an observable is one row (and its estimator in measure_observables).
// The <Z_0 Z_r> correlations are a vector per run and stay beside the table.
// Tests: tests/unit/test_option_table.cpp (ObservableTable*), test_vmc.cpp, test_sweep.cpp.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "physics/vmc/exact_reference.hpp"
#include "physics/vmc/observables.hpp"

namespace naqs::vmc {

// Columns of the /observables trace: none, <name>_mean, or <name>_mean and <name>_err.
enum class TraceColumns { none, mean, mean_err };

struct ObservableRow {
  const char* name;   // /results/<name>_mean, _err, _rel_err; /exact/<name>; the sweep's axis
  const char* label;  // the console table
  const char* unit;   // unit and convention (attribute "unit" of /results/<name>_mean)
  Estimate VmcObservables::*estimate;
  // The exact value, when the reference has one (nullptr: never).
  std::optional<double> (*exact)(const ExactReference& ex, int n_sites);
  TraceColumns trace;
  bool sweep;  // stored per method by a sweep and collected
  std::optional<double> exact_value(const ExactReference& ex, int n_sites) const {
    return exact ? exact(ex, n_sites) : std::nullopt;
  }
};

// In output order (the console table's rows).
const std::vector<ObservableRow>& observable_table();

// "step" then the trace columns of the table's rows.
std::vector<std::string> observe_columns();
// The row values of observe_columns() for one measurement at `step`.
std::vector<double> observe_row(int64_t step, const VmcObservables& o);

}  // namespace naqs::vmc
