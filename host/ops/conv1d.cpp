// Causal masked conv1d: argument checks, dispatch and the CPU implementations. See conv1d.hpp.
#include "host/ops/conv1d.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "host/core/cuda_runtime.hpp"
#include "host/core/parallel.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/blas_cpu.hpp"
#include "host/ops/elementwise_math.hpp"

namespace naqs::ops {

namespace {

// Checks x (B,Cin,L) and the weight-shaped w against the spec and returns the sizes. w is
// (Cout,Cin,K), or (B,Cout,Cin,K) for per-sample gradients (per_sample = true).
Conv1dDims conv_dims(const char* op, const Tensor& x, const char* x_name, const Tensor& w,
                     const char* w_name, const Conv1dSpec& s, bool per_sample = false) {
  check_defined(op, x, x_name);
  check_contiguous(op, x, x_name);
  check_defined(op, w, w_name);
  check_contiguous(op, w, w_name);
  NAQS_CHECK(s.kernel >= 1 && s.dilation >= 1, op, ": kernel ", s.kernel, " and dilation ",
             s.dilation, " must be >= 1");
  check_rank(op, x, 3, x_name);
  const int first = per_sample ? 1 : 0;
  check_rank(op, w, 3 + first, w_name);
  if (w.size(first + 2) != s.kernel)
    throw Error(cat(op, ": '", w_name, "' is ", w.str(), " but the spec's kernel is ", s.kernel));
  Conv1dDims d;
  d.n_batch = x.size(0);
  d.length = x.size(2);
  d.c_out = w.size(first);
  d.c_in = w.size(first + 1);
  d.kernel = s.kernel;
  d.dilation = s.dilation;
  d.shift = s.exclusive ? 1 : 0;
  return d;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& x, const Conv1dDims& d) {
  if (!bias.defined()) return;
  check_contiguous(op, bias, "bias");
  check_shape(op, bias, {d.c_out}, "bias");
  check_same_device(op, {&x, &bias});
  check_same_dtype(op, {&x, &bias});
}


void set_cuda_device([[maybe_unused]] const Tensor& t) {
  NAQS_CUDA_BRANCH("conv1d", cuda_rt::set_device(t.device().index));
}

// Multiply-adds of one call: threads from kMinParallelMacs (host/core/parallel.hpp).
int64_t macs(const Conv1dDims& d) { return d.n_batch * d.c_out * d.c_in * d.kernel * d.length; }

// ---- CPU fast path: im2col + one single-threaded cblas GEMM per chunk of samples ------------
// For a chunk of n_b samples starting at b0, the column matrix col is (Cin*K, n_b*L):
//   col[c*K + k, j*L + t] = x[b0+j, c, t - back(k)]   (0 where t - back(k) < 0)
// so y[b0+j, :, :] = W (Cout, Cin*K) @ col[:, j*L : (j+1)*L]. The chunk's products are one
// GEMM (Cout, n_b*L); an epilogue moves its result z[o, j*L + t] into y's (B,Cout,L) layout
// (adding the bias, and in conv1d_forward_act the activation and the residual).
// Chunks are small (the column matrix near 128 KiB) so that im2col, GEMM and epilogue of a chunk
// stay in one core's L2 cache, and they are the unit of threading: parallel_chunks' threads
// take whole chunks (host/core/parallel.hpp; OpenBLAS single-threaded inside). Before (8 MiB
// chunks, OpenBLAS threading its GEMMs, bias / activation / residual as separate passes,
// column-major im2col) local energies at N = 32 ran at 12.6k configurations/s on one thread;
// after, ~35k (docs/ARCHITECTURE.md, bench/run_naqs_vs_torch.sh). The chunking depends on the
// sizes only, never on the thread count, so results are bitwise the same for any number of
// threads (tested).

// One chunk of samples [b0, b0 + n_b) and its scratch: col (Cin*K, n_b*L) and chunk
// (max(Cin, Cout), n_b*L), owned by the thread that runs the chunk.
template <class T>
struct Chunk {
  int64_t b0 = 0, n_b = 0, n_cols = 0, index = 0;
  T* col = nullptr;
  T* chunk = nullptr;
};

// Samples per chunk (the column matrix near 128 KiB) and the number of chunks: from the sizes
// alone.
struct ChunkPlan {
  int64_t n_b_max = 1, n_chunks = 0;
};
ChunkPlan chunk_plan(const Conv1dDims& d, std::size_t elem_bytes) {
  const int64_t row_bytes =
      std::max<int64_t>(1, d.c_in * d.kernel * d.length * static_cast<int64_t>(elem_bytes));
  ChunkPlan p;
  p.n_b_max =
      std::clamp<int64_t>((int64_t{128} << 10) / row_bytes, 1, std::max<int64_t>(d.n_batch, 1));
  p.n_chunks = (d.n_batch + p.n_b_max - 1) / p.n_b_max;
  return p;
}

// Runs body(Chunk&) over the chunks of d.n_batch samples, on parallel_chunks' threads when the
// op is worth it (each thread allocates its scratch on its first chunk).
template <class T, class F>
void for_each_chunk(const Conv1dDims& d, F&& body) {
  const ChunkPlan plan = chunk_plan(d, sizeof(T));
  const int64_t cols_max = plan.n_b_max * d.length;
  const BlasSingleThreaded blas_threads;
  const int slots = macs(d) >= kMinParallelMacs ? parallel_slots() : 1;
  std::vector<std::unique_ptr<T[]>> col(static_cast<std::size_t>(slots));
  std::vector<std::unique_ptr<T[]>> chunk(static_cast<std::size_t>(slots));
  parallel_chunks(plan.n_chunks, slots, [&](int64_t i, int slot) {
    std::unique_ptr<T[]>& my_col = col[static_cast<std::size_t>(slot)];
    std::unique_ptr<T[]>& my_chunk = chunk[static_cast<std::size_t>(slot)];
    if (!my_col) {
      my_col.reset(new T[d.c_in * d.kernel * cols_max]);
      my_chunk.reset(new T[std::max(d.c_in, d.c_out) * cols_max]);
    }
    Chunk<T> c;
    c.index = i;
    c.b0 = i * plan.n_b_max;
    c.n_b = std::min(plan.n_b_max, d.n_batch - c.b0);
    c.n_cols = c.n_b * d.length;
    c.col = my_col.get();
    c.chunk = my_chunk.get();
    body(c);
  });
}

// col = im2col of the chunk's samples; sample by sample, so x is read once, in order.
template <class T>
void im2col(const T* x, const Conv1dDims& d, const Chunk<T>& c) {
  for (int64_t j = 0; j < c.n_b; ++j)
    for (int64_t ch = 0; ch < d.c_in; ++ch) {
      const T* xrow = x + ((c.b0 + j) * d.c_in + ch) * d.length;  // x[b0+j, ch, :]
      for (int k = 0; k < d.kernel; ++k) {
        const int64_t back = std::min(d.back(k), d.length);
        T* out = c.col + (ch * d.kernel + k) * c.n_cols + j * d.length;
        std::fill_n(out, back, T(0));
        std::copy_n(xrow, d.length - back, out + back);
      }
    }
}

// (B,C,L) rows of the chunk's samples -> chunk matrix (C, n_b*L).
template <class T>
void gather_chunk(const T* src, int64_t channels, const Conv1dDims& d, const Chunk<T>& c) {
  for (int64_t j = 0; j < c.n_b; ++j)
    for (int64_t ch = 0; ch < channels; ++ch)
      std::copy_n(src + ((c.b0 + j) * channels + ch) * d.length, d.length,
                  c.chunk + (ch * c.n_b + j) * d.length);
}

// y = conv(x) + bias through im2col + GEMM; where out is given, out = act(conv(x) + bias)
// (+ residual), all in the chunk's epilogue (y may then be null). x (B,Cin,L); y, out,
// residual (B,Cout,L).
template <class T, Unary Act>
void forward_im2col(const T* x, const T* w, const T* bias, T* y, const Conv1dDims& d, T* out,
                    const T* residual) {
  const int64_t ck = d.c_in * d.kernel;
  for_each_chunk<T>(d, [&](const Chunk<T>& c) {
    im2col(x, d, c);
    gemm_rm(false, false, d.c_out, c.n_cols, ck, T(1), w, ck, c.col, c.n_cols, T(0), c.chunk,
            c.n_cols);
    for (int64_t j = 0; j < c.n_b; ++j)
      for (int64_t o = 0; o < d.c_out; ++o) {
        const T* zrow = c.chunk + (o * c.n_b + j) * d.length;
        const int64_t row = ((c.b0 + j) * d.c_out + o) * d.length;
        const T add = bias ? bias[o] : T(0);
        if (y)
          for (int64_t t = 0; t < d.length; ++t) y[row + t] = zrow[t] + add;
        if (!out) continue;
        for (int64_t t = 0; t < d.length; ++t) out[row + t] = unary_value<Act>(zrow[t] + add);
        if (residual)
          for (int64_t t = 0; t < d.length; ++t) out[row + t] += residual[row + t];
      }
  });
}

// dcol (Cin*K, n_b*L) = W^T @ dy_chunk, then col2im: dx[b,c,p] += dcol[c*K+k, j*L + p + back(k)].
// The chunk's column buffer holds dcol.
template <class T>
void backward_input_im2col(const T* dy, const T* w, T* dx, const Conv1dDims& d, bool accumulate) {
  const int64_t ck = d.c_in * d.kernel;
  for_each_chunk<T>(d, [&](const Chunk<T>& c) {
    gather_chunk(dy, d.c_out, d, c);
    gemm_rm(true, false, ck, c.n_cols, d.c_out, T(1), w, ck, c.chunk, c.n_cols, T(0), c.col,
            c.n_cols);
    for (int64_t j = 0; j < c.n_b; ++j)
      for (int64_t ch = 0; ch < d.c_in; ++ch) {
        T* dxrow = dx + ((c.b0 + j) * d.c_in + ch) * d.length;
        if (!accumulate) std::fill_n(dxrow, d.length, T(0));
        for (int k = 0; k < d.kernel; ++k) {
          const int64_t back = d.back(k);
          const T* drow = c.col + (ch * d.kernel + k) * c.n_cols + j * d.length;
          for (int64_t p = 0; p + back < d.length; ++p) dxrow[p] += drow[p + back];
        }
      }
  });
}

// dW (Cout, Cin*K) (+)= sum over chunks of dy_chunk (Cout, n_b*L) @ col^T: each chunk's product
// goes into its own slot, the slots are added in chunk order (the same sum for any thread count).
template <class T>
void backward_weight_im2col(const T* x, const T* dy, T* dw, const Conv1dDims& d,
                            bool accumulate) {
  const int64_t ck = d.c_in * d.kernel, n_w = d.c_out * ck;
  if (!accumulate) std::fill_n(dw, n_w, T(0));
  if (d.n_batch * d.length == 0) return;
  std::vector<T> partial(static_cast<std::size_t>(chunk_plan(d, sizeof(T)).n_chunks * n_w));
  for_each_chunk<T>(d, [&](const Chunk<T>& c) {
    im2col(x, d, c);
    gather_chunk(dy, d.c_out, d, c);
    gemm_rm(false, true, d.c_out, ck, c.n_cols, T(1), c.chunk, c.n_cols, c.col, c.n_cols, T(0),
            partial.data() + c.index * n_w, ck);
  });
  for (std::size_t i = 0; i < partial.size(); ++i) dw[static_cast<int64_t>(i) % n_w] += partial[i];
}

// dw[b] (Cout, Cin*K) = dy[b] (Cout, L) @ col[:, j*L:(j+1)*L]^T, one small GEMM per sample.
template <class T>
void backward_weight_per_sample_im2col(const T* x, const T* dy, T* dw, const Conv1dDims& d) {
  const int64_t ck = d.c_in * d.kernel;
  for_each_chunk<T>(d, [&](const Chunk<T>& c) {
    im2col(x, d, c);
    for (int64_t j = 0; j < c.n_b; ++j)
      gemm_rm(false, true, d.c_out, ck, d.length, T(1), dy + (c.b0 + j) * d.c_out * d.length,
              d.length, c.col + j * d.length, c.n_cols, T(0), dw + (c.b0 + j) * d.c_out * ck, ck);
  });
}

}  // namespace

// ---- direct-loop CPU references ------------------------------------------------------------

namespace detail {

void conv1d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const Conv1dSpec& s, Tensor& y) {
  const Conv1dDims d = conv_dims("conv1d_forward", x, "x", w, "w", s);
  dispatch_float(x.dtype(), "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = data_or_null<T>(bias);
    T* py = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t o = 0; o < d.c_out; ++o) {
        T* yrow = py + (b * d.c_out + o) * d.length;  // y[b,o,:]
        const T init = pb ? pb[o] : T(0);
        for (int64_t t = 0; t < d.length; ++t) yrow[t] = init;
        for (int64_t c = 0; c < d.c_in; ++c) {
          const T* xrow = px + (b * d.c_in + c) * d.length;  // x[b,c,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t t = back; t < d.length; ++t) yrow[t] += wv * xrow[t - back];
          }
        }
      }
  });
}

