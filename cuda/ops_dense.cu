// CUDA twins of the dense ops: gemm (cuBLAS), elementwise, bias, fill/cast, reductions,
// softmax, gather/scatter. Declared in plain C++ in host/ops/{gemm,elementwise,fill,reduce,
// softmax,gather}.hpp (namespace naqs::ops::detail); the CPU references and the argument checks
// live in the matching host/ops/*.cpp, which call these only for cuda tensors.
// Parity tests: tests/gpu/test_parity_dense.cpp.
#include <algorithm>
#include <climits>

#include "cuda/check.cuh"
#include "host/ops/elementwise_math.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gather.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/softmax.hpp"

namespace naqs::ops::detail {
namespace {

constexpr int kBlock = 256;

void use_device_of(const Tensor& t) { NAQS_CUDA_CHECK(cudaSetDevice(t.device().index)); }

// Grid-stride index helpers.
__device__ inline int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- block reductions (blockDim.x a multiple of 32, at most 1024) ------------------------
struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
  static constexpr double identity = 0.0;
};
struct MaxOp {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
  static constexpr double identity = -HUGE_VAL;
};
struct MinOp {
  __device__ double operator()(double a, double b) const { return a < b ? a : b; }
  static constexpr double identity = HUGE_VAL;
};

// Reduces v over the block; every thread gets the result.
template <class Op>
__device__ double block_reduce(double v, Op op) {
  __shared__ double warp_vals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int n_warps = blockDim.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < n_warps ? warp_vals[lane] : Op::identity;
    for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
    if (lane == 0) warp_vals[0] = v;
  }
  __syncthreads();
  v = warp_vals[0];
  __syncthreads();  // warp_vals may be reused by the next call
  return v;
}

// Block-per-row kernels over x viewed as (outer, n, inner): row r = o*inner + i holds the n
// elements x[o, j, i] (stride inner). Threads per block: a multiple of 32, <= 256, ~n.
int block_for_row(int64_t n) {
  int b = 32;
  while (b < kBlock && b < n) b *= 2;
  return b;
}
unsigned grid_for_rows(int64_t rows) {
  return static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
}
__device__ inline int64_t row_start(int64_t r, int64_t n, int64_t inner) {
  return (r / inner) * n * inner + r % inner;
}

// Max and sum of exp(v - max) over a row, in double, known to every thread of the block.
template <class T>
__device__ double row_max(const T* row, int64_t n, int64_t inner) {
  double m = -HUGE_VAL;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, double(row[j * inner]));
  return block_reduce(m, MaxOp{});
}
template <class T>
__device__ double row_sum_exp(const T* row, int64_t n, int64_t inner, double m) {
  double s = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(double(row[j * inner]) - m);
  return block_reduce(s, SumOp{});
}

// ---- gemm ------------------------------------------------------------------------------
int to_int(int64_t v, const char* what) {
  NAQS_CHECK(v <= INT_MAX, "gemm_cuda: ", what, " = ", v, " exceeds the cuBLAS int range");
  return static_cast<int>(v);
}

// ---- elementwise -----------------------------------------------------------------------
template <Unary F, class T>
__global__ void unary_kernel(const T* x, T* y, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = unary_value<F>(x[i]);
}

template <Unary F, class T>
__global__ void unary_backward_kernel(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    dx[i] = unary_derivative<F>(x[i]) * dy[i];
}

template <Binary F, class T>
__global__ void binary_kernel(const T* a, const T* b, T* c, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) c[i] = binary_value<F>(a[i], b[i]);
}

// A zero coefficient's operand is not read (as on the CPU).
template <class T>
__global__ void axpby_kernel(T alpha, const T* x, T beta, T* y, int64_t n, bool read_x,
                             bool read_y) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    y[i] = (read_x ? alpha * x[i] : T(0)) + (read_y ? beta * y[i] : T(0));
}

template <class T>
__global__ void bias_add_kernel(T* x, const T* bias, int64_t n_total, int64_t n, int64_t inner) {
  for (int64_t i = first_index(); i < n_total; i += grid_stride()) x[i] += bias[(i / inner) % n];
}

