// naqs report: PNG plots and a Markdown summary of a collected sweep table (workflow/collect.hpp).
// The plotting is Python (workflow/report.py: numpy, h5py, matplotlib), embedded in the binary at
// build time (CMake configure_file -> generated/report_script.cpp), so `naqs report` works from
// any directory; it runs `<python> -c <script> COLLECTED OUTDIR` without a shell.
//
// Files (in the output directory): energy_rel_err.png (|E - E_exact|/|E_exact| against h per
// VMC method, with error bars), abs_mz.png, mz2.png, x.png (each method with error bars, ED as
// a line), summary.md (one row per h and method). Existing files of these names are refused
// unless `force`. A Python without the three modules is one clear Error naming the interpreter
// and the Debian packages.
// Tests: tests/unit/test_sweep.cpp (end to end; skipped with a message only when matplotlib or
// h5py is missing).
#pragma once
#include <string>
#include <vector>

namespace naqs::workflow {

const char* report_script_text();  // generated from workflow/report.py

struct ReportOptions {
  std::string input;    // a collected .h5, or a sweep directory (then <dir>/collected.h5)
  std::string out_dir;  // "" = <directory of the collected file>/report
  std::string python;   // "" = /usr/bin/python3 if it exists, else python3 on PATH
  bool force = false;   // replace existing report files
};

const std::vector<std::string>& report_file_names();


// The interpreter to use ("" -> default as above).
std::string find_python(const std::string& requested);
// Whether `python` imports numpy, h5py and matplotlib; `why` gets a one-line reason if not.
bool python_can_report(const std::string& python, std::string* why);
// The interpreter for a command's plots (find_python("")), checked before any work: one that
// lacks numpy, h5py or matplotlib is a UsageError naming `what` (e.g. "the scatter PNG"), the
// reason and the Debian packages, or --no-png.
std::string plot_python(const std::string& what);

// Runs the script; returns the paths written. UsageError for bad input (nothing written),
// Error when Python is unusable or the script fails.
std::vector<std::string> make_report(const ReportOptions& options);

}  // namespace naqs::workflow
