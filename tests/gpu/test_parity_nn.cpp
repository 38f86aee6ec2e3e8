// CUDA vs CPU parity of the layer kit (nn/layers.hpp) and its ops: layernorm / rmsnorm
// (host/ops/norm.hpp, cuda/norm.cu), embedding (host/ops/embedding.hpp, cuda/embedding.cu), the
// masked softmax (host/ops/softmax.hpp, cuda/softmax.cu) and linear (ops::gemm + bias ops).
// Odd sizes (1, 17, 1025 rows), f32 and f64, CUDA outputs in Guarded buffers (a write past the end
// changes the guard sentinel), accumulate on and off. Each comparison states its tolerance and
// why. GELU / SiLU parity is in test_parity_dense.cpp (UnaryAndBackward). Skips without a GPU.
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "host/ops/embedding.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/norm.hpp"
#include "host/ops/softmax.hpp"
#include "nn/layers.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::guarded_copy;
using naqs::testing::random_tensor;

namespace {

const Device kGpu = Device::cuda(0);
const DType kFloatTypes[] = {DType::f32, DType::f64};

double eps(DType t) { return t == DType::f32 ? FLT_EPSILON : DBL_EPSILON; }

// Both backends sum in double, in different orders (CPU sequential, CUDA block trees / chunks,
// nvcc contracting a*b + c into FMAs): a sum of n terms of size <= `scale` differs by at most
// ~ n * 2^-53 * scale between them, then each side rounds once to the dtype (f32: one ulp,
// FLT_EPSILON relative; f64: a few ulp).
double sum_atol(int64_t n, double scale) { return 8.0 * double(n + 1) * DBL_EPSILON * scale; }
double sum_rtol(DType dt) { return dt == DType::f32 ? FLT_EPSILON : 8 * DBL_EPSILON; }

Shape with_last(Shape s, int64_t last) {
  s[s.rank - 1] = last;
  return s;
}

}  // namespace

// ---- layernorm / rmsnorm -------------------------------------------------------------------

// Tolerance sum_atol(C, 4) / sum_rtol for y, mean, rstd and dx: row sums of C terms (|xhat|,
// |gamma|, |dy| <= ~2 for inputs in [-1, 1], so |terms| <= 4); sum_atol(R, 4) for dgamma / dbeta
// (sums over the R / G rows of a group). The backward gets the CPU's mean / rstd on both sides.
TEST(ParityNn, NormForwardBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Shape shapes[] = {{1, 1}, {17, 17}, {1025, 17}, {17, 1025}, {3, 5, 257}};
  uint64_t seed = 1000;
  for (DType dt : kFloatTypes)
    for (const Shape& shape : shapes)
      for (bool rms : {false, true})
        for (bool accumulate : {false, true}) {
          const int64_t c = shape[shape.rank - 1], rows = shape.numel() / c;
          const int64_t groups = shape.rank == 3 ? shape[0] : 1;
          const Shape stat_shape = shape.rank == 3 ? Shape{shape[0], shape[1]} : Shape{shape[0]};
          const std::string what = std::string(rms ? "rmsnorm " : "layernorm ") + dtype_name(dt) +
                                   shape.str() + (accumulate ? " accumulate" : "");
          Tensor x = random_tensor(shape, dt, ++seed), gamma = random_tensor({c}, dt, ++seed);
          Tensor beta = rms ? Tensor() : random_tensor({c}, dt, ++seed);
          Tensor y = Tensor::zeros(shape, dt), mean = Tensor::zeros(stat_shape, dt);
          Tensor rstd = Tensor::zeros(stat_shape, dt);
          Guarded gy(shape, dt, kGpu), gmean(stat_shape, dt, kGpu), grstd(stat_shape, dt, kGpu);
          if (rms) {
            ops::rmsnorm_forward(x, gamma, 1e-5, y, rstd);
            ops::rmsnorm_forward(x.to(kGpu), gamma.to(kGpu), 1e-5, gy.out, grstd.out);
          } else {
            ops::layernorm_forward(x, gamma, beta, 1e-5, y, mean, rstd);
            ops::layernorm_forward(x.to(kGpu), gamma.to(kGpu), beta.to(kGpu), 1e-5, gy.out,
                                   gmean.out, grstd.out);
            EXPECT_TRUE(all_close(gmean.out, mean, sum_atol(c, 1), sum_rtol(dt))) << what;
          }
          const double row_atol = sum_atol(c, 4), rtol = sum_rtol(dt);
          EXPECT_TRUE(all_close(gy.out, y, row_atol, rtol)) << what << " y";
          EXPECT_TRUE(all_close(grstd.out, rstd, row_atol, rtol)) << what << " rstd";
          EXPECT_TRUE(gy.guards_intact() && gmean.guards_intact() && grstd.guards_intact())
              << what;

          Tensor dy = random_tensor(shape, dt, ++seed);
          Tensor dx = random_tensor(shape, dt, ++seed);  // accumulate adds to these
          Tensor dgamma = random_tensor({groups, c}, dt, ++seed);
          Tensor dbeta = random_tensor({groups, c}, dt, ++seed);
          Guarded gdx = guarded_copy(dx, kGpu), gdgamma = guarded_copy(dgamma, kGpu),
                  gdbeta = guarded_copy(dbeta, kGpu);
          const Tensor mean_g = rms ? Tensor() : mean.to(kGpu);
          if (rms) {
            ops::rmsnorm_backward(dy, x, gamma, rstd, dx, dgamma, accumulate);
            ops::rmsnorm_backward(dy.to(kGpu), x.to(kGpu), gamma.to(kGpu), rstd.to(kGpu), gdx.out,
                                  gdgamma.out, accumulate);
          } else {
            ops::layernorm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, accumulate);
            ops::layernorm_backward(dy.to(kGpu), x.to(kGpu), gamma.to(kGpu), mean_g,
                                    rstd.to(kGpu), gdx.out, gdgamma.out, gdbeta.out, accumulate);
            EXPECT_TRUE(all_close(gdbeta.out, dbeta, sum_atol(rows / groups, 4), rtol)) << what;
          }
          EXPECT_TRUE(all_close(gdx.out, dx, row_atol, rtol)) << what << " dx";
          EXPECT_TRUE(all_close(gdgamma.out, dgamma, sum_atol(rows / groups, 4), rtol))
              << what << " dgamma";
          EXPECT_TRUE(gdx.guards_intact() && gdgamma.guards_intact() && gdbeta.guards_intact())
              << what;
        }
}

