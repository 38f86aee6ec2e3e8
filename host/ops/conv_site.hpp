// One output site of a convolution over site-major activations (the cached autoregressive
// samplers of physics/naqs_conv1d.* and physics/naqs_conv2d.*).
//
// Site-major layout: an activation cache is x (S,B,Cin), so the B x Cin activations of one
// site are one contiguous block x[s] (the sampler writes each site once, as a whole block, and
// reads a few earlier blocks per step). For a host-given list of taps (source row s_k of x,
// weight tap k_k) the op computes one output site
//   y[b,o] = act( [y[b,o] +] bias[o] + sum_k sum_c x[s_k,b,c] * wt[k_k,c,o] ) [+ residual[b,o]]
// Shapes: x is (S,B,Cin); wt is (K,Cin,Cout) (a convolution weight (Cout,Cin,K...) transposed
// once per cache_begin: wt[k,c,o] = w[o,c,k]); bias is (Cout) or undefined; y and residual are
// (B,Cout) (y is usually cache.select(t), a site block of a site-major output cache; residual,
// optional, may be another cache's block). Taps absent from the list read zero (zero padding,
// masked or not yet sampled sites); an empty list gives y = [y +] bias. act is optional (none:
// the sum itself); `accumulate` adds the old y first (the 2D horizontal layers sum two
// convolutions, from two different caches, into one pre-activation). y must not overlap x or
// residual.
// f32 and f64; all tensors contiguous, on one device, of one dtype.
//
// CPU (conv_site.cpp): y = [y +] bias, then one OpenBLAS GEMM per tap with beta = 1,
//   y (n_b,Cout) += x[s_k] (n_b,Cin) @ wt[k_k] (Cin,Cout), then act and the residual as flat
//   passes, per chunk of at most 128 batch rows. Chunks go to parallel_chunks' threads from
//   kMinParallelMacs = 2^22 multiply-adds (host/core/parallel.hpp; OpenBLAS single-threaded
//   inside), so a sampler step at B = 256, width 16 (~2e5 per layer) stays on one thread. The
//   chunks depend on the sizes only, so the result is bitwise the same for any thread count
//   (tested). Measured at B = 256, Cin = Cout = 16, 3 taps (30-44 GFLOP/s, 9-13 us): one GEMM
//   per tap and gather-into-(B, taps*Cin)-then-one-GEMM run at the same speed; plain loops run
//   at 1 (baseline x86-64) to 9 (AVX2 + FMA) GFLOP/s; a register-tiled loop adding the taps in
//   conv2d_forward's fixed order (which would make the 2D cached logits bit-identical to the
//   full forward's) at 0.6-0.8x the GEMMs' speed, and 0.3x for the 2-channel heads.
// CUDA twin (cuda/conv_site.cu): one thread per (b,o), bias first, then the taps in (c, k) order
//   (channel outer); the taps travel by value, at most kMaxSiteTaps (an Error beyond that).
// The activation formulas are ops::unary_value (host/ops/elementwise_math.hpp) on both sides.
// Tests: tests/unit/test_conv_site.cpp (hand-computed values; equal to the same output column
// of conv1d_forward in f64 to 1e-13: GEMM and im2col sum the same O(1) products in different
// orders; bitwise independent of the thread count); tests/op_cases/conv_site.cpp (CUDA vs CPU
// on B = 1, 17, 1025, odd Cin/Cout, several tap lists, guarded outputs, a cache's other sites
// untouched; tolerance 8 eps (n+2) for n summed products of |.| <= 1 in a different order,
// plus 8 eps relative for the activation's libm vs CUDA expm1 and the residual add);
// tests/gpu/test_conv_errors_gpu.cpp (more than kMaxSiteTaps taps refused on CUDA).
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

// One term of a site convolution: row `site` of x times weight tap `tap`.
struct SiteTap {
  int64_t site = 0;
  int tap = 0;
};

// The most taps one CUDA call takes (they are passed by value to the kernel).
inline constexpr int kMaxSiteTaps = 64;

void conv_site_forward(const Tensor& x, const Tensor& wt, const Tensor& bias,
                       std::span<const SiteTap> taps, std::optional<Unary> act, Tensor& y,
                       const Tensor& residual = Tensor(), bool accumulate = false);

namespace detail {
// Sizes of one call, shared by the CPU and CUDA implementations.
struct ConvSiteDims {
  int64_t n_batch = 0, c_in = 0, c_out = 0;
};
// CUDA twin (cuda/conv_site.cu): device pointers; bias and residual may be nullptr; act < 0
// means none, else static_cast<int>(Unary).
void conv_site_forward_cuda(const void* x, const void* wt, const void* bias, const void* residual,
                            void* y, DType dtype, const ConvSiteDims& d,
                            std::span<const SiteTap> taps, int act, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
