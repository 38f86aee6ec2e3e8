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
//   f.write_u8("/frames", frames, {E, T + 1, 40, 40});     // chunked + deflate (bulk data)
//   f.read_block("/frames", {e, t, 0, 0}, {1, 5, 40, 40}, batch.narrow(0, b, 1));  // hyperslab
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "host/core/tensor.hpp"

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
  // Copies group or dataset `object` (recursively, attributes included) to `dst_object` of `dst`
  // (another open file, or this one), creating dst_object's parents as needed.
  void copy_object(const std::string& object, H5File& dst, const std::string& dst_object) const;

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
  // A 1-D dataset of variable-length UTF-8 strings (h5py: an array of str / bytes objects).
  void write_strings(const std::string& name, const std::vector<std::string>& texts);
  std::vector<double> read_doubles(const std::string& name) const;
  std::vector<int64_t> read_int64s(const std::string& name) const;
  std::vector<float> read_floats(const std::string& name) const;
  std::string read_string(const std::string& name) const;
  std::vector<int64_t> dims(const std::string& name) const;
  // The stored element type in numpy's words: "uint8", "int32", "int64", "float32", "float64",
  // ... ("string" for strings, "other" for compound and the rest). An Error if it is missing.
  std::string element_type(const std::string& name) const;

  // Bulk u8 / i32 datasets (frames, actions), chunked and deflate-compressed (level
  // kDeflateLevel); h5py reads them as uint8 / int32. chunk: one size >= 1 per dim (clipped to
  // the dims), or empty for default_chunk(dims, element size). An existing object of that name
  // is replaced.
  void write_u8(const std::string& name, const std::vector<uint8_t>& data,
                const std::vector<int64_t>& dims, const std::vector<int64_t>& chunk = {});
  void write_i32(const std::string& name, const std::vector<int32_t>& data,
                 const std::vector<int64_t>& dims, const std::vector<int64_t>& chunk = {});

  // Hyperslab reads: the block [start[d], start[d] + count[d]) along every dim d, row-major,
  // without reading the rest of the dataset (only the chunks it touches are decompressed).
  // The vector forms need the stored type to be exactly uint8 / int32. read_block writes into
  // `out`: a contiguous CPU tensor with numel = prod(count) (any shape: a row of a batch);
  // a u8 or i32 `out` needs that exact stored type, an f32 / f64 one any numeric type
  // (converted by HDF5). Errors name the file, the dataset and the bad range or type: a
  // missing dataset, start / count of another rank than the dataset's, a negative count, a
  // block outside [0, dims[d]).
  std::vector<uint8_t> read_u8_block(const std::string& name, const std::vector<int64_t>& start,
                                     const std::vector<int64_t>& count) const;
  std::vector<int32_t> read_i32_block(const std::string& name, const std::vector<int64_t>& start,
                                      const std::vector<int64_t>& count) const;
  void read_block(const std::string& name, const std::vector<int64_t>& start,
                  const std::vector<int64_t>& count, Tensor out) const;

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

// A chunked, deflate-compressed dataset of u8 or i32 rows, (N, row_dims...), extendible along
// dim 0 and appended to (generated rollouts); flushed after every append so a killed run keeps
// the rows it wrote. Opening an existing dataset of that name continues it; its element type
// and row dims must match (an Error naming them otherwise). chunk_rows: rows per chunk (0:
// default_chunk's choice for the row). Keeps a pointer to `file`: do not move or destroy the
// H5File while the appender is in use.
class H5RowAppender {
 public:
  H5RowAppender(H5File& file, const std::string& name, DType dtype,
                const std::vector<int64_t>& row_dims, int64_t chunk_rows = 0);
  // rows: a contiguous CPU tensor of the appender's dtype, shape (n, row_dims...).
  void append(const Tensor& rows);
  int64_t rows() const { return rows_; }

 private:
  H5File* file_;
  std::string name_;
  DType dtype_;
  std::vector<int64_t> row_dims_;
  int64_t rows_ = 0;
};

// Chunk dims for a bulk dataset: trailing dims whole while a chunk stays within
// kChunkTargetBytes, then as many entries of the next dim as fit (at least 1), 1 before it.
// (E, T+1, 40, 40) u8 frames -> (1, 40, 40, 40): 64000 bytes, a few frames' window touches one
// or two chunks.
std::vector<int64_t> default_chunk(const std::vector<int64_t>& dims, int64_t element_bytes);
constexpr int64_t kChunkTargetBytes = 64 * 1024;
constexpr int kDeflateLevel = 4;

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
