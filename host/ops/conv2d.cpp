// CPU reference of the shifted-window 2-D convolution and device dispatch (see conv2d.hpp).
#include "host/ops/conv2d.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops {

Conv2dSpec conv2d_vertical_spec(int kernel, bool shift_down) {
  NAQS_REQUIRE(kernel >= 1 && kernel % 2 == 1,
               "conv2d_vertical_spec: kernel must be odd and >= 1, got ", kernel);
  const int h = kernel / 2;
  return {h + 1, kernel, -h - (shift_down ? 1 : 0), -h};
}

Conv2dSpec conv2d_horizontal_spec(int kernel, bool exclusive) {
  NAQS_REQUIRE(kernel >= 1 && kernel % 2 == 1,
               "conv2d_horizontal_spec: kernel must be odd and >= 1, got ", kernel);
  const int h = kernel / 2;
  return {1, h + 1, 0, -h - (exclusive ? 1 : 0)};
}

Conv2dSpec conv2d_pointwise_spec(int down, int right) { return {1, 1, -down, -right}; }

namespace {

// The backward loops use OpenMP from kMinParallelMacs multiply-adds (host/core/parallel.hpp).
bool worth_threads(const detail::Conv2dDims& d, const Conv2dSpec& s, int64_t n_outputs) {
  return n_outputs * d.n_in * s.kernel_h * s.kernel_w >= kMinParallelMacs;
}

void check_spec(const char* op, const Conv2dSpec& s) {
  NAQS_CHECK(s.kernel_h >= 1 && s.kernel_w >= 1, op, ": kernel ", s.kernel_h, "x", s.kernel_w,
             " must be at least 1x1");
}

// Checks the (B,C,H,W) activation `a` and the (Cout,Cin,kh,kw) weight; returns the sizes.
// `a_is_input` says whether `a` has Cin (x, dx) or Cout (dy) channels.
detail::Conv2dDims dims_of(const char* op, const Tensor& a, const char* a_name, bool a_is_input,
                           const Tensor& w, const Conv2dSpec& s) {
  check_spec(op, s);
  check_defined(op, a, a_name);
  check_contiguous(op, a, a_name);
  check_defined(op, w, "w");
  check_contiguous(op, w, "w");
  check_rank(op, a, 4, a_name);
  check_rank(op, w, 4, "w");
  dispatch_float(a.dtype(), op, [](auto) {});
  check_shape(op, w, {w.size(0), w.size(1), s.kernel_h, s.kernel_w}, "w");
  detail::Conv2dDims d{a.size(0), w.size(1), w.size(0), a.size(2), a.size(3)};
  const int64_t channels = a_is_input ? d.n_in : d.n_out;
  if (a.size(1) != channels)
    throw Error(cat(op, ": '", a_name, "' ", a.str(), " has ", a.size(1), " channels but w ",
                    w.str(), " needs ", channels));
  return d;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& w) {
  if (!bias.defined()) return;
  check_contiguous(op, bias, "bias");
  check_same_device(op, {&bias, &w});
  check_same_dtype(op, {&bias, &w});
  check_shape(op, bias, {w.size(0)}, "bias");
}

// ---- CPU reference ---------------------------------------------------------------------
// All four entry points run on the forward's im2col (im2col_term): the forwards and backward
// input through forward_gemm_cpu, the weight gradient through weight_tile. Each output element
// adds its terms one at a time in a fixed order that does not depend on the thread count.

// ---- forward: im2col + a fixed-order tiled product, chunks of samples on parallel_chunks ----
// Both forwards (conv2d_forward and the fused conv2d_forward_act) compute each output element
// as
//   acc = init (the bias, or y + bias when accumulating); then for each term, for each tap
//   (ci, i, j) in order: acc += w[o,ci,i,j] * x[ci, r+oh+i, c+ow+j]   (0 outside the lattice)
// in one routine (tile_product) that treats every element alike, so the two agree bit for bit
// whichever samples or thread a chunk covers (on x86-64 a multiply and an add, each rounded:
// the library is built without FMA). A chunk of samples is gathered into col (Ktot, ld):
// col[k, j*HW + p] = the input value tap k of its term reads for pixel p of sample j (0 outside
// the lattice; row segments copied out of a zero-padded input plane), the columns padded with
// zeros to a multiple of kTilePixels. The product runs over register tiles of kTileOut outputs
// x kTilePixels columns, k innermost in order; the epilogue writes y, or pre / act / residual.
// Chunks (col near 128 KiB, at least one sample) depend on the sizes only and go to
// parallel_chunks' threads from kMinParallelMacs multiply-adds. Before (one pixel at a time,
// accumulators in memory, OpenMP from 2^17 multiply-adds), the 8x8 depth-6 width-32 model
// sampled naively at 13-14 samples/s on one thread (~4.5 GMAC/s); after, 25 (~8 GMAC/s)
// (bench/bench_naqs2d.cpp).

// One convolution of a forward call, with its raw pointers. flipped: the window's taps are
// taken in reverse order, (kh-1-i, kw-1-j) for (i, j): the gather form of the adjoint
// (backward_input_cpu) reads dy at (r - oh - i, c - ow - j), tap (i, j) of the original window,
// which is tap (kh-1-i, kw-1-j) of the window at offset (-oh-kh+1, -ow-kw+1).
template <class T>
struct TermPtrs {
  const T* x;  // (B, Cin, H, W)
  const T* w;  // (Cout, Cin, kh, kw)
  Conv2dSpec s;
  int64_t n_in;
  bool flipped = false;
};

template <class T>
inline constexpr int kTilePixels = 32 / static_cast<int>(sizeof(T));  // 8 f32, 4 f64
inline constexpr int kTileOut = 4;

// What a forward call writes for output element (o, sample b, pixel pix), from acc = its sum:
// y (accumulate: y + bias is the starting value), or pre / out = act(acc) (+ residual).
template <class T>
struct ForwardOut {
  T* y = nullptr;  // plain forward: y (+)= acc
  bool accumulate = false;
  T* pre = nullptr;  // fused: pre = acc (may be null), out = act(acc) + residual
  T* out = nullptr;
  const T* residual = nullptr;
  // Element (b, o, pix) of y / pre / out / residual is at b*stride_b + o*stride_o + pix.
  int64_t stride_b = 0, stride_o = 0;
};

// An input plane padded with zeros so that every tap of the window reads inside it.
struct Padding {
  int64_t top, left, rows, cols;  // zero rows above, columns left; padded plane rows x cols
};
Padding padding_of(const Conv2dSpec& s, const detail::Conv2dDims& d) {
  Padding p;
  p.top = std::max(0, -s.offset_h);
  p.left = std::max(0, -s.offset_w);
  p.rows = p.top + d.height + std::max(0, s.offset_h + s.kernel_h - 1);
  p.cols = p.left + d.width + std::max(0, s.offset_w + s.kernel_w - 1);
  return p;
}

// col rows [k_off, k_off + Cin*kh*kw) for term t and samples [b0, b0 + n_b): row segments of a
// zero-padded copy of each input plane (pad: at least rows x cols of padding_of(t.s, d)).
template <class T>
void im2col_term(const TermPtrs<T>& t, const detail::Conv2dDims& d, int64_t b0, int64_t n_b,
                 int64_t k_off, int64_t ld, T* col, T* pad) {
  const int64_t hw = d.height * d.width, taps = t.s.kernel_h * t.s.kernel_w;
  const Padding p = padding_of(t.s, d);
  for (int64_t ci = 0; ci < t.n_in; ++ci)
    for (int64_t jb = 0; jb < n_b; ++jb) {
      const T* xb = t.x + ((b0 + jb) * t.n_in + ci) * hw;
      std::fill(pad, pad + p.rows * p.cols, T(0));
      for (int64_t r = 0; r < d.height; ++r)
        std::copy_n(xb + r * d.width, d.width, pad + (r + p.top) * p.cols + p.left);
      for (int i = 0; i < t.s.kernel_h; ++i)
        for (int j = 0; j < t.s.kernel_w; ++j) {
          const int64_t tap = t.flipped
                                  ? (t.s.kernel_h - 1 - i) * t.s.kernel_w + t.s.kernel_w - 1 - j
                                  : i * t.s.kernel_w + j;
          T* dst = col + (k_off + ci * taps + tap) * ld + jb * hw;
          for (int64_t r = 0; r < d.height; ++r)
            std::copy_n(pad + (r + t.s.offset_h + i + p.top) * p.cols + t.s.offset_w + j + p.left,
                        d.width, dst + r * d.width);
        }
    }
}

// wp (n_tiles, Ktot, kTileOut): the terms' weights side by side, output rows grouped in tiles
// (missing rows of the last tile are zero; their results are never stored).
template <class T>
std::vector<T> pack_weights(const std::vector<TermPtrs<T>>& terms, int64_t n_out, int64_t k_total) {
  const int64_t n_tiles = (n_out + kTileOut - 1) / kTileOut;
  std::vector<T> wp(static_cast<std::size_t>(n_tiles * k_total * kTileOut), T(0));
  int64_t k_off = 0;
  for (const TermPtrs<T>& t : terms) {
    const int64_t k_t = t.n_in * t.s.kernel_h * t.s.kernel_w;
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t k = 0; k < k_t; ++k)
        wp[((o / kTileOut) * k_total + k_off + k) * kTileOut + o % kTileOut] = t.w[o * k_t + k];
    k_off += k_t;
  }
  return wp;
}

