#include "workflow/collect.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "host/io/ownership.hpp"
#include "workflow/sweep.hpp"

namespace naqs::workflow {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

double scalar_or_nan(const H5File& f, const std::string& name) {
  if (!f.exists(name)) return kNaN;
  const std::vector<double> v = f.read_doubles(name);
  NAQS_CHECK(v.size() == 1, "'", f.path(), "':", name, " is not a scalar");
  return v[0];
}

// One task's row of the table, read completely before it is merged.
struct TaskRow {
  std::vector<int64_t> present;                // (M)
  std::vector<double> value, error, rel, exact; // (M*Q), (M*Q), (M*Q), (Q)
  std::vector<double> seconds;                 // (M)
  std::string exact_method;
};

TaskRow read_task(const std::string& path, int64_t task, const std::string& fingerprint_text,
                  const std::vector<std::string>& methods) {
  const std::vector<std::string>& obs = sweep_observables();
  const std::size_t M = methods.size(), Q = obs.size();
  H5File f = H5File::open_read(path);
  NAQS_REQUIRE(f.has_attr("/", "complete") &&
                   std::get<int64_t>(f.get_attr("/", "complete")) == 1,
               "not complete");
  NAQS_REQUIRE(f.exists("/sweep/fingerprint_text") &&
                   f.read_string("/sweep/fingerprint_text") == fingerprint_text,
               "belongs to a sweep with other settings");
  NAQS_REQUIRE(std::get<int64_t>(f.get_attr("/sweep", "task")) == task, "holds task ",
               std::get<int64_t>(f.get_attr("/sweep", "task")), ", not ", task);
  TaskRow r;
  r.present.assign(M, 0);
  r.value.assign(M * Q, kNaN);
  r.error.assign(M * Q, kNaN);
  r.rel.assign(M * Q, kNaN);
  r.exact.assign(Q, kNaN);
  r.seconds.assign(M, kNaN);
  for (std::size_t q = 0; q < Q; ++q) r.exact[q] = scalar_or_nan(f, "/exact/" + obs[q]);
  r.exact_method = std::get<std::string>(f.get_attr("/exact", "method"));
  for (std::size_t m = 0; m < M; ++m) {
    const std::string g = "/methods/" + methods[m];
    NAQS_REQUIRE(f.exists(g + "/results"), "has no ", g, "/results");
    r.present[m] = 1;
    if (f.has_attr(g, "seconds")) r.seconds[m] = std::get<double>(f.get_attr(g, "seconds"));
    for (std::size_t q = 0; q < Q; ++q) {
      const std::string base = g + "/results/" + obs[q];
      r.value[m * Q + q] = scalar_or_nan(f, base + "_mean");
      r.error[m * Q + q] = scalar_or_nan(f, base + "_err");
      r.rel[m * Q + q] = scalar_or_nan(f, base + "_rel_err");
    }
  }
  return r;
}

}  // namespace

std::string default_collect_output(const std::string& dir) {
  return (fs::path(dir) / "collected.h5").string();
}

