// HDF5 layer (C API, serial). Every H5* call goes through NAQS_H5, which throws a naqs::Error
// naming the call, the file, the object, HDF5's innermost error message and file:line. HDF5's
// own error printing is switched off. Every hid_t lives in a Handle (RAII).
// Layout conventions: docs/HDF5_LAYOUT.md. Tests: tests/unit/test_hdf5.cpp.
#include "host/io/hdf5.hpp"

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <type_traits>
#include <utility>

#include "host/core/build_info.hpp"
#include "host/core/error.hpp"
#include "host/io/ownership.hpp"

static_assert(std::is_same_v<hid_t, int64_t>, "H5File stores hid_t as int64_t");

namespace naqs {
namespace {

// ---- error checking ------------------------------------------------------------------------

// Switches off HDF5's automatic printing of its error stack (we report it in the exception).
// Cheap, so every entry point calls it (the setting is per thread in thread-safe builds).
void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The innermost (most specific) description on HDF5's current error stack.
std::string innermost_hdf5_message() {
  std::string msg;
  auto walk = [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
    if (n == 0 && e->desc) *static_cast<std::string*>(data) = e->desc;
    return 0;
  };
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &msg) < 0 || msg.empty())
    msg = "no HDF5 error message";
  return msg;
}

// "H5Dopen2(file, ...)" -> "H5Dopen2".
std::string call_name(const char* expr) {
  std::string s(expr);
  return s.substr(0, s.find('('));
}

template <class T>
T h5_check(T ret, const char* expr, const std::string& file, const std::string& object,
           const char* src, int line) {
  if (ret < 0)
    throw Error(cat(call_name(expr), " failed on HDF5 file '", file, "', object '", object,
                    "': ", innermost_hdf5_message(), " [", src, ":", line, "]"));
  return ret;
}

// Checks an H5* call (negative return = failure) and returns its value.
#define NAQS_H5(call, file, object) h5_check((call), #call, (file), (object), __FILE__, __LINE__)

// ---- RAII for hid_t ----------------------------------------------------------------------------

class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);  // closing an object handle cannot lose data; nothing to report
  }
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// ---- names -----------------------------------------------------------------------------------

// "/a//b/" -> {"a", "b"}; the root is {}.
std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    if (j > i) parts.push_back(name.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string join_path(const std::vector<std::string>& parts, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "/" + parts[i];
  return s.empty() ? "/" : s;
}

// Object type at `name` (H5I_GROUP, H5I_DATASET, ...) or H5I_BADID when nothing is there.
// Walks the path link by link, since H5Lexists fails when a parent is missing.
H5I_type_t object_type(hid_t file, const std::string& path, const std::string& name) {
  const std::vector<std::string> parts = split_path(name);
  for (std::size_t n = 1; n <= parts.size(); ++n) {
    const std::string prefix = join_path(parts, n);
    if (NAQS_H5(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), path, prefix) == 0)
      return H5I_BADID;
    if (n < parts.size()) {  // a parent must be a group for the walk to go on
      Handle obj(NAQS_H5(H5Oopen(file, prefix.c_str(), H5P_DEFAULT), path, prefix), H5Oclose);
      if (NAQS_H5(H5Iget_type(obj.get()), path, prefix) != H5I_GROUP) return H5I_BADID;
    }
  }
  Handle obj(NAQS_H5(H5Oopen(file, join_path(parts, parts.size()).c_str(), H5P_DEFAULT), path,
                     name),
             H5Oclose);
  return NAQS_H5(H5Iget_type(obj.get()), path, name);
}

// Link creation property list that creates missing parent groups.
Handle make_parents_lcpl(const std::string& path, const std::string& name) {
  Handle lcpl(NAQS_H5(H5Pcreate(H5P_LINK_CREATE), path, name), H5Pclose);
  NAQS_H5(H5Pset_create_intermediate_group(lcpl.get(), 1), path, name);
  return lcpl;
}

// A new dataset at `name` (parents created as needed), replacing whatever was there: a
// dataset's shape and type are fixed, so a rewrite is a new dataset.
Handle create_dataset(hid_t file, const std::string& path, const std::string& name, hid_t type,
                      hid_t space) {
  if (object_type(file, path, name) != H5I_BADID)
    NAQS_H5(H5Ldelete(file, name.c_str(), H5P_DEFAULT), path, name);
  Handle lcpl = make_parents_lcpl(path, name);
  return Handle(NAQS_H5(H5Dcreate2(file, name.c_str(), type, space, lcpl.get(), H5P_DEFAULT,
                                   H5P_DEFAULT),
                        path, name),
                H5Dclose);
}

Handle open_dataset(hid_t file, const std::string& path, const std::string& name) {
  const H5I_type_t type = object_type(file, path, name);
  NAQS_CHECK(type == H5I_DATASET, "HDF5 file '", path, "' has no dataset '", name, "'",
             type == H5I_BADID ? "" : " (the object there is not a dataset)");
  return Handle(NAQS_H5(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, name), H5Dclose);
}