// acc (kTileOut, ld), ld a multiple of kTilePixels: on entry the starting values, on exit
// acc[o, q] + sum over k in order of wt[k, o] * col[k, q]; wt (k_total, kTileOut). Register tiles
// of kTileOut x kTilePixels, one multiply and one add per term.
template <class T>
[[gnu::always_inline]] inline void tile_product_body(const T* wt, const T* col, int64_t ld,
                                                     int64_t k_total, T* acc) {
  constexpr int PT = kTilePixels<T>, OT = kTileOut;
  for (int64_t q0 = 0; q0 < ld; q0 += PT) {
    T a[OT][PT];
    for (int ot = 0; ot < OT; ++ot)
      for (int pt = 0; pt < PT; ++pt) a[ot][pt] = acc[ot * ld + q0 + pt];
    const T* c = col + q0;
    for (int64_t k = 0; k < k_total; ++k, c += ld) {
      const T* wk = wt + k * OT;
      for (int ot = 0; ot < OT; ++ot)
        for (int pt = 0; pt < PT; ++pt) a[ot][pt] += wk[ot] * c[pt];
    }
    for (int ot = 0; ot < OT; ++ot)
      for (int pt = 0; pt < PT; ++pt) acc[ot * ld + q0 + pt] = a[ot][pt];
  }
}