void conv1d_backward_input_direct(const Tensor& dy, const Tensor& w, const Conv1dSpec& s,
                                  Tensor& dx, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_input", dx, "dx", w, "w", s);
  dispatch_float(dy.dtype(), "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    const T* pw = w.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t b = 0; b < d.n_batch; ++b)
      for (int64_t c = 0; c < d.c_in; ++c) {
        T* dxrow = pdx + (b * d.c_in + c) * d.length;  // dx[b,c,:]
        if (!accumulate)
          for (int64_t p = 0; p < d.length; ++p) dxrow[p] = T(0);
        for (int64_t o = 0; o < d.c_out; ++o) {
          const T* dyrow = pdy + (b * d.c_out + o) * d.length;  // dy[b,o,:]
          for (int k = 0; k < d.kernel; ++k) {
            const T wv = pw[(o * d.c_in + c) * d.kernel + k];
            const int64_t back = d.back(k);
            for (int64_t p = 0; p + back < d.length; ++p) dxrow[p] += wv * dyrow[p + back];
          }
        }
      }
  });
}

void conv1d_backward_weight_direct(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                   Tensor& dw, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_weight", x, "x", dw, "dw", s);
  dispatch_float(x.dtype(), "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdw = dw.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (macs(d) >= kMinParallelMacs)
    for (int64_t o = 0; o < d.c_out; ++o)
      for (int64_t c = 0; c < d.c_in; ++c)
        for (int k = 0; k < d.kernel; ++k) {
          const int64_t back = d.back(k);
          T sum = 0;
          for (int64_t b = 0; b < d.n_batch; ++b) {
            const T* dyrow = pdy + (b * d.c_out + o) * d.length;
            const T* xrow = px + (b * d.c_in + c) * d.length;
            for (int64_t t = back; t < d.length; ++t) sum += dyrow[t] * xrow[t - back];
          }
          T& out = pdw[(o * d.c_in + c) * d.kernel + k];
          out = accumulate ? out + sum : sum;
        }
  });
}