// Variable-length UTF-8 string type (h5py reads it as str).
Handle vlen_utf8_type(const std::string& path, const std::string& name) {
  Handle t(NAQS_H5(H5Tcopy(H5T_C_S1), path, name), H5Tclose);
  NAQS_H5(H5Tset_size(t.get(), H5T_VARIABLE), path, name);
  NAQS_H5(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, name);
  return t;
}

// Reads one string from a scalar attribute or dataset of string type (variable-length or
// fixed-length, as h5py and h5py-style tools write them).
template <class Read>
std::string read_one_string(hid_t file_type, const Read& read, const std::string& path,
                            const std::string& name) {
  NAQS_CHECK(NAQS_H5(H5Tget_class(file_type), path, name) == H5T_STRING, "HDF5 file '", path,
             "': '", name, "' is not a string");
  if (NAQS_H5(H5Tis_variable_str(file_type), path, name) > 0) {
    Handle mem = vlen_utf8_type(path, name);  // same character set as stored: no conversion
    NAQS_H5(H5Tset_cset(mem.get(), NAQS_H5(H5Tget_cset(file_type), path, name)), path, name);
    char* s = nullptr;
    NAQS_H5(read(mem.get(), &s), path, name);
    std::string out = s ? s : "";
    if (s) H5free_memory(s);
    return out;
  }
  const std::size_t size = H5Tget_size(file_type);
  if (size == 0)
    throw Error(cat("H5Tget_size failed on HDF5 file '", path, "', object '", name,
                    "': ", innermost_hdf5_message(), " [", __FILE__, ":", __LINE__, "]"));
  Handle mem(NAQS_H5(H5Tcopy(file_type), path, name), H5Tclose);
  std::string buf(size, '\0');
  NAQS_H5(read(mem.get(), buf.data()), path, name);
  buf.resize(std::strlen(buf.c_str()));  // fixed-length strings are null-padded
  return buf;
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& dims, const std::string& path,
                              const std::string& name, std::size_t n_data) {
  std::vector<hsize_t> h;
  std::size_t n = 1;
  for (int64_t d : dims) {
    NAQS_CHECK(d >= 0, "write_dataset: negative dimension ", d, " for '", name, "' in '", path,
               "'");
    h.push_back(static_cast<hsize_t>(d));
    n *= static_cast<std::size_t>(d);
  }
  NAQS_CHECK(n == n_data, "write_dataset: '", name, "' in '", path, "' has ", n_data,
             " values but its dims hold ", n);
  return h;
}

template <class T>
void write_numeric(hid_t file, const std::string& path, const std::string& name,
                   const std::vector<T>& data, const std::vector<int64_t>& dims, hid_t mem_type,
                   hid_t file_type) {
  const std::vector<hsize_t> h = to_hsize(dims, path, name, data.size());
  Handle space(dims.empty()
                   ? NAQS_H5(H5Screate(H5S_SCALAR), path, name)
                   : NAQS_H5(H5Screate_simple(static_cast<int>(h.size()), h.data(), nullptr),
                             path, name),
               H5Sclose);
  Handle dset = create_dataset(file, path, name, file_type, space.get());
  if (!data.empty())
    NAQS_H5(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), path,
            name);
}

template <class T>
std::vector<T> read_numeric(hid_t file, const std::string& path, const std::string& name,
                            hid_t mem_type) {
  Handle dset = open_dataset(file, path, name);
  Handle type(NAQS_H5(H5Dget_type(dset.get()), path, name), H5Tclose);
  const H5T_class_t cls = NAQS_H5(H5Tget_class(type.get()), path, name);
  NAQS_CHECK(cls == H5T_INTEGER || cls == H5T_FLOAT, "HDF5 file '", path, "': dataset '", name,
             "' is not numeric");
  Handle space(NAQS_H5(H5Dget_space(dset.get()), path, name), H5Sclose);
  const hssize_t n = NAQS_H5(H5Sget_simple_extent_npoints(space.get()), path, name);
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0)
    NAQS_H5(H5Dread(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path,
            name);
  return out;
}

}  // namespace

// ---- H5File ------------------------------------------------------------------------------------

namespace {
// File access: H5F_CLOSE_SEMI makes H5Fclose fail (instead of silently keeping the file open)
// if some object handle leaked, so a "closed" file really is closed before rename/fsync.
Handle file_access_plist(const std::string& path) {
  Handle fapl(NAQS_H5(H5Pcreate(H5P_FILE_ACCESS), path, "/"), H5Pclose);
  NAQS_H5(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI), path, "/");
  return fapl;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;  // lstat: a dangling symlink counts as existing
}
}  // namespace

H5File H5File::create_exclusive(const std::string& path) {
  silence_hdf5();
  NAQS_REQUIRE(!path_exists(path), "output file '", path,
               "' already exists; naqs never overwrites results (choose another output path "
               "or move the old file away)");
  Handle fapl = file_access_plist(path);
  // H5F_ACC_EXCL also refuses a file that appeared since the check above.
  const hid_t id =
      NAQS_H5(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), path, "/");
  return H5File(id, path);
}

