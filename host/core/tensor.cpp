#include "host/core/tensor.hpp"

#include <cstring>

#include "host/core/allocator.hpp"
#include "host/core/cuda_runtime.hpp"

namespace naqs {

Shape::Shape(std::initializer_list<int64_t> d) : Shape(std::vector<int64_t>(d)) {}

Shape::Shape(const std::vector<int64_t>& d) {
  NAQS_CHECK(d.size() <= kMaxRank, "Shape: rank ", d.size(), " exceeds the maximum ", kMaxRank);
  rank = static_cast<int>(d.size());
  for (int i = 0; i < rank; ++i) {
    NAQS_CHECK(d[i] >= 0 || d[i] == -1, "Shape: negative dimension ", d[i]);
    dims[i] = d[i];
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank != b.rank) return false;
  for (int i = 0; i < a.rank; ++i)
    if (a.dims[i] != b.dims[i]) return false;
  return true;
}

Storage::Storage(std::size_t n, Device d) : bytes(n), device(d) {
  ptr = allocator_for(d).allocate(n);
}
Storage::~Storage() { allocator_for(device).deallocate(ptr, bytes); }

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if NAQS_HAVE_CUDA
  if (dst_dev.is_cuda() && src_dev.is_cpu()) {
    cuda_rt::set_device(dst_dev.index);
    cuda_rt::copy_h2d(dst, src, bytes);
  } else if (dst_dev.is_cpu() && src_dev.is_cuda()) {
    cuda_rt::set_device(src_dev.index);
    cuda_rt::copy_d2h(dst, src, bytes);
  } else {
    cuda_rt::set_device(dst_dev.index);
    cuda_rt::copy_d2d(dst, src, bytes);
  }
#else
  throw Error("copy: a cuda tensor reached a build without CUDA");
#endif
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int i = 0; i < shape.rank; ++i)
    NAQS_CHECK(shape[i] >= 0, "Tensor::empty: negative dimension in ", shape.str());
  if (device.is_cuda()) {
    NAQS_CHECK(device.index < device_count(), "Tensor::empty: ", device.str(),
               " requested but ", device_count(), " CUDA device(s) are available");
  }
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu()) {
    std::memset(t.raw_data(), 0, t.nbytes());
  } else {
    NAQS_CUDA_BRANCH("Tensor::zeros", cuda_rt::memset_device(t.raw_data(), 0, t.nbytes()));
  }
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(host.raw_data());
    for (int64_t i = 0; i < host.numel(); ++i) p[i] = static_cast<T>(value);
  });
  return host.to(device);
}

int64_t Tensor::size(int dim) const {
  int d = dim < 0 ? dim + rank() : dim;
  NAQS_CHECK(d >= 0 && d < rank(), "Tensor::size: dim ", dim, " out of range for ", str());
  return shape_[d];
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return cat(dtype_name(dtype_), shape_.str(), "@", device().str());
}

void* Tensor::raw_data() {
  NAQS_CHECK(defined(), "Tensor: access to an undefined tensor");
  return static_cast<char*>(storage_->ptr) + offset_;
}
const void* Tensor::raw_data() const {
  NAQS_CHECK(defined(), "Tensor: access to an undefined tensor");
  return static_cast<const char*>(storage_->ptr) + offset_;
}

Tensor Tensor::reshape(const Shape& s) const {
  Shape shape = s;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.rank; ++i) {
    if (shape[i] == -1) {
      NAQS_CHECK(infer < 0, "Tensor::reshape: more than one -1 in ", s.str());
      infer = i;
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    NAQS_CHECK(known > 0 && numel() % known == 0, "Tensor::reshape: cannot view ", str(), " as ",
               s.str());
    shape[infer] = numel() / known;
  }
  NAQS_CHECK(shape.numel() == numel(), "Tensor::reshape: cannot view ", str(), " as ", s.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::narrow(int64_t start, int64_t length) const {
  NAQS_CHECK(rank() >= 1 && start >= 0 && length >= 0 && start + length <= shape_[0],
             "Tensor::narrow: rows [", start, ",", start + length, ") out of range for ", str());
  Tensor t = *this;
  const int64_t row = rank() ? numel() / (shape_[0] ? shape_[0] : 1) : 1;
  t.offset_ += static_cast<std::size_t>(start * row) * dtype_size(dtype_);
  t.shape_[0] = length;
  return t;
}

Tensor Tensor::select(int64_t index) const {
  Tensor row = narrow(index, 1);
  Shape s;
  s.rank = rank() - 1;
  for (int i = 1; i < rank(); ++i) s[i - 1] = shape_[i];
  row.shape_ = s;
  return row;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  check_defined("copy_from", src, "src");
  check_same_dtype("copy_from", {this, &src});
  check_shape("copy_from", src, shape_, "src");
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes());
}

double Tensor::item() const {
  NAQS_CHECK(numel() == 1, "Tensor::item: ", str(), " is not a single element");
  return dispatch_all(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(to_vector<T>()[0]);
  });
}

// ---- checks ----------------------------------------------------------------------------
void check_defined(const char* op, const Tensor& t, const char* name) {
  if (!t.defined()) throw Error(cat(op, ": argument '", name, "' is undefined"));
}

namespace {
std::string list(std::initializer_list<const Tensor*> ts) {
  std::string s;
  for (const Tensor* t : ts) {
    if (!s.empty()) s += ", ";
    s += t->str();
  }
  return s;
}
}  // namespace

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Device d = (*ts.begin())->device();
  for (const Tensor* t : ts)
    if (!(t->device() == d)) throw Error(cat(op, ": tensors on different devices: ", list(ts)));
}

void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
  const DType d = (*ts.begin())->dtype();
  for (const Tensor* t : ts)
    if (t->dtype() != d) throw Error(cat(op, ": tensors of different dtypes: ", list(ts)));
}

void check_dtype(const char* op, const Tensor& t, DType want, const char* name) {
  if (t.dtype() != want)
    throw Error(cat(op, ": '", name, "' is ", t.str(), " but dtype ", dtype_name(want),
                    " is required"));
}

void check_rank(const char* op, const Tensor& t, int rank, const char* name) {
  if (t.rank() != rank)
    throw Error(cat(op, ": '", name, "' is ", t.str(), " but rank ", rank, " is required"));
}

void check_shape(const char* op, const Tensor& t, const Shape& want, const char* name) {
  if (!(t.shape() == want))
    throw Error(cat(op, ": '", name, "' is ", t.str(), " but shape ", want.str(),
                    " is required"));
}

DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "float32") return DType::f32;
  if (s == "f64" || s == "float64") return DType::f64;
  if (s == "i32" || s == "int32") return DType::i32;
  if (s == "u8" || s == "uint8") return DType::u8;
  throw UsageError(cat("unknown dtype '", s, "' (allowed: f32, f64, i32, u8)"));
}

}  // namespace naqs
