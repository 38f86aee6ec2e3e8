// CPU reference of the shifted-window 2-D convolution and device dispatch (see conv2d.hpp).
#include "host/ops/conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <memory>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#if NAQS_HAVE_FMA_KERNELS
#include <immintrin.h>
#endif
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

// The weight gradient uses parallel_chunks from kMinParallelMacs multiply-adds
// (host/core/parallel.hpp).
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
// input through forward_gemm_cpu (the micro-kernel micro_tile), the weight gradient through
// dot_tile. Every output element adds its terms in an order fixed by the sizes alone (not by
// the thread count, nor, for the forwards and backward input, by which samples share a call).

// ---- forward: im2col + the micro-kernel, chunks of samples on parallel_chunks ------------
// Both forwards (conv2d_forward and the fused conv2d_forward_act) compute each output element
// as
//   acc = init (the bias, or y + bias when accumulating); then for each term, for each tap
//   (ci, i, j) in order: acc += w[o,ci,i,j] * x[ci, r+oh+i, c+ow+j]   (0 outside the lattice)
// in one routine (tiles_product) that treats every element alike, so the two agree bit for bit
// whichever samples or thread a chunk covers (with FMA where the CPU has it: one rounding per
// term; else a multiply and an add, each rounded). A chunk of samples is gathered into col
// (Ktot, ld): col[k, j*HW + p] = the input value tap k of its term reads for pixel p of sample
// j (0 outside the lattice; row segments copied out of a zero-padded input plane), the columns
// padded with zeros to a multiple of kLanes. The product runs over register tiles of kTileOut
// outputs x kTilePixels columns (narrower at the end of a row), k innermost in order; the
// epilogue writes y, or pre / act / residual, a sample's pixels at a time. Chunks (col near
// 384 KiB, at least one sample) depend on the sizes only and go to parallel_chunks' threads
// from kMinParallelMacs multiply-adds. History (bench/bench_naqs2d.cpp, bench_conv2d.cpp): one
// pixel at a time with accumulators in memory, the 8x8 depth-6 width-32 model sampled naively
// at ~4.5 GMAC/s on one thread; with 4 x 8 register tiles, no FMA, ~8 GMAC/s (13-16 at 10x10,
// issue 22); with the 4 x 24 FMA micro-kernel see docs/PERFORMANCE.md.

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

// The micro-kernel's register tile (micro_tile below): kTileOut rows x kTilePixels columns.
template <class T>
inline constexpr int kLanes = 32 / static_cast<int>(sizeof(T));  // one 256-bit vector: 8 f32
template <class T>
inline constexpr int kTilePixels = 3 * kLanes<T>;  // 24 f32, 12 f64
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

// dst[0, n) = src[0, n) for the short rows of a lattice (n ~ 10-100): inline 32-byte moves, the
// last one overlapping the one before (n = 10 floats: two moves), where a call to memcpy per row
// (what std::copy_n or a plain loop becomes) cost as much as the product at 10x10.
template <class T>
inline void copy_row(const T* src, int64_t n, T* dst) {
  constexpr int64_t kBlock = 32 / sizeof(T);
  if (n < kBlock) {
    for (int64_t c = 0; c < n; ++c) std::memcpy(dst + c, src + c, sizeof(T));
    return;
  }
  for (int64_t c = 0; c + kBlock < n; c += kBlock) std::memcpy(dst + c, src + c, 32);
  std::memcpy(dst + n - kBlock, src + n - kBlock, 32);
}

