// Causal multi-head attention with grouped K/V heads, and rotary position embedding (RoPE).
//
// attention_forward(q, k, v, query_offset, scale, out, probs)
//   q (B, Tq, Hq, Dh); k, v (B, Tk, Hkv, Dh); out (B, Tq, Hq, Dh); probs (B, Hq, Tq, Tk) or
//   undefined (not saved: inference). Hq % Hkv == 0; query head h reads K/V head
//   h / (Hq / Hkv) (GQA by head index: K/V are never copied per query head; Hkv = 1 is MQA).
//   Query row i sits at absolute position query_offset + i and sees keys j <= query_offset + i
//   (causal; full forward: offset 0, Tk = Tq; KV-cache decode: Tq = 1, Tk = offset + 1):
//     s_j = scale * sum_d q[i,d] k[j,d]        (d ascending)
//     p_j = exp(s_j - max) / sum_j' exp(s_j' - max)    (visible j only; invisible p_j = 0)
//     out[i,d] = sum_j p_j v[j,d]              (j ascending)
//   CPU, probs undefined (inference): every sum runs in a fixed order that depends only on the
//   row's own visible keys, so a row's result is bitwise the same whether it is computed alone
//   (decode) or with the other rows (full forward), for any thread count. Sums accumulate in the
//   dtype (as llm.c's CPU reference), the softmax denominator in double. (Scores read K through
//   a transposed copy when a key head serves >= 8 query rows, else straight from the key rows;
//   the same operations per score either way; attention.cpp is compiled without FMA
//   contraction.)
//   CPU, probs given (training): the same formulas with Q K^T and P V as per-head OpenBLAS
//   products (single-threaded inside one task per (b, kv head): deterministic for any thread
//   count, not row-count independent); 2-3x faster at T = 128.
// attention_backward(dout, q, k, v, probs, query_offset, scale, dq, dk, dv)
//   dp_j = sum_d dout[i,d] v[j,d];  ds_j = p_j (dp_j - sum_j' p_j' dp_j')
//   dq[i] = scale sum_j ds_j k[j];  dk[j] = scale sum_{h in group, i} ds_j q[i];
//   dv[j] = sum_{h in group, i} p_j dout[i]. dq (B,Tq,Hq,Dh), dk, dv (B,Tk,Hkv,Dh) overwritten.
//   CPU: one task per (b, kv head) owns its dk/dv rows and runs per-head OpenBLAS products
//   (single-threaded inside the task: dP = dO V^T, dQ = scale dS K, dK += scale dS^T Q,
//   dV += P^T dO over the group's heads in order), so it is deterministic for any thread count.
// q, k, v may be strided views (any strides on B, T, H; Dh stride 1: a KV cache's prefix
// cache.narrow(1, 0, Tk)); out, probs, dout and the gradients are contiguous. f32 / f64.
//
// rope_forward(x, position_offset, base, y)    x, y (B, T, H, Dh), Dh even, y may alias x.
//   Rotate-half convention (GPT-NeoX / Llama in Hugging Face): for i < Dh/2, position
//   p = position_offset + t, theta_i = base^(-2i/Dh), angle = p theta_i (cos, sin in double):
//     y[i]        = x[i] cos - x[i + Dh/2] sin
//     y[i + Dh/2] = x[i + Dh/2] cos + x[i] sin
// rope_backward(dy, position_offset, base, dx): the inverse rotation (angle -> -angle), the
//   transpose of the forward's. dx may alias dy.
//
// CUDA twins: cuda/attention.cu (attention: one block per (b, query head, query row) for the
// forward, one block per (b, kv head) for the backward; RoPE one thread per pair).
// Tests: tests/unit/test_attention.cpp (vs a naive float64 loop, GQA/MQA, query offset rows
// == full rows bitwise, RoPE relative-position property, central differences);
// tests/op_cases/attention.cpp (parity: f32 a few eps relative to the sums of |terms|, the two
// backends sum in different orders and CUDA contracts to FMA; f64 gradients).
#pragma once
#include "host/core/tensor.hpp"

namespace naqs::ops {

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, int64_t query_offset,
                       double scale, Tensor& out, Tensor& probs);
void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& probs, int64_t query_offset, double scale, Tensor& dq,
                        Tensor& dk, Tensor& dv);

void rope_forward(const Tensor& x, int64_t position_offset, double base, Tensor& y);
void rope_backward(const Tensor& dy, int64_t position_offset, double base, Tensor& dx);

namespace detail {
// Sizes and element strides of the views (q: [b, t, h]; k and v likewise; Dh stride 1).
struct AttentionDims {
  int64_t batch, n_queries, n_keys, heads, kv_heads, head_dim, query_offset;
  int64_t q_stride[3], k_stride[3], v_stride[3];
  double scale;
};
void attention_forward_cuda(DType dtype, const AttentionDims& d, const void* q, const void* k,
                            const void* v, void* out, void* probs);
void attention_backward_cuda(DType dtype, const AttentionDims& d, const void* dout,
                             const void* q, const void* k, const void* v, const void* probs,
                             void* dq, void* dk, void* dv);
void rope_cuda(DType dtype, int64_t batch, int64_t length, int64_t heads, int64_t head_dim,
               int64_t position_offset, double base, bool inverse, const void* x, void* y);
}  // namespace detail

}  // namespace naqs::ops