// One block per channel c: sums dy[o, c, i] over (o, i) in double.
template <class T>
__global__ void bias_backward_kernel(const T* dy, T* dbias, int64_t outer, int64_t n, int64_t inner,
                                     bool accumulate) {
  const int64_t c = blockIdx.x;
  double sum = 0;
  for (int64_t r = threadIdx.x; r < outer * inner; r += blockDim.x) {
    const int64_t o = r / inner, i = r % inner;
    sum += static_cast<double>(dy[(o * n + c) * inner + i]);
  }
  sum = block_reduce(sum, SumOp{});
  if (threadIdx.x == 0) dbias[c] = static_cast<T>(accumulate ? dbias[c] + sum : sum);
}

// ---- fill / cast -----------------------------------------------------------------------
template <class T>
__global__ void fill_kernel(T* x, T value, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) x[i] = value;
}

template <class S, class D>
__global__ void cast_kernel(const S* src, D* dst, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dst[i] = static_cast<D>(src[i]);
}

// ---- reductions / softmax (one block per row) ---------------------------------------------
template <class T>
__global__ void reduce_kernel(Reduce kind, const T* x, T* out, int64_t rows, int64_t n,
                              int64_t inner) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + row_start(r, n, inner);
    double v;
    if (kind == Reduce::sum || kind == Reduce::mean) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += double(row[j * inner]);
      s = block_reduce(s, SumOp{});
      v = kind == Reduce::mean ? s / double(n) : s;
    } else {
      v = row_max(row, n, inner);
      if (kind == Reduce::logsumexp && !isinf(v)) v += log(row_sum_exp(row, n, inner, v));
    }
    if (threadIdx.x == 0) out[r] = static_cast<T>(v);
  }
}

template <class T>
__global__ void reduce_backward_kernel(Reduce kind, const T* x, const T* out, const T* dout, T* dx,
                                       int64_t rows, int64_t n, int64_t inner) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    const T* row = x + start;
    T* drow = dx + start;
    const double g = dout[r];
    if (kind == Reduce::max) {
      const double m = row_max(row, n, inner);
      double first = HUGE_VAL;  // first argmax
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        if (double(row[j * inner]) == m) first = fmin(first, double(j));
      first = block_reduce(first, MinOp{});
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
        drow[j * inner] = static_cast<T>(double(j) == first ? g : 0.0);
    } else {
      const double o = out[r];
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        double d = g;
        if (kind == Reduce::mean) d = g / double(n);
        if (kind == Reduce::logsumexp) d = exp(double(row[j * inner]) - o) * g;
        drow[j * inner] = static_cast<T>(d);
      }
    }
  }
}

// y may alias x: each thread reads x[j] (after the block-wide max and sum) before writing y[j].
template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t n, int64_t inner,
                               bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    const double m = row_max(x + start, n, inner);
    const double s = row_sum_exp(x + start, n, inner, m);
    const double log_s = log(s);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double v = double(x[start + j * inner]) - m;
      y[start + j * inner] = static_cast<T>(log_out ? v - log_s : exp(v) / s);
    }
  }
}

template <class T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t n,
                                        int64_t inner, bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t start = row_start(r, n, inner);
    double s = 0;  // log: sum dy; softmax: sum dy*y
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double d = dy[start + j * inner];
      s += log_out ? d : d * double(y[start + j * inner]);
    }
    s = block_reduce(s, SumOp{});
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const double yj = y[start + j * inner], d = dy[start + j * inner];
      dx[start + j * inner] = static_cast<T>(log_out ? d - exp(yj) * s : yj * (d - s));
    }
  }
}

// ---- gather / scatter_add: one thread per index entry p = (o, j, i) ----------------------
// An out-of-range index is skipped and its position recorded with atomicMin in *bad.
template <class T>
__global__ void gather_kernel(const T* src, const int32_t* index, T* out, int64_t total, int64_t n,
                              int64_t inner, int64_t n_src, unsigned long long* bad) {
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t k = index[p];
    if (k < 0 || k >= n_src) {
      atomicMin(bad, static_cast<unsigned long long>(p));
      continue;
    }
    const int64_t o = p / (n * inner), i = p % inner;
    out[p] = src[(o * n_src + k) * inner + i];
  }
}

template <class T>
__global__ void scatter_add_kernel(const T* src, const int32_t* index, T* out, int64_t total,
                                   int64_t n, int64_t inner, int64_t n_out,
                                   unsigned long long* bad) {
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t k = index[p];
    if (k < 0 || k >= n_out) {
      atomicMin(bad, static_cast<unsigned long long>(p));
      continue;
    }
    const int64_t o = p / (n * inner), i = p % inner;
    atomicAdd(out + (o * n_out + k) * inner + i, src[p]);
  }
}

