// Shared test helpers: random tensors, relative/absolute closeness, guard regions after
// outputs (to catch out-of-bounds writes in kernels), GPU skipping, central differences.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/tensor.hpp"

namespace naqs::testing {

// Skips the current test (reported as skipped by ctest) when no CUDA device is present.
#define NAQS_SKIP_WITHOUT_GPU()                                            \
  do {                                                                     \
    if (::naqs::device_count() == 0) GTEST_SKIP() << "no CUDA device";     \
  } while (0)

// The CUDA device the parity tests (the op cases, ED) run on: cuda:1 where there are two or more
// devices (a two-GPU machine; the emulation tier's `.grid1dev1` run, NAQS_EMU_DEVICES=2), else
// cuda:0. They call make_device0_current() before each op, so that with cuda:1 an op that does
// not select its tensors' device is caught (the emulator refuses another device's pointers).
inline Device parity_device() { return Device::cuda(device_count() >= 2 ? 1 : 0); }
inline void make_device0_current() {
#if NAQS_HAVE_CUDA
  if (device_count() > 0) cuda_rt::set_device(0);
#endif
}

// Uniform values in [lo, hi) from a fixed-seed std::mt19937_64 (test inputs only).
inline Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo = -1.0,
                            double hi = 1.0, Device device = Device::cpu()) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(dist(gen));
  });
  return t.to(device);
}

// |a - b| <= atol + rtol * |b| elementwise; reports the worst element.
inline ::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol,
                                            double rtol) {
  if (!(a.shape() == b.shape()))
    return ::testing::AssertionFailure() << "shapes differ: " << a.str() << " vs " << b.str();
  auto to_f64 = [](const Tensor& t) {
    return dispatch_all(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<T> v = t.to_vector<T>();
      return std::vector<double>(v.begin(), v.end());
    });
  };
  std::vector<double> va = to_f64(a), vb = to_f64(b);
  double worst = 0;
  int64_t worst_i = -1;
  for (std::size_t i = 0; i < va.size(); ++i) {
    double err = std::abs(va[i] - vb[i]);
    double tol = atol + rtol * std::abs(vb[i]);
    if (!(err <= tol) && (worst_i < 0 || err / tol > worst)) {
      worst = err / tol;
      worst_i = static_cast<int64_t>(i);
    }
  }
  if (worst_i < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "element " << worst_i << ": " << va[worst_i] << " vs " << vb[worst_i]
         << " (atol " << atol << ", rtol " << rtol << ", " << worst << "x tolerance)";
}

// An output tensor followed by a guard region filled with a sentinel. `out` is a view of the
// first numel elements; guards_intact() checks that nothing past them was written.
class Guarded {
 public:
  static constexpr int64_t kGuard = 1031;
  Guarded(const Shape& shape, DType dtype, Device device, double sentinel = 12345.0)
      : sentinel_(sentinel) {
    const int64_t n = shape.numel();
    whole_ = Tensor::full({n + kGuard}, sentinel, dtype, device);
    out = whole_.narrow(0, n).reshape(shape);
  }
  bool guards_intact() const {
    Tensor g = whole_.narrow(whole_.numel() - kGuard, kGuard).to(Device::cpu());
    return dispatch_all(g.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = g.data<T>();
      for (int64_t i = 0; i < kGuard; ++i)
        if (p[i] != static_cast<T>(sentinel_)) return false;
      return true;
    });
  }
  Tensor out;

 private:
  Tensor whole_;
  double sentinel_;
};

// A Guarded output on `device` whose payload starts as a copy of `init` (any device), for ops
// that read their output (accumulate, beta != 0).
inline Guarded guarded_copy(const Tensor& init, Device device) {
  Guarded g(init.shape(), init.dtype(), device);
  g.out.copy_from(init);
  return g;
}

// Central finite difference of a scalar function f over every element of x (f64, cpu):
// returns df/dx with step h. f may read x (which is perturbed in place and restored).
inline Tensor finite_difference(Tensor& x, const std::function<double()>& f, double h = 1e-6) {
  Tensor g = Tensor::zeros(x.shape(), DType::f64);
  double* px = x.data<double>();
  double* pg = g.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double keep = px[i];
    px[i] = keep + h;
    const double fp = f();
    px[i] = keep - h;
    const double fm = f();
    px[i] = keep;
    pg[i] = (fp - fm) / (2 * h);
  }
  return g;
}

}  // namespace naqs::testing
