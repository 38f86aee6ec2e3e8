#include "host/ops/elementwise.hpp"

#include <algorithm>
#include <type_traits>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#include "host/ops/elementwise_math.hpp"
#if NAQS_HAVE_FMA_KERNELS
#include <immintrin.h>
#endif

namespace naqs::ops {
namespace {

template <class F>
void for_each_index(int64_t n, F&& f) {
#pragma omp parallel for if (n > kMinParallelElements)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// ---- f32 sigmoid / silu: 8 lanes with a polynomial exp (AVX2+FMA) -----------------------
// exp8(x) = 2^n e^r, n = round(x log2 e), r = x - n ln 2 (ln 2 in two parts, so r is exact to
// ~1e-12), e^r = 1 + r + r^2 P(r) with P of degree 5 on |r| <= ln2/2 (the coefficients of
// Cephes' expf), 2^n applied in two halves so that results in the denormal range round once.
// x is clamped to [-104, 88.8] (expf is 0 below -103.98 and inf above 88.73, and those stay so
// after the clamp); NaN is passed through. Measured over [-110, 100] (tests/unit/
// test_ops_dense.cpp, Unary.F32LogisticMatchesFloat64Formulas, which also checks the denormal
// range, +-inf and NaN): sigmoid / silu within 1.8 eps32 = 2.1e-7 relative of the formulas in
// double, and within 2 ulp of the libm path wherever exp(-|x|) is normal.
// The sigmoid from e = exp(-|x|), as sigmoid_value: 1/(1+e) for x >= 0, e/(1+e) below.
// Processes whole vectors; unary_cpu pads the last partial vector through a buffer, so every
// element's value is the same wherever it sits (and whatever the thread count).
#if NAQS_HAVE_FMA_KERNELS
NAQS_FMA_TARGET inline __m256 exp8(__m256 x) {
  const __m256 nan_mask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)),
                                  _mm256_set1_ps(88.8f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n = 2^n1 2^n2, n1 = floor(n/2), both in the normal range for n in [-150, 128]
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  const __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_blendv_ps(y, x, nan_mask);
}

// sigmoid(x) of 8 floats.
NAQS_FMA_TARGET inline __m256 sigmoid8(__m256 x) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 e = exp8(_mm256_xor_ps(_mm256_and_ps(x, abs_mask), _mm256_set1_ps(-0.0f)));
  const __m256 num = _mm256_blendv_ps(_mm256_set1_ps(1.0f), e,
                                      _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  // NaN: e is NaN, so num / (1 + e) is NaN whichever numerator the compare picked
  return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// n8 vectors: out = f(x) (dy null) or f'(x) dy, f = sigmoid or silu.
NAQS_FMA_TARGET void logistic_f32_avx2(bool silu, const float* x, const float* dy, float* out,
                                       int64_t n8) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t v = 0; v < n8; ++v) {
    const __m256 xv = _mm256_loadu_ps(x + 8 * v);
    const __m256 s = sigmoid8(xv);
    __m256 r;
    if (!dy)
      r = silu ? _mm256_mul_ps(xv, s) : s;
    else if (silu)  // s (1 + x (1 - s)) dy
      r = _mm256_mul_ps(
          _mm256_mul_ps(s, _mm256_add_ps(one, _mm256_mul_ps(xv, _mm256_sub_ps(one, s)))),
          _mm256_loadu_ps(dy + 8 * v));
    else  // s (1 - s) dy
      r = _mm256_mul_ps(_mm256_mul_ps(s, _mm256_sub_ps(one, s)), _mm256_loadu_ps(dy + 8 * v));
    _mm256_storeu_ps(out + 8 * v, r);
  }
}
#endif

// f32 sigmoid / silu (forward: dy null; backward: f'(x) dy) through logistic_f32_avx2 where the
// CPU has AVX2+FMA (host/core/simd.hpp); false where it does not (the caller's libm loop runs).
bool logistic_f32_vectorised(Unary f, const float* x, const float* dy, float* out, int64_t n) {
#if NAQS_HAVE_FMA_KERNELS
  if ((f != Unary::sigmoid && f != Unary::silu) || !cpu_has_avx2_fma()) return false;
  const bool silu = f == Unary::silu;
  constexpr int64_t kBlock = 16384;  // elements per parallel chunk (a multiple of 8)
  const int64_t n_full = n / 8 * 8, n_blocks = (n_full + kBlock - 1) / kBlock;
  // parallel_chunks, not an OpenMP region: on the loaded 2-core machine an OpenMP region took
  // two threads to 0.12 Gelem/s against 1.7 on one (bench_conv2d; host/core/parallel.hpp)
  parallel_chunks(n_blocks, n > kMinParallelElements ? parallel_slots() : 1,
                  [&](int64_t b, int) {
                    const int64_t i0 = b * kBlock, len = std::min(kBlock, n_full - i0);
                    logistic_f32_avx2(silu, x + i0, dy ? dy + i0 : nullptr, out + i0, len / 8);
                  });
  if (n_full < n) {  // the last partial vector through a zero-padded buffer
    float xb[8] = {}, db[8] = {}, ob[8];
    std::copy(x + n_full, x + n, xb);
    if (dy) std::copy(dy + n_full, dy + n, db);
    logistic_f32_avx2(silu, xb, dy ? db : nullptr, ob, 1);
    std::copy(ob, ob + (n - n_full), out + n_full);
  }
  return true;
#else
  (void)f, (void)x, (void)dy, (void)out, (void)n;
  return false;
#endif
}

void unary_cpu(Unary f, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if constexpr (std::is_same_v<T, float>)
      if (logistic_f32_vectorised(f, px, nullptr, py, x.numel())) return;
    with_unary(f, [&](auto ft) {
      for_each_index(x.numel(),
                     [&](int64_t i) { py[i] = unary_value<decltype(ft)::value>(px[i]); });
    });
  });
}