// Runs launch(flag) with a device word set to "none", returns the recorded position or -1.
template <class Launch>
int64_t with_bad_index_flag(Device device, Launch&& launch) {
  constexpr unsigned long long kNone = ~0ull;
  Tensor flag = Tensor::empty({1}, DType::f64, device);  // 8 bytes of device memory
  auto* p = static_cast<unsigned long long*>(flag.raw_data());
  NAQS_CUDA_CHECK(cudaMemset(p, 0xff, sizeof(unsigned long long)));  // = kNone
  launch(p);
  unsigned long long host = kNone;
  NAQS_CUDA_CHECK(cudaMemcpy(&host, p, sizeof(host), cudaMemcpyDeviceToHost));
  return host == kNone ? -1 : static_cast<int64_t>(host);
}

}  // namespace

// ---- gemm: row-major c = op(a) op(b) is column-major c^T = op(b)^T op(a)^T ----------------
void gemm_cuda(const Tensor& a, const Tensor& b, Tensor& c, bool trans_a, bool trans_b,
               double alpha, double beta, const GemmDims& d) {
  use_device_of(c);
  const int m = to_int(d.m, "M"), n = to_int(d.n, "N"), k = to_int(d.k, "K");
  const int batch = to_int(d.batch, "batch");
  // Leading dimensions: the stored row lengths of the row-major operands.
  const int lda = std::max(1, trans_a ? m : k);
  const int ldb = std::max(1, trans_b ? k : n);
  const int ldc = std::max(1, n);
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const long long stride_a = d.m * d.k, stride_b = d.k * d.n, stride_c = d.m * d.n;
  cublasHandle_t h = cuda_rt::cublas_handle();
  if (a.dtype() == DType::f32) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    NAQS_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_b, op_a, n, m, k, &al, b.data<float>(), ldb,
                                                stride_b, a.data<float>(), lda, stride_a, &be,
                                                c.data<float>(), ldc, stride_c, batch));
  } else {
    NAQS_CUBLAS_CHECK(cublasDgemmStridedBatched(h, op_b, op_a, n, m, k, &alpha, b.data<double>(),
                                                ldb, stride_b, a.data<double>(), lda, stride_a,
                                                &beta, c.data<double>(), ldc, stride_c, batch));
  }
}

// ---- elementwise -----------------------------------------------------------------------
void unary_cuda(Unary f, const Tensor& x, Tensor& y) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "unary_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_unary(f, [&](auto ft) {
      unary_kernel<decltype(ft)::value, T>
          <<<cuda_rt::grid_for(n), kBlock>>>(x.data<T>(), y.data<T>(), n);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

void unary_backward_cuda(Unary f, const Tensor& x, const Tensor& dy, Tensor& dx) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "unary_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_unary(f, [&](auto ft) {
      unary_backward_kernel<decltype(ft)::value, T>
          <<<cuda_rt::grid_for(n), kBlock>>>(x.data<T>(), dy.data<T>(), dx.data<T>(), n);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