// Compiled twice on x86-64 (AVX2 and baseline SSE2; host/core/simd.hpp), same results.
NAQS_AVX2_CLONES void tile_product(const float* wt, const float* col, int64_t ld,
                                     int64_t k_total, float* acc) {
  tile_product_body(wt, col, ld, k_total, acc);
}
NAQS_AVX2_CLONES void tile_product(const double* wt, const double* col, int64_t ld,
                                     int64_t k_total, double* acc) {
  tile_product_body(wt, col, ld, k_total, acc);
}

template <class T, Unary Act, bool Fused>
void forward_gemm_cpu(const std::vector<TermPtrs<T>>& terms, const T* bias,
                      const detail::Conv2dDims& d, const ForwardOut<T>& fo) {
  constexpr int PT = kTilePixels<T>, OT = kTileOut;
  int64_t k_total = 0;
  for (const TermPtrs<T>& t : terms) k_total += t.n_in * t.s.kernel_h * t.s.kernel_w;
  const int64_t n_pix = d.height * d.width;
  if (d.batch * d.n_out * n_pix == 0) return;
  const std::vector<T> wp = pack_weights(terms, d.n_out, k_total);
  int64_t pad_max = 0;
  for (const TermPtrs<T>& t : terms) {
    const Padding p = padding_of(t.s, d);
    pad_max = std::max(pad_max, p.rows * p.cols);
  }
  const int64_t n_tiles = (d.n_out + OT - 1) / OT;
  // Samples per chunk: the column matrix near 128 KiB (at least one sample).
  const int64_t per_sample =
      std::max<int64_t>(1, k_total * n_pix * static_cast<int64_t>(sizeof(T)));
  const int64_t n_b_max = std::clamp<int64_t>((int64_t{128} << 10) / per_sample, 1, d.batch);
  const int64_t n_chunks = (d.batch + n_b_max - 1) / n_b_max;
  const int64_t ld_max = (n_b_max * n_pix + PT - 1) / PT * PT;
  const int slots =
      d.batch * d.n_out * n_pix * k_total >= kMinParallelMacs ? parallel_slots() : 1;
  struct Scratch {  // one per thread, allocated (uninitialised) on its first chunk
    std::unique_ptr<T[]> col, acc, pad;
    std::unique_ptr<int64_t[]> off;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(slots));
  parallel_chunks(n_chunks, slots, [&](int64_t chunk, int slot) {
    Scratch& sc = scratch[static_cast<std::size_t>(slot)];
    if (!sc.col) {
      sc.col.reset(new T[k_total * ld_max]);
      sc.acc.reset(new T[OT * ld_max]);
      sc.off.reset(new int64_t[ld_max]);
      sc.pad.reset(new T[pad_max]);
    }
    const int64_t b0 = chunk * n_b_max, n_b = std::min(n_b_max, d.batch - b0);
    const int64_t n_cols = n_b * n_pix, ld = (n_cols + PT - 1) / PT * PT;
    T* col = sc.col.get();
    int64_t k_off = 0;
    for (const TermPtrs<T>& t : terms) {
      im2col_term(t, d, b0, n_b, k_off, ld, col, sc.pad.get());
      k_off += t.n_in * t.s.kernel_h * t.s.kernel_w;
    }
    for (int64_t k = 0; k < k_total; ++k)
      std::fill(col + k * ld + n_cols, col + (k + 1) * ld, T(0));
    // offset of column q's element in y / pre / out (channel 0); -1: padding
    for (int64_t jb = 0; jb < n_b; ++jb)
      for (int64_t q = 0; q < n_pix; ++q)
        sc.off[jb * n_pix + q] = (b0 + jb) * fo.stride_b + q;
    std::fill(sc.off.get() + n_cols, sc.off.get() + ld, int64_t{-1});
    for (int64_t tile = 0; tile < n_tiles; ++tile) {
      const int64_t o0 = tile * OT;
      for (int ot = 0; ot < OT; ++ot) {  // starting values: (y or 0) + bias
        const int64_t o = o0 + ot;
        T* acc = sc.acc.get() + ot * ld;
        const T b = bias && o < d.n_out ? bias[o] : T(0);
        std::fill(acc, acc + ld, T(0) + b);
        if (!Fused && fo.accumulate && o < d.n_out) {
          const T* y_o = fo.y + o * fo.stride_o;
          for (int64_t q = 0; q < n_cols; ++q) acc[q] = y_o[sc.off[q]] + b;
        }
      }
      tile_product(wp.data() + tile * k_total * OT, col, ld, k_total, sc.acc.get());
      for (int ot = 0; ot < OT && o0 + ot < d.n_out; ++ot) {
        const T* acc = sc.acc.get() + ot * ld;
        const int64_t o_off = (o0 + ot) * fo.stride_o;
        for (int64_t q = 0; q < n_cols; ++q) {
          const int64_t e = sc.off[q] + o_off;
          if constexpr (Fused) {
            if (fo.pre) fo.pre[e] = acc[q];
            T v = unary_value<Act>(acc[q]);
            if (fo.residual) v += fo.residual[e];
            fo.out[e] = v;
          } else {
            fo.y[e] = acc[q];
          }
        }
      }
    }
  });
}