// col rows [k_off, k_off + Cin*kh*kw) for term t and samples [b0, b0 + n_b): row segments of a
// zero-padded copy of each input plane (pad: at least rows x cols of padding_of(t.s, d); its
// border is zeroed once, the interior overwritten per plane).
template <class T>
void im2col_term(const TermPtrs<T>& t, const detail::Conv2dDims& d, int64_t b0, int64_t n_b,
                 int64_t k_off, int64_t ld, T* col, T* pad) {
  const int64_t hw = d.height * d.width, taps = t.s.kernel_h * t.s.kernel_w;
  const Padding p = padding_of(t.s, d);
  std::fill(pad, pad + p.rows * p.cols, T(0));
  for (int64_t ci = 0; ci < t.n_in; ++ci)
    for (int64_t jb = 0; jb < n_b; ++jb) {
      const T* xb = t.x + ((b0 + jb) * t.n_in + ci) * hw;
      for (int64_t r = 0; r < d.height; ++r)
        copy_row(xb + r * d.width, d.width, pad + (r + p.top) * p.cols + p.left);
      for (int i = 0; i < t.s.kernel_h; ++i)
        for (int j = 0; j < t.s.kernel_w; ++j) {
          const int64_t tap = t.flipped
                                  ? (t.s.kernel_h - 1 - i) * t.s.kernel_w + t.s.kernel_w - 1 - j
                                  : i * t.s.kernel_w + j;
          T* dst = col + (k_off + ci * taps + tap) * ld + jb * hw;
          const T* src = pad + (t.s.offset_h + i + p.top) * p.cols + t.s.offset_w + j + p.left;
          for (int64_t r = 0; r < d.height; ++r)
            copy_row(src + r * p.cols, d.width, dst + r * d.width);
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

// ---- the micro-kernel: one register tile of kTileOut rows x kTilePixels columns ----------
// c (kTileOut, ldc), columns [0, kTilePixels): on entry the starting values, on exit
//   c[r, p] = c[r, p] + a[0, r] b[0, p] + a[1, r] b[1, p] + ... + a[n-1, r] b[n-1, p]
// added one term at a time in that order; a (n, kTileOut) is broadcast, b (n, ldb) holds the
// n rows of kTilePixels values. Each element's sum is one chain in the order of n, whatever the
// tile, row count or thread: the forward and backward input run it with a = packed weights, b =
// im2col columns (the weight gradient has its own kernel, dot_tile, below).
// Two bodies, one per process (host/core/simd.hpp): with AVX2+FMA an outer product of 4
// broadcasts x 3 vectors into 12 accumulators (one rounding per term); otherwise the portable
// loop (a multiply and an add, each rounded; compiled for AVX2 and baseline x86-64).
// NV vectors of kLanes<T> columns (NV = 3: a full tile; 1 or 2 for the last columns of a row).
template <class T, int NV>
[[gnu::always_inline]] inline void micro_tile_body(const T* a, const T* b, int64_t ldb,
                                                    int64_t n, T* c, int64_t ldc) {
  constexpr int PT = NV * kLanes<T>, OT = kTileOut;
  T acc[OT][PT];
  for (int r = 0; r < OT; ++r)
    for (int p = 0; p < PT; ++p) acc[r][p] = c[r * ldc + p];
  for (int64_t k = 0; k < n; ++k, a += OT, b += ldb)
    for (int r = 0; r < OT; ++r)
      for (int p = 0; p < PT; ++p) acc[r][p] += a[r] * b[p];
  for (int r = 0; r < OT; ++r)
    for (int p = 0; p < PT; ++p) c[r * ldc + p] = acc[r][p];
}

#if NAQS_HAVE_FMA_KERNELS
template <class T>
struct Avx;
template <>
struct Avx<float> {
  using V = __m256;
  NAQS_FMA_TARGET static V load(const float* p) { return _mm256_loadu_ps(p); }
  NAQS_FMA_TARGET static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  NAQS_FMA_TARGET static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  NAQS_FMA_TARGET static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  NAQS_FMA_TARGET static V zero() { return _mm256_setzero_ps(); }
};
template <>
struct Avx<double> {
  using V = __m256d;
  NAQS_FMA_TARGET static V load(const double* p) { return _mm256_loadu_pd(p); }
  NAQS_FMA_TARGET static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  NAQS_FMA_TARGET static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  NAQS_FMA_TARGET static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  NAQS_FMA_TARGET static V zero() { return _mm256_setzero_pd(); }
};

// The outer product of kTileOut broadcasts x NV vectors into 4 * NV accumulators, each a named
// variable (with an array GCC 12 stores every accumulator back to the stack after each term).
template <class T, int NV>
NAQS_FMA_TARGET [[gnu::always_inline]] inline void micro_tile_fma_body(const T* a, const T* b,
                                                                       int64_t ldb, int64_t n,
                                                                       T* c, int64_t ldc) {
  static_assert(kTileOut == 4 && NV >= 1 && NV <= 3);
  using A = Avx<T>;
  using V = typename A::V;
  constexpr int L = kLanes<T>;
  T* c1 = c + ldc;
  T* c2 = c + 2 * ldc;
  T* c3 = c + 3 * ldc;
  V a00 = A::load(c), a10 = A::load(c1), a20 = A::load(c2), a30 = A::load(c3);
  V a01 = a00, a11 = a00, a21 = a00, a31 = a00, a02 = a00, a12 = a00, a22 = a00, a32 = a00;
  if constexpr (NV >= 2)
    a01 = A::load(c + L), a11 = A::load(c1 + L), a21 = A::load(c2 + L), a31 = A::load(c3 + L);
  if constexpr (NV >= 3)
    a02 = A::load(c + 2 * L), a12 = A::load(c1 + 2 * L), a22 = A::load(c2 + 2 * L),
    a32 = A::load(c3 + 2 * L);
  for (int64_t k = 0; k < n; ++k, a += 4, b += ldb) {
    const V b0 = A::load(b);
    const V b1 = NV >= 2 ? A::load(b + L) : b0;
    const V b2 = NV >= 3 ? A::load(b + 2 * L) : b0;
#define NAQS_CONV2D_ROW(r)                                    \
  {                                                           \
    const V w = A::bcast(a + r);                              \
    a##r##0 = A::fma(w, b0, a##r##0);                         \
    if constexpr (NV >= 2) a##r##1 = A::fma(w, b1, a##r##1);  \
    if constexpr (NV >= 3) a##r##2 = A::fma(w, b2, a##r##2);  \
  }
    NAQS_CONV2D_ROW(0)
    NAQS_CONV2D_ROW(1)
    NAQS_CONV2D_ROW(2)
    NAQS_CONV2D_ROW(3)
#undef NAQS_CONV2D_ROW
  }
  A::store(c, a00), A::store(c1, a10), A::store(c2, a20), A::store(c3, a30);
  if constexpr (NV >= 2)
    A::store(c + L, a01), A::store(c1 + L, a11), A::store(c2 + L, a21), A::store(c3 + L, a31);
  if constexpr (NV >= 3)
    A::store(c + 2 * L, a02), A::store(c1 + 2 * L, a12), A::store(c2 + 2 * L, a22),
        A::store(c3 + 2 * L, a32);
}
#endif

// One tile of NV vectors' columns (NV = 1, 2, 3), T float or double: the AVX2+FMA body where
// the CPU has it (host/core/simd.hpp: decided once per process), else the portable one.
// Non-template functions, so that the target attributes apply (GCC does not multiversion
// templates).
#if NAQS_HAVE_FMA_KERNELS
#define NAQS_CONV2D_MICRO_TILE(T, NV)                                                       \
  NAQS_FMA_TARGET void micro_tile_fma_##NV(const T* a, const T* b, int64_t ldb, int64_t n,   \
                                           T* c, int64_t ldc) {                              \
    micro_tile_fma_body<T, NV>(a, b, ldb, n, c, ldc);                                        \
  }                                                                                          \
  NAQS_AVX2_CLONES void micro_tile_portable_##NV(const T* a, const T* b, int64_t ldb,        \
                                                 int64_t n, T* c, int64_t ldc) {             \
    micro_tile_body<T, NV>(a, b, ldb, n, c, ldc);                                            \
  }
#else
#define NAQS_CONV2D_MICRO_TILE(T, NV)                                                       \
  void micro_tile_portable_##NV(const T* a, const T* b, int64_t ldb, int64_t n, T* c,       \
                                int64_t ldc) {                                               \
    micro_tile_body<T, NV>(a, b, ldb, n, c, ldc);                                            \
  }
