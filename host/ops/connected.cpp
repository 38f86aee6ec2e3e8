// CPU reference of the connected-configuration ops and device dispatch; see connected.hpp.
#include "host/ops/connected.hpp"

#include <algorithm>
#include <limits>

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs::ops {
namespace {

// A sample's work is a pass over the term list (~N terms): threads pay off only for large
// batches, since on shared cores a parallel region can cost a scheduler timeslice
// (host/core/parallel.hpp); 2^14 samples of a few dozen terms are ~1 ms on one core.
constexpr int64_t kMinSamplesParallel = int64_t{1} << 14;

SpinOperatorView view_of(const char* op, const SpinOperator& t, const Tensor& sigma) {
  const SpinOperatorView v = t.view(op);
  if (t.n_terms() > 0) check_same_device(op, {&sigma, &t.sites, &t.coef});
  return v;
}

void check_offsets(const char* op, const Tensor& offsets, int64_t batch) {
  check_shape(op, offsets, Shape{batch + 1}, "offsets");
  check_dtype(op, offsets, DType::i32, "offsets");
}

}  // namespace

void connected_count(const Tensor& sigma, const SpinOperator& terms, Tensor& diagonal,
                     Tensor& counts) {
  const char* op = "connected_count";
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0), n = sigma.size(1);
  const SpinOperatorView v = view_of(op, terms, sigma);
  check_shape(op, diagonal, Shape{batch}, "diagonal");
  check_dtype(op, diagonal, DType::f64, "diagonal");
  check_shape(op, counts, Shape{batch}, "counts");
  check_dtype(op, counts, DType::i32, "counts");
  check_same_device(op, {&sigma, &diagonal, &counts});
  if (sigma.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(sigma.device().index));
    NAQS_CUDA_BRANCH(op, detail::connected_count_cuda(sigma.raw_data(), sigma.dtype(), batch, n, v,
                                                      diagonal.data<double>(),
                                                      counts.data<int32_t>()));
    return;
  }
  dispatch_float(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* s = sigma.data<T>();
    double* d = diagonal.data<double>();
    int32_t* c = counts.data<int32_t>();
#pragma omp parallel for schedule(static) if (batch >= kMinSamplesParallel)
    for (int64_t b = 0; b < batch; ++b) {
      d[b] = spin_diagonal(v, SpinArray<T>{s + b * n});
      c[b] = spin_connection_count(v, SpinArray<T>{s + b * n});
    }
  });
}

int64_t exclusive_scan(const Tensor& counts, Tensor& offsets) {
  const char* op = "exclusive_scan";
  check_rank(op, counts, 1, "counts");
  check_dtype(op, counts, DType::i32, "counts");
  const int64_t n = counts.size(0);
  check_offsets(op, offsets, n);
  check_same_device(op, {&counts, &offsets});
  int64_t total = 0;
  if (counts.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(counts.device().index));
    NAQS_CUDA_BRANCH(op, total = detail::exclusive_scan_cuda(counts.data<int32_t>(), n,
                                                             offsets.data<int32_t>()));
  } else {
    const int32_t* c = counts.data<int32_t>();
    int32_t* o = offsets.data<int32_t>();
    for (int64_t b = 0; b < n; ++b) {
      o[b] = static_cast<int32_t>(std::min<int64_t>(total, std::numeric_limits<int32_t>::max()));
      total += c[b];
    }
    o[n] = static_cast<int32_t>(std::min<int64_t>(total, std::numeric_limits<int32_t>::max()));
  }
  NAQS_CHECK(total < std::numeric_limits<int32_t>::max(), op, ": total ", total,
             " does not fit in i32 offsets; use smaller groups");
  return total;
}

void connected_list(const Tensor& sigma, const SpinOperator& terms, const Tensor& offsets,
                    Tensor& flips, Tensor& elements) {
  const char* op = "connected_list";
  check_rank(op, sigma, 2, "sigma");
  const int64_t batch = sigma.size(0), n = sigma.size(1);
  const SpinOperatorView v = view_of(op, terms, sigma);
  check_offsets(op, offsets, batch);
  check_rank(op, flips, 2, "flips");
  const int64_t m = flips.size(0);
  check_shape(op, flips, Shape{m, 3}, "flips");
  check_dtype(op, flips, DType::i32, "flips");
  check_shape(op, elements, Shape{m}, "elements");
  check_dtype(op, elements, DType::f64, "elements");
  check_same_device(op, {&sigma, &offsets, &flips, &elements});
  // The scan's total must be flips' row count on either device (on CUDA: 4 bytes read back), or
  // the kernels would write rows that are not there.
  int32_t end = 0;
  copy_bytes(&end, Device::cpu(), offsets.data<int32_t>() + batch, offsets.device(), sizeof end);
  NAQS_CHECK(end == m, op, ": offsets end at ", end, " but flips has ", m, " rows");
  if (sigma.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(sigma.device().index));
    NAQS_CUDA_BRANCH(op, detail::connected_list_cuda(sigma.raw_data(), sigma.dtype(), batch, n, v,
                                                     offsets.data<int32_t>(),
                                                     flips.data<int32_t>(),
                                                     elements.data<double>()));
    return;
  }
  const int32_t* o = offsets.data<int32_t>();
  dispatch_float(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* s = sigma.data<T>();
    int32_t* f = flips.data<int32_t>();
    double* e = elements.data<double>();
#pragma omp parallel for schedule(static) if (batch >= kMinSamplesParallel)
    for (int64_t b = 0; b < batch; ++b)
      connected_list_one(s + b * n, v, static_cast<int32_t>(b), f + 3 * int64_t{o[b]}, e + o[b]);
  });
}