// Raw pointers of one term (the sizes were checked by the caller).
template <class T>
TermPtrs<T> term_ptrs(const Tensor& x, const Tensor& w, const Conv2dSpec& s) {
  return {x.data<T>(), w.data<T>(), s, w.size(1)};
}

// y (B,Cout,H,W) (+)= conv(x) + bias.
template <class T>
void forward_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                 const detail::Conv2dDims& d, Tensor& y, bool accumulate) {
  ForwardOut<T> fo;
  fo.y = y.data<T>();
  fo.accumulate = accumulate;
  fo.stride_b = d.n_out * d.height * d.width;
  fo.stride_o = d.height * d.width;
  forward_gemm_cpu<T, Unary::relu, false>({term_ptrs<T>(x, w, s)},
                                           bias.defined() ? bias.data<T>() : nullptr, d, fo);
}

// Gather form of the adjoint, as the CUDA kernel: dx[b,ci,p,q] (+)= sum over (o,i,j) in order
// of w[o,ci,i,j] * dy[b,o,p-oh-i,q-ow-j]. It is a forward convolution of dy (Cout channels in,
// Cin out) with the weights transposed to (Cin, Cout, kh, kw) over the window at offset
// (-oh-kh+1, -ow-kw+1) with its taps reversed (TermPtrs::flipped), so the terms keep the order
// (o, i, j) (taps outside the lattice add a zero) and it runs on forward_gemm_cpu. Before (a
// direct loop per pixel vectorised over ci, accumulators in memory), the U-Net's backward
// inputs of a batch-32 training step took 2.4x the time of its forwards, after 1.0x (one thread,
// bench/bench_unet.cpp --profile; same run, loaded machine).
template <class T>
void backward_input_cpu(const Tensor& dy, const Tensor& w, const Conv2dSpec& s,
                        const detail::Conv2dDims& d, Tensor& dx, bool accumulate) {
  const int taps = s.kernel_h * s.kernel_w;
  std::vector<T> wt(static_cast<std::size_t>(w.numel()));  // (ci, o, i, j)
  const T* pw = w.data<T>();
  for (int64_t o = 0; o < d.n_out; ++o)
    for (int64_t ci = 0; ci < d.n_in; ++ci)
      std::copy_n(pw + (o * d.n_in + ci) * taps, taps, wt.data() + (ci * d.n_out + o) * taps);
  const Conv2dSpec adjoint{s.kernel_h, s.kernel_w, -s.offset_h - s.kernel_h + 1,
                           -s.offset_w - s.kernel_w + 1};
  const detail::Conv2dDims da{d.batch, d.n_out, d.n_in, d.height, d.width};
  ForwardOut<T> fo;
  fo.y = dx.data<T>();
  fo.accumulate = accumulate;
  fo.stride_b = d.n_in * d.height * d.width;
  fo.stride_o = d.height * d.width;
  const TermPtrs<T> term{dy.data<T>(), wt.data(), adjoint, d.n_out, true};
  forward_gemm_cpu<T, Unary::relu, false>({term}, nullptr, da, fo);
}