H5File H5File::create_truncate(const std::string& path) {
  silence_hdf5();
  Handle fapl = file_access_plist(path);
  const hid_t id =
      NAQS_H5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), path, "/");
  return H5File(id, path);
}

namespace {
hid_t open_existing(const std::string& path, unsigned flags) {
  silence_hdf5();
  NAQS_REQUIRE(path_exists(path), "cannot open HDF5 file '", path, "': no such file");
  Handle fapl = file_access_plist(path);
  return NAQS_H5(H5Fopen(path.c_str(), flags, fapl.get()), path, "/");
}

// For destructors: a failed close is reported on stderr, never thrown.
void close_logged(hid_t id, const std::string& path) {
  if (id >= 0 && H5Fclose(id) < 0)
    std::fprintf(stderr, "naqs: warning: H5Fclose failed on HDF5 file '%s': %s\n", path.c_str(),
                 innermost_hdf5_message().c_str());
}
}  // namespace

H5File H5File::open_read(const std::string& path) {
  return H5File(open_existing(path, H5F_ACC_RDONLY), path);
}

H5File H5File::open_rw(const std::string& path) {
  return H5File(open_existing(path, H5F_ACC_RDWR), path);
}

H5File::H5File(H5File&& o) noexcept : id_(std::exchange(o.id_, -1)), path_(std::move(o.path_)) {}

H5File& H5File::operator=(H5File&& o) noexcept {
  if (this != &o) {
    close_logged(id_, path_);
    id_ = std::exchange(o.id_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

H5File::~H5File() { close_logged(id_, path_); }

void H5File::close() {
  if (id_ < 0) return;
  const hid_t id = std::exchange(id_, -1);
  NAQS_H5(H5Fclose(id), path_, "/");
}

void H5File::flush() { NAQS_H5(H5Fflush(id_, H5F_SCOPE_LOCAL), path_, "/"); }

bool H5File::exists(const std::string& object) const {
  return object_type(id_, path_, object) != H5I_BADID;
}

void H5File::copy_object(const std::string& object, H5File& dst,
                         const std::string& dst_object) const {
  Handle lcpl = make_parents_lcpl(dst.path_, dst_object);
  NAQS_H5(H5Ocopy(id_, object.c_str(), dst.id_, dst_object.c_str(), H5P_DEFAULT, lcpl.get()),
          path_, cat(object, " -> '", dst.path_, "':", dst_object));
}

void H5File::create_group(const std::string& group) {
  const H5I_type_t type = object_type(id_, path_, group);
  if (type == H5I_GROUP) return;
  NAQS_CHECK(type == H5I_BADID, "create_group: '", group, "' in HDF5 file '", path_,
             "' exists and is not a group");
  Handle lcpl = make_parents_lcpl(path_, group);
  Handle g(NAQS_H5(H5Gcreate2(id_, group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), path_,
                   group),
           H5Gclose);
}

// ---- attributes --------------------------------------------------------------------------------

void H5File::set_attr(const std::string& object, const std::string& name, const AttrValue& v) {
  const std::string what = cat(object, "@", name);
  if (!exists(object)) create_group(object);
  Handle obj(NAQS_H5(H5Oopen(id_, object.c_str(), H5P_DEFAULT), path_, object), H5Oclose);
  if (NAQS_H5(H5Aexists(obj.get(), name.c_str()), path_, what) > 0)
    NAQS_H5(H5Adelete(obj.get(), name.c_str()), path_, what);
  Handle space(NAQS_H5(H5Screate(H5S_SCALAR), path_, what), H5Sclose);
  auto write = [&](hid_t file_type, hid_t mem_type, const void* buf) {
    Handle attr(NAQS_H5(H5Acreate2(obj.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                   H5P_DEFAULT),
                        path_, what),
                H5Aclose);
    NAQS_H5(H5Awrite(attr.get(), mem_type, buf), path_, what);
  };
  if (const auto* text = std::get_if<std::string>(&v)) {
    Handle type = vlen_utf8_type(path_, what);
    const char* p = text->c_str();
    write(type.get(), type.get(), &p);
  } else if (const auto* d = std::get_if<double>(&v)) {
    write(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d);
  } else {
    write(H5T_STD_I64LE, H5T_NATIVE_INT64, &std::get<int64_t>(v));
  }
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  return NAQS_H5(H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT), path_,
                 cat(object, "@", name)) > 0;
}

AttrValue H5File::get_attr(const std::string& object, const std::string& name) const {
  const std::string what = cat(object, "@", name);
  NAQS_CHECK(has_attr(object, name), "HDF5 file '", path_, "' has no attribute '", name,
             "' on '", object, "'", exists(object) ? "" : " (the object does not exist)");
  Handle attr(NAQS_H5(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT,
                                      H5P_DEFAULT),
                      path_, what),
              H5Aclose);
  Handle space(NAQS_H5(H5Aget_space(attr.get()), path_, what), H5Sclose);
  NAQS_CHECK(NAQS_H5(H5Sget_simple_extent_npoints(space.get()), path_, what) == 1,
             "get_attr: attribute '", what, "' in HDF5 file '", path_,
             "' is not a single value");
  Handle type(NAQS_H5(H5Aget_type(attr.get()), path_, what), H5Tclose);
  switch (NAQS_H5(H5Tget_class(type.get()), path_, what)) {
    case H5T_INTEGER: {
      int64_t v = 0;
      NAQS_H5(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), path_, what);
      return v;
    }
    case H5T_FLOAT: {
      double v = 0;
      NAQS_H5(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), path_, what);
      return v;
    }
    case H5T_STRING:
      return read_one_string(
          type.get(), [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); }, path_,
          what);
    default:
      throw Error(cat("get_attr: attribute '", what, "' in HDF5 file '", path_,
                      "' is not an integer, float or string [", __FILE__, ":", __LINE__, "]"));
  }
}