// ---- embedding -----------------------------------------------------------------------------

// Tolerance 0: the forward is a copy (or one addition, the same on both sides); the backward
// performs the same double additions in the same order (ascending positions per id) on both
// sides and rounds once.
TEST(ParityNn, EmbeddingForwardBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t batch, t_len, vocab, c, groups;
  };
  const Case cases[] = {{1, 1, 1, 1, 1},     {1, 17, 5, 17, 1},  {17, 1, 1025, 3, 17},
                        {5, 205, 17, 65, 5}, {1, 1025, 3, 33, 1}, {3, 1025, 1025, 1, 3}};
  uint64_t seed = 2000;
  for (DType dt : kFloatTypes)
    for (const Case& k : cases)
      for (bool accumulate : {false, true}) {
        const std::string what = std::string(dtype_name(dt)) + " B " + std::to_string(k.batch) +
                                 " T " + std::to_string(k.t_len) + " V " +
                                 std::to_string(k.vocab) + " C " + std::to_string(k.c) + " G " +
                                 std::to_string(k.groups) + (accumulate ? " accumulate" : "");
        Tensor ids = random_tensor({k.batch, k.t_len}, DType::i32, ++seed, 0, double(k.vocab));
        Tensor table = random_tensor({k.vocab, k.c}, dt, ++seed);
        Tensor out = random_tensor({k.batch, k.t_len, k.c}, dt, ++seed);
        Guarded gout = guarded_copy(out, kGpu);
        ops::embedding_forward(ids, table, out, accumulate);
        ops::embedding_forward(ids.to(kGpu), table.to(kGpu), gout.out, accumulate);
        EXPECT_TRUE(all_close(gout.out, out, 0, 0)) << what << " forward";
        EXPECT_TRUE(gout.guards_intact()) << what << " forward";

        const Shape table_shape =
            k.groups == 1 ? Shape{k.vocab, k.c} : Shape{k.groups, k.vocab, k.c};
        Tensor dtable = random_tensor(table_shape, dt, ++seed);
        Guarded gdtable = guarded_copy(dtable, kGpu);
        ops::embedding_backward(ids, out, dtable, accumulate);
        ops::embedding_backward(ids.to(kGpu), out.to(kGpu), gdtable.out, accumulate);
        EXPECT_TRUE(all_close(gdtable.out, dtable, 0, 0)) << what << " backward";
        EXPECT_TRUE(gdtable.guards_intact()) << what << " backward";
      }
}

