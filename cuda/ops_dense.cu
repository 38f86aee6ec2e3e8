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
#include "host/ops/gemm.hpp"

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

// Threads per block for a block-per-row kernel over rows of length n: a multiple of 32, <= 256.
int block_for_row(int64_t n) {
  int b = 32;
  while (b < kBlock && b < n) b *= 2;
  return b;
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

template <class T>
__global__ void axpby_kernel(T alpha, const T* x, T beta, T* y, int64_t n, bool read_y) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    y[i] = read_y ? alpha * x[i] + beta * y[i] : alpha * x[i];
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
    axpby_kernel<T><<<cuda_rt::grid_for(n), kBlock>>>(
        static_cast<T>(alpha), x.data<T>(), static_cast<T>(beta), y.data<T>(), n, beta != 0.0);
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

}  // namespace naqs::ops::detail
