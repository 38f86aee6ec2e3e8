// CPU reference of causal grouped-query attention and RoPE, and device dispatch; see
// attention.hpp.
#include "host/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#include "host/ops/blas_cpu.hpp"
#include "host/ops/rope_math.hpp"

namespace naqs::ops {
namespace {

detail::AttentionDims check_attention(const char* op, const Tensor& q, const Tensor& k,
                                      const Tensor& v, int64_t query_offset, double scale) {
  check_defined(op, q, "q");
  check_defined(op, k, "k");
  check_defined(op, v, "v");
  check_rank(op, q, 4, "q");
  check_rank(op, k, 4, "k");
  check_rank(op, v, 4, "v");
  check_same_dtype(op, {&q, &k, &v});
  check_same_device(op, {&q, &k, &v});
  dispatch_float(q.dtype(), op, [](auto) {});
  detail::AttentionDims d{};
  d.batch = q.size(0);
  d.n_queries = q.size(1);
  d.heads = q.size(2);
  d.head_dim = q.size(3);
  d.n_keys = k.size(1);
  d.kv_heads = k.size(2);
  d.query_offset = query_offset;
  d.scale = scale;
  check_shape(op, k, Shape{d.batch, d.n_keys, d.kv_heads, d.head_dim}, "k");
  check_shape(op, v, Shape{d.batch, d.n_keys, d.kv_heads, d.head_dim}, "v");
  NAQS_CHECK(d.kv_heads > 0 && d.heads % d.kv_heads == 0, op, ": ", d.heads,
             " query heads are not a multiple of ", d.kv_heads, " key/value heads");
  NAQS_CHECK(query_offset >= 0, op, ": query_offset ", query_offset, " < 0");
  NAQS_CHECK(query_offset + d.n_queries <= d.n_keys || d.n_queries == 0, op, ": ", d.n_queries,
             " queries at offset ", query_offset, " need ", query_offset + d.n_queries,
             " keys, k has ", d.n_keys);
  const Tensor* views[3] = {&q, &k, &v};
  int64_t* strides[3] = {d.q_stride, d.k_stride, d.v_stride};
  const char* names[3] = {"q", "k", "v"};
  for (int t = 0; t < 3; ++t) {
    NAQS_CHECK(views[t]->stride(3) == 1 || views[t]->size(3) <= 1, op, ": ", names[t], " ",
               views[t]->str(), " needs unit stride along Dh");
    for (int dim = 0; dim < 3; ++dim) strides[t][dim] = views[t]->stride(dim);
  }
  return d;
}

void check_output(const char* op, const Tensor& t, const Tensor& like, const Shape& shape,
                  const char* name) {
  check_defined(op, t, name);
  check_shape(op, t, shape, name);
  check_same_dtype(op, {&t, &like});
  check_same_device(op, {&t, &like});
  check_contiguous(op, t, name);
}

// (b, g): K or V of kv head g of sample b transposed to (Dh, Tk) so score loops run along keys.
template <class T>
void transpose_keys(const T* base, const int64_t* stride, int64_t b, int64_t g, int64_t n_keys,
                    int64_t head_dim, T* out) {
  for (int64_t j = 0; j < n_keys; ++j) {
    const T* row = base + b * stride[0] + j * stride[1] + g * stride[2];
    for (int64_t dd = 0; dd < head_dim; ++dd) out[dd * n_keys + j] = row[dd];
  }
}

// Query rows per key head from which the inference forward reads K through a transposed copy.
constexpr int64_t kTransposeRows = 8;

int64_t visible_keys(const detail::AttentionDims& d, int64_t i) {
  return std::min(d.n_keys, d.query_offset + i + 1);
}

template <class T>
inline void forward_group_body(const detail::AttentionDims& d, int64_t b, int64_t g, const T* q,
                               const T* k, const T* v, T* out, std::vector<T>& kt,
                               std::vector<T>& s) {
  const int64_t dh = d.head_dim, tk = d.n_keys, group = d.heads / d.kv_heads;
  s.resize(static_cast<size_t>(tk));
  // Scores s_j = sum_d q_d k_jd, one chain per key in ascending d. Many query rows per key head
  // (a full forward) read K transposed to (Dh, Tk) so the chains run side by side along keys;
  // a few (a decode step) read the key rows directly, eight chains at a time, rather than pay
  // for the transposed copy. Both perform the same operations per score: bitwise equal.
  const bool transposed = group * d.n_queries >= kTransposeRows;
  if (transposed) {
    kt.resize(static_cast<size_t>(dh * tk));
    transpose_keys(k, d.k_stride, b, g, tk, dh, kt.data());
  }
  const T* kg = k + b * d.k_stride[0] + g * d.k_stride[2];
  const T scale = static_cast<T>(d.scale);
  for (int64_t h = g * group; h < (g + 1) * group; ++h)
    for (int64_t i = 0; i < d.n_queries; ++i) {
      const int64_t vis = visible_keys(d, i);
      const T* qi = q + b * d.q_stride[0] + i * d.q_stride[1] + h * d.q_stride[2];
      std::fill(s.begin(), s.begin() + vis, T(0));
      if (transposed) {
        for (int64_t dd = 0; dd < dh; ++dd) {
          const T qd = qi[dd];
          const T* kd = kt.data() + dd * tk;
          for (int64_t j = 0; j < vis; ++j) s[j] += qd * kd[j];
        }
      } else {
        constexpr int64_t kKeys = 8;
        int64_t j0 = 0;
        for (; j0 + kKeys <= vis; j0 += kKeys) {
          T acc[kKeys] = {};
          for (int64_t dd = 0; dd < dh; ++dd) {
            const T qd = qi[dd];
            for (int64_t jj = 0; jj < kKeys; ++jj) acc[jj] += qd * kg[(j0 + jj) * d.k_stride[1] + dd];
          }
          for (int64_t jj = 0; jj < kKeys; ++jj) s[j0 + jj] = acc[jj];
        }
        for (; j0 < vis; ++j0) {
          T acc = 0;
          for (int64_t dd = 0; dd < dh; ++dd) acc += qi[dd] * kg[j0 * d.k_stride[1] + dd];
          s[j0] = acc;
        }
      }
      T m = -INFINITY;
      for (int64_t j = 0; j < vis; ++j) {
        s[j] *= scale;
        m = std::max(m, s[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < vis; ++j) {
        s[j] = std::exp(s[j] - m);
        sum += static_cast<double>(s[j]);
      }
      for (int64_t j = 0; j < vis; ++j)
        s[j] = static_cast<T>(static_cast<double>(s[j]) / sum);
      T* oi = out + ((b * d.n_queries + i) * d.heads + h) * dh;
      std::fill(oi, oi + dh, T(0));
      for (int64_t j = 0; j < vis; ++j) {
        const T p = s[j];
        const T* vj = v + b * d.v_stride[0] + j * d.v_stride[1] + g * d.v_stride[2];
        for (int64_t dd = 0; dd < dh; ++dd) oi[dd] += p * vj[dd];
      }
    }
}

// AVX2 and SSE2 variants (host/core/simd.hpp): the same operations per score, the same bits.
NAQS_AVX2_CLONES void forward_group(const detail::AttentionDims& d, int64_t b, int64_t g,
                                    const float* q, const float* k, const float* v, float* out,
                                    std::vector<float>& kt, std::vector<float>& s) {
  forward_group_body(d, b, g, q, k, v, out, kt, s);
}
NAQS_AVX2_CLONES void forward_group(const detail::AttentionDims& d, int64_t b, int64_t g,
                                    const double* q, const double* k, const double* v,
                                    double* out, std::vector<double>& kt,
                                    std::vector<double>& s) {
  forward_group_body(d, b, g, q, k, v, out, kt, s);
}

// The training forward of one (sample, kv head) pair (probs saved): per query head, the scores
// S = scale Q K^T by one OpenBLAS product written into probs, the causal softmax of each row in
// place (invisible keys 0), then out = P V by another product.
template <class T>
void forward_group_gemm(const detail::AttentionDims& d, int64_t b, int64_t g, const T* q,
                        const T* k, const T* v, T* out, T* probs) {
  const int64_t dh = d.head_dim, tk = d.n_keys, tq = d.n_queries, group = d.heads / d.kv_heads;
  const int64_t q_ld = d.heads * dh;
  const T* kg = k + b * d.k_stride[0] + g * d.k_stride[2];
  const T* vg = v + b * d.v_stride[0] + g * d.v_stride[2];
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    const T* qh = q + b * d.q_stride[0] + h * d.q_stride[2];
    T* ph = probs + (b * d.heads + h) * tq * tk;
    gemm_rm(false, true, tq, tk, dh, static_cast<T>(d.scale), qh, d.q_stride[1], kg,
            d.k_stride[1], T(0), ph, tk);
    for (int64_t i = 0; i < tq; ++i) {
      const int64_t vis = visible_keys(d, i);
      T* row = ph + i * tk;
      T m = -INFINITY;
      for (int64_t j = 0; j < vis; ++j) m = std::max(m, row[j]);
      double sum = 0;
      for (int64_t j = 0; j < vis; ++j) {
        row[j] = std::exp(row[j] - m);
        sum += static_cast<double>(row[j]);
      }
      for (int64_t j = 0; j < vis; ++j)
        row[j] = static_cast<T>(static_cast<double>(row[j]) / sum);
      std::fill(row + vis, row + tk, T(0));
    }
    gemm_rm(false, false, tq, dh, tk, T(1), ph, tk, vg, d.v_stride[1], T(0),
            out + b * tq * q_ld + h * dh, q_ld);
  }
}

// The backward of one (sample, kv head) pair as per-head products (OpenBLAS, single-threaded
// inside the chunk): dP = dO V^T, dS = P o (dP - rowsum(P o dP)), dQ = scale dS K,
// dK += scale dS^T Q, dV += P^T dO over the group's heads in order. Masked entries have P = 0,
// so dS = 0 there and the products over all Tk keys add exact zeros for them.
template <class T>
void backward_group(const detail::AttentionDims& d, int64_t b, int64_t g, const T* dout,
                    const T* q, const T* k, const T* v, const T* probs, T* dq, T* dk, T* dv,
                    std::vector<T>& dp, std::vector<T>& ds) {
  const int64_t dh = d.head_dim, tk = d.n_keys, tq = d.n_queries, group = d.heads / d.kv_heads;
  dp.resize(static_cast<size_t>(tq * tk));
  ds.resize(static_cast<size_t>(tq * tk));
  const int64_t kv_ld = d.kv_heads * dh, q_ld = d.heads * dh;
  T* dkg = dk + b * tk * kv_ld + g * dh;
  T* dvg = dv + b * tk * kv_ld + g * dh;
  for (int64_t j = 0; j < tk; ++j) {
    std::fill_n(dkg + j * kv_ld, dh, T(0));
    std::fill_n(dvg + j * kv_ld, dh, T(0));
  }
  const T* kg = k + b * d.k_stride[0] + g * d.k_stride[2];
  const T* vg = v + b * d.v_stride[0] + g * d.v_stride[2];
  const T scale = static_cast<T>(d.scale);
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    const T* qh = q + b * d.q_stride[0] + h * d.q_stride[2];
    const T* doh = dout + b * tq * q_ld + h * dh;
    const T* ph = probs + (b * d.heads + h) * tq * tk;
    T* dqh = dq + b * tq * q_ld + h * dh;
    gemm_rm(false, true, tq, tk, dh, T(1), doh, q_ld, vg, d.v_stride[1], T(0), dp.data(), tk);
    for (int64_t i = 0; i < tq; ++i) {
      const int64_t vis = visible_keys(d, i);
      const T* pi = ph + i * tk;
      const T* dpi = dp.data() + i * tk;
      double pdp = 0;
      for (int64_t j = 0; j < vis; ++j)
        pdp += static_cast<double>(pi[j]) * static_cast<double>(dpi[j]);
      const T c = static_cast<T>(pdp);
      T* dsi = ds.data() + i * tk;
      for (int64_t j = 0; j < vis; ++j) dsi[j] = pi[j] * (dpi[j] - c);
      std::fill(dsi + vis, dsi + tk, T(0));
    }
    gemm_rm(false, false, tq, dh, tk, scale, ds.data(), tk, kg, d.k_stride[1], T(0), dqh, q_ld);
    gemm_rm(true, false, tk, dh, tq, scale, ds.data(), tk, qh, d.q_stride[1], T(1), dkg, kv_ld);
    gemm_rm(true, false, tk, dh, tq, T(1), ph, tk, doh, q_ld, T(1), dvg, kv_ld);
  }
}

// Runs body(b, g, slot) over every (sample, kv head) pair, on parallel_chunks' threads when the
// work is large enough; each pair's arithmetic is the same whichever thread runs it.
template <class F>
void for_each_group(const detail::AttentionDims& d, F&& body) {
  const int64_t pairs = d.batch * d.kv_heads;
  const int64_t macs = d.batch * d.heads * d.n_queries * d.n_keys * d.head_dim;
  const int slots = macs >= kMinParallelMacs ? parallel_slots() : 1;
  parallel_chunks(pairs, slots, [&](int64_t c, int slot) {
    body(c / d.kv_heads, c % d.kv_heads, slot);
  });
}

void check_rope(const char* op, const Tensor& x, const Tensor& y, int64_t position_offset,
                double base) {
  check_defined(op, x, "x");
  check_rank(op, x, 4, "x");
  check_contiguous(op, x, "x");
  check_output(op, y, x, x.shape(), "y");
  dispatch_float(x.dtype(), op, [](auto) {});
  NAQS_CHECK(x.size(3) % 2 == 0, op, ": head dim ", x.size(3), " of ", x.str(),
             " is odd (RoPE rotates pairs)");
  NAQS_CHECK(position_offset >= 0, op, ": position_offset ", position_offset, " < 0");
  NAQS_CHECK(base > 1, op, ": base ", base, " must be > 1");
}

void rope(const char* op, const Tensor& x, int64_t position_offset, double base, bool inverse,
          Tensor& y) {
  check_rope(op, x, y, position_offset, base);
  const int64_t batch = x.size(0), length = x.size(1), heads = x.size(2), dh = x.size(3);
  if (x.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(x.device().index));
    NAQS_CUDA_BRANCH(op, detail::rope_cuda(x.dtype(), batch, length, heads, dh, position_offset,
                                           base, inverse, x.raw_data(), y.raw_data()));
    return;
  }
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const int64_t half = dh / 2;
    std::vector<T> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
    for (int64_t t = 0; t < length; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        double c, s;
        rope_cos_sin(position_offset + t, i, dh, base, c, s);
        cs[i] = static_cast<T>(c);
        sn[i] = static_cast<T>(inverse ? -s : s);
      }
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h) {
          const int64_t off = ((b * length + t) * heads + h) * dh;
          for (int64_t i = 0; i < half; ++i)
            rope_rotate(xp[off + i], xp[off + i + half], cs[i], sn[i], yp[off + i],
                        yp[off + i + half]);
        }
    }
  });
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, int64_t query_offset,
                       double scale, Tensor& out, Tensor& probs) {
  const char* op = "attention_forward";
  const detail::AttentionDims d = check_attention(op, q, k, v, query_offset, scale);
  check_output(op, out, q, q.shape(), "out");
  if (probs.defined())
    check_output(op, probs, q, Shape{d.batch, d.heads, d.n_queries, d.n_keys}, "probs");
  if (q.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(q.device().index));
    NAQS_CUDA_BRANCH(op, detail::attention_forward_cuda(
                             q.dtype(), d, q.raw_strided_data(), k.raw_strided_data(),
                             v.raw_strided_data(), out.raw_data(),
                             probs.defined() ? probs.raw_data() : nullptr));
    return;
  }
  dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* qp = q.strided_data<T>();
    const T* kp = k.strided_data<T>();
    const T* vp = v.strided_data<T>();
    T* op_out = out.data<T>();
    T* pp = probs.defined() ? probs.data<T>() : nullptr;
    if (pp) {  // training: products by OpenBLAS (see the header)
      BlasSingleThreaded single;
      for_each_group(d, [&](int64_t b, int64_t g, int) {
        forward_group_gemm(d, b, g, qp, kp, vp, op_out, pp);
      });
      return;
    }
    std::vector<std::vector<T>> kt(static_cast<size_t>(parallel_slots())), s(kt.size());
    for_each_group(d, [&](int64_t b, int64_t g, int slot) {
      forward_group(d, b, g, qp, kp, vp, op_out, kt[slot], s[slot]);
    });
  });
}