// ---- datasets ----------------------------------------------------------------------------------

void H5File::write_dataset(const std::string& name, const std::vector<double>& data,
                           const std::vector<int64_t>& dims) {
  write_numeric(id_, path_, name, data, dims, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE);
}
void H5File::write_dataset(const std::string& name, const std::vector<int64_t>& data,
                           const std::vector<int64_t>& dims) {
  write_numeric(id_, path_, name, data, dims, H5T_NATIVE_INT64, H5T_STD_I64LE);
}
void H5File::write_dataset(const std::string& name, const std::vector<float>& data,
                           const std::vector<int64_t>& dims) {
  write_numeric(id_, path_, name, data, dims, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE);
}

void H5File::write_string(const std::string& name, const std::string& text) {
  Handle type = vlen_utf8_type(path_, name);
  Handle space(NAQS_H5(H5Screate(H5S_SCALAR), path_, name), H5Sclose);
  Handle dset = create_dataset(id_, path_, name, type.get(), space.get());
  const char* s = text.c_str();
  NAQS_H5(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &s), path_, name);
}

void H5File::write_strings(const std::string& name, const std::vector<std::string>& texts) {
  Handle type = vlen_utf8_type(path_, name);
  const hsize_t n = texts.size();
  Handle space(NAQS_H5(H5Screate_simple(1, &n, nullptr), path_, name), H5Sclose);
  Handle dset = create_dataset(id_, path_, name, type.get(), space.get());
  std::vector<const char*> ptrs;
  for (const std::string& t : texts) ptrs.push_back(t.c_str());
  if (n > 0)
    NAQS_H5(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path_,
            name);
}

std::vector<double> H5File::read_doubles(const std::string& name) const {
  return read_numeric<double>(id_, path_, name, H5T_NATIVE_DOUBLE);
}
std::vector<int64_t> H5File::read_int64s(const std::string& name) const {
  return read_numeric<int64_t>(id_, path_, name, H5T_NATIVE_INT64);
}
std::vector<float> H5File::read_floats(const std::string& name) const {
  return read_numeric<float>(id_, path_, name, H5T_NATIVE_FLOAT);
}

std::string H5File::read_string(const std::string& name) const {
  Handle dset = open_dataset(id_, path_, name);
  Handle space(NAQS_H5(H5Dget_space(dset.get()), path_, name), H5Sclose);
  NAQS_CHECK(NAQS_H5(H5Sget_simple_extent_npoints(space.get()), path_, name) == 1,
             "read_string: dataset '", name, "' in HDF5 file '", path_,
             "' is not a single string");
  Handle type(NAQS_H5(H5Dget_type(dset.get()), path_, name), H5Tclose);
  return read_one_string(
      type.get(),
      [&](hid_t mem, void* buf) {
        return H5Dread(dset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      },
      path_, name);
}

std::vector<int64_t> H5File::dims(const std::string& name) const {
  Handle dset = open_dataset(id_, path_, name);
  Handle space(NAQS_H5(H5Dget_space(dset.get()), path_, name), H5Sclose);
  const int rank = NAQS_H5(H5Sget_simple_extent_ndims(space.get()), path_, name);
  std::vector<hsize_t> h(static_cast<std::size_t>(rank));
  NAQS_H5(H5Sget_simple_extent_dims(space.get(), h.data(), nullptr), path_, name);
  return std::vector<int64_t>(h.begin(), h.end());
}

// ---- bulk u8 / i32 datasets: chunked + deflate, hyperslab reads ------------------------------

std::vector<int64_t> default_chunk(const std::vector<int64_t>& dims, int64_t element_bytes) {
  std::vector<int64_t> chunk(dims.size(), 1);
  int64_t bytes = std::max<int64_t>(element_bytes, 1);
  for (std::size_t k = dims.size(); k-- > 0;) {
    const int64_t d = std::max<int64_t>(dims[k], 1);
    if (d <= kChunkTargetBytes / bytes) {  // bytes * d fits, without overflow
      chunk[k] = d;
      bytes *= d;
      continue;
    }
    chunk[k] = std::max<int64_t>(1, kChunkTargetBytes / bytes);
    break;
  }
  return chunk;
}

namespace {

// "5x41x40x40"
std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (k > 0) s += 'x';
    s += std::to_string(dims[k]);
  }
  return dims.empty() ? "scalar" : s;
}

