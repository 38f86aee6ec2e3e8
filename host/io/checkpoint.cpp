#include "host/io/checkpoint.hpp"

#include <cstdio>
#include <map>
#include <sstream>

#include "host/core/error.hpp"

namespace naqs {
namespace {

// "name" -> ("/", "name"); "/group:name" -> ("/group", "name").
std::pair<std::string, std::string> attr_location(const std::string& key) {
  const auto colon = key.rfind(':');
  if (key.empty() || key[0] != '/' || colon == std::string::npos) return {"/", key};
  return {key.substr(0, colon), key.substr(colon + 1)};
}

void write_tensor(H5File& f, const std::string& name, const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  const Shape& s = h.shape();
  const std::vector<int64_t> dims(s.dims.begin(), s.dims.begin() + s.rank);
  switch (h.dtype()) {
    case DType::f32: f.write_dataset(name, h.to_vector<float>(), dims); break;
    case DType::f64: f.write_dataset(name, h.to_vector<double>(), dims); break;
    case DType::i32: {
      const std::vector<int32_t> v = h.to_vector<int32_t>();
      f.write_dataset(name, std::vector<int64_t>(v.begin(), v.end()), dims);
      break;
    }
    case DType::u8: {
      const std::vector<uint8_t> v = h.to_vector<uint8_t>();
      f.write_dataset(name, std::vector<int64_t>(v.begin(), v.end()), dims);
      break;
    }
  }
  f.set_attr(name, "dtype", std::string(dtype_name(h.dtype())));
}

// Host tensor of t's shape and dtype holding dataset `name`.
Tensor read_tensor(const H5File& f, const std::string& name, const Tensor& like) {
  switch (like.dtype()) {
    case DType::f32: return Tensor::from_vector(f.read_floats(name), like.shape());
    case DType::f64: return Tensor::from_vector(f.read_doubles(name), like.shape());
    case DType::i32: {
      const std::vector<int64_t> v = f.read_int64s(name);
      return Tensor::from_vector(std::vector<int32_t>(v.begin(), v.end()), like.shape());
    }
    case DType::u8: {
      const std::vector<int64_t> v = f.read_int64s(name);
      return Tensor::from_vector(std::vector<uint8_t>(v.begin(), v.end()), like.shape());
    }
  }
  throw Error("checkpoint: unknown dtype");
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(d[i]);
  }
  return s + "]";
}

const char* type_name(const AttrValue& v) {
  return std::holds_alternative<int64_t>(v) ? "an integer"
         : std::holds_alternative<double>(v) ? "a float" : "a string";
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

const AttrValue& find_attr(const Checkpoint& c, const std::string& name) {
  for (const auto& [k, v] : c.attributes)
    if (k == name) return v;
  throw Error(cat("checkpoint '", c.kind, "': no attribute '", name, "'"));
}

}  // namespace

int64_t Checkpoint::attr_int(const std::string& name) const {
  const int64_t* v = std::get_if<int64_t>(&find_attr(*this, name));
  NAQS_CHECK(v != nullptr, "checkpoint '", kind, "': attribute '", name, "' is not an integer");
  return *v;
}

std::string Checkpoint::attr_string(const std::string& name) const {
  const std::string* v = std::get_if<std::string>(&find_attr(*this, name));
  NAQS_CHECK(v != nullptr, "checkpoint '", kind, "': attribute '", name, "' is not a string");
  return *v;
}

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

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  NAQS_CHECK(!c.kind.empty(), "save_checkpoint: '", path, "': the checkpoint has no kind");
  for (const auto& [name, t] : c.tensors) check_defined("save_checkpoint", t, name.c_str());
  write_atomically(path, [&](H5File& f) {
    f.set_attr("/", "kind", c.kind);
    f.set_attr("/", "checkpoint_version", c.version);
    f.set_attr("/", "fingerprint", fingerprint_hash(c.fingerprint_text));
    f.set_attr("/", "written_utc", utc_now());
    f.write_string("/fingerprint_text", c.fingerprint_text);
    for (const CheckpointText& t : c.texts) f.write_string(t.path, t.text);
    for (const auto& [name, t] : c.tensors) write_tensor(f, name, t);
    for (const auto& [key, v] : c.attributes) {
      const auto [object, name] = attr_location(key);
      if (object != "/") f.create_group(object);
      f.set_attr(object, name, v);
    }
  });
}