void unary_backward_cpu(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  dispatch_float(x.dtype(), "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    if constexpr (std::is_same_v<T, float>)
      if (logistic_f32_vectorised(f, px, pdy, pdx, x.numel())) return;
    with_unary(f, [&](auto ft) {
      for_each_index(x.numel(), [&](int64_t i) {
        pdx[i] = unary_derivative<decltype(ft)::value>(px[i]) * pdy[i];
      });
    });
  });
}

void binary_cpu(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  dispatch_float(a.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    with_binary(f, [&](auto ft) {
      for_each_index(a.numel(),
                     [&](int64_t i) { pc[i] = binary_value<decltype(ft)::value>(pa[i], pb[i]); });
    });
  });
}

// A zero coefficient drops its term without reading it (BLAS convention), so NaN or inf in an
// ignored operand does not propagate: beta = 0 overwrites y, and scale() reads x only once.
void axpby_cpu(double alpha, const Tensor& x, double beta, Tensor& y) {
  dispatch_float(x.dtype(), "axpby", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    const bool read_x = alpha != 0.0, read_y = beta != 0.0;
    for_each_index(x.numel(), [&](int64_t i) {
      py[i] = (read_x ? a * px[i] : T(0)) + (read_y ? b * py[i] : T(0));
    });
  });
}

void bias_add_cpu(Tensor& x, const Tensor& bias, const AxisSplit& s) {
  dispatch_float(x.dtype(), "bias_add", [&](auto tag) {
    using T = decltype(tag);
    T* px = x.data<T>();
    const T* pb = bias.data<T>();
#pragma omp parallel for collapse(2) if (x.numel() > kMinParallelElements)
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t c = 0; c < s.n; ++c) {
        T* row = px + (o * s.n + c) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) row[i] += pb[c];
      }
  });
}

// Sums in double for either dtype (the CUDA twin does the same).
void bias_backward_cpu(const Tensor& dy, const AxisSplit& s, Tensor& dbias, bool accumulate) {
  dispatch_float(dy.dtype(), "bias_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    T* pb = dbias.data<T>();
#pragma omp parallel for if (dy.numel() > kMinParallelElements)
    for (int64_t c = 0; c < s.n; ++c) {
      double sum = 0;
      for (int64_t o = 0; o < s.outer; ++o) {
        const T* row = pdy + (o * s.n + c) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) sum += row[i];
      }
      pb[c] = static_cast<T>(accumulate ? pb[c] + sum : sum);
    }
  });
}

}  // namespace

const char* unary_name(Unary f) {
  static const char* const names[] = {"relu", "selu",   "tanh", "sigmoid", "exp",  "log",
                                      "softplus", "square", "sqrt", "abs", "neg", "gelu",
                                      "gelu_tanh", "silu"};
  return names[static_cast<int>(f)];
}

