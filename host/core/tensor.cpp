#include "host/core/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "host/core/allocator.hpp"
#include "host/core/checked.hpp"
#include "host/core/cuda_runtime.hpp"
#include "host/ops/copy.hpp"

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
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) {  // a -1 placeholder (reshape)
      n *= dims[i];
    } else if (__builtin_mul_overflow(n, dims[i], &n)) {
      throw UsageError(cat("shape ", str(), " has more than ",
                           std::numeric_limits<int64_t>::max(), " elements"));
    }
  }
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
  // The byte count first (checked: a UsageError, never a wrapped size), then the strides.
  const std::size_t bytes =
      checked_bytes(shape.numel(), dtype_size(dtype), cat("tensor ", shape.str(), " bytes"));
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(bytes, device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu()) {
    std::memset(t.raw_data(), 0, t.nbytes());
  } else {
    NAQS_CUDA_BRANCH("Tensor::zeros", (cuda_rt::set_device(device.index),
                                       cuda_rt::memset_device(t.raw_data(), 0, t.nbytes())));
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

Strides contiguous_strides(const Shape& shape) {
  Strides s{};
  int64_t step = 1;
  for (int i = shape.rank - 1; i >= 0; --i) {
    s[i] = step;
    if (i > 0 && __builtin_mul_overflow(step, std::max<int64_t>(shape[i], 1), &step))
      throw UsageError(cat("shape ", shape.str(), " is too large: its strides do not fit 64 bits"));
  }
  return s;
}

int64_t CollapsedDims::numel() const {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= size[d];
  return n;
}

CollapsedDims collapse_dims(std::initializer_list<const Tensor*> views, int n_dims) {
  NAQS_CHECK(views.size() <= 3, "collapse_dims: at most 3 views");
  const Tensor& first = **views.begin();
  CollapsedDims c;
  for (int d = 0; d < n_dims; ++d) {
    const int64_t n = first.size(d);
    if (n == 1) continue;  // walks nothing
    bool merge = c.rank > 0;
    int v = 0;
    for (const Tensor* t : views) merge = merge && c.stride[v++][c.rank - 1] == t->stride(d) * n;
    if (!merge) c.size[c.rank++] = 1;
    c.size[c.rank - 1] *= n;
    v = 0;
    for (const Tensor* t : views) c.stride[v++][c.rank - 1] = t->stride(d);
  }
  return c;
}

namespace {

// dim in [-rank, rank) -> [0, rank), or one line naming the view and the tensor.
int wrap_dim(const char* what, int dim, const Tensor& t) {
  const int d = dim < 0 ? dim + t.rank() : dim;
  NAQS_CHECK(d >= 0 && d < t.rank(), what, ": dim ", dim, " out of range for ", t.str(),
             " (allowed: ", -t.rank(), " to ", t.rank() - 1, ")");
  return d;
}

std::string join(const int64_t* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace

int64_t Tensor::size(int dim) const { return shape_[wrap_dim("Tensor::size", dim, *this)]; }

int64_t Tensor::stride(int dim) const { return strides_[wrap_dim("Tensor::stride", dim, *this)]; }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t step = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != step) return false;
    step *= shape_[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  const std::string strides =
      is_contiguous() ? "" : cat("(strides ", join(strides_.data(), rank()), ")");
  return cat(dtype_name(dtype_), shape_.str(), strides, "@", device().str());
}

void* Tensor::raw_data() {
  return const_cast<void*>(static_cast<const Tensor*>(this)->raw_data());
}
const void* Tensor::raw_data() const {
  NAQS_CHECK(is_contiguous(), "Tensor::data: ", str(),
             " is a non-contiguous view; call contiguous() first (or read it through "
             "strided_data() and its strides)");
  return raw_strided_data();
}

void* Tensor::raw_strided_data() {
  return const_cast<void*>(static_cast<const Tensor*>(this)->raw_strided_data());
}
const void* Tensor::raw_strided_data() const {
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
  NAQS_CHECK(is_contiguous(), "Tensor::reshape: ", str(),
             " is a non-contiguous view; call contiguous() before reshaping it to ", s.str());
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::narrow(int64_t start, int64_t length) const {
  NAQS_CHECK(rank() >= 1, "Tensor::narrow: ", str(), " has no dim 0");
  return narrow(0, start, length);
}

Tensor Tensor::narrow(int dim, int64_t start, int64_t length) const {
  const int d = wrap_dim("Tensor::narrow", dim, *this);
  NAQS_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d], "Tensor::narrow: [",
             start, ",", start + length, ") of dim ", dim, " out of range for ", str(),
             " (size ", shape_[d], ")");
  Tensor t = *this;
  t.offset_ += static_cast<std::size_t>(start * strides_[d]) * dtype_size(dtype_);
  t.shape_[d] = length;
  return t;
}

Tensor Tensor::select(int64_t index) const {
  NAQS_CHECK(rank() >= 1, "Tensor::select: ", str(), " has no dim 0");
  return select(0, index);
}

Tensor Tensor::select(int dim, int64_t index) const {
  const int d = wrap_dim("Tensor::select", dim, *this);
  NAQS_CHECK(index >= 0 && index < shape_[d], "Tensor::select: index ", index, " of dim ", dim,
             " out of range for ", str(), " (size ", shape_[d], ")");
  Tensor t = *this;
  t.offset_ += static_cast<std::size_t>(index * strides_[d]) * dtype_size(dtype_);
  for (int i = d; i + 1 < rank(); ++i) {
    t.shape_[i] = shape_[i + 1];
    t.strides_[i] = strides_[i + 1];
  }
  t.shape_[rank() - 1] = 0;
  t.strides_[rank() - 1] = 0;
  t.shape_.rank = rank() - 1;
  return t;
}

Tensor Tensor::permute(const std::vector<int>& dims) const {
  std::string given;
  for (int d : dims) {
    if (!given.empty()) given += ',';
    given += std::to_string(d);
  }
  const auto refuse = [&] {
    return Error(cat("Tensor::permute: (", given, ") is not a permutation of the ", rank(),
                     " dims of ", str()));
  };
  if (static_cast<int>(dims.size()) != rank()) throw refuse();
  std::array<bool, kMaxRank> seen{};
  Tensor t = *this;
  for (int i = 0; i < rank(); ++i) {
    const int d = dims[i] < 0 ? dims[i] + rank() : dims[i];
    if (d < 0 || d >= rank() || seen[d]) throw refuse();
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::transpose(int dim0, int dim1) const {
  const int d0 = wrap_dim("Tensor::transpose", dim0, *this);
  const int d1 = wrap_dim("Tensor::transpose", dim1, *this);
  Tensor t = *this;
  std::swap(t.shape_[d0], t.shape_[d1]);
  std::swap(t.strides_[d0], t.strides_[d1]);
  return t;
}

Tensor Tensor::expand(const Shape& shape) const {
  const int lead = shape.rank - rank();
  NAQS_CHECK(lead >= 0, "Tensor::expand: cannot expand ", str(), " to fewer dims ", shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  for (int i = 0; i < shape.rank; ++i) {
    const int src = i - lead;  // this tensor's dim, < 0 for a new leading dim
    if (src < 0) {
      NAQS_CHECK(shape[i] >= 0, "Tensor::expand: new leading dim ", i, " of ", shape.str(),
                 " cannot be -1 (expanding ", str(), ")");
      t.strides_[i] = 0;
    } else if (shape[i] == -1 || shape[i] == shape_[src]) {
      t.shape_[i] = shape_[src];
      t.strides_[i] = strides_[src];
    } else {
      NAQS_CHECK(shape_[src] == 1, "Tensor::expand: dim ", src, " of ", str(),
                 " has size ", shape_[src], ", not 1, so it cannot broadcast to ", shape.str());
      t.strides_[i] = 0;
    }
  }
  return t;
}

Tensor Tensor::contiguous() const {
  if (!defined() || is_contiguous()) return *this;
  Tensor t = empty(shape_, dtype_, device());
  ops::copy(*this, t);
  return t;
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
  ops::copy(src, *this);
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

void check_contiguous(const char* op, const Tensor& t, const char* name) {
  if (!t.is_contiguous())
    throw Error(cat(op, ": '", name, "' is ", t.str(), ", a non-contiguous view; ", op,
                    " needs contiguous tensors: call contiguous() first"));
}

void check_no_overlap(const char* op, const Tensor& t, const char* name) {
  // Dims of size > 1 by increasing stride: each stride must step past everything the smaller
  // ones reach.
  std::array<int, kMaxRank> order{};
  int n = 0;
  for (int i = 0; i < t.rank(); ++i) {
    if (t.size(i) <= 1) continue;
    int j = n++;  // insertion sort by stride (at most 6 dims)
    for (; j > 0 && t.stride(order[j - 1]) > t.stride(i); --j) order[j] = order[j - 1];
    order[j] = i;
  }
  int64_t reach = 1;  // elements spanned by the dims so far
  for (int j = 0; j < n && t.numel() > 0; ++j) {
    const int i = order[j];
    if (t.stride(i) < reach)
      throw Error(cat(op, ": '", name, "' is ", t.str(), ", whose elements share memory (dim ",
                      i, " has stride ", t.stride(i), "); it cannot be written to"));
    reach = t.stride(i) * (t.size(i) - 1) + reach;
  }
}

DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "float32") return DType::f32;
  if (s == "f64" || s == "float64") return DType::f64;
  if (s == "i32" || s == "int32") return DType::i32;
  if (s == "u8" || s == "uint8") return DType::u8;
  throw UsageError(cat("unknown dtype '", s, "' (allowed: f32, f64, i32, u8)"));
}

}  // namespace naqs
