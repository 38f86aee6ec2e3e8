// Shifted-window 2-D convolution: the one op behind the two-stream (vertical / horizontal)
// masked convolutions of the 2-D NAQS (Sharir et al., PRL 124, 020503 (2020); streams as in
// gated PixelCNN, van den Oord et al., arXiv:1606.05328).
//
// What it computes. A rectangular kernel window of kernel_h x kernel_w taps is placed relative
// to the output pixel: tap (i,j) reads input pixel (r + offset_h + i, c + offset_w + j), and
// pixels outside [0,H) x [0,W) read zero (zero padding). Stride 1, output size = input size:
//   y[b,o,r,c] = bias[o] + sum_{ci,i,j} w[o,ci,i,j] * x[b,ci, r+offset_h+i, c+offset_w+j]
// Shapes: x is (B,Cin,H,W); w is (Cout,Cin,kernel_h,kernel_w); bias is (Cout) or undefined
// (no bias); y is (B,Cout,H,W). Sites are row-major: raster position p = r*W + c.
// The window is any rectangle, so one op expresses every masked layer of both streams
// (k odd, h = k/2):
//   vertical stack            conv2d_vertical_spec(k):            h+1 x k, rows [r-h, r],
//                                                                 cols [c-h, c+h]
//   vertical -> horizontal    conv2d_vertical_spec(k, true):      the same window one row
//                             (shifted down by one row)           lower: rows [r-h-1, r-1]
//   horizontal stack, first   conv2d_horizontal_spec(k, true):    1 x h+1, row r,
//   layer (exclusive)                                             cols [c-h-1, c-1]
//   horizontal stack, later   conv2d_horizontal_spec(k, false):   1 x h+1, row r, cols [c-h, c]
//   1x1 link / shifted 1x1    conv2d_pointwise_spec(down, right): reads (r-down, c-right)
// FlowKet's layer (HUJI-Deep/FlowKet conv_net_autoregressive_2D.py) maps onto the same op:
// vertical k x k on rows [r-k+1, r] = Conv2dSpec{k, k, -(k-1), -h}; horizontal 1 x k on
// cols [c-k+1, c] = Conv2dSpec{1, k, 0, -(k-1)}; its down (right) shift of an activated map
// followed by a 1x1 conv = conv2d_pointwise_spec(1, 0) (conv2d_pointwise_spec(0, 1)); the
// k x k conv of the merged streams = Conv2dSpec{k, k, -(k-1), -(k-1)}.
//
// Why vertical + horizontal is exactly causal and has no blind spot (raster order; the
// network tested in tests/unit/test_conv2d.cpp, f any elementwise activation, h = k/2):
//   V_1 = f(conv_vert(x)),          V_{l+1} = f(conv_vert(V_l))
//   H_1 = f(conv_hor_excl(x) + conv_v2h(x)),
//   H_{l+1} = f(conv_hor_incl(H_l) + conv_v2h(V_l))         (output: H_L)
// Causality. V_l(r,c) depends only on x in rows <= r (every window ends at the current row);
// it also sees x(r, c+1..), the current row's future, so V is never an output. By induction
// H_l(r,c) depends only on x at raster positions < (r,c): conv_hor_excl reads (r, c' < c);
// conv_hor_incl reads H_{l-1}(r, c' <= c), which by induction depends on positions < (r,c')
// <= (r,c); conv_v2h reads rows <= r-1, where V (or x) depends only on rows <= r-1.
// No blind spot. The blind spot of a single masked k x k stack comes from its mask clipping
// the up-right part of every layer's window, so the clipped region compounds with depth. Here
// the vertical windows are never clipped in the column direction: V_l(r,c) depends on the full
// cone rows [r - l*h, r] x cols [c - l*h, c + l*h]. Reading V_{L-1} through conv_v2h (rows
// [r-h-1, r-1], cols [c-h, c+h]) gives H_L(r,c) the whole block rows [r-1-L*h, r-1] x cols
// [c - L*h, c + L*h]; the chain of horizontal windows adds the whole current-row segment
// (r, [c-1-L*h, c-1]). So H_L(r,c) depends on every earlier position in that field, with no
// hole (for generic weights and an activation with non-vanishing derivative), and on nothing
// else. The unit test checks both directions by perturbation on a 3-layer network, and checks
// that a masked single-stream PixelCNN built from the same op does show the blind spot.
//
// Backends. CPU in conv2d.cpp (issue 22): register-blocked FMA kernels (AVX2+FMA where the
// CPU has it, one rounding per term, else a portable multiply-then-add loop; host/core/simd.hpp
// picks one per process). The forwards (conv2d_forward and the fused conv2d_forward_act) gather
// the windows (im2col, zeros outside the lattice) and multiply by the packed weights in a
// micro-kernel of 4 outputs x 24 f32 / 12 f64 columns (an outer product per term), chunks of
// samples on host/core/parallel.hpp's parallel_chunks from 2^22 multiply-adds; backward input
// is the same routine on dy (the adjoint's window, taps reversed, weights transposed); the
// weight gradient takes lane-split dot products of dy rows and im2col rows of x, chunks of
// samples in order (each summed in the dtype, the chunks added in double), parallel_chunks
// over the k tiles from 2^22 multiply-adds. CUDA twin in
// cuda/conv2d.cu: one thread per output element through one per-pixel device function, a
// warp reduction per weight-gradient element. Every output element adds its terms in a fixed
// order, (ci, i, j) for the forwards and (o, i, j) for backward input, on both backends; no
// atomics, results do not depend on the thread count. (The cached sampler computes single
// pixels with ops::conv_site_forward, host/ops/conv_site.hpp, on site-major caches.)
// Tests: tests/unit/test_conv2d.cpp (hand-computed cases, float64 central differences of both
// backwards (tolerance 1e-8: step 1e-5, the op is linear so only rounding remains), per-
// sample sums, causality / no blind spot);
// tests/op_cases/conv2d.cpp (CUDA vs CPU, sizes 1, 3x5, 7x11, B = 1 and 17, guarded outputs,
// and f64 central differences of both backwards; tolerance: the worst-case rounding bound
// (depth+1)*eps*(n+2) of each backend for n summed products of |.| <= 1, added over the two).
// f32 and f64. Every size may be 0 except the kernel (>= 1).
#pragma once
#include <cstdint>
#include <initializer_list>

