#include "workflow/report.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <variant>

#include "host/core/error.hpp"
#include "host/core/process.hpp"
#include "host/io/hdf5.hpp"
#include "workflow/collect.hpp"

namespace naqs::workflow {

namespace fs = std::filesystem;

namespace {

// The collected table's layout as workflow/report.py reads it (workflow/collect.cpp writes it),
// checked here so that any other file is one line instead of a Python traceback.
void check_collected_table(const std::string& path) {
  const std::string what = cat("'", path, "' is not a collected table (naqs collect DIR writes "
                               "DIR/collected.h5)");
  std::optional<H5File> f;
  try {
    f.emplace(H5File::open_read(path));
  } catch (const Error&) {
    throw UsageError(cat(what, ": not a readable HDF5 file"));
  }
  try {
    for (const char* g : {"/table", "/collect", "/system"})
      NAQS_REQUIRE(f->exists(g), what, ": no ", g);
    for (const char* a : {"methods", "observables", "exact_method"})
      NAQS_REQUIRE(f->has_attr("/table", a) &&
                       std::holds_alternative<std::string>(f->get_attr("/table", a)),
                   what, ": /table has no text attribute '", a, "'");
    for (const char* a : {"n_tasks", "n_merged"})
      NAQS_REQUIRE(f->has_attr("/collect", a) &&
                       std::holds_alternative<int64_t>(f->get_attr("/collect", a)),
                   what, ": /collect has no integer attribute '", a, "'");
    for (const char* d : {"/collect/missing", "/collect/unreadable"}) {
      NAQS_REQUIRE(f->exists(d), what, ": no ", d);
      (void)f->read_string(d);
    }
    auto count = [](const std::string& list) {
      int64_t n = 0;
      std::size_t pos = 0;
      while (true) {
        ++n;
        pos = list.find(',', pos);
        if (pos == std::string::npos) return n;
        ++pos;
      }
    };
    const int64_t M = count(std::get<std::string>(f->get_attr("/table", "methods")));
    const int64_t Q = count(std::get<std::string>(f->get_attr("/table", "observables")));
    NAQS_REQUIRE(f->exists("/table/h"), what, ": no /table/h");
    const std::vector<int64_t> hd = f->dims("/table/h");
    NAQS_REQUIRE(hd.size() == 1 && hd[0] >= 1, what, ": /table/h is not a list of fields");
    const int64_t H = hd[0];
    const std::vector<std::pair<const char*, std::vector<int64_t>>> expect = {
        {"/table/present", {H, M}}, {"/table/value", {H, M, Q}}, {"/table/error", {H, M, Q}},
        {"/table/rel_err", {H, M, Q}}, {"/table/exact", {H, Q}}};
    for (const auto& [name, dims] : expect) {
      NAQS_REQUIRE(f->exists(name), what, ": no ", name);
      NAQS_REQUIRE(f->dims(name) == dims, what, ": ", name, " has the wrong shape");
    }
  } catch (const UsageError&) {
    throw;
  } catch (const Error&) {
    throw UsageError(cat(what, ": its /table cannot be read"));
  }
}

// The last non-empty line of a text file ("" if none).
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

}  // namespace

const std::vector<std::string>& report_file_names() {
  static const std::vector<std::string> names = {"energy_rel_err.png", "abs_mz.png", "mz2.png",
                                                 "x.png", "summary.md"};
  return names;
}

std::string find_python(const std::string& requested) {
  if (!requested.empty()) return requested;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

bool python_can_report(const std::string& python, std::string* why) {
  const int rc = spawn_wait({python, "-c", "import numpy, h5py, matplotlib"}, /*quiet=*/true);
  if (rc == 0) return true;
  if (why)
    *why = rc < 0 ? cat("cannot run '", python, "'")
                  : cat("'", python, "' cannot import numpy, h5py and matplotlib");
  return false;
}

std::string plot_python(const std::string& what) {
  const std::string python = find_python("");
  std::string why;
  NAQS_REQUIRE(python_can_report(python, &why), what, " needs ", why,
               " (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib, as "
               "scripts/setup.sh does; or --no-png)");
  return python;
}

std::vector<std::string> make_report(const ReportOptions& o) {
  NAQS_REQUIRE(!o.input.empty(), "naqs report needs a collected .h5 file or a sweep directory");
  std::error_code input_ec;
  NAQS_REQUIRE(fs::exists(o.input, input_ec), "'", o.input, "' does not exist",
               input_ec ? cat(" (", input_ec.message(), ")") : std::string());
  std::string collected = o.input;
  if (fs::is_directory(o.input)) {
    collected = default_collect_output(o.input);
    NAQS_REQUIRE(fs::exists(collected), "'", o.input, "' has no collected.h5; run 'naqs collect ",
                 o.input, "' first");
  }
  const fs::path out_dir = o.out_dir.empty()
                               ? fs::absolute(collected).parent_path() / "report"
                               : fs::path(o.out_dir);
  NAQS_REQUIRE(!fs::exists(out_dir) || fs::is_directory(out_dir), "--out '", out_dir.string(),
               "' exists and is not a directory");
  if (!o.force)
    for (const std::string& name : report_file_names())
      NAQS_REQUIRE(!fs::exists(out_dir / name), "'", (out_dir / name).string(),
                   "' already exists; naqs never overwrites results (give another --out, or "
                   "--force to replace the report)");
  const std::string python = find_python(o.python);
  std::string why;
  if (!python_can_report(python, &why))
    throw Error(cat("naqs report needs Python 3 with numpy, h5py and matplotlib: ", why,
                    " (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib, "
                    "as scripts/setup.sh does; or --python PATH)"));
  check_collected_table(collected);  // in C++, before Python sees it
  std::error_code ec;
  const bool created = !fs::exists(out_dir);
  fs::create_directories(out_dir, ec);
  NAQS_REQUIRE(!ec, "cannot create '", out_dir.string(), "': ", ec.message());
  // The script's output goes to a log: on success it is echoed, on failure it becomes one line
  // and what the script wrote (an empty folder included) is removed.
  char log_template[] = "/tmp/naqs-report-XXXXXX";
  const int log_fd = ::mkstemp(log_template);
  NAQS_CHECK(log_fd >= 0, "cannot create a temp file for the report script's log");
  ::close(log_fd);
  const std::string log = log_template;
  std::vector<bool> existed;
  for (const std::string& name : report_file_names()) existed.push_back(fs::exists(out_dir / name));
  const int rc = spawn_wait({python, "-c", report_script_text(), collected, out_dir.string()},
                            /*quiet=*/false, log);
  const std::string last = last_line(log);
  if (rc == 0) {
    std::ifstream in(log);
    std::cout << in.rdbuf();
    std::cout.flush();
  }
  std::remove(log.c_str());
  if (rc != 0) {
    for (std::size_t i = 0; i < report_file_names().size(); ++i)
      if (!existed[i]) fs::remove(out_dir / report_file_names()[i], ec);
    if (created) fs::remove(out_dir, ec);  // only if empty
    throw Error(cat("the report script failed on '", collected, "' (", python, " exit status ",
                    rc, last.empty() ? std::string() : cat(": ", last), ")"));
  }
  std::vector<std::string> written;
  for (const std::string& name : report_file_names()) {
    NAQS_CHECK(fs::exists(out_dir / name), "the report script did not write '",
               (out_dir / name).string(), "'");
    written.push_back((out_dir / name).string());
  }
  return written;
}

}  // namespace naqs::workflow
