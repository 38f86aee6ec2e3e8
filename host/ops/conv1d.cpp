// Causal masked conv1d: argument checks, dispatch and the CPU implementations. See conv1d.hpp.
#include "host/ops/conv1d.hpp"

#include <cblas.h>

#include <algorithm>
#include <memory>

#include "host/core/cuda_runtime.hpp"

namespace naqs::ops {

namespace {

// Checks x (B,Cin,L) and the weight-shaped w against the spec and returns the sizes. w is
// (Cout,Cin,K), or (B,Cout,Cin,K) for per-sample gradients (per_sample = true).
Conv1dDims conv_dims(const char* op, const Tensor& x, const char* x_name, const Tensor& w,
                     const char* w_name, const Conv1dSpec& s, bool per_sample = false) {
  check_defined(op, x, x_name);
  check_defined(op, w, w_name);
  NAQS_CHECK(s.kernel >= 1 && s.dilation >= 1, op, ": kernel ", s.kernel, " and dilation ",
             s.dilation, " must be >= 1");
  check_rank(op, x, 3, x_name);
  const int first = per_sample ? 1 : 0;
  check_rank(op, w, 3 + first, w_name);
  if (w.size(first + 2) != s.kernel)
    throw Error(cat(op, ": '", w_name, "' is ", w.str(), " but the spec's kernel is ", s.kernel));
  Conv1dDims d;
  d.n_batch = x.size(0);
  d.length = x.size(2);
  d.c_out = w.size(first);
  d.c_in = w.size(first + 1);
  d.kernel = s.kernel;
  d.dilation = s.dilation;
  d.shift = s.exclusive ? 1 : 0;
  return d;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& x, const Conv1dDims& d) {
  if (!bias.defined()) return;
  check_shape(op, bias, {d.c_out}, "bias");
  check_same_device(op, {&x, &bias});
  check_same_dtype(op, {&x, &bias});
}

template <class T>
const T* bias_ptr(const Tensor& bias) {
  return bias.defined() ? bias.data<T>() : nullptr;
}

void set_cuda_device([[maybe_unused]] const Tensor& t) {
  NAQS_CUDA_BRANCH("conv1d", cuda_rt::set_device(t.device().index));
}

// Threads only for work worth waking them: a parallel region costs microseconds on an idle
// machine and up to a scheduler timeslice (milliseconds) when the cores are shared, while
// 2^20 multiply-adds take ~0.3 ms on one core. Measured with bench/bench_naqs_sampling (the
// cached sampler's per-site steps are ~2e5 multiply-adds each).
constexpr int64_t kMinParallelMacs = int64_t{1} << 20;
int64_t macs(const Conv1dDims& d) { return d.n_batch * d.c_out * d.c_in * d.kernel * d.length; }

// Size switch for the GEMMs: OpenBLAS threads every GEMM above ~2.6e5 multiply-adds, but a
// threaded GEMM waits for all its threads, which on shared cores costs up to a scheduler
// timeslice per call (bench/bench_conv1d.cpp, 2 threads on a loaded 2-core machine: 0.4 GFLOP/s
// at B=256, C=16, L=16 against 21 GFLOP/s single-threaded). GEMMs below kMinThreadedGemmMacs
// (~1 ms of one core) run on one thread; larger ones keep OpenBLAS's threads. (The direct loops
// were measured too: 2-4 GFLOP/s at every size, slower than the single-threaded GEMM even at the
// VMC default width 16 and L = 16, so they stay references.)
constexpr int64_t kMinThreadedGemmMacs = int64_t{1} << 24;
bool gemm_single_threaded(int64_t m, int64_t n, int64_t k) {
  return m * n * k < kMinThreadedGemmMacs;
}

// OpenBLAS's thread count set to 1 for the lifetime of the guard when `single` (restored after).
// Ops run on one host thread at a time, so the global setting is not raced.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(bool single) : saved_(single ? openblas_get_num_threads() : 0) {
    if (saved_ > 1) openblas_set_num_threads(1);
  }
  ~BlasThreadsGuard() {
    if (saved_ > 1) openblas_set_num_threads(saved_);
  }
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int saved_;
};