#endif
NAQS_CONV2D_MICRO_TILE(float, 1)
NAQS_CONV2D_MICRO_TILE(float, 2)
NAQS_CONV2D_MICRO_TILE(float, 3)
NAQS_CONV2D_MICRO_TILE(double, 1)
NAQS_CONV2D_MICRO_TILE(double, 2)
NAQS_CONV2D_MICRO_TILE(double, 3)
#undef NAQS_CONV2D_MICRO_TILE

template <class T>
void micro_tile(int nv, const T* a, const T* b, int64_t ldb, int64_t n, T* c, int64_t ldc) {
#if NAQS_HAVE_FMA_KERNELS
  if (cpu_has_avx2_fma()) {
    if (nv == 3) return micro_tile_fma_3(a, b, ldb, n, c, ldc);
    if (nv == 2) return micro_tile_fma_2(a, b, ldb, n, c, ldc);
    return micro_tile_fma_1(a, b, ldb, n, c, ldc);
  }
#endif
  if (nv == 3) return micro_tile_portable_3(a, b, ldb, n, c, ldc);
  if (nv == 2) return micro_tile_portable_2(a, b, ldb, n, c, ldc);
  micro_tile_portable_1(a, b, ldb, n, c, ldc);
}

// acc (n_tiles * kTileOut, ld), ld a multiple of kLanes: on entry the starting values, on exit
// acc[o, q] + sum over k in order of wp[tile, k, o % kTileOut] * col[k, q] (wp as pack_weights).
// Blocks of columns (col rows near 256 KiB in all, so that a block stays in L2) outer, the
// output tiles inner: every tile reuses the block (the whole col of a 40x40 sample is 1.8 MiB).
template <class T>
void tiles_product(const T* wp, int64_t n_tiles, const T* col, int64_t ld, int64_t k_total,
                   T* acc) {
  constexpr int L = kLanes<T>, PT = kTilePixels<T>;
  const int64_t block = std::max<int64_t>(
      PT, (int64_t{256} << 10) / (std::max<int64_t>(k_total, 1) * sizeof(T)) / PT * PT);
  for (int64_t qb = 0; qb < ld; qb += block)
    for (int64_t tile = 0; tile < n_tiles; ++tile)
      for (int64_t q0 = qb; q0 < std::min(ld, qb + block); q0 += PT)
        micro_tile(static_cast<int>(std::min<int64_t>(3, (ld - q0) / L)),
                   wp + tile * k_total * kTileOut, col + q0, ld, k_total,
                   acc + tile * kTileOut * ld + q0, ld);
}

