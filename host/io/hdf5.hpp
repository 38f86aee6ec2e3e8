// HDF5 layer used by every subcommand (C API, every call checked: the failing call, the file
// and object names and file:line go into a naqs::Error). One file per run; layout and
// attributes are documented in docs/HDF5_LAYOUT.md.
//
//   H5File f = H5File::create_exclusive("run.h5");        // refuses to clobber an existing file
//   write_provenance(f, ctx_command_line, config_text, "cpu", {{"seed", 1}});
//   H5Trace trace(f, "/train", {"step", "energy_mean", "energy_err"});  // extendible, chunked
//   trace.append({step, e, err});                          // appended and flushed every call
//   f.write_dataset("/results/energy", std::vector<double>{...}, {n});
//   f.set_attr("/results", "units", "Pauli");
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace naqs {

using AttrValue = std::variant<int64_t, double, std::string>;

class H5File {
 public:
  // New file (O_EXCL); a UsageError (naming the path) if it exists: results are never clobbered.
  // A new result written in one go: write_new_atomically (host/io/ownership.hpp).
  static H5File create_exclusive(const std::string& path);
  // New file or truncate (for temp files that are renamed into place).
  static H5File create_truncate(const std::string& path);
  static H5File open_read(const std::string& path);
  static H5File open_rw(const std::string& path);
  H5File(H5File&&) noexcept;
  H5File& operator=(H5File&&) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();  // closes; errors are logged, never thrown

  const std::string& path() const { return path_; }
  int64_t id() const { return id_; }  // hid_t, for code that needs the raw C API
  void flush();
  void close();  // checked close; the destructor does nothing afterwards

  bool exists(const std::string& object) const;  // group or dataset, full path like "/a/b"
  void create_group(const std::string& group);    // creates parents as needed; ok if exists

  // Attributes on a group or dataset ("/" is the root). Scalars and strings (variable-length
  // UTF-8, read by h5py as str). set_attr creates `object` as a group if nothing is there and
  // replaces an attribute of the same name; get_attr reads any integer as int64_t, any float
  // as double, and both variable- and fixed-length strings.
  void set_attr(const std::string& object, const std::string& name, const AttrValue& v);
  AttrValue get_attr(const std::string& object, const std::string& name) const;
  bool has_attr(const std::string& object, const std::string& name) const;

  // Whole datasets (parents created as needed; an existing object of that name is replaced).
  // dims empty means a scalar. Reads return the data flattened in row-major order, converted
  // from any stored numeric type; a missing dataset is an Error naming the file and object.
  void write_dataset(const std::string& name, const std::vector<double>& data,
                     const std::vector<int64_t>& dims);
  void write_dataset(const std::string& name, const std::vector<int64_t>& data,
                     const std::vector<int64_t>& dims);
  void write_dataset(const std::string& name, const std::vector<float>& data,
                     const std::vector<int64_t>& dims);
  void write_string(const std::string& name, const std::string& text);
  std::vector<double> read_doubles(const std::string& name) const;
  std::vector<int64_t> read_int64s(const std::string& name) const;
  std::vector<float> read_floats(const std::string& name) const;
  std::string read_string(const std::string& name) const;
  std::vector<int64_t> dims(const std::string& name) const;

 private:
  H5File(int64_t id, std::string path) : id_(id), path_(std::move(path)) {}
  int64_t id_ = -1;
  std::string path_;
};

// A group of 1-D extendible, chunked float64 datasets of equal length (one per column),
// appended one row at a time and flushed, so a killed run keeps every step it finished.
// Re-opening an existing group continues it (for --resume); truncate_to(n) drops rows >= n.
// Columns are "<group>/<column>" (float64, chunks of 1024 rows); the group's "columns"
// attribute lists them comma-separated. A row only half-written when the process was killed
// is dropped on re-opening. The trace keeps a pointer to `file`: do not move or destroy the
// H5File while the trace is in use.
class H5Trace {
 public:
  H5Trace(H5File& file, const std::string& group, const std::vector<std::string>& columns);
  void append(const std::vector<double>& row);  // row.size() == columns.size()
  int64_t rows() const { return rows_; }
  void truncate_to(int64_t n);

 private:
  H5File* file_;
  std::string group_;
  std::vector<std::string> columns_;
  int64_t rows_ = 0;
};

// Provenance attributes on "/": schema_version, package version, git commit and dirty flag,
// command line, the full effective config text, device, seeds (and any extra key/values),
// UTC timestamp of creation, SLURM_JOB_ID / SLURM_ARRAY_JOB_ID / SLURM_ARRAY_TASK_ID when set,
// hostname, MPI ranks. `finish_provenance` adds the UTC end time and a "complete" = 1 flag.
// Attribute names and types: docs/HDF5_LAYOUT.md. `mpi_ranks` is 1 unless `extra` gives it; any
// other `extra` key that collides with a standard attribute is an Error. "complete" is 0 until
// finish_provenance, so a killed run's file says so.
void write_provenance(H5File& f, const std::string& command_line, const std::string& config_text,
                      const std::string& device, const std::map<std::string, AttrValue>& extra);
void finish_provenance(H5File& f);
std::string utc_now();  // "2026-11-29T05:00:00Z"

// Atomic file replacement: writes to "<path>.tmp.<pid>@<host>" in the same directory via `fill`,
// fsyncs it, renames it over `path` and fsyncs the directory (best effort). A crash at any
// instant leaves either the old file or the new one, never a torn file. The temp file is removed
// on error. Implemented in host/io/ownership.cpp by write_through_temp, the one "temp file,
// fsync, publish" writer (its policy is documented in host/io/ownership.hpp).
void write_atomically(const std::string& path, const std::function<void(H5File&)>& fill);

constexpr int64_t kSchemaVersion = 1;

}  // namespace naqs
