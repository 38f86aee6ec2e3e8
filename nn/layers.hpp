// The layer kit (llm.c style): free functions over parameter views and activation buffers, one
// forward and one hand-written backward per layer, so a model is a readable sequence of calls:
//
//   nn::embedding_forward(x, ids, p.get("wte"));                       // x (B,T,C)
//   nn::embedding_forward(x, pos, p.get("wpe"), /*accumulate=*/true);  //   + position rows
//   nn::layernorm_forward(h, ln_mean, ln_rstd, x, p.get("ln.w"), p.get("ln.b"));
//   nn::linear_forward(qkv, h, p.get("attn.w"), p.get("attn.b"));      // qkv (B,T,3C)
//   ...
//   nn::linear_backward(dh, g.get("attn.w"), g.get("attn.b"), dqkv, h, p.get("attn.w"));
//
// Conventions (every function):
// - Shapes are written on every argument: B batch (samples), T positions, C input channels, OC
//   output channels, V vocabulary; "..." any leading dims (N rows = their product). All tensors
//   contiguous, f32 or f64 (ids i32), on one device.
// - Tensors are handles: outputs are taken by value and written in place, so ParameterSet views
//   (grads.get("fc.w"), where grads = params.like(...)) and activation buffers pass directly.
// - Everything runs on the tensors' device through naqs::ops (CPU reference or CUDA twin); a
//   backward writes its gradients there, never through the host.
// - Backward outputs of the linear and norm layers (dinp and every parameter gradient) are
//   optional: an undefined Tensor is not computed. The one-output backwards (embedding,
//   activation, softmax) require theirs. accumulate = false overwrites every output of the call, true adds to each (+=), as
//   for a residual branch or gradient accumulation over micro-batches.
// - *_backward_per_sample: the parameter gradients of each sample b (the leading dim of inp / ids)
//   separately, as rows (B, ...) of the same shapes (the per-sample gradients SR / minSR need);
//   they sum to the *_backward result. dinp is the same for both: take it from *_backward.
// - Sums over rows (bias, gamma/beta and embedding gradients) are deterministic: a fixed order
//   independent of thread count (CPU) and no floating-point atomics (CUDA); GEMM-based gradients
//   are as deterministic as the BLAS (OpenBLAS / cuBLAS).
// Errors (naqs::Error, one line naming the function or the op under it and the tensor): wrong
// shapes, dtypes, devices, token ids outside [0, V).
// Ops underneath: host/ops/gemm.hpp, elementwise.hpp (bias, GELU, SiLU), norm.hpp,
// embedding.hpp, softmax.hpp; each op file names its CUDA twin and tolerance.
// Tests: tests/unit/test_nn_layers.cpp (every backward, summed and per-sample, against float64
// central differences; hand values; determinism; errors); the op-case harness: linear in
// tests/op_cases/nn_layers.cpp, the ops underneath in tests/op_cases/<op>.cpp.
#pragma once
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/softmax.hpp"

namespace naqs::nn {

// ---- linear: out = inp @ weight^T + bias (weight stored (OC, C) as in PyTorch / llm.c) -------
// out (..., OC); inp (..., C); weight (OC, C); bias (OC) or undefined.
void linear_forward(Tensor out, const Tensor& inp, const Tensor& weight, const Tensor& bias);
// dinp (..., C) = dout @ weight; dweight (OC, C) = sum_rows dout^T inp; dbias (OC) = sum_rows
// dout. dout (..., OC); inp (..., C); weight (OC, C) (read only when dinp is wanted).
void linear_backward(Tensor dinp, Tensor dweight, Tensor dbias, const Tensor& dout,
                     const Tensor& inp, const Tensor& weight, bool accumulate = false);
// dweight (B, OC, C), dbias (B, OC): per sample b, sums over its rows. dout (B, ..., OC);
// inp (B, ..., C).
void linear_backward_per_sample(Tensor dweight, Tensor dbias, const Tensor& dout,
                                const Tensor& inp, bool accumulate = false);

// ---- layernorm over the last dim: out = (inp - mean) * rstd * weight + bias -----------------
// out (..., C); mean, rstd (...) saved for the backward; inp (..., C); weight (C); bias (C) or
// undefined. Biased variance, rstd = 1/sqrt(var + eps) (PyTorch's default eps 1e-5).
void layernorm_forward(Tensor out, Tensor mean, Tensor rstd, const Tensor& inp,
                       const Tensor& weight, const Tensor& bias, double eps = 1e-5);
// dinp (..., C); dweight, dbias (C); dout (..., C); inp, weight, mean, rstd as in the forward.
void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, const Tensor& dout,
                        const Tensor& inp, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, bool accumulate = false);