void conv1d_forward_gemm(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                         Tensor& y) {
  const Conv1dDims d = conv_dims("conv1d_forward", x, "x", w, "w", s);
  if (d.n_batch * d.c_out * d.length == 0) return;
  dispatch_float(x.dtype(), "conv1d_forward", [&](auto tag) {
    using T = decltype(tag);
    forward_im2col<T, Unary::relu>(x.data<T>(), w.data<T>(), data_or_null<T>(bias), y.data<T>(), d,
                                   nullptr, nullptr);
  });
}

void conv1d_backward_input_gemm(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                                bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_input", dx, "dx", w, "w", s);
  if (d.n_batch * d.c_in * d.length == 0) return;
  dispatch_float(dy.dtype(), "conv1d_backward_input", [&](auto tag) {
    using T = decltype(tag);
    backward_input_im2col(dy.data<T>(), w.data<T>(), dx.data<T>(), d, accumulate);
  });
}

void conv1d_backward_weight_gemm(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                 Tensor& dw, bool accumulate) {
  const Conv1dDims d = conv_dims("conv1d_backward_weight", x, "x", dw, "dw", s);
  if (d.c_out * d.c_in * d.kernel == 0) return;
  dispatch_float(x.dtype(), "conv1d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_im2col(x.data<T>(), dy.data<T>(), dw.data<T>(), d, accumulate);
  });
}

}  // namespace detail