// ---- CPU fast path: im2col + one cblas GEMM per chunk of samples -------------------------
// For a chunk of n_b samples starting at b0, the column matrix col is (Cin*K, n_b*L):
//   col[c*K + k, j*L + t] = x[b0+j, c, t - back(k)]   (0 where t - back(k) < 0)
// so y[b0+j, :, :] = W (Cout, Cin*K) @ col[:, j*L : (j+1)*L]. The chunk's products are one
// large GEMM (Cout, n_b*L), its result z[o, j*L + t] is scattered into y's (B,Cout,L) layout.
// The copies around the GEMMs are deliberately serial: OpenMP worker threads spin-wait after a
// parallel region and then compete with OpenBLAS's own threads for the cores; measured with
// bench/bench_conv1d on 2 cores, serial copies were 2-3x faster than OpenMP ones here.

// Row-major cblas GEMM, c (m,n) = alpha op(a) op(b) + beta c; leading dimensions >= 1 as BLAS
// requires even for empty operands.
int blas_int(int64_t v) { return static_cast<int>(v); }
int blas_ld(int64_t v) { return static_cast<int>(std::max<int64_t>(1, v)); }
CBLAS_TRANSPOSE blas_trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

void gemm_rm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
             int64_t ldc) {
  const BlasThreadsGuard threads(gemm_single_threaded(m, n, k));
  cblas_sgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), blas_int(m), blas_int(n),
              blas_int(k), alpha, a, blas_ld(lda), b, blas_ld(ldb), beta, c, blas_ld(ldc));
}
void gemm_rm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
             const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
             int64_t ldc) {
  const BlasThreadsGuard threads(gemm_single_threaded(m, n, k));
  cblas_dgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), blas_int(m), blas_int(n),
              blas_int(k), alpha, a, blas_ld(lda), b, blas_ld(ldb), beta, c, blas_ld(ldc));
}

// Samples per chunk: the column matrix stays near 8 MiB (in cache-friendly GEMM territory
// while keeping N = n_b*L large enough for OpenBLAS to use every core).
int64_t chunk_samples(const Conv1dDims& d, std::size_t elem_bytes) {
  const int64_t row_bytes =
      std::max<int64_t>(1, d.c_in * d.kernel * d.length * static_cast<int64_t>(elem_bytes));
  return std::clamp<int64_t>((int64_t{8} << 20) / row_bytes, 1, std::max<int64_t>(d.n_batch, 1));
}

template <class T>
void im2col(const T* x, const Conv1dDims& d, int64_t b0, int64_t n_b, T* col) {
  const int64_t n_cols = n_b * d.length;
  for (int64_t c = 0; c < d.c_in; ++c)
    for (int k = 0; k < d.kernel; ++k) {
      const int64_t back = d.back(k);
      T* row = col + (c * d.kernel + k) * n_cols;
      for (int64_t j = 0; j < n_b; ++j) {
        const T* xrow = x + ((b0 + j) * d.c_in + c) * d.length;
        T* out = row + j * d.length;
        const int64_t n_zero = std::min(back, d.length);
        for (int64_t t = 0; t < n_zero; ++t) out[t] = T(0);
        for (int64_t t = n_zero; t < d.length; ++t) out[t] = xrow[t - back];
      }
    }
}

// (B,C,L) rows of samples [b0, b0+n_b) <-> chunk matrix (C, n_b*L).
template <class T>
void gather_chunk(const T* src, int64_t channels, const Conv1dDims& d, int64_t b0, int64_t n_b,
                  T* chunk) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t j = 0; j < n_b; ++j)
      std::copy_n(src + ((b0 + j) * channels + c) * d.length, d.length,
                  chunk + (c * n_b + j) * d.length);
}

