// naqs collect: merges the task files of a sweep directory (workflow/sweep.hpp) into one HDF5
// table, h x method x observable (layout: docs/HDF5_LAYOUT.md, "Collected sweep table").
//
// The expected tasks come from the directory's manifest (sweep.h5). A task file that is missing,
// unreadable (truncated, corrupt), incomplete or from another sweep is listed by name with the
// reason; every other task is merged, and the table marks the absent ones (present = 0, values
// NaN). The output is written atomically (temp file + rename) and an existing output is refused
// unless `force` (then replaced atomically). No task file is ever modified.
// Tests: tests/unit/test_sweep.cpp (missing and truncated task files, refusal to overwrite).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace naqs::workflow {

struct CollectOptions {
  std::string dir;     // the sweep directory
  std::string output;  // "" = <dir>/collected.h5
  bool force = false;  // replace an existing output
  bool require_complete = false;  // write nothing when a task is missing or unreadable
  std::string command_line, config_text;  // provenance
};

struct CollectSummary {
  std::string output;
  int64_t n_tasks = 0, n_merged = 0;
  bool written = false;                 // false only with require_complete and absent tasks
  std::vector<std::string> missing;     // task file names
  std::vector<std::string> unreadable;  // "name: reason"
  bool complete() const { return missing.empty() && unreadable.empty(); }
};

std::string default_collect_output(const std::string& dir);

// UsageError (nothing written) for a missing directory, a directory without a manifest, or an
// existing output without `force`.
CollectSummary collect_sweep(const CollectOptions& options);

}  // namespace naqs::workflow