const char* binary_name(Binary f) {
  static const char* const names[] = {"add", "sub", "mul", "div", "maximum", "minimum"};
  return names[static_cast<int>(f)];
}

void check_float_alike(const char* op, std::initializer_list<const Tensor*> ts,
                       std::initializer_list<const char*> names) {
  auto name = names.begin();
  for (const Tensor* t : ts) {
    check_defined(op, *t, *name);
    check_contiguous(op, *t, *name++);
  }
  check_same_device(op, ts);
  check_same_dtype(op, ts);
  const Tensor& first = **ts.begin();
  dispatch_float(first.dtype(), op, [](auto) {});
  name = names.begin();
  for (const Tensor* t : ts) check_shape(op, *t, first.shape(), *name++);
}

AxisSplit split_axis(const char* op, const Tensor& x, int axis) {
  const int a = axis < 0 ? axis + x.rank() : axis;
  if (a < 0 || a >= x.rank()) throw Error(cat(op, ": axis ", axis, " out of range for ", x.str()));
  AxisSplit s{a, 1, x.size(a), 1};
  for (int d = 0; d < a; ++d) s.outer *= x.size(d);
  for (int d = a + 1; d < x.rank(); ++d) s.inner *= x.size(d);
  return s;
}

void unary(Unary f, const Tensor& x, Tensor& y) {
  check_float_alike("unary", {&x, &y}, {"x", "y"});
  if (x.device().is_cpu()) {
    unary_cpu(f, x, y);
  } else {
    NAQS_CUDA_BRANCH("unary", detail::unary_cuda(f, x, y));
  }
}

void unary_backward(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  check_float_alike("unary_backward", {&x, &dy, &dx}, {"x", "dy", "dx"});
  if (x.device().is_cpu()) {
    unary_backward_cpu(f, x, dy, dx);
  } else {
    NAQS_CUDA_BRANCH("unary_backward", detail::unary_backward_cuda(f, x, dy, dx));
  }
}

void binary(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  check_float_alike("binary", {&a, &b, &c}, {"a", "b", "c"});
  if (a.device().is_cpu()) {
    binary_cpu(f, a, b, c);
  } else {
    NAQS_CUDA_BRANCH("binary", detail::binary_cuda(f, a, b, c));
  }
}

void axpby(double alpha, const Tensor& x, double beta, Tensor& y) {
  check_float_alike("axpby", {&x, &y}, {"x", "y"});
  if (x.device().is_cpu()) {
    axpby_cpu(alpha, x, beta, y);
  } else {
    NAQS_CUDA_BRANCH("axpby", detail::axpby_cuda(alpha, x, beta, y));
  }
}

void scale(Tensor& x, double alpha) { axpby(0.0, x, alpha, x); }

void bias_add(Tensor& x, const Tensor& bias, int axis) {
  check_float_alike("bias_add", {&x}, {"x"});
  check_defined("bias_add", bias, "bias");
  check_contiguous("bias_add", bias, "bias");
  check_same_device("bias_add", {&x, &bias});
  check_same_dtype("bias_add", {&x, &bias});
  const AxisSplit s = split_axis("bias_add", x, axis);
  check_shape("bias_add", bias, {s.n}, "bias");
  if (x.device().is_cpu()) {
    bias_add_cpu(x, bias, s);
  } else {
    NAQS_CUDA_BRANCH("bias_add", detail::bias_add_cuda(x, bias, s));
  }
}

void bias_backward(const Tensor& dy, int axis, Tensor& dbias, bool accumulate) {
  check_float_alike("bias_backward", {&dy}, {"dy"});
  check_defined("bias_backward", dbias, "dbias");
  check_contiguous("bias_backward", dbias, "dbias");
  check_same_device("bias_backward", {&dy, &dbias});
  check_same_dtype("bias_backward", {&dy, &dbias});
  const AxisSplit s = split_axis("bias_backward", dy, axis);
  check_shape("bias_backward", dbias, {s.n}, "dbias");
  if (dy.device().is_cpu()) {
    bias_backward_cpu(dy, s, dbias, accumulate);
  } else {
    NAQS_CUDA_BRANCH("bias_backward", detail::bias_backward_cuda(dy, s, dbias, accumulate));
  }
}

}  // namespace naqs::ops