// dw[o,ci,i,j] (+)= sum over samples b (all, or one per sample) and pixels (r,c) in order of
// dy[b,o,r,c] * x[b,ci,r+oh+i,c+ow+j], summed in double (taps outside the lattice add a zero).
// A product over the columns q = (b, r, c) of the forward's im2col: dw[o, k] = sum_q dy[o, q]
// col[k, q], k = (ci, i, j). Chunks of samples in order; in each, col is transposed to blocks of
// kTilePixels k's (k block, q, k) and dy packed in tiles of kTileOut outputs (tile, q, o), both
// converted to double (exactly), and register tiles of kTileOut outputs x kTilePixels k's run
// over the chunk's q in order (weight_tile), so every element adds its terms in the order
// (b, r, c) whatever the thread count: the threads split the k blocks. Before (a direct loop per
// (o, pixel, tap) vectorised over ci, the double accumulators in memory), the U-Net's weight
// gradients of a batch-32 training step took 5.0x the time of its forwards; after, 1.8x (as
// above; 3.0x with the packed copies kept in T and converted in the product loop).
template <int PT>
[[gnu::always_inline]] inline void weight_tile_body(const double* dyp, const double* colt,
                                                    int64_t n_q, double* acc, int64_t lda) {
  constexpr int OT = kTileOut;
  double a[OT][PT];
  for (int ot = 0; ot < OT; ++ot)
    for (int pt = 0; pt < PT; ++pt) a[ot][pt] = acc[ot * lda + pt];
  for (int64_t q = 0; q < n_q; ++q) {
    const double* c = colt + q * PT;
    const double* g = dyp + q * OT;
    for (int ot = 0; ot < OT; ++ot)
      for (int pt = 0; pt < PT; ++pt) a[ot][pt] += g[ot] * c[pt];
  }
  for (int ot = 0; ot < OT; ++ot)
    for (int pt = 0; pt < PT; ++pt) acc[ot * lda + pt] = a[ot][pt];
}
// acc (kTileOut, lda): acc[o, k] += sum over q < n_q in order of dyp[q, o] * colt[q, k] for k <
// PT = kTilePixels<T> (8 for f32, 4 for f64). Compiled for AVX2 and baseline x86-64
// (host/core/simd.hpp).
NAQS_AVX2_CLONES void weight_tile_8(const double* dyp, const double* colt, int64_t n_q,
                                    double* acc, int64_t lda) {
  weight_tile_body<8>(dyp, colt, n_q, acc, lda);
}
NAQS_AVX2_CLONES void weight_tile_4(const double* dyp, const double* colt, int64_t n_q,
                                    double* acc, int64_t lda) {
  weight_tile_body<4>(dyp, colt, n_q, acc, lda);
}
template <int PT>
void weight_tile(const double* dyp, const double* colt, int64_t n_q, double* acc, int64_t lda) {
  static_assert(PT == 8 || PT == 4);
  if constexpr (PT == 8)
    weight_tile_8(dyp, colt, n_q, acc, lda);
  else
    weight_tile_4(dyp, colt, n_q, acc, lda);
}

