// Weight normalisation (Salimans & Kingma 2016) per output channel, as an op on the
// parameters' device:
//   weight_norm_forward(v, g, w):   w[o,:] = g[o] v[o,:] / ||v[o,:]||
//       v (Cout, F) the directions (F = fan-in: a conv weight (Cout, Cin, K...) viewed flat),
//       g (Cout) the scales, w (Cout, F) the effective weight.
//   weight_norm_backward(v, g, dw, dv, dg, accumulate):   with v^ = v/||v|| per row,
//       dv[.., o,:] (+)= (g[o]/||v[o]||) (dw[.., o,:] - (dw[.., o,:] . v^[o,:]) v^[o,:])
//       dg[.., o]   (+)= dw[.., o,:] . v^[o,:]
//       dw (Cout, F) -> dv (Cout, F), dg (Cout); or per sample dw (R, Cout, F) -> dv (R, Cout,
//       F), dg (R, Cout) (the rows of a per-sample Jacobian; v and g are shared). accumulate
//       adds into dv, dg (like bias_backward); otherwise they are overwritten. dv and dg may be
//       views into a ParameterSet gradient; dv may be dw itself (each row reads its dw before
//       writing it: the per-sample path turns dw into dv in place).
// All tensors contiguous, on one device, of one dtype (f32 or f64). Row norms, dot products and
// the formulas are evaluated in double for both dtypes and each output is rounded once (so f32
// weights equal those of a host float64 evaluation rounded to f32); accumulation is
// dv = T(double(dv) + value).
// Errors: shapes, dtypes, devices (Error naming the op and tensor); a row of v that is zero
// (Error naming the layer and the channel: "weight_norm_forward: direction of <layer> channel 3
// is zero"), checked on both backends: the CPU checks before writing; on CUDA the kernel records
// the first zero row and the host reads it back (one 8-byte copy per call, which waits for the
// kernel), the other rows having been written by then.
// CUDA twin: cuda/weight_norm.cu (one warp per row, the warp's partial sums combined by a fixed
// shuffle tree: deterministic, but summed in another order than the CPU's running sum).
// Tests: tests/unit/test_weight_norm.cpp (forward by hand; backward vs float64 central
// differences, |err| <= 1e-8 + 1e-7|g|: O(h^2) truncation with h = 1e-6 plus rounding eps|f|/h;
// per-sample rows == single backwards exactly; accumulate; the zero-row error);
// tests/op_cases/weight_norm.cpp (float64 central differences; CUDA vs CPU: f64 within 1e-13
// relative to the row's scale, since only the order of the double sums differs; f32 within 2 ulp:
// the double results agree far below f32 resolution, so only a value that straddles an f32
// rounding boundary moves); tests/gpu/test_weight_norm_errors_gpu.cpp (the zero row on CUDA).
#pragma once
#include <string_view>

#include "host/core/hd.hpp"
#include "host/core/tensor.hpp"

namespace naqs::ops {

void weight_norm_forward(const Tensor& v, const Tensor& g, Tensor& w,
                         std::string_view layer = "weight");
void weight_norm_backward(const Tensor& v, const Tensor& g, const Tensor& dw, Tensor& dv,
                          Tensor& dg, bool accumulate = false, std::string_view layer = "weight");

namespace detail {
// The per-element formulas both backends evaluate, in double: u = v / norm (the unit
// direction), w = g u, and dv = (g / norm) (dw - dot u) with dot = dw . u.
NAQS_HD double weight_norm_unit(double v, double norm) { return v / norm; }
NAQS_HD double weight_norm_dv(double g_over_norm, double dw, double dot, double u) {
  return g_over_norm * (dw - dot * u);
}

// Shapes checked by the caller; rows = Cout (forward) or R * Cout (backward; row r*Cout + o
// uses v[o], g[o]). Return the first row whose direction is zero, or -1.
int64_t weight_norm_forward_cuda(const Tensor& v, const Tensor& g, Tensor& w);
int64_t weight_norm_backward_cuda(const Tensor& v, const Tensor& g, const Tensor& dw, Tensor& dv,
                                  Tensor& dg, int64_t rows, bool accumulate);
}  // namespace detail

}  // namespace naqs::ops
