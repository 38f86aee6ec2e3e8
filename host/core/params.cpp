// ParameterSet: see params.hpp.
#include "host/core/params.hpp"

#include <cctype>
#include <sstream>

namespace naqs {

int64_t ParameterSet::add(const std::string& name, const Shape& shape) {
  NAQS_CHECK(!allocated(), "ParameterSet::add('", name, "'): the set is already allocated (",
             flat_.str(), "); add every parameter before allocate()");
  NAQS_CHECK(!name.empty(), "ParameterSet::add: empty parameter name");
  for (char ch : name)
    NAQS_CHECK(!std::isspace(static_cast<unsigned char>(ch)), "ParameterSet::add('", name,
               "'): parameter names may not contain whitespace");
  NAQS_CHECK(!contains(name), "ParameterSet::add('", name, "'): duplicate parameter name (",
             "already registered with shape ", entry(name).shape.str(), ")");
  for (int i = 0; i < shape.rank; ++i)
    NAQS_CHECK(shape[i] >= 0, "ParameterSet::add('", name, "'): invalid shape ", shape.str());
  const int64_t offset = size_;
  index_[name] = layout_.size();
  layout_.push_back({name, offset, shape});
  size_ += shape.numel();
  return offset;
}

void ParameterSet::allocate(DType dtype, Device device) {
  NAQS_CHECK(!allocated(), "ParameterSet::allocate: already allocated (", flat_.str(), ")");
  NAQS_CHECK(dtype == DType::f32 || dtype == DType::f64, "ParameterSet::allocate: dtype ",
             dtype_name(dtype), " not supported (allowed: f32, f64)");
  flat_ = Tensor::zeros({size_}, dtype, device);
}

Tensor ParameterSet::flat() const {
  NAQS_CHECK(allocated(), "ParameterSet::flat: allocate() has not been called");
  return flat_;
}

const ParameterEntry& ParameterSet::find(const char* op, const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    std::string known;
    for (const ParameterEntry& e : layout_) known += (known.empty() ? "" : ", ") + e.name;
    throw Error(cat(op, ": unknown parameter '", name, "' (known: ",
                    known.empty() ? "none" : known, ")"));
  }
  return layout_[it->second];
}

const ParameterEntry& ParameterSet::entry(const std::string& name) const {
  return find("ParameterSet::entry", name);
}

Tensor ParameterSet::get(const std::string& name) const {
  const ParameterEntry& e = find("ParameterSet::get", name);
  NAQS_CHECK(allocated(), "ParameterSet::get('", name, "'): allocate() has not been called");
  return flat_.narrow(e.offset, e.shape.numel()).reshape(e.shape);
}

ParameterSet ParameterSet::like(DType dtype, Device device) const {
  ParameterSet p;
  p.layout_ = layout_;
  p.index_ = index_;
  p.size_ = size_;
  p.allocate(dtype, device);
  return p;
}

std::string ParameterSet::layout_text() const {
  std::string s;
  for (const ParameterEntry& e : layout_) s += cat(e.name, " ", e.offset, " ", e.shape.str(), "\n");
  return s;
}

ParameterSet ParameterSet::from_layout_text(const std::string& text) {
  ParameterSet p;
  std::istringstream lines(text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream in(line);
    std::string name, shape_text, rest;
    int64_t offset = -1;
    const bool ok = static_cast<bool>(in >> name >> offset >> shape_text) && !(in >> rest) &&
                    shape_text.size() >= 2 && shape_text.front() == '[' &&
                    shape_text.back() == ']';
    NAQS_CHECK(ok, "ParameterSet::from_layout_text: line ", line_no, " '", line,
               "' is not 'name offset [d0,d1,...]'");
    std::vector<int64_t> dims;
    std::istringstream ds(shape_text.substr(1, shape_text.size() - 2));
    std::string d;
    while (std::getline(ds, d, ',')) {
      std::size_t used = 0;
      int64_t v = -1;
      try {
        v = std::stoll(d, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      NAQS_CHECK(used == d.size() && v >= 0, "ParameterSet::from_layout_text: line ", line_no,
                 ": bad dimension '", d, "' in ", shape_text);
      dims.push_back(v);
    }
    NAQS_CHECK(dims.size() <= kMaxRank, "ParameterSet::from_layout_text: line ", line_no,
               ": rank ", dims.size(), " exceeds ", kMaxRank);
    NAQS_CHECK(offset == p.size_, "ParameterSet::from_layout_text: line ", line_no, ": offset ",
               offset, " of '", name, "' but packed order gives ", p.size_);
    p.add(name, Shape(dims));
  }
  return p;
}

}  // namespace naqs