void binary_cuda(Binary f, const Tensor& a, const Tensor& b, Tensor& c) {
  use_device_of(a);
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), "binary_cuda", [&](auto tag) {
    using T = decltype(tag);
    with_binary(f, [&](auto ft) {
      binary_kernel<decltype(ft)::value, T>
          <<<cuda_rt::grid_for(n), kBlock>>>(a.data<T>(), b.data<T>(), c.data<T>(), n);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

void axpby_cuda(double alpha, const Tensor& x, double beta, Tensor& y) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "axpby_cuda", [&](auto tag) {
    using T = decltype(tag);
    axpby_kernel<T><<<cuda_rt::grid_for(n), kBlock>>>(static_cast<T>(alpha), x.data<T>(),
                                                      static_cast<T>(beta), y.data<T>(), n,
                                                      alpha != 0.0, beta != 0.0);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void bias_add_cuda(Tensor& x, const Tensor& bias, const AxisSplit& s) {
  use_device_of(x);
  const int64_t n_total = x.numel();
  if (n_total == 0) return;
  dispatch_float(x.dtype(), "bias_add_cuda", [&](auto tag) {
    using T = decltype(tag);
    bias_add_kernel<T><<<cuda_rt::grid_for(n_total), kBlock>>>(x.data<T>(), bias.data<T>(), n_total,
                                                               s.n, s.inner);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void bias_backward_cuda(const Tensor& dy, const AxisSplit& s, Tensor& dbias, bool accumulate) {
  use_device_of(dy);
  if (s.n == 0) return;
  dispatch_float(dy.dtype(), "bias_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    bias_backward_kernel<T><<<static_cast<unsigned>(s.n), kBlock>>>(
        dy.data<T>(), dbias.data<T>(), s.outer, s.n, s.inner, accumulate);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

// ---- fill / cast -----------------------------------------------------------------------
void fill_cuda(Tensor& x, double value) {
  use_device_of(x);
  const int64_t n = x.numel();
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<T><<<cuda_rt::grid_for(n), kBlock>>>(x.data<T>(), static_cast<T>(value), n);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void cast_cuda(const Tensor& src, Tensor& dst) {
  use_device_of(src);
  const int64_t n = src.numel();
  dispatch_all(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_all(dst.dtype(), [&](auto dtag) {
      using D = decltype(dtag);
      cast_kernel<S, D><<<cuda_rt::grid_for(n), kBlock>>>(src.data<S>(), dst.data<D>(), n);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

// ---- reductions / softmax ----------------------------------------------------------------
void reduce_cuda(Reduce kind, const Tensor& x, const AxisSplit& s, Tensor& out) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0) return;
  dispatch_float(x.dtype(), "reduce_cuda", [&](auto tag) {
    using T = decltype(tag);
    reduce_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(kind, x.data<T>(), out.data<T>(),
                                                                  rows, s.n, s.inner);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void reduce_backward_cuda(Reduce kind, const Tensor& x, const Tensor& out, const Tensor& dout,
                          const AxisSplit& s, Tensor& dx) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(x.dtype(), "reduce_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    reduce_backward_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(
        kind, x.data<T>(), out.data<T>(), dout.data<T>(), dx.data<T>(), rows, s.n, s.inner);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void softmax_cuda(const Tensor& x, const AxisSplit& s, bool log, Tensor& y) {
  use_device_of(x);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(x.dtype(), "softmax_cuda", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(x.data<T>(), y.data<T>(), rows,
                                                                   s.n, s.inner, log);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

void softmax_backward_cuda(const Tensor& y, const Tensor& dy, const AxisSplit& s, bool log,
                           Tensor& dx) {
  use_device_of(y);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || s.n == 0) return;
  dispatch_float(y.dtype(), "softmax_backward_cuda", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_kernel<T><<<grid_for_rows(rows), block_for_row(s.n)>>>(
        y.data<T>(), dy.data<T>(), dx.data<T>(), rows, s.n, s.inner, log);
    NAQS_CUDA_CHECK_LAUNCH();
  });
}

// ---- gather / scatter_add ----------------------------------------------------------------
int64_t gather_cuda(const Tensor& src, const Tensor& index, const AxisSplit& s, int64_t n_table,
                    Tensor& out) {
  use_device_of(out);
  const int64_t total = index.numel();
  if (total == 0) return -1;
  return with_bad_index_flag(out.device(), [&](unsigned long long* bad) {
    dispatch_float(src.dtype(), "gather_cuda", [&](auto tag) {
      using T = decltype(tag);
      gather_kernel<T><<<cuda_rt::grid_for(total), kBlock>>>(
          src.data<T>(), index.data<int32_t>(), out.data<T>(), total, s.n, s.inner, n_table, bad);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

int64_t scatter_add_cuda(const Tensor& src, const Tensor& index, const AxisSplit& s,
                         int64_t n_table, Tensor& out) {
  use_device_of(out);
  const int64_t total = index.numel();
  if (total == 0) return -1;
  return with_bad_index_flag(out.device(), [&](unsigned long long* bad) {
    dispatch_float(src.dtype(), "scatter_add_cuda", [&](auto tag) {
      using T = decltype(tag);
      scatter_add_kernel<T><<<cuda_rt::grid_for(total), kBlock>>>(
          src.data<T>(), index.data<int32_t>(), out.data<T>(), total, s.n, s.inner, n_table, bad);
      NAQS_CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace naqs::ops::detail