template <class T>
void backward_weight_cpu(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         const detail::Conv2dDims& d, Tensor& dw, bool accumulate,
                         bool per_sample) {
  constexpr int PT = kTilePixels<T>, OT = kTileOut;
  const int64_t hw = d.height * d.width, k_total = d.n_in * s.kernel_h * s.kernel_w;
  const int64_t kp = (k_total + PT - 1) / PT * PT, n_tiles = (d.n_out + OT - 1) / OT;
  const int64_t n_groups = per_sample ? d.batch : 1;  // independent dw blocks
  T* pdw = dw.data<T>();
  if (d.n_out * k_total == 0) return;
  if (hw == 0 || d.batch == 0) {  // no terms: dw = 0 (or unchanged)
    if (!accumulate) std::fill(pdw, pdw + n_groups * d.n_out * k_total, T(0));
    return;
  }
  // samples per chunk: the transposed columns (double) near 512 KiB (at least one sample)
  const int64_t n_b_max = per_sample ? 1 : std::clamp<int64_t>(
      (int64_t{512} << 10) / (k_total * hw * static_cast<int64_t>(sizeof(double))), 1, d.batch);
  const int64_t ld_max = n_b_max * hw;
  const TermPtrs<T> t{x.data<T>(), nullptr, s, d.n_in};
  const Padding p = padding_of(s, d);
  std::vector<T> col(static_cast<std::size_t>(k_total * ld_max)),
      pad(static_cast<std::size_t>(p.rows * p.cols));
  std::vector<double> colt(static_cast<std::size_t>(ld_max * kp)),
      dyp(static_cast<std::size_t>(n_tiles * ld_max * OT));
  std::vector<double> acc(static_cast<std::size_t>(n_tiles * OT * kp));
  const T* pdy = dy.data<T>();
  const bool threads = worth_threads(d, s, d.batch * d.n_out * hw);
  for (int64_t g = 0; g < n_groups; ++g) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const int64_t b_lo = per_sample ? g : 0, b_hi = per_sample ? g + 1 : d.batch;
    for (int64_t b0 = b_lo; b0 < b_hi; b0 += n_b_max) {
      const int64_t n_b = std::min(n_b_max, b_hi - b0), n_cols = n_b * hw;
      im2col_term(t, d, b0, n_b, 0, n_cols, col.data(), pad.data());
#pragma omp parallel if (threads)
      {
#pragma omp for schedule(static) nowait
        for (int64_t kb = 0; kb < kp / PT; ++kb)
          for (int pt = 0; pt < PT; ++pt) {
            const int64_t k = kb * PT + pt;
            double* dst = colt.data() + kb * n_cols * PT + pt;
            if (k >= k_total) {
              for (int64_t q = 0; q < n_cols; ++q) dst[q * PT] = 0.0;
              continue;
            }
            const T* src = col.data() + k * n_cols;
            for (int64_t q = 0; q < n_cols; ++q) dst[q * PT] = src[q];
          }
#pragma omp for schedule(static)
        for (int64_t tq = 0; tq < n_tiles * n_b; ++tq) {
          const int64_t tile = tq / n_b, jb = tq % n_b;
          for (int ot = 0; ot < OT; ++ot) {
            const int64_t o = tile * OT + ot;
            double* dst = dyp.data() + (tile * n_cols + jb * hw) * OT + ot;
            if (o >= d.n_out) {
              for (int64_t pix = 0; pix < hw; ++pix) dst[pix * OT] = 0.0;
              continue;
            }
            const T* src = pdy + ((b0 + jb) * d.n_out + o) * hw;
            for (int64_t pix = 0; pix < hw; ++pix) dst[pix * OT] = src[pix];
          }
        }
#pragma omp for schedule(static)
        for (int64_t kb = 0; kb < kp / PT; ++kb)
          for (int64_t tile = 0; tile < n_tiles; ++tile)
            weight_tile<PT>(dyp.data() + tile * n_cols * OT, colt.data() + kb * n_cols * PT,
                            n_cols, acc.data() + tile * OT * kp + kb * PT, kp);
      }
    }
    T* dwg = pdw + g * d.n_out * k_total;
    for (int64_t o = 0; o < d.n_out; ++o)
      for (int64_t k = 0; k < k_total; ++k) {
        const double v = acc[o * kp + k];
        T& dst = dwg[o * k_total + k];
        dst = static_cast<T>(accumulate ? static_cast<double>(dst) + v : v);
      }
  }
}

}  // namespace