// Dataset creation properties: chunked (chunk clipped to [1, dims] per dim; empty = default)
// and deflate-compressed.
Handle chunked_deflate_dcpl(const std::string& path, const std::string& name,
                            const std::vector<int64_t>& dims, const std::vector<int64_t>& chunk,
                            int64_t element_bytes) {
  NAQS_CHECK(chunk.empty() || chunk.size() == dims.size(), "chunk ", dims_text(chunk), " for '",
             name, "' in '", path, "' does not have the rank of its dims ", dims_text(dims));
  NAQS_CHECK(!dims.empty(), "a chunked dataset needs at least one dim: '", name, "' in '", path,
             "'");
  const std::vector<int64_t> c = chunk.empty() ? default_chunk(dims, element_bytes) : chunk;
  std::vector<hsize_t> h;
  for (std::size_t k = 0; k < c.size(); ++k) {
    NAQS_CHECK(c[k] >= 1, "chunk ", dims_text(c), " for '", name, "' in '", path,
               "' has a size < 1");
    h.push_back(static_cast<hsize_t>(dims[k] > 0 ? std::min(c[k], dims[k]) : c[k]));
  }
  Handle dcpl(NAQS_H5(H5Pcreate(H5P_DATASET_CREATE), path, name), H5Pclose);
  NAQS_H5(H5Pset_chunk(dcpl.get(), static_cast<int>(h.size()), h.data()), path, name);
  NAQS_H5(H5Pset_deflate(dcpl.get(), kDeflateLevel), path, name);
  return dcpl;
}

void write_bulk(hid_t file, const std::string& path, const std::string& name, const void* data,
                std::size_t n_data, const std::vector<int64_t>& dims,
                const std::vector<int64_t>& chunk, hid_t mem_type, hid_t file_type,
                int64_t element_bytes) {
  const std::vector<hsize_t> h = to_hsize(dims, path, name, n_data);
  Handle dcpl = chunked_deflate_dcpl(path, name, dims, chunk, element_bytes);
  Handle space(NAQS_H5(H5Screate_simple(static_cast<int>(h.size()), h.data(), nullptr), path,
                       name),
               H5Sclose);
  if (object_type(file, path, name) != H5I_BADID)
    NAQS_H5(H5Ldelete(file, name.c_str(), H5P_DEFAULT), path, name);
  Handle lcpl = make_parents_lcpl(path, name);
  Handle dset(NAQS_H5(H5Dcreate2(file, name.c_str(), file_type, space.get(), lcpl.get(),
                                 dcpl.get(), H5P_DEFAULT),
                      path, name),
              H5Dclose);
  if (n_data > 0)
    NAQS_H5(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, name);
}

// numpy's name of an HDF5 type.
std::string numpy_name(hid_t type, const std::string& path, const std::string& name) {
  const H5T_class_t cls = NAQS_H5(H5Tget_class(type), path, name);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    const bool is_signed = NAQS_H5(H5Tget_sign(type), path, name) == H5T_SGN_2;
    return cat(is_signed ? "int" : "uint", 8 * size);
  }
  if (cls == H5T_FLOAT) return cat("float", 8 * size);
  if (cls == H5T_STRING) return "string";
  return "other";
}

// Reads the block [start, start + count) of dataset `name` into buf (mem_type, n elements).
// `want`: the stored type the caller needs ("" = any numeric type).
void read_hyperslab(hid_t file, const std::string& path, const std::string& name,
                    const std::vector<int64_t>& start, const std::vector<int64_t>& count,
                    hid_t mem_type, const std::string& want, void* buf, std::size_t n) {
  Handle dset = open_dataset(file, path, name);
  Handle type(NAQS_H5(H5Dget_type(dset.get()), path, name), H5Tclose);
  const std::string stored = numpy_name(type.get(), path, name);
  const bool numeric = stored.rfind("int", 0) == 0 || stored.rfind("uint", 0) == 0 ||
                       stored.rfind("float", 0) == 0;
  if (!(want.empty() ? numeric : stored == want))
    throw Error(cat("HDF5 file '", path, "': dataset '", name, "' is ", stored, ", not ",
                    want.empty() ? "numeric" : want));
  Handle space(NAQS_H5(H5Dget_space(dset.get()), path, name), H5Sclose);
  const int rank = NAQS_H5(H5Sget_simple_extent_ndims(space.get()), path, name);
  std::vector<hsize_t> hd(static_cast<std::size_t>(rank));
  NAQS_H5(H5Sget_simple_extent_dims(space.get(), hd.data(), nullptr), path, name);
  const std::vector<int64_t> dims(hd.begin(), hd.end());
  if (start.size() != dims.size() || count.size() != dims.size())
    throw Error(cat("HDF5 file '", path, "': block start ", dims_text(start), ", count ",
                    dims_text(count), " of dataset '", name, "' (dims ", dims_text(dims),
                    ") does not have its rank ", rank));
  std::size_t total = 1;
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (start[k] < 0 || count[k] < 0 || start[k] > dims[k] || count[k] > dims[k] - start[k])
      throw Error(cat("HDF5 file '", path, "': block [", start[k], ", ", start[k] + count[k],
                      ") along dim ", k, " of dataset '", name, "' (dims ", dims_text(dims),
                      ") is outside [0, ", dims[k], ")"));
    total *= static_cast<std::size_t>(count[k]);
  }
  NAQS_CHECK(total == n, "read block of '", name, "' in '", path, "': the block holds ", total,
             " values, the destination ", n);
  if (total == 0) return;
  const std::vector<hsize_t> h_start(start.begin(), start.end()),
      h_count(count.begin(), count.end());
  NAQS_H5(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, h_start.data(), nullptr,
                              h_count.data(), nullptr),
          path, name);
  const hsize_t n_mem = total;
  Handle mspace(NAQS_H5(H5Screate_simple(1, &n_mem, nullptr), path, name), H5Sclose);
  NAQS_H5(H5Dread(dset.get(), mem_type, mspace.get(), space.get(), H5P_DEFAULT, buf), path,
          name);
}