CollectSummary collect_sweep(const CollectOptions& o) {
  // ---- validate before touching anything ----
  NAQS_REQUIRE(!o.dir.empty(), "naqs collect needs a sweep directory");
  std::error_code ec;
  const fs::file_status st = fs::status(o.dir, ec);
  NAQS_REQUIRE(!ec || ec == std::errc::no_such_file_or_directory, "sweep directory '", o.dir,
               "': ", ec.message());
  NAQS_REQUIRE(fs::exists(st), "sweep directory '", o.dir, "' does not exist");
  NAQS_REQUIRE(fs::is_directory(st), "'", o.dir, "' is not a directory");
  const std::string manifest = (fs::path(o.dir) / "sweep.h5").string();
  NAQS_REQUIRE(fs::is_regular_file(manifest, ec), "'", o.dir, "' is not a sweep directory (no "
               "readable sweep.h5; naqs sweep writes it when the first task starts)");
  CollectSummary s;
  s.output = o.output.empty() ? default_collect_output(o.dir) : o.output;
  check_output_path("--out", s.output, /*must_not_exist=*/false);
  NAQS_REQUIRE(o.force || !path_present(s.output), "output '", s.output, "' already exists; naqs "
               "never overwrites results (give another --out, or --force to replace it)");
  check_distinct_paths({{"--out", s.output}, {"the manifest", manifest}});

  std::string fp_text, methods_text;
  std::vector<double> h;
  std::vector<std::string> files;
  std::map<std::string, AttrValue> system_attrs;
  try {
    H5File m = H5File::open_read(manifest);
    fp_text = m.read_string("/sweep/fingerprint_text");
    methods_text = std::get<std::string>(m.get_attr("/sweep", "methods"));
    h = m.read_doubles("/sweep/h");
    files = split(m.read_string("/sweep/files"), '\n');
    for (const char* a : {"model", "lattice", "Lx", "Ly", "n_sites", "boundary", "J", "hz",
                          "hamiltonian", "units"})
      if (m.has_attr("/system", a)) system_attrs[a] = m.get_attr("/system", a);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(cat("manifest '", manifest, "' is unreadable: ", e.what()));
  }
  NAQS_REQUIRE(files.size() == h.size() && !h.empty(), "manifest '", manifest,
               "' is inconsistent (", h.size(), " fields, ", files.size(), " file names)");
  const std::vector<std::string> methods = split(methods_text, ',');
  const std::vector<std::string>& obs = sweep_observables();
  const int64_t H = static_cast<int64_t>(h.size()), M = static_cast<int64_t>(methods.size()),
                Q = static_cast<int64_t>(obs.size());
  s.n_tasks = H;

  // ---- read every task ----
  std::vector<int64_t> present(H * M, 0), task_index(H);
  std::vector<double> value(H * M * Q, kNaN), error(H * M * Q, kNaN), rel(H * M * Q, kNaN),
      exact(H * Q, kNaN), seconds(H * M, kNaN);
  std::string exact_method;
  for (int64_t k = 0; k < H; ++k) {
    task_index[k] = k;
    const std::string path = (fs::path(o.dir) / files[k]).string();
    // Each entry's trouble is that entry's: a dangling or looping symlink, a directory, an
    // unreadable file is listed as unreadable and the rest are merged.
    std::error_code entry_ec;
    const fs::file_status entry = fs::status(path, entry_ec);
    if (!path_present(path)) {
      s.missing.push_back(files[k]);
      continue;
    }
    if (entry_ec || !fs::is_regular_file(entry)) {
      s.unreadable.push_back(cat(files[k], ": ", entry_ec ? entry_ec.message()
                                                          : std::string("not a regular file")));
      continue;
    }
    TaskRow r;
    try {
      r = read_task(path, k, fp_text, methods);
    } catch (const std::exception& e) {
      s.unreadable.push_back(cat(files[k], ": ", e.what()));
      continue;
    }
    std::copy(r.present.begin(), r.present.end(), present.begin() + k * M);
    std::copy(r.value.begin(), r.value.end(), value.begin() + k * M * Q);
    std::copy(r.error.begin(), r.error.end(), error.begin() + k * M * Q);
    std::copy(r.rel.begin(), r.rel.end(), rel.begin() + k * M * Q);
    std::copy(r.exact.begin(), r.exact.end(), exact.begin() + k * Q);
    std::copy(r.seconds.begin(), r.seconds.end(), seconds.begin() + k * M);
    if (exact_method.empty()) exact_method = r.exact_method;
    ++s.n_merged;
  }

  // ---- write ----
  if (o.require_complete && !s.complete()) return s;
  auto fill = [&](H5File& f) {
    write_provenance(f, o.command_line, o.config_text, "cpu", {});
    f.create_group("/collect");
    f.set_attr("/collect", "sweep_dir", fs::absolute(o.dir).lexically_normal().string());
    f.set_attr("/collect", "n_tasks", H);
    f.set_attr("/collect", "n_merged", s.n_merged);
    f.set_attr("/collect", "n_missing", static_cast<int64_t>(s.missing.size()));
    f.set_attr("/collect", "n_unreadable", static_cast<int64_t>(s.unreadable.size()));
    f.write_string("/collect/missing", join(s.missing, "\n"));
    f.write_string("/collect/unreadable", join(s.unreadable, "\n"));
    f.write_string("/collect/fingerprint_text", fp_text);
    f.create_group("/system");
    for (const auto& [k, v] : system_attrs) f.set_attr("/system", k, v);
    f.create_group("/table");
    f.set_attr("/table", "methods", methods_text);
    f.set_attr("/table", "observables", join(obs, ","));
    f.set_attr("/table", "units", std::string("Pauli"));
    f.set_attr("/table", "exact_method", exact_method.empty() ? std::string("none") : exact_method);
    f.write_dataset("/table/h", h, {H});
    f.write_dataset("/table/task", task_index, {H});
    f.write_string("/table/files", join(files, "\n"));
    f.write_dataset("/table/present", present, {H, M});
    f.write_dataset("/table/value", value, {H, M, Q});
    f.write_dataset("/table/error", error, {H, M, Q});
    f.write_dataset("/table/rel_err", rel, {H, M, Q});
    f.write_dataset("/table/exact", exact, {H, Q});
    f.write_dataset("/table/seconds", seconds, {H, M});
    finish_provenance(f);
  };
  if (o.force) {
    write_atomically(s.output, fill);  // --force: replace
  } else {
    write_new_atomically(s.output, fill);  // never replaces a table written meanwhile
  }
  s.written = true;
  return s;
}

}  // namespace naqs::workflow
