// Causal masked 1-D convolution (the NAQS 1D building block).
//   x is (B,Cin,L), w is (Cout,Cin,K), bias is (Cout) or undefined, y is (B,Cout,L).
//   Tap k of output position t reads input position pos(t,k) = t - shift - dilation*(K-1-k),
//   shift = 0 (inclusive mask: tap K-1 is t itself) or 1 (exclusive: output t sees only x[< t]);
//   positions < 0 read zero (left zero padding), so y[:, :, t] depends on x[:, :, <= t] only.
//     y[b,o,t] = bias[o] + sum_{c,k} w[o,c,k] * x[b,c,pos(t,k)]
// Backward (hand-written, llm.c style; `accumulate` adds into the output instead of overwriting):
//   dx[b,c,p]   (+)= sum_{o,k,t: pos(t,k)=p} w[o,c,k] * dy[b,o,t]
//   dw[o,c,k]   (+)= sum_{b,t} dy[b,o,t] * x[b,c,pos(t,k)]          (summed over the batch)
//   dw[b,o,c,k]  = sum_t dy[b,o,t] * x[b,c,pos(t,k)]                (per sample, for SR/minSR)
// The bias gradient is bias_backward(dy, axis 1) in host/ops/elementwise.hpp.
// f32 and f64; all tensors contiguous, same device and dtype.
// CPU: im2col + one single-threaded cblas GEMM per chunk of samples (forward, both backward
// passes, per-sample GEMMs for the per-sample gradient); chunks of ~128 KiB of columns stay in
// L2 and are spread over threads by parallel_chunks from 2^22 multiply-adds (host/core/
// parallel.hpp: helper threads join while they run, so shared cores never stall the caller);
// the sizes alone fix the chunks,
// so results do not depend on the thread count. (The cached sampler computes single positions
// with ops::conv_site_forward, host/ops/conv_site.hpp, on site-major caches.) The
// *_direct references are plain loops, OpenMP over batch and channels above 2^22 multiply-adds.
// bench/bench_conv1d.cpp measures both paths (GEMM is 5-10x the direct loops' rate
// single-threaded, down to the VMC default width 16, L = 16).
// CUDA twin in cuda/conv1d.cu (one thread per output element; weight gradient as a block
// reduction).
// Tests: tests/unit/test_conv1d.cpp (hand-computed values, causality, float64 central finite
// differences to 1e-8 relative: step 1e-6 leaves O(h^2) ~ 1e-12 truncation and ~1e-10 rounding),
// tests/op_cases/conv1d.cpp (CUDA vs CPU, gradient; tolerance 8 eps n for sums of n terms of size
// <= 1 added in different orders).
#pragma once
#include <cstdint>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

struct Conv1dSpec {
  int kernel = 3;
  int dilation = 1;
  bool exclusive = false;
};

void conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                    Tensor& y);
// A convolution with its activation (and residual) fused: pre = conv1d_forward(x) as above, then
// out = act(pre) + residual (residual optional). pre, out, residual (B,Cout,L); pre may be
// undefined (inference: only out is written); out must not alias pre. CPU: in one pass over each
// GEMM chunk; CUDA: conv1d_forward, unary and binary's own kernels. Bitwise equal to those three
// ops on the CPU (same operations in the same order; tests/unit/test_conv1d.cpp).
void conv1d_forward_act(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                        Unary act, Tensor& pre, Tensor& out, const Tensor& residual = Tensor());
void conv1d_backward_input(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                           bool accumulate = false);
void conv1d_backward_weight(const Tensor& x, const Tensor& dy, const Conv1dSpec& s, Tensor& dw,
                            bool accumulate = false);  // dw (Cout,Cin,K), summed over batch
void conv1d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                       Tensor& dw);    // dw (B,Cout,Cin,K)

// Sizes of one call, shared by the CPU and CUDA implementations.
struct Conv1dDims {
  int64_t n_batch = 0, c_in = 0, c_out = 0, length = 0;
  int kernel = 0, dilation = 0, shift = 0;  // shift = 1 for the exclusive mask
  // distance from output position t back to the input position read by tap k
  NAQS_HD int64_t back(int k) const {
    return shift + static_cast<int64_t>(dilation) * (kernel - 1 - k);
  }
};

namespace detail {
// The two CPU paths of the public ops, callable directly (tests, bench): direct loops (OpenMP
// over batch and channels) and im2col + GEMM (what the public ops use); cpu tensors only.
void conv1d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const Conv1dSpec& s, Tensor& y);
void conv1d_backward_input_direct(const Tensor& dy, const Tensor& w, const Conv1dSpec& s,
                                  Tensor& dx, bool accumulate);
void conv1d_backward_weight_direct(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                   Tensor& dw, bool accumulate);
void conv1d_forward_gemm(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                         Tensor& y);
void conv1d_backward_input_gemm(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                                bool accumulate);
void conv1d_backward_weight_gemm(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                 Tensor& dw, bool accumulate);

// CUDA twins (cuda/conv1d.cu): device pointers, dtype f32 or f64, bias may be nullptr.
void conv1d_forward_cuda(const void* x, const void* w, const void* bias, void* y, DType dtype,
                         const Conv1dDims& d);
void conv1d_backward_input_cuda(const void* dy, const void* w, void* dx, DType dtype,
                                const Conv1dDims& d, bool accumulate);
void conv1d_backward_weight_cuda(const void* x, const void* dy, void* dw, DType dtype,
                                 const Conv1dDims& d, bool accumulate);
void conv1d_backward_weight_per_sample_cuda(const void* x, const void* dy, void* dw, DType dtype,
                                            const Conv1dDims& d);
}  // namespace detail

}  // namespace naqs::ops
