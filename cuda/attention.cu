// CUDA twins of causal grouped-query attention and RoPE (host/ops/attention.hpp).
// Forward: one block per (b, query head, query row): scores of the visible keys in shared memory
// (one thread per key), softmax by block reductions in double, then one thread per output
// channel sums p_j v_j in key order. Backward: one block per (b, kv head) walks the group's
// query heads and rows in order; a thread per key owns that key's dk/dv rows (no atomics, the
// same order for every run). RoPE: one thread per rotated pair, the CPU's NAQS_HD math.
// Parity: tests/op_cases/attention.cpp.
#include "cuda/kernel_util.cuh"
#include "cuda/launch.cuh"
#include "host/ops/attention.hpp"
#include "host/ops/rope_math.hpp"

namespace naqs::ops::detail {
namespace {

constexpr int kAttnBlock = 128;

__device__ inline int64_t visible(const AttentionDims& d, int64_t i) {
  const int64_t v = d.query_offset + i + 1;
  return v < d.n_keys ? v : d.n_keys;
}

template <class T>
__global__ void attention_forward_kernel(AttentionDims d, const T* q, const T* k, const T* v,
                                         T* out, T* probs) {
  NAQS_EXTERN_SHARED(unsigned char, shared_raw);
  T* s = reinterpret_cast<T*>(shared_raw);
  const int64_t group = d.heads / d.kv_heads, dh = d.head_dim;
  for (int64_t row = blockIdx.x; row < d.batch * d.heads * d.n_queries; row += gridDim.x) {
    const int64_t i = row % d.n_queries, h = (row / d.n_queries) % d.heads;
    const int64_t b = row / (d.n_queries * d.heads), g = h / group;
    const int64_t vis = visible(d, i);
    const T* qi = q + b * d.q_stride[0] + i * d.q_stride[1] + h * d.q_stride[2];
    double m = -HUGE_VAL;
    for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) {
      const T* kj = k + b * d.k_stride[0] + j * d.k_stride[1] + g * d.k_stride[2];
      T acc = 0;
      for (int64_t dd = 0; dd < dh; ++dd) acc += qi[dd] * kj[dd];
      s[j] = acc * static_cast<T>(d.scale);
      m = fmax(m, static_cast<double>(s[j]));
    }
    m = block_reduce(m, MaxOp{});
    double sum = 0;
    for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) {
      const T e = exp(s[j] - static_cast<T>(m));
      s[j] = e;
      sum += static_cast<double>(e);
    }
    sum = block_reduce(sum, SumOp{});
    for (int64_t j = threadIdx.x; j < d.n_keys; j += blockDim.x) {
      const T p = j < vis ? static_cast<T>(static_cast<double>(s[j]) / sum) : T(0);
      if (j < vis) s[j] = p;
      if (probs) probs[((b * d.heads + h) * d.n_queries + i) * d.n_keys + j] = p;
    }
    __syncthreads();
    T* oi = out + ((b * d.n_queries + i) * d.heads + h) * dh;
    for (int64_t dd = threadIdx.x; dd < dh; dd += blockDim.x) {
      T acc = 0;
      for (int64_t j = 0; j < vis; ++j)
        acc += s[j] * v[b * d.v_stride[0] + j * d.v_stride[1] + g * d.v_stride[2] + dd];
      oi[dd] = acc;
    }
    __syncthreads();  // s is reused by the next row
  }
}

