#include "physics/vmc/checkpoint.hpp"

#include <cstdio>
#include <map>
#include <sstream>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"

namespace naqs::vmc {
namespace {

constexpr const char* kKind = "naqs-vmc-checkpoint";
constexpr int64_t kVersion = 1;

void write_tensor(H5File& f, const std::string& name, const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  if (h.dtype() == DType::f32) {
    f.write_dataset(name, h.to_vector<float>(), {h.numel()});
  } else {
    NAQS_CHECK(h.dtype() == DType::f64, "checkpoint: tensor '", name, "' has dtype ",
               dtype_name(h.dtype()), " (f32 or f64 expected)");
    f.write_dataset(name, h.to_vector<double>(), {h.numel()});
  }
}

// Reads dataset `name` of `f` into t (same length, t's dtype); UsageError on a size mismatch.
void read_tensor(const H5File& f, const std::string& name, Tensor& t) {
  const std::vector<int64_t> dims = f.dims(name);
  const int64_t n = dims.size() == 1 ? dims[0] : -1;
  NAQS_REQUIRE(n == t.numel(), "checkpoint '", f.path(), "': dataset '", name, "' has ",
               n, " entries but this run has ", t.numel());
  if (t.dtype() == DType::f32) {
    t.copy_from(Tensor::from_vector(f.read_floats(name), t.shape()));
  } else {
    t.copy_from(Tensor::from_vector(f.read_doubles(name), t.shape()));
  }
}

std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream is(text);
  for (std::string line; std::getline(is, line);) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) {
      m[line] = "";
    } else {
      m[line.substr(0, eq)] = line.substr(eq + 3);
    }
  }
  return m;
}

std::string get_string_attr(const H5File& f, const std::string& name) {
  const AttrValue v = f.get_attr("/", name);
  const std::string* s = std::get_if<std::string>(&v);
  NAQS_REQUIRE(s != nullptr, "checkpoint '", f.path(), "': attribute '", name,
               "' is not a string");
  return *s;
}

int64_t get_int_attr(const H5File& f, const std::string& name) {
  const AttrValue v = f.get_attr("/", name);
  const int64_t* i = std::get_if<int64_t>(&v);
  NAQS_REQUIRE(i != nullptr, "checkpoint '", f.path(), "': attribute '", name,
               "' is not an integer");
  return *i;
}

}  // namespace