void connected_configs(const Tensor& sigma, const Tensor& flips, Tensor& configs) {
  const char* op = "connected_configs";
  check_rank(op, sigma, 2, "sigma");
  const int64_t n = sigma.size(1);
  check_rank(op, flips, 2, "flips");
  const int64_t m = flips.size(0);
  check_shape(op, flips, Shape{m, 3}, "flips");
  check_dtype(op, flips, DType::i32, "flips");
  check_shape(op, configs, Shape{m, n}, "configs");
  check_same_dtype(op, {&sigma, &configs});
  check_same_device(op, {&sigma, &flips, &configs});
  if (sigma.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(sigma.device().index));
    NAQS_CUDA_BRANCH(op, detail::connected_configs_cuda(sigma.raw_data(), sigma.dtype(), n,
                                                        flips.data<int32_t>(), m,
                                                        configs.raw_data()));
    return;
  }
  dispatch_float(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* s = sigma.data<T>();
    const int32_t* f = flips.data<int32_t>();
    T* out = configs.data<T>();
#pragma omp parallel for schedule(static) if (m >= kMinSamplesParallel)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < n; ++i) out[r * n + i] = connected_config_at(s, n, f + 3 * r, i);
  });
}

void local_energy_combine(const Tensor& diagonal, const Tensor& offsets, const Tensor& elements,
                          const Tensor& conn_re, const Tensor& conn_im, const Tensor& base_re,
                          const Tensor& base_im, Tensor& eloc_re, Tensor& eloc_im) {
  const char* op = "local_energy_combine";
  check_rank(op, diagonal, 1, "diagonal");
  check_dtype(op, diagonal, DType::f64, "diagonal");
  const int64_t batch = diagonal.size(0);
  check_offsets(op, offsets, batch);
  for (const Tensor* t :
       std::initializer_list<const Tensor*>{&base_re, &base_im, &eloc_re, &eloc_im})
    check_shape(op, *t, Shape{batch}, "base/eloc");
  const int64_t m = elements.defined() ? elements.size(0) : 0;
  const bool any = m > 0;
  if (any) {
    check_shape(op, elements, Shape{m}, "elements");
    check_dtype(op, elements, DType::f64, "elements");
    check_shape(op, conn_re, Shape{m}, "conn_re");
    check_shape(op, conn_im, Shape{m}, "conn_im");
    check_same_dtype(op, {&conn_re, &conn_im, &base_re, &base_im, &eloc_re, &eloc_im});
    check_same_device(op, {&diagonal, &offsets, &elements, &conn_re, &conn_im, &base_re, &base_im,
                           &eloc_re, &eloc_im});
  } else {
    check_same_dtype(op, {&base_re, &base_im, &eloc_re, &eloc_im});
    check_same_device(op, {&diagonal, &offsets, &base_re, &base_im, &eloc_re, &eloc_im});
  }
  const void* cr = any ? conn_re.raw_data() : nullptr;
  const void* ci = any ? conn_im.raw_data() : nullptr;
  const double* e = any ? elements.data<double>() : nullptr;
  if (diagonal.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(diagonal.device().index));
    NAQS_CUDA_BRANCH(op, detail::local_energy_combine_cuda(
                             base_re.dtype(), batch, diagonal.data<double>(),
                             offsets.data<int32_t>(), e, cr, ci, base_re.raw_data(),
                             base_im.raw_data(), eloc_re.raw_data(), eloc_im.raw_data()));
    return;
  }
  dispatch_float(base_re.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const double* d = diagonal.data<double>();
    const int32_t* o = offsets.data<int32_t>();
    const T* br = base_re.data<T>();
    const T* bi = base_im.data<T>();
    T* er = eloc_re.data<T>();
    T* ei = eloc_im.data<T>();
#pragma omp parallel for schedule(static) if (batch >= kMinSamplesParallel)
    for (int64_t b = 0; b < batch; ++b) {
      double re = 0, im = 0;
      local_energy_one(d[b], o[b], o[b + 1], e, static_cast<const T*>(cr),
                       static_cast<const T*>(ci), static_cast<double>(br[b]),
                       static_cast<double>(bi[b]), re, im);
      er[b] = static_cast<T>(re);
      ei[b] = static_cast<T>(im);
    }
  });
}

void connected_generate(const Tensor& sigma, const SpinOperator& terms, ConnectedList& out) {
  check_rank("connected_generate", sigma, 2, "sigma");
  const int64_t batch = sigma.size(0);
  const Device device = sigma.device();
  out.diagonal = Tensor::empty(Shape{batch}, DType::f64, device);
  Tensor counts = Tensor::empty(Shape{batch}, DType::i32, device);
  connected_count(sigma, terms, out.diagonal, counts);
  out.offsets = Tensor::empty(Shape{batch + 1}, DType::i32, device);
  out.n_connected = exclusive_scan(counts, out.offsets);
  out.flips = Tensor();
  out.elements = Tensor();
  if (out.n_connected == 0) return;
  out.flips = Tensor::empty(Shape{out.n_connected, 3}, DType::i32, device);
  out.elements = Tensor::empty(Shape{out.n_connected}, DType::f64, device);
  connected_list(sigma, terms, out.offsets, out.flips, out.elements);
}

}  // namespace naqs::ops