// ---- dispatch --------------------------------------------------------------------------

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dSpec& s,
                    Tensor& y, bool accumulate) {
  const char* op = "conv2d_forward";
  const detail::Conv2dDims d = dims_of(op, x, "x", true, w, s);
  check_defined(op, y, "y");
  check_contiguous(op, y, "y");
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_bias(op, bias, w);
  check_shape(op, y, {d.batch, d.n_out, d.height, d.width}, "y");
  if (y.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      forward_cpu<decltype(tag)>(x, w, bias, s, d, y, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_forward_cuda(x, w, bias, s, d, y, accumulate));
  }
}

void conv2d_forward_act(std::initializer_list<Conv2dTerm> terms, const Tensor& bias, Unary act,
                        Tensor& pre, Tensor& out, const Tensor& residual) {
  const char* op = "conv2d_forward_act";
  NAQS_CHECK(terms.size() >= 1, op, ": needs at least one term");
  const Conv2dTerm& first = *terms.begin();
  const detail::Conv2dDims d0 = dims_of(op, first.x, "x", true, first.w, first.spec);
  for (const Conv2dTerm& t : terms) {
    const detail::Conv2dDims d = dims_of(op, t.x, "x", true, t.w, t.spec);
    check_same_device(op, {&first.x, &t.x, &t.w});
    check_same_dtype(op, {&first.x, &t.x, &t.w});
    if (d.batch != d0.batch || d.n_out != d0.n_out || d.height != d0.height ||
        d.width != d0.width)
      throw Error(cat(op, ": term x ", t.x.str(), ", w ", t.w.str(), " does not match x ",
                      first.x.str(), ", w ", first.w.str()));
  }
  check_bias(op, bias, first.w);
  const Shape shape{d0.batch, d0.n_out, d0.height, d0.width};
  check_defined(op, out, "out");
  check_contiguous(op, out, "out");
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&out, "out"},
                                {&pre, "pre"}, {&residual, "residual"}}) {
    if (!t->defined()) continue;
    check_contiguous(op, *t, name);
    check_same_device(op, {&first.x, t});
    check_same_dtype(op, {&first.x, t});
    check_shape(op, *t, shape, name);
  }
  NAQS_CHECK(!pre.defined() || out.raw_data() != pre.raw_data() || out.numel() == 0, op,
             ": out must not alias pre");
  if (!out.device().is_cpu()) {  // the separate ops' kernels
    Tensor& y = pre.defined() ? pre : out;
    bool accumulate = false;
    for (const Conv2dTerm& t : terms) {
      conv2d_forward(t.x, t.w, accumulate ? Tensor() : bias, t.spec, y, accumulate);
      accumulate = true;
    }
    unary(act, y, out);
    if (residual.defined()) binary(Binary::add, out, residual, out);
    return;
  }
  dispatch_float(out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<TermPtrs<T>> ptrs;
    for (const Conv2dTerm& t : terms) ptrs.push_back(term_ptrs<T>(t.x, t.w, t.spec));
    ForwardOut<T> fo;
    fo.pre = pre.defined() ? pre.data<T>() : nullptr;
    fo.out = out.data<T>();
    fo.residual = residual.defined() ? residual.data<T>() : nullptr;
    fo.stride_b = d0.n_out * d0.height * d0.width;
    fo.stride_o = d0.height * d0.width;
    with_unary(act, [&](auto ft) {
      forward_gemm_cpu<T, decltype(ft)::value, true>(
          ptrs, bias.defined() ? bias.data<T>() : nullptr, d0, fo);
    });
  });
}