TEST(ParityNn, EmbeddingBadIdIsTheSameError) {
  NAQS_SKIP_WITHOUT_GPU();
  Tensor table = Tensor::zeros({5, 2}, DType::f32, kGpu);
  Tensor out = Tensor::zeros({2, 2, 2}, DType::f32, kGpu);
  Tensor dtable = Tensor::full({5, 2}, 7.0, DType::f32, kGpu);
  Tensor ids = Tensor::from_vector<int32_t>({0, 4, 5, -1}, {2, 2}, kGpu);
  for (int backward = 0; backward < 2; ++backward) {
    try {
      if (backward)
        ops::embedding_backward(ids, out, dtable);
      else
        ops::embedding_forward(ids, table, out);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(backward ? "embedding_backward: index 5 at flat position 2"
                                  : "embedding_forward: index 5 at flat position 2"),
                std::string::npos)
          << msg;
    }
  }
  EXPECT_TRUE(all_close(dtable, Tensor::full({5, 2}, 7.0, DType::f32), 0, 0))
      << "the backward writes nothing";
}

// ---- masked softmax ------------------------------------------------------------------------

// Tolerance sum_atol(Tk, 1) / sum_rtol as the plain softmax parity: double row sums in different
// orders and exp within 2 ulp (CUDA) vs 1 ulp (glibc). Masked entries and fully masked rows are
// exactly 0 on both sides.
TEST(ParityNn, MaskedSoftmax) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Case {
    Shape x, mask;  // mask rank 0: none
    bool causal;
    int64_t offset;
  };
  const Case cases[] = {
      {{1, 1, 1, 1}, {}, true, 0},             {{2, 3, 17, 17}, {}, true, 0},
      {{1, 2, 1, 1025}, {}, true, 1024},       {{3, 1, 17, 1025}, {3, 1, 1, 1025}, true, 1008},
      {{2, 3, 17, 33}, {17, 33}, false, 0},    {{1025, 17}, {1025, 17}, true, 3},
      {{5, 17, 1025}, {5, 1, 1025}, false, 0},
  };
  uint64_t seed = 3000;
  const double inf = std::numeric_limits<double>::infinity();
  for (DType dt : kFloatTypes)
    for (const Case& k : cases) {
      const std::string what = std::string(dtype_name(dt)) + k.x.str() + " mask " + k.mask.str() +
                               (k.causal ? " causal offset " + std::to_string(k.offset) : "");
      Tensor x = random_tensor(k.x, dt, ++seed, -5, 5);
      ops::SoftmaxMask mask;
      mask.causal = k.causal;
      mask.query_offset = k.offset;
      if (k.mask.rank > 0) {
        Tensor m = random_tensor(k.mask, DType::f64, ++seed, -2, 2);
        double* pm = m.data<double>();
        for (int64_t i = 0; i < m.numel(); i += 7) pm[i] = -inf;  // some masked keys
        // one fully masked mask row (every key of the rows it broadcasts to)
        const int64_t tk = k.mask[k.mask.rank - 1];
        for (int64_t j = 0; j < tk; ++j) pm[(m.numel() / tk - 1) * tk + j] = -inf;
        mask.additive = Tensor::empty(k.mask, dt);
        ops::cast(m, mask.additive);
      }
      Tensor y = Tensor::zeros(k.x, dt);
      Guarded gy(k.x, dt, kGpu);
      ops::masked_softmax(x, mask, y);
      ops::SoftmaxMask gmask = mask;
      if (mask.additive.defined()) gmask.additive = mask.additive.to(kGpu);
      ops::masked_softmax(x.to(kGpu), gmask, gy.out);
      const double atol = sum_atol(k.x[k.x.rank - 1], 1), rtol = sum_rtol(dt);
      EXPECT_TRUE(all_close(gy.out, y, atol, rtol)) << what;
      EXPECT_TRUE(gy.guards_intact()) << what;
      Tensor in_place = x.to(kGpu);  // y may alias x
      ops::masked_softmax(in_place, gmask, in_place);
      EXPECT_TRUE(all_close(in_place, y, atol, rtol)) << what << " in place";
      // Exact zeros where the CPU has them (masked entries, fully masked rows).
      Tensor yc = Tensor::empty(k.x, DType::f64), gc = Tensor::empty(k.x, DType::f64);
      ops::cast(y, yc);
      ops::cast(gy.out.to(Device::cpu()), gc);
      const double* py = yc.data<double>();
      const double* pg = gc.data<double>();
      int64_t zeros_differ = 0;
      for (int64_t i = 0; i < yc.numel(); ++i) zeros_differ += (py[i] == 0.0) != (pg[i] == 0.0);
      EXPECT_EQ(zeros_differ, 0) << what;
    }
}