template <class T>
__global__ void attention_backward_kernel(AttentionDims d, const T* dout, const T* q,
                                          const T* k, const T* v, const T* probs, T* dq, T* dk,
                                          T* dv) {
  NAQS_EXTERN_SHARED(unsigned char, shared_raw);
  T* ds = reinterpret_cast<T*>(shared_raw);
  const int64_t group = d.heads / d.kv_heads, dh = d.head_dim, tk = d.n_keys;
  const T scale = static_cast<T>(d.scale);
  for (int64_t pair = blockIdx.x; pair < d.batch * d.kv_heads; pair += gridDim.x) {
    const int64_t b = pair / d.kv_heads, g = pair % d.kv_heads;
    for (int64_t j = threadIdx.x; j < tk; j += blockDim.x)
      for (int64_t dd = 0; dd < dh; ++dd) {
        dk[((b * tk + j) * d.kv_heads + g) * dh + dd] = 0;
        dv[((b * tk + j) * d.kv_heads + g) * dh + dd] = 0;
      }
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t i = 0; i < d.n_queries; ++i) {
        const int64_t vis = visible(d, i);
        const T* qi = q + b * d.q_stride[0] + i * d.q_stride[1] + h * d.q_stride[2];
        const T* doi = dout + ((b * d.n_queries + i) * d.heads + h) * dh;
        const T* pi = probs + ((b * d.heads + h) * d.n_queries + i) * tk;
        double pdp = 0;
        for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) {
          const T* vj = v + b * d.v_stride[0] + j * d.v_stride[1] + g * d.v_stride[2];
          T dp = 0;
          for (int64_t dd = 0; dd < dh; ++dd) dp += doi[dd] * vj[dd];
          ds[j] = dp;
          pdp += static_cast<double>(pi[j]) * static_cast<double>(dp);
        }
        pdp = block_reduce(pdp, SumOp{});
        const T c = static_cast<T>(pdp);
        for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) {
          const T p = pi[j], dsj = p * (ds[j] - c);
          ds[j] = dsj;
          T* dkj = dk + ((b * tk + j) * d.kv_heads + g) * dh;
          T* dvj = dv + ((b * tk + j) * d.kv_heads + g) * dh;
          for (int64_t dd = 0; dd < dh; ++dd) {
            dkj[dd] += scale * dsj * qi[dd];
            dvj[dd] += p * doi[dd];
          }
        }
        __syncthreads();
        T* dqi = dq + ((b * d.n_queries + i) * d.heads + h) * dh;
        for (int64_t dd = threadIdx.x; dd < dh; dd += blockDim.x) {
          T acc = 0;
          for (int64_t j = 0; j < vis; ++j)
            acc += ds[j] * k[b * d.k_stride[0] + j * d.k_stride[1] + g * d.k_stride[2] + dd];
          dqi[dd] = scale * acc;
        }
        __syncthreads();
      }
  }
}

template <class T>
__global__ void rope_kernel(int64_t batch, int64_t length, int64_t heads, int64_t head_dim,
                            int64_t position_offset, double base, bool inverse, const T* x,
                            T* y) {
  const int64_t half = head_dim / 2;
  NAQS_GRID_STRIDE(e, batch * length * heads * half) {
    const int64_t i = e % half, row = e / half;  // row = (b, t, h)
    const int64_t t = (row / heads) % length;
    double c, s;
    rope_cos_sin(position_offset + t, i, head_dim, base, c, s);
    const int64_t off = row * head_dim;
    rope_rotate(x[off + i], x[off + i + half], static_cast<T>(c),
                static_cast<T>(inverse ? -s : s), y[off + i], y[off + i + half]);
  }
}

size_t shared_bytes(const char* op, DType dtype, int64_t n_keys) {
  const size_t bytes = static_cast<size_t>(n_keys) * dtype_size(dtype);
  NAQS_CHECK(bytes <= 48 * 1024, op, ": ", n_keys, " keys need ", bytes,
             " bytes of shared memory per block, the CUDA kernel allows 49152");
  return bytes;
}

unsigned grid_of(int64_t blocks) {
  return static_cast<unsigned>(blocks < (1 << 20) ? (blocks < 1 ? 1 : blocks) : (1 << 20));
}

}  // namespace

void attention_forward_cuda(DType dtype, const AttentionDims& d, const void* q, const void* k,
                            const void* v, void* out, void* probs) {
  const int64_t rows = d.batch * d.heads * d.n_queries;
  if (rows == 0) return;
  const size_t shm = shared_bytes("attention_forward", dtype, d.n_keys);
  dispatch_float(dtype, "attention_forward", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_of(rows), kAttnBlock, shm, attention_forward_kernel<T>)(
        d, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
        static_cast<T*>(out), static_cast<T*>(probs));
  });
}

void attention_backward_cuda(DType dtype, const AttentionDims& d, const void* dout,
                             const void* q, const void* k, const void* v, const void* probs,
                             void* dq, void* dk, void* dv) {
  const int64_t pairs = d.batch * d.kv_heads;
  if (pairs == 0) return;
  const size_t shm = shared_bytes("attention_backward", dtype, d.n_keys);
  dispatch_float(dtype, "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(grid_of(pairs), kAttnBlock, shm, attention_backward_kernel<T>)(
        d, static_cast<const T*>(dout), static_cast<const T*>(q), static_cast<const T*>(k),
        static_cast<const T*>(v), static_cast<const T*>(probs), static_cast<T*>(dq),
        static_cast<T*>(dk), static_cast<T*>(dv));
  });
}

void rope_cuda(DType dtype, int64_t batch, int64_t length, int64_t heads, int64_t head_dim,
               int64_t position_offset, double base, bool inverse, const void* x, void* y) {
  const int64_t n = batch * length * heads * (head_dim / 2);
  if (n == 0) return;
  dispatch_float(dtype, "rope", [&](auto tag) {
    using T = decltype(tag);
    NAQS_LAUNCH(cuda_rt::grid_for(n), 256, 0, rope_kernel<T>)(
        batch, length, heads, head_dim, position_offset, base, inverse, static_cast<const T*>(x),
        static_cast<T*>(y));
  });
}

}  // namespace naqs::ops::detail