std::size_t block_size(const std::vector<int64_t>& count) {
  std::size_t n = 1;
  for (int64_t c : count) n *= static_cast<std::size_t>(std::max<int64_t>(c, 0));
  return n;
}

// Memory type and the stored type a tensor of this dtype reads ("" = any numeric).
std::pair<hid_t, std::string> tensor_types(DType dtype) {
  switch (dtype) {
    case DType::u8: return {H5T_NATIVE_UINT8, "uint8"};
    case DType::i32: return {H5T_NATIVE_INT32, "int32"};
    case DType::f32: return {H5T_NATIVE_FLOAT, ""};
    case DType::f64: return {H5T_NATIVE_DOUBLE, ""};
  }
  throw Error("tensor_types: invalid dtype");
}

}  // namespace

std::string H5File::element_type(const std::string& name) const {
  Handle dset = open_dataset(id_, path_, name);
  Handle type(NAQS_H5(H5Dget_type(dset.get()), path_, name), H5Tclose);
  return numpy_name(type.get(), path_, name);
}

void H5File::write_u8(const std::string& name, const std::vector<uint8_t>& data,
                      const std::vector<int64_t>& dims, const std::vector<int64_t>& chunk) {
  write_bulk(id_, path_, name, data.data(), data.size(), dims, chunk, H5T_NATIVE_UINT8,
             H5T_STD_U8LE, 1);
}

void H5File::write_i32(const std::string& name, const std::vector<int32_t>& data,
                       const std::vector<int64_t>& dims, const std::vector<int64_t>& chunk) {
  write_bulk(id_, path_, name, data.data(), data.size(), dims, chunk, H5T_NATIVE_INT32,
             H5T_STD_I32LE, 4);
}

std::vector<uint8_t> H5File::read_u8_block(const std::string& name,
                                           const std::vector<int64_t>& start,
                                           const std::vector<int64_t>& count) const {
  std::vector<uint8_t> out(block_size(count));
  read_hyperslab(id_, path_, name, start, count, H5T_NATIVE_UINT8, "uint8", out.data(),
                 out.size());
  return out;
}

std::vector<int32_t> H5File::read_i32_block(const std::string& name,
                                            const std::vector<int64_t>& start,
                                            const std::vector<int64_t>& count) const {
  std::vector<int32_t> out(block_size(count));
  read_hyperslab(id_, path_, name, start, count, H5T_NATIVE_INT32, "int32", out.data(),
                 out.size());
  return out;
}

void H5File::read_block(const std::string& name, const std::vector<int64_t>& start,
                        const std::vector<int64_t>& count, Tensor out) const {
  check_defined("read_block", out, "out");
  check_contiguous("read_block", out, "out");
  NAQS_CHECK(out.device().is_cpu(), "read_block: out ", out.str(), " for '", name, "' in '",
             path_, "' is not on the CPU");
  NAQS_CHECK(static_cast<std::size_t>(out.numel()) == block_size(count), "read_block: out ",
             out.str(), " does not hold the block ", dims_text(count), " of '", name, "' in '",
             path_, "'");
  const auto [mem_type, want] = tensor_types(out.dtype());
  read_hyperslab(id_, path_, name, start, count, mem_type, want, out.raw_data(),
                 static_cast<std::size_t>(out.numel()));
}

// ---- H5RowAppender -----------------------------------------------------------------------------