void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& probs, int64_t query_offset, double scale, Tensor& dq,
                        Tensor& dk, Tensor& dv) {
  const char* op = "attention_backward";
  const detail::AttentionDims d = check_attention(op, q, k, v, query_offset, scale);
  check_output(op, dout, q, q.shape(), "dout");
  check_output(op, probs, q, Shape{d.batch, d.heads, d.n_queries, d.n_keys}, "probs");
  check_output(op, dq, q, q.shape(), "dq");
  check_output(op, dk, q, k.shape(), "dk");
  check_output(op, dv, q, v.shape(), "dv");
  if (q.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(q.device().index));
    NAQS_CUDA_BRANCH(op, detail::attention_backward_cuda(
                             q.dtype(), d, dout.raw_data(), q.raw_strided_data(),
                             k.raw_strided_data(), v.raw_strided_data(), probs.raw_data(),
                             dq.raw_data(), dk.raw_data(), dv.raw_data()));
    return;
  }
  dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const size_t slots = static_cast<size_t>(parallel_slots());
    std::vector<std::vector<T>> dp(slots), ds(slots);
    const T* qp = q.strided_data<T>();
    const T* kp = k.strided_data<T>();
    const T* vp = v.strided_data<T>();
    const T* dop = dout.data<T>();
    const T* pp = probs.data<T>();
    T* dqp = dq.data<T>();
    T* dkp = dk.data<T>();
    T* dvp = dv.data<T>();
    BlasSingleThreaded single;
    for_each_group(d, [&](int64_t b, int64_t g, int slot) {
      backward_group(d, b, g, dop, qp, kp, vp, pp, dqp, dkp, dvp, dp[slot], ds[slot]);
    });
  });
}

void rope_forward(const Tensor& x, int64_t position_offset, double base, Tensor& y) {
  rope("rope_forward", x, position_offset, base, false, y);
}

void rope_backward(const Tensor& dy, int64_t position_offset, double base, Tensor& dx) {
  rope("rope_backward", dy, position_offset, base, true, dx);
}

}  // namespace naqs::ops