template <class T, Unary Act, bool Fused>
void forward_gemm_cpu(const std::vector<TermPtrs<T>>& terms, const T* bias,
                      const detail::Conv2dDims& d, const ForwardOut<T>& fo) {
  constexpr int L = kLanes<T>, OT = kTileOut;
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
  // Samples per chunk: the column matrix near 384 KiB (at least one sample): several samples of
  // a 10x10 lattice, so that the narrower last register tile of a chunk is a small part of it.
  const int64_t per_sample =
      std::max<int64_t>(1, k_total * n_pix * static_cast<int64_t>(sizeof(T)));
  const int64_t n_b_max = std::clamp<int64_t>((int64_t{384} << 10) / per_sample, 1, d.batch);
  const int64_t n_chunks = (d.batch + n_b_max - 1) / n_b_max;
  const int64_t ld_max = (n_b_max * n_pix + L - 1) / L * L;
  const int slots =
      d.batch * d.n_out * n_pix * k_total >= kMinParallelMacs ? parallel_slots() : 1;
  struct Scratch {  // one per thread, allocated (uninitialised) on its first chunk
    std::unique_ptr<T[]> col, acc, pad;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(slots));
  parallel_chunks(n_chunks, slots, [&](int64_t chunk, int slot) {
    Scratch& sc = scratch[static_cast<std::size_t>(slot)];
    if (!sc.col) {
      sc.col.reset(new T[k_total * ld_max]);
      sc.acc.reset(new T[n_tiles * OT * ld_max]);
      sc.pad.reset(new T[pad_max]);
    }
    const int64_t b0 = chunk * n_b_max, n_b = std::min(n_b_max, d.batch - b0);
    const int64_t n_cols = n_b * n_pix, ld = (n_cols + L - 1) / L * L;
    T* col = sc.col.get();
    int64_t k_off = 0;
    for (const TermPtrs<T>& t : terms) {
      im2col_term(t, d, b0, n_b, k_off, ld, col, sc.pad.get());
      k_off += t.n_in * t.s.kernel_h * t.s.kernel_w;
    }
    for (int64_t k = 0; k < k_total; ++k)
      std::fill(col + k * ld + n_cols, col + (k + 1) * ld, T(0));
    // Column q = jb * n_pix + pix is element (b0 + jb, o, pix) of y / pre / out / residual: the
    // loops below run over each sample's contiguous pixels (columns from n_cols on are padding).
    for (int64_t o = 0; o < n_tiles * OT; ++o) {  // starting values: (y or 0) + bias
      T* acc = sc.acc.get() + o * ld;
      const T b = bias && o < d.n_out ? bias[o] : T(0);
      std::fill(acc, acc + ld, T(0) + b);
      if (!Fused && fo.accumulate && o < d.n_out)
        for (int64_t jb = 0; jb < n_b; ++jb) {
          const T* y_o = fo.y + (b0 + jb) * fo.stride_b + o * fo.stride_o;
          T* a = acc + jb * n_pix;
          for (int64_t pix = 0; pix < n_pix; ++pix) a[pix] = y_o[pix] + b;
        }
    }
    tiles_product(wp.data(), n_tiles, col, ld, k_total, sc.acc.get());
    for (int64_t o = 0; o < d.n_out; ++o)
      for (int64_t jb = 0; jb < n_b; ++jb) {
        const T* a = sc.acc.get() + o * ld + jb * n_pix;
        const int64_t e = (b0 + jb) * fo.stride_b + o * fo.stride_o;
        if constexpr (Fused) {
          if (fo.pre) copy_row(a, n_pix, fo.pre + e);
          T* out = fo.out + e;
          if (fo.residual) {
            const T* res = fo.residual + e;
            for (int64_t pix = 0; pix < n_pix; ++pix)
              out[pix] = unary_value<Act>(a[pix]) + res[pix];
          } else {
            for (int64_t pix = 0; pix < n_pix; ++pix) out[pix] = unary_value<Act>(a[pix]);
          }
        } else {
          copy_row(a, n_pix, fo.y + e);
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

// ---- weight gradient: lane-split dot products -------------------------------------------
// dw[o, k] = sum over the columns q = (b, r, c) of dy[o, q] col[k, q], col the forward's im2col
// of x (k = (ci, i, j)), in chunks of detail::conv2d_weight_chunk_samples samples in order. In a
// chunk, a tile of kTileOut outputs x kDotK k's keeps one vector of kLanes<T> partial sums per
// (o, k): lane l sums the terms q = l mod kLanes in the order of q, one rounding per term with
// FMA (host/core/simd.hpp), else a multiply and an add; the lanes are then summed in T by
// halving (lane j += lane j + w for w = kLanes/2, ..., 1) and that chunk sum is added to the
// running sum in double. dy rows and col rows are read as they lie (no transposes); the tails
// of the rows (to a multiple of kLanes) and missing tile rows are zeros. The order depends on
// the sizes alone, not on the thread count (parallel_chunks' threads split the k tiles; the
// previous weight gradient's OpenMP regions ran two threads at 1-3% of the sgemm's rate on the
// loaded 2-core machine, bench_conv2d).
inline constexpr int kDotK = 3;

// One tile: acc[r, j] (lda) += the chunk sum of dy row r and col row j (both (.., ld), n a
// multiple of kLanes), r < kTileOut, j < kDotK.
template <class T>
[[gnu::always_inline]] inline void add_lane_sums(T (&lanes)[kLanes<T>], double* dst) {
  for (int w = kLanes<T> / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  *dst += static_cast<double>(lanes[0]);
}

template <class T>
[[gnu::always_inline]] inline void dot_tile_body(const T* dy, const T* col, int64_t ld, int64_t n,
                                                 double* acc, int64_t lda) {
  constexpr int L = kLanes<T>, OT = kTileOut;
  T s[OT][kDotK][L] = {};
  for (int64_t q = 0; q < n; q += L)
    for (int r = 0; r < OT; ++r)
      for (int j = 0; j < kDotK; ++j)
        for (int l = 0; l < L; ++l) s[r][j][l] += dy[r * ld + q + l] * col[j * ld + q + l];
  for (int r = 0; r < OT; ++r)
    for (int j = 0; j < kDotK; ++j) add_lane_sums<T>(s[r][j], acc + r * lda + j);
}

#if NAQS_HAVE_FMA_KERNELS
template <class T>
NAQS_FMA_TARGET [[gnu::always_inline]] inline void dot_tile_fma_body(const T* dy, const T* col,
                                                                     int64_t ld, int64_t n,
                                                                     double* acc, int64_t lda) {
  static_assert(kTileOut == 4 && kDotK == 3);
  using A = Avx<T>;
  using V = typename A::V;
  constexpr int L = kLanes<T>;
  V s00 = A::zero(), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00, s20 = s00,
    s21 = s00, s22 = s00, s30 = s00, s31 = s00, s32 = s00;
  for (int64_t q = 0; q < n; q += L) {
    const V c0 = A::load(col + q), c1 = A::load(col + ld + q), c2 = A::load(col + 2 * ld + q);
#define NAQS_CONV2D_DOT_ROW(r)                 \
  {                                            \
    const V g = A::load(dy + r * ld + q);      \
    s##r##0 = A::fma(g, c0, s##r##0);          \
    s##r##1 = A::fma(g, c1, s##r##1);          \
    s##r##2 = A::fma(g, c2, s##r##2);          \
  }
    NAQS_CONV2D_DOT_ROW(0)
    NAQS_CONV2D_DOT_ROW(1)
    NAQS_CONV2D_DOT_ROW(2)
    NAQS_CONV2D_DOT_ROW(3)
#undef NAQS_CONV2D_DOT_ROW
  }
  const V all[kTileOut][kDotK] = {
      {s00, s01, s02}, {s10, s11, s12}, {s20, s21, s22}, {s30, s31, s32}};
  for (int r = 0; r < kTileOut; ++r)
    for (int j = 0; j < kDotK; ++j) {
      alignas(32) T lanes[L];
      A::store(lanes, all[r][j]);
      add_lane_sums<T>(lanes, acc + r * lda + j);
    }
}
#define NAQS_CONV2D_DOT_TILE(T)                                                              \
  NAQS_FMA_TARGET void dot_tile_fma(const T* dy, const T* col, int64_t ld, int64_t n,          \
                                    double* acc, int64_t lda) {                                \
    dot_tile_fma_body<T>(dy, col, ld, n, acc, lda);                                            \
  }                                                                                            \
  NAQS_AVX2_CLONES void dot_tile_portable(const T* dy, const T* col, int64_t ld, int64_t n,    \
                                          double* acc, int64_t lda) {                          \
    dot_tile_body<T>(dy, col, ld, n, acc, lda);                                                \
  }
#else
#define NAQS_CONV2D_DOT_TILE(T)                                                              \
  void dot_tile_portable(const T* dy, const T* col, int64_t ld, int64_t n, double* acc,        \
                         int64_t lda) {                                                        \
    dot_tile_body<T>(dy, col, ld, n, acc, lda);                                                \
  }
#endif
NAQS_CONV2D_DOT_TILE(float)
NAQS_CONV2D_DOT_TILE(double)
#undef NAQS_CONV2D_DOT_TILE

template <class T>
void dot_tile(const T* dy, const T* col, int64_t ld, int64_t n, double* acc, int64_t lda) {
#if NAQS_HAVE_FMA_KERNELS
  if (cpu_has_avx2_fma()) return dot_tile_fma(dy, col, ld, n, acc, lda);
#endif
  dot_tile_portable(dy, col, ld, n, acc, lda);
}

// dw (+)= the weight gradient (summed over the batch, or per sample); the order as above. Before
// (dy and col transposed into double tiles of 4 x 8, no FMA), the U-Net's weight gradients of a
// batch-32 training step took 1.8x the time of its forwards (one thread, bench/bench_unet.cpp
// --profile; loaded machine).
template <class T>
void backward_weight_cpu(const Tensor& x, const Tensor& dy, const Conv2dSpec& s,
                         const detail::Conv2dDims& d, Tensor& dw, bool accumulate,
                         bool per_sample) {
  constexpr int L = kLanes<T>, OT = kTileOut;
  const int64_t hw = d.height * d.width, k_total = d.n_in * s.kernel_h * s.kernel_w;
  const int64_t kp = (k_total + kDotK - 1) / kDotK * kDotK, op = (d.n_out + OT - 1) / OT * OT;
  const int64_t n_groups = per_sample ? d.batch : 1;  // independent dw blocks
  T* pdw = dw.data<T>();
  if (d.n_out * k_total == 0) return;
  if (hw == 0 || d.batch == 0) {  // no terms: dw = 0 (or unchanged)
    if (!accumulate) std::fill(pdw, pdw + n_groups * d.n_out * k_total, T(0));
    return;
  }
  const int64_t n_b_max =
      per_sample ? 1
                 : detail::conv2d_weight_chunk_samples(d.batch, k_total, hw,
                                                       static_cast<int>(sizeof(T)));
  const int64_t ld_max = (n_b_max * hw + L - 1) / L * L;
  const TermPtrs<T> t{x.data<T>(), nullptr, s, d.n_in};
  const Padding p = padding_of(s, d);
  // col (kp, ld) and dyp (op, ld) of a chunk, zero past n_cols and in the padding rows
  std::vector<T> col(static_cast<std::size_t>(kp * ld_max)),
      pad(static_cast<std::size_t>(p.rows * p.cols)), dyp(static_cast<std::size_t>(op * ld_max));
  std::vector<double> acc(static_cast<std::size_t>(op * kp));
  const T* pdy = dy.data<T>();
  const int slots = worth_threads(d, s, d.batch * d.n_out * hw) ? parallel_slots() : 1;
  for (int64_t g = 0; g < n_groups; ++g) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const int64_t b_lo = per_sample ? g : 0, b_hi = per_sample ? g + 1 : d.batch;
    for (int64_t b0 = b_lo; b0 < b_hi; b0 += n_b_max) {
      const int64_t n_b = std::min(n_b_max, b_hi - b0), n_cols = n_b * hw;
      const int64_t ld = (n_cols + L - 1) / L * L;
      im2col_term(t, d, b0, n_b, 0, ld, col.data(), pad.data());
      for (int64_t k = 0; k < kp; ++k)
        std::fill(col.data() + k * ld + (k < k_total ? n_cols : 0), col.data() + (k + 1) * ld,
                  T(0));
      for (int64_t o = 0; o < op; ++o) {
        T* dst = dyp.data() + o * ld;
        if (o < d.n_out)
          for (int64_t jb = 0; jb < n_b; ++jb)
            copy_row(pdy + ((b0 + jb) * d.n_out + o) * hw, hw, dst + jb * hw);
        std::fill(dst + (o < d.n_out ? n_cols : 0), dst + ld, T(0));
      }
      parallel_chunks(kp / kDotK, slots, [&](int64_t kt, int) {
        for (int64_t o0 = 0; o0 < op; o0 += OT)
          dot_tile(dyp.data() + o0 * ld, col.data() + kt * kDotK * ld, ld, ld,
                   acc.data() + o0 * kp + kt * kDotK, kp);
      });
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

int64_t detail::conv2d_weight_chunk_samples(int64_t batch, int64_t k_total, int64_t hw,
                                            int dtype_bytes) {
  // the columns near 1 MiB: long lane chains, so that summing the lanes costs little
  const int64_t per_sample = std::max<int64_t>(1, k_total * hw * dtype_bytes);
  return std::clamp<int64_t>((int64_t{1} << 20) / per_sample, 1, std::max<int64_t>(1, batch));
}

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