template <class T>
void forward_im2col(const T* x, const T* w, const T* bias, T* y, const Conv1dDims& d) {
  const int64_t ck = d.c_in * d.kernel;
  const int64_t nb_max = chunk_samples(d, sizeof(T));
  std::unique_ptr<T[]> col(new T[ck * nb_max * d.length]);
  std::unique_ptr<T[]> z(new T[d.c_out * nb_max * d.length]);
  for (int64_t b0 = 0; b0 < d.n_batch; b0 += nb_max) {
    const int64_t n_b = std::min(nb_max, d.n_batch - b0), n_cols = n_b * d.length;
    im2col(x, d, b0, n_b, col.get());
    gemm_rm(false, false, d.c_out, n_cols, ck, T(1), w, ck, col.get(), n_cols, T(0), z.get(),
            n_cols);
    for (int64_t j = 0; j < n_b; ++j)
      for (int64_t o = 0; o < d.c_out; ++o) {
        const T* zrow = z.get() + (o * n_b + j) * d.length;
        T* yrow = y + ((b0 + j) * d.c_out + o) * d.length;
        const T add = bias ? bias[o] : T(0);
        for (int64_t t = 0; t < d.length; ++t) yrow[t] = zrow[t] + add;
      }
  }
}

// dcol (Cin*K, n_b*L) = W^T @ dy_chunk, then col2im: dx[b,c,p] += dcol[c*K+k, j*L + p + back(k)].
template <class T>
void backward_input_im2col(const T* dy, const T* w, T* dx, const Conv1dDims& d,
                                bool accumulate) {
  const int64_t ck = d.c_in * d.kernel;
  const int64_t nb_max = chunk_samples(d, sizeof(T));
  std::unique_ptr<T[]> dcol(new T[ck * nb_max * d.length]);
  std::unique_ptr<T[]> dyc(new T[d.c_out * nb_max * d.length]);
  for (int64_t b0 = 0; b0 < d.n_batch; b0 += nb_max) {
    const int64_t n_b = std::min(nb_max, d.n_batch - b0), n_cols = n_b * d.length;
    gather_chunk(dy, d.c_out, d, b0, n_b, dyc.get());
    gemm_rm(true, false, ck, n_cols, d.c_out, T(1), w, ck, dyc.get(), n_cols, T(0), dcol.get(),
            n_cols);
    for (int64_t j = 0; j < n_b; ++j)
      for (int64_t c = 0; c < d.c_in; ++c) {
        T* dxrow = dx + ((b0 + j) * d.c_in + c) * d.length;
        if (!accumulate) std::fill_n(dxrow, d.length, T(0));
        for (int k = 0; k < d.kernel; ++k) {
          const int64_t back = d.back(k);
          const T* drow = dcol.get() + (c * d.kernel + k) * n_cols + j * d.length;
          for (int64_t p = 0; p + back < d.length; ++p) dxrow[p] += drow[p + back];
        }
      }
  }
}

// dW (Cout, Cin*K) (+)= dy_chunk (Cout, n_b*L) @ col^T, accumulated over chunks.
template <class T>
void backward_weight_im2col(const T* x, const T* dy, T* dw, const Conv1dDims& d,
                                 bool accumulate) {
  const int64_t ck = d.c_in * d.kernel;
  if (d.n_batch * d.length == 0) {
    if (!accumulate) std::fill_n(dw, d.c_out * ck, T(0));
    return;
  }
  const int64_t nb_max = chunk_samples(d, sizeof(T));
  std::unique_ptr<T[]> col(new T[ck * nb_max * d.length]);
  std::unique_ptr<T[]> dyc(new T[d.c_out * nb_max * d.length]);
  for (int64_t b0 = 0; b0 < d.n_batch; b0 += nb_max) {
    const int64_t n_b = std::min(nb_max, d.n_batch - b0), n_cols = n_b * d.length;
    im2col(x, d, b0, n_b, col.get());
    gather_chunk(dy, d.c_out, d, b0, n_b, dyc.get());
    const T beta = (b0 > 0 || accumulate) ? T(1) : T(0);
    gemm_rm(false, true, d.c_out, ck, n_cols, T(1), dyc.get(), n_cols, col.get(), n_cols, beta, dw,
            ck);
  }
}

// dw[b] (Cout, Cin*K) = dy[b] (Cout, L) @ col[:, j*L:(j+1)*L]^T, one small GEMM per sample.
template <class T>
void conv1d_backward_weight_per_sample_gemm(const T* x, const T* dy, T* dw, const Conv1dDims& d) {
  const int64_t ck = d.c_in * d.kernel;
  const int64_t nb_max = chunk_samples(d, sizeof(T));
  std::unique_ptr<T[]> col(new T[ck * nb_max * d.length]);
  for (int64_t b0 = 0; b0 < d.n_batch; b0 += nb_max) {
    const int64_t n_b = std::min(nb_max, d.n_batch - b0), n_cols = n_b * d.length;
    im2col(x, d, b0, n_b, col.get());
    for (int64_t j = 0; j < n_b; ++j)
      gemm_rm(false, true, d.c_out, ck, d.length, T(1), dy + (b0 + j) * d.c_out * d.length,
              d.length, col.get() + j * d.length, n_cols, T(0), dw + (b0 + j) * d.c_out * ck, ck);
  }
}

}  // namespace