std::string fingerprint_hash(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string describe_fingerprint_difference(const std::string& file_text,
                                            const std::string& run_text) {
  const auto a = parse_lines(file_text), b = parse_lines(run_text);
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  for (const auto& [k, v] : a) {
    const auto it = b.find(k);
    if (it == b.end()) {
      add(cat(k, ": checkpoint '", v, "', this run has no such setting"));
    } else if (it->second != v) {
      add(cat(k, ": checkpoint '", v, "', this run '", it->second, "'"));
    }
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) add(cat(k, ": this run '", v, "', not in the checkpoint"));
  return out.empty() ? "texts differ in formatting only" : out;
}

void save_checkpoint(const std::string& path, const CheckpointState& s) {
  check_defined("save_checkpoint", s.params, "params");
  write_atomically(path, [&](H5File& f) {
    f.set_attr("/", "kind", std::string(kKind));
    f.set_attr("/", "checkpoint_version", kVersion);
    f.set_attr("/", "step", s.step);
    f.set_attr("/", "batch_stage", s.batch_stage);
    f.set_attr("/", "seed", static_cast<int64_t>(s.seed));
    f.set_attr("/", "optimizer_steps", s.optimizer_steps);
    f.set_attr("/", "fingerprint", fingerprint_hash(s.fingerprint_text));
    f.set_attr("/", "param_dtype", std::string(dtype_name(s.params.dtype())));
    f.set_attr("/", "n_params", s.params.numel());
    f.set_attr("/", "written_utc", utc_now());
    f.write_string("/fingerprint_text", s.fingerprint_text);
    f.write_string("/layout", s.layout_text);
    write_tensor(f, "/params", s.params);
    f.create_group("/optimizer");
    for (const auto& [name, t] : s.optimizer_state) write_tensor(f, "/optimizer/" + name, t);
    if (!s.sampler_state.empty()) {
      f.create_group("/sampler");
      f.set_attr("/sampler", "counter", static_cast<int64_t>(s.sampler_counter));
      for (const auto& [name, t] : s.sampler_state) write_tensor(f, "/sampler/" + name, t);
    }
  });
}

void load_checkpoint(const std::string& path, CheckpointState& into) {
  const std::string refuse = cat("checkpoint '", path, "' refused (left untouched): ");
  try {
    const H5File f = H5File::open_read(path);
    NAQS_REQUIRE(f.has_attr("/", "kind") && get_string_attr(f, "kind") == kKind, refuse,
                 "not a naqs vmc checkpoint (no kind = ", kKind, " attribute)");
    const int64_t version = get_int_attr(f, "checkpoint_version");
    NAQS_REQUIRE(version == kVersion, refuse, "checkpoint_version ", version, ", this naqs reads ",
                 kVersion);
    const std::string file_text = f.read_string("/fingerprint_text");
    const std::string file_hash = get_string_attr(f, "fingerprint");
    NAQS_REQUIRE(file_hash == fingerprint_hash(file_text), refuse,
                 "its fingerprint attribute does not match its own configuration text (corrupt)");
    NAQS_REQUIRE(file_text == into.fingerprint_text, refuse,
                 "it belongs to a different configuration (fingerprint ", file_hash, ", this run ",
                 fingerprint_hash(into.fingerprint_text), "): ",
                 describe_fingerprint_difference(file_text, into.fingerprint_text));
    const std::string layout = f.read_string("/layout");
    NAQS_REQUIRE(layout == into.layout_text, refuse,
                 "its parameter layout differs from this run's model");
    const std::string dtype = get_string_attr(f, "param_dtype");
    NAQS_REQUIRE(dtype == dtype_name(into.params.dtype()), refuse, "parameters are ", dtype,
                 ", this run uses ", dtype_name(into.params.dtype()));
    const int64_t seed = get_int_attr(f, "seed");
    NAQS_REQUIRE(static_cast<uint64_t>(seed) == into.seed, refuse, "seed ", seed,
                 ", this run ", into.seed);
    const int64_t step = get_int_attr(f, "step");
    NAQS_REQUIRE(step >= 0, refuse, "negative step ", step);
    read_tensor(f, "/params", into.params);
    for (auto& [name, t] : into.optimizer_state) {
      NAQS_REQUIRE(f.exists("/optimizer/" + name), refuse, "no optimiser state '", name, "'");
      read_tensor(f, "/optimizer/" + name, t);
    }
    for (auto& [name, t] : into.sampler_state) {
      NAQS_REQUIRE(f.exists("/sampler/" + name), refuse, "no sampler state '", name, "'");
      read_tensor(f, "/sampler/" + name, t);
    }
    if (!into.sampler_state.empty()) {
      const AttrValue v = f.get_attr("/sampler", "counter");
      const int64_t* counter = std::get_if<int64_t>(&v);
      NAQS_REQUIRE(counter != nullptr && *counter >= 0, refuse, "bad /sampler counter");
      into.sampler_counter = static_cast<uint64_t>(*counter);
    }
    into.step = step;
    into.batch_stage = get_int_attr(f, "batch_stage");
    into.optimizer_steps = get_int_attr(f, "optimizer_steps");
  } catch (const UsageError& e) {
    const std::string what = e.what();
    if (what.rfind(refuse, 0) == 0) throw;
    throw UsageError(refuse + what);
  } catch (const Error& e) {
    throw UsageError(cat(refuse, "unreadable or corrupt (", e.what(),
                         "); remove it to start afresh"));
  }
}

}  // namespace naqs::vmc
