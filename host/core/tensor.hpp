// Tensor: a dense, row-major (contiguous) array of rank <= 4 on one device, owning a buffer
// from that device's caching allocator. Views (reshape, narrow along dim 0, select) share the
// buffer. Host<->device movement is always explicit (to(), copy_from()).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/dtype.hpp"

namespace naqs {

constexpr int kMaxRank = 4;

struct Shape {
  std::array<int64_t, kMaxRank> dims{};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);
  explicit Shape(const std::vector<int64_t>& d);
  int64_t operator[](int i) const { return dims[i]; }
  int64_t& operator[](int i) { return dims[i]; }
  int64_t numel() const;
  std::string str() const;  // "[3,4]"
  friend bool operator==(const Shape& a, const Shape& b);
};

// A device buffer; returns itself to the caching allocator when the last view goes.
struct Storage {
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* ptr = nullptr;
  std::size_t bytes = 0;
  Device device;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (defined() == false)

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype, Device device = Device::cpu());
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank; }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::cpu(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  std::string str() const;  // "f32[3,4]@cuda:0", used in every error message

  void* raw_data();
  const void* raw_data() const;
  template <class T> T* data();              // checks dtype
  template <class T> const T* data() const;  // checks dtype

  // Views sharing the buffer.
  Tensor reshape(const Shape& shape) const;           // same numel; one dim may be -1
  Tensor narrow(int64_t start, int64_t length) const;  // rows [start, start+length) of dim 0
  Tensor select(int64_t index) const;                  // row index of dim 0, rank - 1

  // Copies (new buffers).
  Tensor to(Device device) const;  // same tensor when already there
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  template <class T> std::vector<T> to_vector() const;  // any device -> host vector
  double item() const;  // the single element, as double

 private:
  std::shared_ptr<Storage> storage_;
  std::size_t offset_ = 0;  // bytes
  Shape shape_;
  DType dtype_ = DType::f32;
};

// Checks used by every op; each throws naqs::Error naming the op, the tensors and devices.
void check_defined(const char* op, const Tensor& t, const char* name);
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
void check_dtype(const char* op, const Tensor& t, DType want, const char* name);
void check_rank(const char* op, const Tensor& t, int rank, const char* name);
void check_shape(const char* op, const Tensor& t, const Shape& want, const char* name);

// ---- template definitions --------------------------------------------------------------
template <class T>
T* Tensor::data() {
  check_dtype("Tensor::data", *this, dtype_v<T>, "tensor");
  return static_cast<T*>(raw_data());
}
template <class T>
const T* Tensor::data() const {
  check_dtype("Tensor::data", *this, dtype_v<T>, "tensor");
  return static_cast<const T*>(raw_data());
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t bytes);

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  NAQS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from_vector: ",
             values.size(), " values for shape ", shape.str());
  Tensor t = empty(shape, dtype_v<T>, device);
  copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), values.size() * sizeof(T));
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_dtype("Tensor::to_vector", *this, dtype_v<T>, "tensor");
  std::vector<T> out(static_cast<std::size_t>(numel()));
  copy_bytes(out.data(), Device::cpu(), raw_data(), device(), nbytes());
  return out;
}

}  // namespace naqs