// ---- linear ---------------------------------------------------------------------------------

// Tolerance 2 * K * eps(dtype) * 2 (K products of inputs in [-1, 1] in different orders by cuBLAS
// and OpenBLAS, plus the accumulated operand) as the GEMM parity; K = C for out, OC for dinp, the
// rows N for dweight, the rows per sample for the per-sample dweight; bias sums as sum_atol.
TEST(ParityNn, LinearForwardBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t batch, t_len, c, oc;
  };
  const Case cases[] = {{1, 1, 1, 1}, {3, 17, 33, 1025}, {17, 1, 1025, 17}, {5, 205, 17, 33}};
  uint64_t seed = 4000;
  for (DType dt : kFloatTypes)
    for (const Case& k : cases)
      for (bool accumulate : {false, true}) {
        const std::string what = std::string(dtype_name(dt)) + " B " + std::to_string(k.batch) +
                                 " T " + std::to_string(k.t_len) + " C " + std::to_string(k.c) +
                                 " OC " + std::to_string(k.oc) + (accumulate ? " accumulate" : "");
        const Shape in_shape{k.batch, k.t_len, k.c}, out_shape = with_last(in_shape, k.oc);
        const int64_t n = k.batch * k.t_len;
        Tensor inp = random_tensor(in_shape, dt, ++seed), weight = random_tensor({k.oc, k.c}, dt,
                                                                                 ++seed);
        Tensor bias = random_tensor({k.oc}, dt, ++seed), out = Tensor::zeros(out_shape, dt);
        Guarded gout(out_shape, dt, kGpu);
        nn::linear_forward(out, inp, weight, bias);
        nn::linear_forward(gout.out, inp.to(kGpu), weight.to(kGpu), bias.to(kGpu));
        EXPECT_TRUE(all_close(gout.out, out, 4 * (k.c + 1) * eps(dt), 0)) << what << " out";
        EXPECT_TRUE(gout.guards_intact()) << what;

        Tensor dout = random_tensor(out_shape, dt, ++seed);
        Tensor dinp = random_tensor(in_shape, dt, ++seed);
        Tensor dweight = random_tensor({k.oc, k.c}, dt, ++seed);
        Tensor dbias = random_tensor({k.oc}, dt, ++seed);
        Tensor dweight_ps = random_tensor({k.batch, k.oc, k.c}, dt, ++seed);
        Tensor dbias_ps = random_tensor({k.batch, k.oc}, dt, ++seed);
        Guarded gdinp = guarded_copy(dinp, kGpu), gdweight = guarded_copy(dweight, kGpu),
                gdbias = guarded_copy(dbias, kGpu), gdweight_ps = guarded_copy(dweight_ps, kGpu),
                gdbias_ps = guarded_copy(dbias_ps, kGpu);
        nn::linear_backward(dinp, dweight, dbias, dout, inp, weight, accumulate);
        nn::linear_backward_per_sample(dweight_ps, dbias_ps, dout, inp, accumulate);
        const Tensor dout_g = dout.to(kGpu), inp_g = inp.to(kGpu);
        nn::linear_backward(gdinp.out, gdweight.out, gdbias.out, dout_g, inp_g, weight.to(kGpu),
                            accumulate);
        nn::linear_backward_per_sample(gdweight_ps.out, gdbias_ps.out, dout_g, inp_g, accumulate);
        EXPECT_TRUE(all_close(gdinp.out, dinp, 4 * (k.oc + 1) * eps(dt), 0)) << what << " dinp";
        EXPECT_TRUE(all_close(gdweight.out, dweight, 4 * (n + 1) * eps(dt), 0))
            << what << " dweight";
        EXPECT_TRUE(all_close(gdweight_ps.out, dweight_ps, 4 * (k.t_len + 1) * eps(dt), 0))
            << what << " dweight per sample";
        EXPECT_TRUE(all_close(gdbias.out, dbias, sum_atol(n, 1) + 2 * eps(dt), sum_rtol(dt)))
            << what << " dbias";
        EXPECT_TRUE(all_close(gdbias_ps.out, dbias_ps, sum_atol(k.t_len, 1) + 2 * eps(dt),
                              sum_rtol(dt)))
            << what << " dbias per sample";
        EXPECT_TRUE(gdinp.guards_intact() && gdweight.guards_intact() && gdbias.guards_intact() &&
                    gdweight_ps.guards_intact() && gdbias_ps.guards_intact())
            << what;
      }
}
