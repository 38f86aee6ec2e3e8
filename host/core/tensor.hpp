// Tensor: an array of rank <= 6 on one device, a view (shape, strides in elements, offset) of a
// buffer from that device's caching allocator. Fresh tensors are contiguous (row-major); views
// (reshape, narrow/select on any dim, permute, transpose, expand) share the buffer and may be
// strided; contiguous() is the one copy that makes a strided view dense again.
// Host<->device movement is always explicit (to(), copy_from()).
//
// Strides: ops read memory through data<T>() / raw_data(), which refuse a non-contiguous view
// (one line naming the tensor and saying to call contiguous()); ops check their arguments with
// check_contiguous() so the message names the op. Code that honours strides (ops::copy,
// ops::matmul) reads the pointer to element [0,...,0] through strided_data<T>() /
// raw_strided_data() and the strides through stride(d). Strides are >= 0; a stride of 0 (from
// expand) repeats one element along that dim, so such a view must not be written to.
// Tests: tests/unit/test_tensor.cpp (views, errors), tests/unit/test_copy.cpp.
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

constexpr int kMaxRank = 6;

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

// Strides in elements, one per dim (entries past the rank are 0).
using Strides = std::array<int64_t, kMaxRank>;

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
  // "f32[3,4]@cuda:0"; a non-contiguous view shows its strides: "f32[4,3](strides 1,4)@cpu".
  // Used in every error message.
  std::string str() const;

  const Strides& strides() const { return strides_; }
  int64_t stride(int dim) const;  // elements; negative dims count from the end
  // Row-major dense: every dim of size > 1 has stride = product of the sizes after it (a dim of
  // size 1 may have any stride; an empty tensor is contiguous).
  bool is_contiguous() const;

  // Pointer to the first element of a contiguous tensor; a strided view is refused with one line
  // naming it (call contiguous() first). data<T>() also checks the dtype.
  void* raw_data();
  const void* raw_data() const;
  template <class T> T* data();
  template <class T> const T* data() const;
  // Pointer to element [0,...,0] of any view, for code that walks stride(d) itself.
  void* raw_strided_data();
  const void* raw_strided_data() const;
  template <class T> T* strided_data();              // checks dtype
  template <class T> const T* strided_data() const;  // checks dtype

  // Views sharing the buffer. Dims may be negative (counted from the end). Out-of-range
  // arguments throw one line naming the view, the tensor and the allowed range.
  Tensor reshape(const Shape& shape) const;  // contiguous only; same numel; one dim may be -1
  Tensor narrow(int64_t start, int64_t length) const;  // rows [start, start+length) of dim 0
  Tensor narrow(int dim, int64_t start, int64_t length) const;  // [start, start+length) of dim
  Tensor select(int64_t index) const;           // row index of dim 0, rank - 1
  Tensor select(int dim, int64_t index) const;  // index of dim, rank - 1
  Tensor permute(const std::vector<int>& dims) const;  // view dim i = this dim dims[i]
  Tensor transpose(int dim0, int dim1) const;          // swaps two dims
  // Broadcasts size-1 dims to `shape` with stride 0 (-1 keeps a dim); extra leading dims of
  // `shape` are new broadcast dims. The result must not be written to.
  Tensor expand(const Shape& shape) const;

  // Copies (new buffers, contiguous, through ops::copy for strided views).
  Tensor contiguous() const;  // this tensor itself when already contiguous
  Tensor to(Device device) const;  // same tensor when already there
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices, any strides
  template <class T> std::vector<T> to_vector() const;  // any device -> host vector
  double item() const;  // the single element, as double

 private:
  std::shared_ptr<Storage> storage_;
  std::size_t offset_ = 0;  // bytes
  Shape shape_;
  Strides strides_{};  // elements
  DType dtype_ = DType::f32;
};

// Row-major strides of a dense tensor of this shape.
Strides contiguous_strides(const Shape& shape);

// A joint walk over up to three views of one shape with its dims collapsed: size-1 dims dropped,
// and a dim merged into the one before it where every view steps through the pair as one
// (stride[prev] == stride[d] * size[d]). A walk between two dense tensors becomes one dim.
// Plain data, so kernels take it by value (cuda/copy.cu). Used by ops::copy and by ops::matmul
// for its batch dims.
struct CollapsedDims {
  int rank = 0;
  int64_t size[kMaxRank] = {};
  int64_t stride[3][kMaxRank] = {};  // stride[v][d]: view v's stride along collapsed dim d
  int64_t numel() const;
};
// Collapses dims [0, n_dims) of the views, which must agree in size there.
CollapsedDims collapse_dims(std::initializer_list<const Tensor*> views, int n_dims);

// Checks used by every op; each throws naqs::Error naming the op, the tensors and devices.
void check_defined(const char* op, const Tensor& t, const char* name);
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
void check_dtype(const char* op, const Tensor& t, DType want, const char* name);
void check_rank(const char* op, const Tensor& t, int rank, const char* name);
void check_shape(const char* op, const Tensor& t, const Shape& want, const char* name);
// For ops that need dense tensors: refuses a strided view ("op: 'x' is f32[..](strides ..)@cpu,
// a non-contiguous view; op needs contiguous tensors: call contiguous() first").
void check_contiguous(const char* op, const Tensor& t, const char* name);
// For outputs written through strides: refuses a view whose elements share memory (stride 0 or
// interleaved dims; the test sorts dims by stride, sufficient for every view this API makes).
void check_no_overlap(const char* op, const Tensor& t, const char* name);

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
template <class T>
T* Tensor::strided_data() {
  check_dtype("Tensor::strided_data", *this, dtype_v<T>, "tensor");
  return static_cast<T*>(raw_strided_data());
}
template <class T>
const T* Tensor::strided_data() const {
  check_dtype("Tensor::strided_data", *this, dtype_v<T>, "tensor");
  return static_cast<const T*>(raw_strided_data());
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
  const Tensor dense = contiguous();
  std::vector<T> out(static_cast<std::size_t>(numel()));
  copy_bytes(out.data(), Device::cpu(), dense.raw_data(), device(), nbytes());
  return out;
}

}  // namespace naqs