// dweight, dbias (B, C); dout, inp (B, ..., C); mean, rstd (B, ...).
void layernorm_backward_per_sample(Tensor dweight, Tensor dbias, const Tensor& dout,
                                   const Tensor& inp, const Tensor& mean, const Tensor& rstd,
                                   bool accumulate = false);

// ---- rmsnorm over the last dim: out = inp * rstd * weight, rstd = 1/sqrt(mean(inp^2) + eps) --
// out (..., C); rstd (...) saved for the backward; inp (..., C); weight (C).
void rmsnorm_forward(Tensor out, Tensor rstd, const Tensor& inp, const Tensor& weight,
                     double eps = 1e-5);
// dinp (..., C); dweight (C); dout (..., C); inp, weight, rstd as in the forward.
void rmsnorm_backward(Tensor dinp, Tensor dweight, const Tensor& dout, const Tensor& inp,
                      const Tensor& weight, const Tensor& rstd, bool accumulate = false);
// dweight (B, C); dout, inp (B, ..., C); rstd (B, ...).
void rmsnorm_backward_per_sample(Tensor dweight, const Tensor& dout, const Tensor& inp,
                                 const Tensor& rstd, bool accumulate = false);

// ---- embedding: out[p, :] = table[ids[p], :] --------------------------------------------------
// out (B, T, C) (generally ids' shape + C); ids (B, T) i32 in [0, V); table (V, C).
// accumulate adds the rows (token + position embeddings: two calls, positions as ids).
void embedding_forward(Tensor out, const Tensor& ids, const Tensor& table,
                       bool accumulate = false);
// dtable (V, C): row v = sum of dout rows of the positions with id v (ascending positions; rows
// of ids that do not occur are zero, or untouched with accumulate). dout (B, T, C); ids (B, T).
void embedding_backward(Tensor dtable, const Tensor& dout, const Tensor& ids,
                        bool accumulate = false);
// dtable (B, V, C); dout (B, T, C); ids (B, T).
void embedding_backward_per_sample(Tensor dtable, const Tensor& dout, const Tensor& ids,
                                   bool accumulate = false);

// ---- activations: out = f(inp), any ops::Unary; the transformer ones are ops::Unary::gelu
// (exact, erf), ops::Unary::gelu_tanh (GPT-2's tanh approximation) and ops::Unary::silu.
// out, inp (...) same shape.
void activation_forward(ops::Unary f, Tensor out, const Tensor& inp);
// dinp = f'(inp) * dout. dinp, dout, inp (...) same shape.
void activation_backward(ops::Unary f, Tensor dinp, const Tensor& dout, const Tensor& inp,
                         bool accumulate = false);

// ---- softmax over the last dim of attention scores, with an optional additive and/or causal
// mask (ops::SoftmaxMask; the query offset makes a KV-cache decode step the same call):
// out, scores (..., Tq, Tk). Masked entries are exactly 0; a fully masked row is all 0.
void softmax_forward(Tensor out, const Tensor& scores, const ops::SoftmaxMask& mask = {});
// dscores = out * (dout - sum_k dout * out) (0 at masked entries). dscores, dout, out (..., Tq, Tk).
void softmax_backward(Tensor dscores, const Tensor& dout, const Tensor& out,
                      bool accumulate = false);

}  // namespace naqs::nn