void load_checkpoint(const std::string& path, Checkpoint& into,
                     const std::function<void(const Checkpoint& file)>& check) {
  const std::string refuse = cat("checkpoint '", path, "' refused (left untouched): ");
  try {
    const H5File f = H5File::open_read(path);
    auto string_attr = [&](const std::string& name) {
      NAQS_REQUIRE(f.has_attr("/", name), refuse, "no '", name, "' attribute");
      const AttrValue v = f.get_attr("/", name);
      const std::string* s = std::get_if<std::string>(&v);
      NAQS_REQUIRE(s != nullptr, refuse, "attribute '", name, "' is not a string");
      return *s;
    };
    NAQS_REQUIRE(f.has_attr("/", "kind") && string_attr("kind") == into.kind, refuse,
                 "not a ", into.kind, " file (no kind = ", into.kind, " attribute)");
    const AttrValue version = f.get_attr("/", "checkpoint_version");
    NAQS_REQUIRE(std::get_if<int64_t>(&version) && std::get<int64_t>(version) == into.version,
                 refuse, "checkpoint_version ",
                 std::get_if<int64_t>(&version) ? std::to_string(std::get<int64_t>(version))
                                                : std::string("(not an integer)"),
                 ", this naqs reads ", into.version);
    const std::string file_text = f.read_string("/fingerprint_text");
    const std::string file_hash = string_attr("fingerprint");
    NAQS_REQUIRE(file_hash == fingerprint_hash(file_text), refuse,
                 "its fingerprint attribute does not match its own configuration text (corrupt)");
    NAQS_REQUIRE(file_text == into.fingerprint_text, refuse,
                 "it belongs to a different configuration (fingerprint ", file_hash, ", this run ",
                 fingerprint_hash(into.fingerprint_text), "): ",
                 describe_fingerprint_difference(file_text, into.fingerprint_text));
    for (const CheckpointText& t : into.texts) {
      NAQS_REQUIRE(f.exists(t.path), refuse, "no ", t.what, " (", t.path, ")");
      NAQS_REQUIRE(f.read_string(t.path) == t.text, refuse, "its ", t.what,
                   " differs from this run's");
    }
    // Everything is checked before anything is restored.
    Checkpoint file;
    file.kind = into.kind;
    for (const auto& [key, want] : into.attributes) {
      const auto [object, name] = attr_location(key);
      NAQS_REQUIRE(f.exists(object) && f.has_attr(object, name), refuse, "no attribute '", key,
                   "'");
      AttrValue v = f.get_attr(object, name);
      NAQS_REQUIRE(v.index() == want.index(), refuse, "attribute '", key, "' is ", type_name(v),
                   ", expected ", type_name(want));
      file.attributes.emplace_back(key, std::move(v));
    }
    if (check) check(file);
    for (const auto& [name, t] : into.tensors) {
      NAQS_REQUIRE(f.exists(name), refuse, "no tensor '", name, "'");
      const std::vector<int64_t> dims = f.dims(name);
      const Shape& s = t.shape();
      const std::vector<int64_t> want(s.dims.begin(), s.dims.begin() + s.rank);
      NAQS_REQUIRE(dims == want, refuse, "tensor '", name, "' has shape ", dims_str(dims),
                   " but this run's is ", dims_str(want));
      if (f.has_attr(name, "dtype")) {
        const AttrValue d = f.get_attr(name, "dtype");
        const std::string* ds = std::get_if<std::string>(&d);
        NAQS_REQUIRE(ds != nullptr && *ds == dtype_name(t.dtype()), refuse, "tensor '", name,
                     "' is ", ds ? *ds : std::string("(no dtype)"), ", this run's is ",
                     dtype_name(t.dtype()));
      }
    }
    std::vector<Tensor> restored;  // read all before writing any
    for (const auto& [name, t] : into.tensors) restored.push_back(read_tensor(f, name, t));
    for (std::size_t i = 0; i < restored.size(); ++i) into.tensors[i].second.copy_from(restored[i]);
    into.attributes = std::move(file.attributes);
  } catch (const UsageError& e) {
    const std::string what = e.what();
    if (what.rfind(refuse, 0) == 0) throw;
    throw UsageError(refuse + what);
  } catch (const Error& e) {
    throw UsageError(cat(refuse, "unreadable or corrupt (", e.what(),
                         "); remove it to start afresh"));
  }
}

}  // namespace naqs
