// ParameterSet: all parameters of a model in one flat 1-D buffer (P) with a named layout table,
// so optimisers, checkpoints, MPI all-reduce and SR act on one vector. Each parameter is a view
// of the flat buffer with its registered shape; parameters are packed in the order added.
// Usage: add() every parameter, allocate() once (zeroed buffer), then get(name) views.
// like() makes a set with the same layout and a fresh zeroed buffer (gradients, Adam moments).
// Copying a ParameterSet copies the layout and shares the buffer (like Tensor); for an
// independent copy use like() and flat().copy_from().
// Errors (naqs::Error, naming the set's parameter and the call): a duplicate or malformed name,
// add() after allocate(), get() of an unknown name or before allocate().
// Tests: tests/unit/test_params.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs {

struct ParameterEntry {
  std::string name;
  int64_t offset = 0;  // first element in the flat buffer
  Shape shape;
};

class ParameterSet {
 public:
  // Registers a parameter (before allocate()); returns its offset. Names are non-empty and
  // contain no whitespace (layout_text() is whitespace-separated).
  int64_t add(const std::string& name, const Shape& shape);
  // One flat buffer of size() elements, zeroed. Only once.
  void allocate(DType dtype, Device device);
  bool allocated() const { return flat_.defined(); }

  Tensor flat() const;                         // (P); requires allocate()
  Tensor get(const std::string& name) const;   // view with the registered shape
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const ParameterEntry& entry(const std::string& name) const;
  const std::vector<ParameterEntry>& layout() const { return layout_; }
  int64_t size() const { return size_; }       // P

  // Same layout, new zeroed buffer of the given dtype and device.
  ParameterSet like(DType dtype, Device device) const;

  // One line per parameter, "name offset shape\n" with shape as "[d0,d1,...]".
  std::string layout_text() const;
  // Inverse of layout_text() (unallocated set); malformed text or offsets that do not match
  // packed order throw naqs::Error.
  static ParameterSet from_layout_text(const std::string& text);

 private:
  const ParameterEntry& find(const char* op, const std::string& name) const;

  std::vector<ParameterEntry> layout_;
  std::map<std::string, std::size_t> index_;  // name -> position in layout_
  int64_t size_ = 0;
  Tensor flat_;
};

}  // namespace naqs