H5RowAppender::H5RowAppender(H5File& file, const std::string& name, DType dtype,
                             const std::vector<int64_t>& row_dims, int64_t chunk_rows)
    : file_(&file), name_(name), dtype_(dtype), row_dims_(row_dims) {
  silence_hdf5();
  const std::string& path = file.path();
  NAQS_CHECK(dtype == DType::u8 || dtype == DType::i32, "H5RowAppender: '", name, "' in '", path,
             "': dtype ", dtype_name(dtype), " (allowed: u8, i32)");
  NAQS_CHECK(chunk_rows >= 0, "H5RowAppender: chunk_rows ", chunk_rows, " < 0");
  const std::string want = dtype == DType::u8 ? "uint8" : "int32";
  if (object_type(file.id(), path, name) != H5I_BADID) {  // continuing
    const std::vector<int64_t> d = file.dims(name);
    const std::string stored = file.element_type(name);
    NAQS_CHECK(!d.empty() && std::equal(d.begin() + 1, d.end(), row_dims.begin(), row_dims.end()) &&
                   stored == want,
               "H5RowAppender: dataset '", name, "' in HDF5 file '", path, "' is ", stored, " ",
               dims_text(d), ", not ", want, " rows of ", dims_text(row_dims));
    rows_ = d[0];
    return;
  }
  // chunks of whole rows (as many as fit kChunkTargetBytes, at least one) unless chunk_rows
  std::vector<int64_t> dims{kChunkTargetBytes};
  dims.insert(dims.end(), row_dims.begin(), row_dims.end());
  std::vector<int64_t> chunk = default_chunk(dims, int64_t(dtype_size(dtype)));
  if (chunk_rows > 0) chunk[0] = chunk_rows;
  dims[0] = chunk[0];
  Handle dcpl = chunked_deflate_dcpl(path, name, dims, chunk, int64_t(dtype_size(dtype)));
  std::vector<hsize_t> h(dims.begin(), dims.end()), max_dims = h;
  h[0] = 0;
  max_dims[0] = H5S_UNLIMITED;
  Handle space(NAQS_H5(H5Screate_simple(static_cast<int>(h.size()), h.data(), max_dims.data()),
                       path, name),
               H5Sclose);
  Handle lcpl = make_parents_lcpl(path, name);
  Handle d(NAQS_H5(H5Dcreate2(file.id(), name.c_str(),
                              dtype == DType::u8 ? H5T_STD_U8LE : H5T_STD_I32LE, space.get(),
                              lcpl.get(), dcpl.get(), H5P_DEFAULT),
                   path, name),
           H5Dclose);
  file.flush();
}

void H5RowAppender::append(const Tensor& rows) {
  const std::string& path = file_->path();
  check_defined("H5RowAppender::append", rows, "rows");
  check_contiguous("H5RowAppender::append", rows, "rows");
  check_dtype("H5RowAppender::append", rows, dtype_, "rows");
  const std::vector<int64_t> shape(rows.shape().dims.begin(),
                                   rows.shape().dims.begin() + rows.rank());
  NAQS_CHECK(rows.device().is_cpu() && !shape.empty() &&
                 std::equal(shape.begin() + 1, shape.end(), row_dims_.begin(), row_dims_.end()),
             "H5RowAppender::append: rows ", rows.str(), " are not CPU rows of ",
             dims_text(row_dims_), " for '", name_, "' in '", path, "'");
  if (shape[0] == 0) return;
  Handle d(NAQS_H5(H5Dopen2(file_->id(), name_.c_str(), H5P_DEFAULT), path, name_), H5Dclose);
  std::vector<hsize_t> size(shape.begin(), shape.end()), start(shape.size(), 0);
  size[0] = static_cast<hsize_t>(rows_ + shape[0]);
  start[0] = static_cast<hsize_t>(rows_);
  NAQS_H5(H5Dset_extent(d.get(), size.data()), path, name_);
  Handle fspace(NAQS_H5(H5Dget_space(d.get()), path, name_), H5Sclose);
  const std::vector<hsize_t> count(shape.begin(), shape.end());
  NAQS_H5(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                              nullptr),
          path, name_);
  Handle mspace(NAQS_H5(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                        path, name_),
                H5Sclose);
  NAQS_H5(H5Dwrite(d.get(), dtype_ == DType::u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT32,
                   mspace.get(), fspace.get(), H5P_DEFAULT, rows.raw_data()),
          path, name_);
  rows_ += shape[0];
  file_->flush();
}

// ---- H5Trace -----------------------------------------------------------------------------------

namespace {
constexpr hsize_t kTraceChunk = 1024;  // rows per chunk: 8 KiB per column

std::string column_path(const std::string& group, const std::string& column) {
  return group == "/" ? "/" + column : group + "/" + column;
}
}  // namespace