// ---- public ops ----------------------------------------------------------------------------

namespace {

// Checks a forward op's x (B,Cin,L), w, bias and output y (B,Cout,L); returns the sizes.
Conv1dDims forward_dims(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Conv1dSpec& s, const Tensor& y, const char* y_name) {
  const Conv1dDims d = conv_dims(op, x, "x", w, "w", s);
  check_defined(op, y, y_name);
  check_contiguous(op, y, y_name);
  check_same_device(op, {&x, &w, &y});
  check_same_dtype(op, {&x, &w, &y});
  check_shape(op, x, {d.n_batch, d.c_in, d.length}, "x");
  check_shape(op, y, {d.n_batch, d.c_out, d.length}, y_name);
  check_bias(op, bias, x, d);
  return d;
}

// An optional (B,Cout,L) tensor beside a forward op's output (pre-activation, residual).
void check_optional_like_output(const char* op, const Tensor& t, const Tensor& x,
                                const Conv1dDims& d, const char* name) {
  if (!t.defined()) return;
  check_contiguous(op, t, name);
  check_same_device(op, {&x, &t});
  check_same_dtype(op, {&x, &t});
  check_shape(op, t, {d.n_batch, d.c_out, d.length}, name);
}

}  // namespace

void conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                    Tensor& y) {
  const char* op = "conv1d_forward";
  [[maybe_unused]] const Conv1dDims d = forward_dims(op, x, w, bias, s, y, "y");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_forward_cuda(x.raw_data(), w.raw_data(),
                                                     bias.defined() ? bias.raw_data() : nullptr,
                                                     y.raw_data(), x.dtype(), d));
    return;
  }
  detail::conv1d_forward_gemm(x, w, bias, s, y);
}