void conv2d_backward_input(const Tensor& dy, const Tensor& w, const Conv2dSpec& s, Tensor& dx,
                           bool accumulate) {
  const char* op = "conv2d_backward_input";
  const detail::Conv2dDims d = dims_of(op, dy, "dy", false, w, s);
  check_defined(op, dx, "dx");
  check_contiguous(op, dx, "dx");
  check_same_device(op, {&dy, &w, &dx});
  check_same_dtype(op, {&dy, &w, &dx});
  check_shape(op, dx, {d.batch, d.n_in, d.height, d.width}, "dx");
  if (dx.device().is_cpu()) {
    dispatch_float(dy.dtype(), op, [&](auto tag) {
      backward_input_cpu<decltype(tag)>(dy, w, s, d, dx, accumulate);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_backward_input_cuda(dy, w, s, d, dx, accumulate));
  }
}

namespace {
void backward_weight_any(const char* op, const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         Tensor& dw, bool accumulate, bool per_sample) {
  check_spec(op, s);
  check_defined(op, x, "x");
  check_contiguous(op, x, "x");
  check_defined(op, dy, "dy");
  check_contiguous(op, dy, "dy");
  check_defined(op, dw, "dw");
  check_contiguous(op, dw, "dw");
  check_rank(op, x, 4, "x");
  check_rank(op, dy, 4, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  dispatch_float(x.dtype(), op, [](auto) {});
  const detail::Conv2dDims d{x.size(0), x.size(1), dy.size(1), x.size(2), x.size(3)};
  check_shape(op, dy, {d.batch, d.n_out, d.height, d.width}, "dy");
  const int64_t n_w = d.n_out * d.n_in * s.kernel_h * s.kernel_w;
  if (per_sample) {
    const bool ok = (dw.rank() == 2 || (dw.rank() == 4 && dw.size(1) == d.n_out &&
                                         dw.size(2) == d.n_in)) &&
                    dw.size(0) == d.batch && dw.numel() == d.batch * n_w;
    if (!ok)
      throw Error(cat(op, ": 'dw' is ", dw.str(), " but (", d.batch, ",", n_w, ") or (",
                      d.batch, ",", d.n_out, ",", d.n_in, ",", s.kernel_h * s.kernel_w,
                      ") is required"));
  } else {
    check_shape(op, dw, {d.n_out, d.n_in, s.kernel_h, s.kernel_w}, "dw");
  }
  if (dw.device().is_cpu()) {
    dispatch_float(x.dtype(), op, [&](auto tag) {
      backward_weight_cpu<decltype(tag)>(x, dy, s, d, dw, accumulate, per_sample);
    });
  } else {
    NAQS_CUDA_BRANCH(op, detail::conv2d_backward_weight_cuda(x, dy, s, d, dw, accumulate,
                                                             per_sample));
  }
}
}  // namespace

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Conv2dSpec& s, Tensor& dw,
                            bool accumulate) {
  backward_weight_any("conv2d_backward_weight", x, dy, s, dw, accumulate, false);
}

void conv2d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                                       Tensor& dw) {
  backward_weight_any("conv2d_backward_weight_per_sample", x, dy, s, dw, false, true);
}

}  // namespace naqs::ops