H5Trace::H5Trace(H5File& file, const std::string& group, const std::vector<std::string>& columns)
    : file_(&file), group_(group), columns_(columns) {
  silence_hdf5();
  NAQS_CHECK(!columns_.empty(), "H5Trace: no columns for '", group, "' in '", file.path(), "'");
  const hid_t fid = file.id();
  const std::string& path = file.path();
  file.create_group(group_);
  std::string joined;
  for (const std::string& c : columns_) joined += (joined.empty() ? "" : ",") + c;
  if (file.has_attr(group_, "columns")) {  // continuing: the columns must be the same
    const AttrValue old = file.get_attr(group_, "columns");
    const std::string* old_columns = std::get_if<std::string>(&old);
    NAQS_CHECK(old_columns && *old_columns == joined, "H5Trace: trace '", group_,
               "' in HDF5 file '", path, "' has columns '",
               old_columns ? *old_columns : "(not a string)", "', not '", joined, "'");
  }
  std::vector<std::string> missing;
  int64_t n_min = -1, n_max = 0;
  for (const std::string& c : columns_) {
    const std::string name = column_path(group_, c);
    if (object_type(fid, path, name) == H5I_BADID) {
      missing.push_back(c);
      continue;
    }
    const std::vector<int64_t> d = file.dims(name);
    NAQS_CHECK(d.size() == 1, "H5Trace: '", name, "' in HDF5 file '", path,
               "' exists but is not a 1-D trace column");
    n_min = n_min < 0 ? d[0] : std::min(n_min, d[0]);
    n_max = std::max(n_max, d[0]);
  }
  NAQS_CHECK(missing.empty() || n_max == 0, "H5Trace: trace '", group_, "' in HDF5 file '",
             path, "' has ", n_max, " rows but no column '", missing.front(), "'");
  for (const std::string& c : missing) {
    const std::string name = column_path(group_, c);
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    Handle space(NAQS_H5(H5Screate_simple(1, &zero, &unlimited), path, name), H5Sclose);
    Handle dcpl(NAQS_H5(H5Pcreate(H5P_DATASET_CREATE), path, name), H5Pclose);
    NAQS_H5(H5Pset_chunk(dcpl.get(), 1, &kTraceChunk), path, name);
    Handle d(NAQS_H5(H5Dcreate2(fid, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                dcpl.get(), H5P_DEFAULT),
                     path, name),
             H5Dclose);
  }
  rows_ = std::max<int64_t>(n_min, 0);
  // A run killed in the middle of append() may leave some columns one row longer: keep
  // only complete rows.
  if (n_max > rows_) truncate_to(rows_);
  file.set_attr(group_, "columns", joined);
  file.flush();
}

void H5Trace::append(const std::vector<double>& row) {
  NAQS_CHECK(row.size() == columns_.size(), "H5Trace::append: ", row.size(),
             " values for the ", columns_.size(), " columns of '", group_, "' in '",
             file_->path(), "'");
  const hid_t fid = file_->id();
  const std::string& path = file_->path();
  const hsize_t start = static_cast<hsize_t>(rows_), one = 1, new_size = start + 1;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const std::string name = column_path(group_, columns_[i]);
    Handle d(NAQS_H5(H5Dopen2(fid, name.c_str(), H5P_DEFAULT), path, name), H5Dclose);
    NAQS_H5(H5Dset_extent(d.get(), &new_size), path, name);
    Handle fspace(NAQS_H5(H5Dget_space(d.get()), path, name), H5Sclose);
    NAQS_H5(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &one, nullptr),
            path, name);
    Handle mspace(NAQS_H5(H5Screate_simple(1, &one, nullptr), path, name), H5Sclose);
    NAQS_H5(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT,
                     &row[i]),
            path, name);
  }
  ++rows_;
  file_->flush();
}

void H5Trace::truncate_to(int64_t n) {
  NAQS_CHECK(n >= 0 && n <= rows_, "H5Trace::truncate_to(", n, "): '", group_, "' in '",
             file_->path(), "' has ", rows_, " rows");
  const hsize_t size = static_cast<hsize_t>(n);
  for (const std::string& c : columns_) {
    const std::string name = column_path(group_, c);
    Handle d(NAQS_H5(H5Dopen2(file_->id(), name.c_str(), H5P_DEFAULT), file_->path(), name),
             H5Dclose);
    NAQS_H5(H5Dset_extent(d.get(), &size), file_->path(), name);
  }
  rows_ = n;
  file_->flush();
}

// ---- provenance --------------------------------------------------------------------------------

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_provenance(H5File& f, const std::string& command_line, const std::string& config_text,
                      const std::string& device, const std::map<std::string, AttrValue>& extra) {
  std::map<std::string, AttrValue> a;
  a["schema_version"] = kSchemaVersion;
  a["package"] = std::string("naqs");
  a["version"] = std::string(NAQS_VERSION);
  a["git_commit"] = std::string(git_commit());
  a["git_dirty"] = int64_t{git_dirty() ? 1 : 0};
  a["build_type"] = std::string(NAQS_BUILD_TYPE);
  a["command_line"] = command_line;
  a["config"] = config_text;
  a["device"] = device;
  a["units"] = std::string("Pauli");
  a["created_utc"] = utc_now();
  a["complete"] = int64_t{0};
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  a["hostname"] = std::string(host);
  for (const char* var : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"}) {
    if (const char* v = std::getenv(var)) {
      std::string key(var);
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      a[key] = std::string(v);
    }
  }
  a["mpi_ranks"] = int64_t{1};  // the MPI driver passes the real count in `extra`
  for (const auto& [key, value] : extra) {
    NAQS_CHECK(key == "mpi_ranks" || !a.count(key), "write_provenance: extra key '", key,
               "' would overwrite a standard provenance attribute");
    a[key] = value;
  }
  for (const auto& [key, value] : a) f.set_attr("/", key, value);
  f.flush();
}

void finish_provenance(H5File& f) {
  f.set_attr("/", "finished_utc", utc_now());
  f.set_attr("/", "complete", int64_t{1});
  f.flush();
}

}  // namespace naqs