#include "host/core/tensor.hpp"
#include "host/ops/elementwise.hpp"

namespace naqs::ops {

// A kernel_h x kernel_w window whose tap (0,0) sits at (offset_h, offset_w) from the output
// pixel; tap (i,j) reads (r + offset_h + i, c + offset_w + j).
struct Conv2dSpec {
  int kernel_h = 1;
  int kernel_w = 1;
  int offset_h = 0;
  int offset_w = 0;
};

// Vertical stack: (k/2+1) x k window, rows [r-k/2, r] (or [r-k/2-1, r-1] when shift_down, the
// form that feeds the horizontal stack), cols [c-k/2, c+k/2]. k odd >= 1 (UsageError else).
Conv2dSpec conv2d_vertical_spec(int kernel, bool shift_down = false);
// Horizontal stack: 1 x (k/2+1) window on row r, cols [c-k/2, c] (inclusive) or
// [c-k/2-1, c-1] (exclusive: output (r,c) never sees (r,c)). k odd >= 1.
Conv2dSpec conv2d_horizontal_spec(int kernel, bool exclusive);
// 1x1 window reading (r - down, c - right).
Conv2dSpec conv2d_pointwise_spec(int down = 0, int right = 0);

// y (+)= conv(x, w) + bias. x is (B,Cin,H,W), w is (Cout,Cin,kh,kw), bias is (Cout) or
// undefined, y is (B,Cout,H,W). With accumulate the result is added to y (so the two inputs of
// a horizontal layer can be summed in place: pass an undefined bias to one of them).
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    Tensor& y, bool accumulate = false);

// One input of conv2d_forward_act: x (B,Cin_t,H,W) convolved with w (Cout,Cin_t,kh,kw) over the
// window spec.
struct Conv2dTerm {
  const Tensor& x;
  const Tensor& w;
  Conv2dSpec spec;
};

// A layer fused: pre = bias + sum over the terms of conv2d(x_t, w_t) (the horizontal stream's
// conv_h(H) + conv_v2h(V) is two terms), out = act(pre) (+ residual). Every term has the same
// B, H, W and Cout; pre, out, residual are (B,Cout,H,W); bias (Cout) or undefined; pre may be
// undefined (only out is written); out must not alias pre. CPU: one pass, the terms' im2col
// stacked into one product; bit for bit what conv2d_forward (first term, with the bias) plus
// conv2d_forward(accumulate) per further term, unary and binary add compute (up to the sign of
// a zero sum). CUDA: exactly those ops' kernels. Tests: tests/unit/test_conv2d.cpp (against the
// separate ops, 1 and 2 threads), tests/op_cases/conv2d.cpp.
void conv2d_forward_act(std::initializer_list<Conv2dTerm> terms, const Tensor& bias, Unary act,
                        Tensor& pre, Tensor& out, const Tensor& residual = Tensor());

// dx (+)= d(sum dy*y)/dx. dy is (B,Cout,H,W), w is (Cout,Cin,kh,kw), dx is (B,Cin,H,W).
void conv2d_backward_input(const Tensor& dy, const Tensor& w, const Conv2dSpec& s, Tensor& dx,
                           bool accumulate = false);

// dw (+)= sum over the batch of d(sum dy*y)/dw. x is (B,Cin,H,W), dy is (B,Cout,H,W), dw is
// (Cout,Cin,kh,kw). (The bias gradient is ops::bias_backward(dy, 1, dbias).)
void conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Conv2dSpec& s, Tensor& dw,
                            bool accumulate = false);

// Per-sample weight gradients: dw is (B,Cout,Cin,kh,kw), passed flattened as (B,
// Cout*Cin*kh*kw) or (B,Cout,Cin,kh*kw) (element order is the same; the rank-5 form, which
// fits a Tensor since views allow rank 6, is not accepted yet).
void conv2d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                                       Tensor& dw);

namespace detail {
// Sizes shared by every conv2d entry point (checked on the host before any backend runs).
struct Conv2dDims {
  int64_t batch, n_in, n_out, height, width;
};
// Samples per chunk of the CPU weight gradient (its f32 partial sums run over one chunk's
// columns): near 1 MiB of columns, k_total = Cin*kh*kw values of dtype_bytes per
// pixel, hw pixels per sample; in [1, max(batch, 1)]. A function of the sizes alone.
int64_t conv2d_weight_chunk_samples(int64_t batch, int64_t k_total, int64_t hw, int dtype_bytes);
void conv2d_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Conv2dSpec& s, const Conv2dDims& d, Tensor& y, bool accumulate);
void conv2d_backward_input_cuda(const Tensor& dy, const Tensor& w, const Conv2dSpec& s,
                                const Conv2dDims& d, Tensor& dx, bool accumulate);
void conv2d_backward_weight_cuda(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                                 const Conv2dDims& d, Tensor& dw, bool accumulate,
                                 bool per_sample);
}  // namespace detail

}  // namespace naqs::ops