void conv1d_forward_act(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv1dSpec& s,
                        Unary act, Tensor& pre, Tensor& out, const Tensor& residual) {
  const char* op = "conv1d_forward_act";
  const Conv1dDims d = forward_dims(op, x, w, bias, s, out, "out");
  check_optional_like_output(op, pre, x, d, "pre");
  check_optional_like_output(op, residual, x, d, "residual");
  NAQS_CHECK(!pre.defined() || out.raw_data() != pre.raw_data() || out.numel() == 0, op,
             ": out must not alias pre");
  if (x.device().is_cuda()) {  // the three ops' own kernels
    Tensor& y = pre.defined() ? pre : out;
    conv1d_forward(x, w, bias, s, y);
    unary(act, y, out);
    if (residual.defined()) binary(Binary::add, out, residual, out);
    return;
  }
  if (d.n_batch * d.c_out * d.length == 0) return;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    with_unary(act, [&](auto ft) {
      forward_im2col<T, decltype(ft)::value>(x.data<T>(), w.data<T>(), data_or_null<T>(bias),
                                             pre.defined() ? pre.data<T>() : nullptr, d,
                                             out.data<T>(),
                                             residual.defined() ? residual.data<T>() : nullptr);
    });
  });
}

void conv1d_backward_input(const Tensor& dy, const Tensor& w, const Conv1dSpec& s, Tensor& dx,
                           bool accumulate) {
  const char* op = "conv1d_backward_input";
  const Conv1dDims d = conv_dims(op, dx, "dx", w, "w", s);
  check_defined(op, dy, "dy");
  check_contiguous(op, dy, "dy");
  check_same_device(op, {&dy, &w, &dx});
  check_same_dtype(op, {&dy, &w, &dx});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (dy.device().is_cuda()) {
    set_cuda_device(dy);
    NAQS_CUDA_BRANCH(op,
                     detail::conv1d_backward_input_cuda(dy.raw_data(), w.raw_data(), dx.raw_data(),
                                                        dy.dtype(), d, accumulate));
    return;
  }
  detail::conv1d_backward_input_gemm(dy, w, s, dx, accumulate);
}

void conv1d_backward_weight(const Tensor& x, const Tensor& dy, const Conv1dSpec& s, Tensor& dw,
                            bool accumulate) {
  const char* op = "conv1d_backward_weight";
  const Conv1dDims d = conv_dims(op, x, "x", dw, "dw", s);
  check_defined(op, dy, "dy");
  check_contiguous(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_cuda(
                             x.raw_data(), dy.raw_data(), dw.raw_data(), x.dtype(), d, accumulate));
    return;
  }
  detail::conv1d_backward_weight_gemm(x, dy, s, dw, accumulate);
}

void conv1d_backward_weight_per_sample(const Tensor& x, const Tensor& dy, const Conv1dSpec& s,
                                       Tensor& dw) {
  const char* op = "conv1d_backward_weight_per_sample";
  const Conv1dDims d = conv_dims(op, x, "x", dw, "dw", s, /*per_sample=*/true);
  check_defined(op, dy, "dy");
  check_contiguous(op, dy, "dy");
  check_same_device(op, {&x, &dy, &dw});
  check_same_dtype(op, {&x, &dy, &dw});
  check_shape(op, dy, {d.n_batch, d.c_out, d.length}, "dy");
  check_shape(op, dw, {d.n_batch, d.c_out, d.c_in, d.kernel}, "dw");
  if (x.device().is_cuda()) {
    set_cuda_device(x);
    NAQS_CUDA_BRANCH(op, detail::conv1d_backward_weight_per_sample_cuda(
                             x.raw_data(), dy.raw_data(), dw.raw_data(), x.dtype(), d));
    return;
  }
  if (dw.numel() == 0) return;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    backward_weight_per_sample_im2col(x.data<T>(), dy.data<T>(), dw.data<T>(), d);
  });
}

}  // namespace naqs::ops