// ---- direct-loop CPU references ------------------------------------------------------------

namespace detail {

void conv1d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const Conv1dSpec& s, Tensor& y) {
  const Conv1dDims d = conv_dims("conv1d_forward", x, "x", w, "w", s);
  dispatch_float(x.dtype(), "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = bias_ptr<T>(bias);
    T* py = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        T* yrow = py + (b * d.c_out + o) * d.length;  // y[b,o,:]
        const T init = pb ? pb[o] : T(0);
        for (int64_t t = 0; t < d.length; ++t) yrow[t] = init;
        for (int64_t c = 0; c < d.c_in; ++c) {
          const T* xrow = px + (b * d.c_in + c) * d.length;  // x[b,c,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t t = back; t < d.length; ++t) yrow[t] += wv * xrow[t - back];
          }
        }
      }
  });
}

void conv1d_backward_input_direct(const Tensor& dy, const Tensor& w, const Conv1dSpec& s,
                                  Tensor& dx, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_input", dx, "dx", w, "w", s);
  dispatch_float(dy.dtype(), "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    const T* pw = w.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t c = 0; c < d.c_in; ++c) {
        T* dxrow = pdx + (b * d.c_in + c) * d.length;  // dx[b,c,:]
        if (!accumulate)
          for (int64_t p = 0; p < d.length; ++p) dxrow[p] = T(0);
        for (int64_t o = 0; o < d.c_out; ++o) {
          const T* dyrow = pdy + (b * d.c_out + o) * d.length;  // dy[b,o,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t p = 0; p + back < d.length; ++p) dxrow[p] += wv * dyrow[p + back];
          }
        }
      }
  });
}

void conv1d_backward_weight_direct(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                   Tensor& dw, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_weight", x, "x", dw, "dw", s);
  dispatch_float(x.dtype(), "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdw = dw.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t o = 0; o < d.c_out; ++o)
      for (int64_t c = 0; c < d.c_in; ++c)
        for (int k = 0; k < d.kernel; ++k) {
          const int64_t back = d.back(k);
          T sum = 0;
          for (int64_t b = 0; b < d.n_batch; ++b) {
            const T* dyrow = pdy + (b * d.c_out + o) * d.length;
            const T* xrow = px + (b * d.c_in + c) * d.length;
            for (int64_t t = back; t < d.length; ++t) sum += dyrow[t] * xrow[t - back];
          }
          T& out = pdw[(o * d.c_in + c) * d.kernel + k];
          out = accumulate ? out + sum : sum;
        }
  });
}

void conv1d_forward_gemm(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                         Tensor& y) {
  const Conv1dDims d = conv_dims("conv1d_forward", x, "x", w, "w", s);
  if (d.n_batch * d.c_out * d.length == 0) return;
  dispatch_float(x.dtype(), "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    forward_im2col(x.data<T>(), w.data<T>(), bias_ptr<T>(bias), y.data<T>(), d);
  });
}

void conv1d_backward_input_gemm(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                                bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_input", dx, "dx", w, "w", s);
  if (d.n_batch * d.c_in * d.length == 0) return;
  dispatch_float(dy.dtype(), "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    backward_input_im2col(dy.data<T>(), w.data<T>(), dx.data<T>(), d, accumulate);
  });
}

void conv1d_backward_weight_gemm(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                 Tensor& dw, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_weight", x, "x", dw, "dw", s);
  if (d.c_out * d.c_in * d.kernel == 0) return;
  dispatch_float(x.dtype(), "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_im2col(x.data<T>(), dy.data<T>(), dw.data<T>(), d, accumulate);
  });
}

}  // namespace detail

// ---- public ops ----------------------------------------------------------------------------

void conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                    Tensor& y) {
  const char* op = "conv1d_forward";
  const Conv1dDims d = conv_dims(op, x, "x", w, "w", s);
  check_defined(op, y, "y");
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_shape(op, x, {d.n_batch, d.c_in, d.length}, "x");
  check_shape(op, y, {d.n_batch, d.c_out, d.length}, "y");
  check_bias(op, bias, x, d);
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_forward_cuda(x.raw_data(), w.raw_data(),
                                                     bias.defined() ? bias.raw_data() : nullptr,
                                                     y.raw_data(), x.dtype(), d));
    return;
  }
  detail::conv1d_forward_gemm(x, w, bias, s, y);
}

void conv1d_backward_input(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                           bool accumulate) {
  const char* op = "conv1d_backward_input";
  const Conv1dDims d = conv_dims(op, dx, "dx", w, "w", s);
  check_defined(op, dy, "dy");
  check_same_device(op, {&dy, &w, &dx});
  check_same_dtype(op, {&dy, &w, &dx});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (dy.device().is_cuda()) {
    set_cuda_device(dy);
    NAQS_CUDA_BRANCH(op,
                     detail::conv1d_backward_input_cuda(dy.raw_data(), w.raw_data(), dx.raw_data(),
                                                        dy.dtype(), d, accumulate));
    return;
  }
  detail::conv1d_backward_input_gemm(dy, w, s, dx, accumulate);
}

void conv1d_backward_weight(const Tensor& x, const Tensor& dy, const Conv1dSpec& s, Tensor& dw,
                            bool accumulate) {
  const char* op = "conv1d_backward_weight";
  const Conv1dDims d = conv_dims(op, x, "x", dw, "dw", s);
  check_defined(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_cuda(
                             x.raw_data(), dy.raw_data(), dw.raw_data(), x.dtype(), d, accumulate));
    return;
  }
  detail::conv1d_backward_weight_gemm(x, dy, s, dw, accumulate);
}

void conv1d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                       Tensor& dw) {
  const char* op = "conv1d_backward_weight_per_sample";
  const Conv1dDims d = conv_dims(op, x, "x", dw, "dw", s, /*per_sample=*/true);
  check_defined(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  check_shape(op, dw, {d.n_batch, d.c_out, d.c_in, d.kernel}, "dw");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_per_sample_cuda(
                             x.raw_data(), dy.raw_data(), dw.raw_data(), x.dtype(), d));
    return;
  }
  if (dw.numel() == 0) return;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    conv1d_backward_weight_per_sample_gemm(x.data<T>(), dy.data<T>(), dw.data<T>(), d);
  });
}

void conv1d_forward_at(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                       int64_t t, Tensor& y_t) {
  const char* op = "conv1d_forward_at";
  const Conv1dDims d = conv_dims(op, x, "x", w, "w", s);
  check_defined(op, y_t, "y_t");
  check_same_device(op, {&x, &w, &y_t});
  check_same_dtype(op, {&x, &w, &y_t});
  check_shape(op, x, {d.n_batch, d.c_in, d.length}, "x");
  check_shape(op, y_t, {d.n_batch, d.c_out}, "y_t");
  check_bias(op, bias, x, d);
  NAQS_CHECK(t >= 0 && t < d.length, op, ": position ", t, " out of range for x ", x.str());
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_forward_at_cuda(x.raw_data(), w.raw_data(),
                                                        bias.defined() ? bias.raw_data() : nullptr,
                                                        y_t.raw_data(), x.dtype(), d, t));
    return;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = bias_ptr<T>(bias);
    T* py = y_t.data<T>();
#pragma omp parallel for collapse(2) schedule(static) \
    if (macs(d) / std::max<int64_t>(d.length, 1) >= kMinParallelMacs)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        T sum = pb ? pb[o] : T(0);
        for (int64_t c = 0; c < d.c_in; ++c)
          for (int k = 0; k < d.kernel; ++k) {
            const int64_t p = t - d.back(k);
            if (p >= 0)
              sum += pw[(o * d.c_in + c) * d.kernel + k] * px[(b * d.c_in + c) * d.length + p];
          }
        py[b * d.c_out + o] = sum;
      }
  });
}

}  // namespace naqs::ops
