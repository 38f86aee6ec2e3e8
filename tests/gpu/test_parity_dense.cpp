// CUDA vs CPU parity of the dense ops (host/ops/{gemm,elementwise,fill,reduce,softmax,gather}):
// random inputs with odd sizes (1, 17, 1025, GEMM 17x33x1025), f32 and f64, CUDA outputs written
// into Guarded buffers (a write past the end changes the guard sentinel). Every comparison states
// its tolerance and why. Skips (reported as skipped by ctest) without a CUDA device.
#include <cfloat>
#include <cmath>

#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gather.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/reduce.hpp"
#include "host/ops/softmax.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;
using naqs::testing::all_close;
using naqs::testing::Guarded;
using naqs::testing::guarded_copy;
using naqs::testing::random_tensor;

namespace {

const Device kGpu = Device::cuda(0);
const DType kFloatTypes[] = {DType::f32, DType::f64};
const int64_t kSizes[] = {1, 17, 1025};
// Shapes for the ops along an axis; every axis of each is tested.
const Shape kAxisShapes[] = {{1}, {1025}, {17, 1025}, {5, 17, 3}, {1, 1025, 1}, {1025, 1, 17}};

double eps(DType t) { return t == DType::f32 ? FLT_EPSILON : DBL_EPSILON; }

}  // namespace

// ---- gemm -------------------------------------------------------------------------------

// Tolerance 2*K*eps (inputs in [-1,1], so sum |a||b| <= K): cuBLAS and OpenBLAS add the K
// products in different orders (blocking, FMA), each within K*eps of the exact sum.
TEST(ParityDense, Gemm) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk sizes[] = {{1, 1, 1}, {17, 33, 1025}, {1025, 17, 33}, {33, 1025, 17}, {1, 1025, 17}};
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const Mnk& s : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          const Shape sa = ta ? Shape{s.k, s.m} : Shape{s.m, s.k};
          const Shape sb = tb ? Shape{s.n, s.k} : Shape{s.k, s.n};
          Tensor a = random_tensor(sa, dt, ++seed), b = random_tensor(sb, dt, ++seed);
          Tensor c = random_tensor({s.m, s.n}, dt, ++seed);
          const double beta = (ta + tb) % 2 ? 0.5 : 0.0;
          Guarded g = guarded_copy(c, kGpu);
          gemm(a, b, c, ta, tb, 1.5, beta);
          gemm(a.to(kGpu), b.to(kGpu), g.out, ta, tb, 1.5, beta);
          const double tol = 2 * (1.5 * s.k + 1) * eps(dt);
          EXPECT_TRUE(all_close(g.out, c, tol, 0)) << dtype_name(dt) << " " << s.m << "x" << s.n
                                                   << "x" << s.k << " ta " << ta << " tb " << tb;
          EXPECT_TRUE(g.guards_intact());
        }
}

// Tolerance as for Gemm (2*K*eps): different summation orders of K products per element.
TEST(ParityDense, GemmBatched) {
  NAQS_SKIP_WITHOUT_GPU();
  const int64_t batch = 3, m = 17, n = 33, k = 65;
  uint64_t seed = 200;
  for (DType dt : kFloatTypes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        Tensor a = random_tensor(ta ? Shape{batch, k, m} : Shape{batch, m, k}, dt, ++seed);
        Tensor b = random_tensor(tb ? Shape{batch, n, k} : Shape{batch, k, n}, dt, ++seed);
        Tensor c = random_tensor({batch, m, n}, dt, ++seed);
        Guarded g = guarded_copy(c, kGpu);
        gemm_batched(a, b, c, ta, tb, -1.0, 2.0);
        gemm_batched(a.to(kGpu), b.to(kGpu), g.out, ta, tb, -1.0, 2.0);
        EXPECT_TRUE(all_close(g.out, c, 2 * (k + 2) * eps(dt), 0))
            << dtype_name(dt) << " ta " << ta << " tb " << tb;
        EXPECT_TRUE(g.guards_intact());
      }
}

TEST(ParityDense, DeviceMismatchErrorsNameTensors) {
  NAQS_SKIP_WITHOUT_GPU();
  Tensor a = Tensor::zeros({2, 2}, DType::f32);
  Tensor b = Tensor::zeros({2, 2}, DType::f32, kGpu);
  Tensor c = Tensor::zeros({2, 2}, DType::f32, kGpu);
  try {
    gemm(a, b, c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gemm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[2,2]@cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32[2,2]@cuda:0"), std::string::npos) << msg;
  }
  EXPECT_THROW(binary(Binary::add, a, b, c), Error);
  EXPECT_THROW(cast(a, c), Error);
}

// ---- elementwise ------------------------------------------------------------------------

// Tolerance 8 eps (absolute and relative): CUDA's exp/log/tanh/expm1/log1p are within 2 ulp of
// the correctly rounded value (CUDA Programming Guide, mathematical functions), glibc within 1;
// cancellation in 1 - tanh^2 and s*(1-s) turns that into a few eps absolute. gelu's erfc is
// within 5 ulp on CUDA, but only in its tail (x << 0), where |gelu| << 1 and the absolute 8 eps
// covers it; gelu_tanh and silu go through sigmoid's exp.
TEST(ParityDense, UnaryAndBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Unary all[] = {Unary::relu, Unary::selu, Unary::tanh,     Unary::sigmoid,
                       Unary::exp,  Unary::log,  Unary::softplus, Unary::square,
                       Unary::sqrt, Unary::abs,  Unary::neg,      Unary::gelu,
                       Unary::gelu_tanh, Unary::silu};
  uint64_t seed = 300;
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (Unary f : all) {
        const bool positive = f == Unary::log || f == Unary::sqrt;
        Tensor x = random_tensor({n}, dt, ++seed, positive ? 0.1 : -3.0, 3.0);
        Tensor dy = random_tensor({n}, dt, ++seed);
        Tensor y = Tensor::zeros({n}, dt), dx = Tensor::zeros({n}, dt);
        unary(f, x, y);
        unary_backward(f, x, dy, dx);
        Guarded gy({n}, dt, kGpu), gdx({n}, dt, kGpu);
        Tensor xg = x.to(kGpu);
        unary(f, xg, gy.out);
        unary_backward(f, xg, dy.to(kGpu), gdx.out);
        const double tol = 8 * eps(dt);
        EXPECT_TRUE(all_close(gy.out, y, tol, tol)) << unary_name(f) << " " << dtype_name(dt);
        EXPECT_TRUE(all_close(gdx.out, dx, tol, tol)) << unary_name(f) << "' " << dtype_name(dt);
        EXPECT_TRUE(gy.guards_intact() && gdx.guards_intact()) << unary_name(f);
        Tensor in_place = xg.clone();  // y may alias x
        unary(f, in_place, in_place);
        EXPECT_TRUE(all_close(in_place, y, tol, tol)) << unary_name(f) << " in place";
      }
}

// Tolerance 0 for binary: +,-,*,/ (nvcc's default IEEE division), max, min are correctly
// rounded on both sides. axpby: 2 eps * (|alpha x| + |beta y|) <= 4 eps absolute, because nvcc
// fuses alpha*x + beta*y into an FMA (one rounding fewer than the CPU loop).
TEST(ParityDense, BinaryAxpbyScale) {
  NAQS_SKIP_WITHOUT_GPU();
  const Binary all[] = {Binary::add, Binary::sub,     Binary::mul,
                        Binary::div, Binary::maximum, Binary::minimum};
  uint64_t seed = 400;
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes) {
      Tensor a = random_tensor({n}, dt, ++seed), b = random_tensor({n}, dt, ++seed, 0.5, 1.5);
      for (Binary f : all) {
        Tensor c = Tensor::zeros({n}, dt);
        binary(f, a, b, c);
        Guarded g({n}, dt, kGpu);
        binary(f, a.to(kGpu), b.to(kGpu), g.out);
        EXPECT_TRUE(all_close(g.out, c, 0, 0)) << binary_name(f) << " " << dtype_name(dt);
        EXPECT_TRUE(g.guards_intact()) << binary_name(f);
      }
      Tensor y = b.clone();
      Guarded gy = guarded_copy(b, kGpu);
      axpby(0.75, a, -1.25, y);
      axpby(0.75, a.to(kGpu), -1.25, gy.out);
      EXPECT_TRUE(all_close(gy.out, y, 4 * eps(dt), 0)) << "axpby " << dtype_name(dt);
      scale(y, 3.0);
      scale(gy.out, 3.0);
      EXPECT_TRUE(all_close(gy.out, y, 12 * eps(dt), 0)) << "scale " << dtype_name(dt);
      EXPECT_TRUE(gy.guards_intact());
    }
}

// bias_add: tolerance 0 (one correctly rounded addition per element on both sides).
// bias_backward: both sides sum in double in different orders, then round to the dtype:
// atol = count*eps64 (f64 order error), rtol = eps (f32: the double sums may round to
// neighbouring floats).
TEST(ParityDense, BiasAddAndBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Shape shapes[] = {{1}, {17, 1025}, {3, 17, 5}, {1025, 1, 17}};
  uint64_t seed = 500;
  for (DType dt : kFloatTypes)
    for (const Shape& shape : shapes)
      for (int axis = 0; axis < shape.rank; ++axis) {
        Tensor x = random_tensor(shape, dt, ++seed);
        Tensor bias = random_tensor({shape[axis]}, dt, ++seed);
        Guarded gx = guarded_copy(x, kGpu);
        bias_add(x, bias, axis);
        bias_add(gx.out, bias.to(kGpu), axis);
        EXPECT_TRUE(all_close(gx.out, x, 0, 0)) << shape.str() << " axis " << axis;
        EXPECT_TRUE(gx.guards_intact());
        Tensor db = random_tensor({shape[axis]}, dt, ++seed);
        Guarded gdb = guarded_copy(db, kGpu);
        const bool accumulate = axis % 2 == 1;
        bias_backward(x, axis, db, accumulate);
        bias_backward(gx.out, axis, gdb.out, accumulate);
        const double rtol = dt == DType::f32 ? FLT_EPSILON : 0.0;
        EXPECT_TRUE(all_close(gdb.out, db, shape.numel() * DBL_EPSILON, rtol))
            << shape.str() << " axis " << axis << " " << dtype_name(dt);
        EXPECT_TRUE(gdb.guards_intact());
      }
}

// ---- fill / copy / cast: tolerance 0 (one exactly defined conversion per element) ----------
TEST(ParityDense, FillCopyCast) {
  NAQS_SKIP_WITHOUT_GPU();
  const DType all[] = {DType::f32, DType::f64, DType::i32, DType::u8};
  for (int64_t n : kSizes)
    for (DType to : all) {
      Guarded g({n}, to, kGpu);
      fill(g.out, 7.0);
      EXPECT_TRUE(all_close(g.out, Tensor::full({n}, 7.0, to), 0, 0)) << dtype_name(to);
      EXPECT_TRUE(g.guards_intact());
      for (DType from : all) {
        Tensor src = random_tensor({n}, from, n, 0.0, 200.0);  // representable in every dtype
        Tensor want = Tensor::zeros({n}, to);
        cast(src, want);
        Guarded gc({n}, to, kGpu);
        cast(src.to(kGpu), gc.out);
        EXPECT_TRUE(all_close(gc.out, want, 0, 0)) << dtype_name(from) << "->" << dtype_name(to);
        EXPECT_TRUE(gc.guards_intact());
      }
      Tensor host = random_tensor({n}, to, 3, 0.0, 100.0);
      Guarded gd({n}, to, kGpu);
      copy(host, gd.out);  // host -> device
      Tensor back = Tensor::zeros({n}, to);
      copy(gd.out, back);  // device -> host
      EXPECT_TRUE(all_close(back, host, 0, 0));
      EXPECT_TRUE(gd.guards_intact());
    }
}

// ---- reductions / softmax -------------------------------------------------------------------

// Both backends accumulate in double, in different orders, with exp/log within 1-2 ulp:
// atol 8*(n+1)*eps64 (order of an n-term double sum of values <= e), rtol FLT_EPSILON for f32
// (two close doubles may round to neighbouring floats) and 8*eps64 for f64 (exp/log ulps).
double axis_atol(int64_t n) { return 8.0 * (n + 1) * DBL_EPSILON; }
double axis_rtol(DType dt) { return dt == DType::f32 ? FLT_EPSILON : 8 * DBL_EPSILON; }

TEST(ParityDense, ReduceAndBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  const Reduce kinds[] = {Reduce::sum, Reduce::mean, Reduce::max, Reduce::logsumexp};
  uint64_t seed = 600;
  for (DType dt : kFloatTypes)
    for (const Shape& shape : kAxisShapes)
      for (int axis = 0; axis < shape.rank; ++axis)
        for (Reduce kind : kinds) {
          Tensor x = random_tensor(shape, dt, ++seed);
          const Shape rs = reduced_shape(x, axis);
          Tensor out = Tensor::zeros(rs, dt);
          reduce(kind, x, axis, out);
          Tensor xg = x.to(kGpu);
          Guarded gout(rs, dt, kGpu);
          reduce(kind, xg, axis, gout.out);
          const std::string what = std::string(reduce_name(kind)) + " " + dtype_name(dt) +
                                   shape.str() + " axis " + std::to_string(axis);
          const double atol = axis_atol(shape[axis]), rtol = axis_rtol(dt);
          EXPECT_TRUE(all_close(gout.out, out, atol, rtol)) << what;
          EXPECT_TRUE(gout.guards_intact()) << what;
          // Backward from the same (CPU) out and dout on both sides.
          Tensor dout = random_tensor(rs, dt, ++seed), dx = Tensor::zeros(shape, dt);
          reduce_backward(kind, x, out, dout, axis, dx);
          Guarded gdx(shape, dt, kGpu);
          reduce_backward(kind, xg, out.to(kGpu), dout.to(kGpu), axis, gdx.out);
          EXPECT_TRUE(all_close(gdx.out, dx, atol, rtol)) << what << " backward";
          EXPECT_TRUE(gdx.guards_intact()) << what << " backward";
        }
}

// Tolerance axis_atol/axis_rtol (see above): double row sums in different orders, exp ulps.
TEST(ParityDense, SoftmaxAndBackward) {
  NAQS_SKIP_WITHOUT_GPU();
  uint64_t seed = 700;
  for (DType dt : kFloatTypes)
    for (const Shape& shape : kAxisShapes)
      for (int axis = 0; axis < shape.rank; ++axis)
        for (bool log : {false, true}) {
          Tensor x = random_tensor(shape, dt, ++seed, -5, 5);
          Tensor y = Tensor::zeros(shape, dt);
          Guarded gy(shape, dt, kGpu);
          if (log) {
            log_softmax(x, axis, y);
            log_softmax(x.to(kGpu), axis, gy.out);
          } else {
            softmax(x, axis, y);
            softmax(x.to(kGpu), axis, gy.out);
          }
          const std::string what = std::string(log ? "log_softmax " : "softmax ") + dtype_name(dt) +
                                   shape.str() + " axis " + std::to_string(axis);
          const double atol = axis_atol(shape[axis]), rtol = axis_rtol(dt);
          EXPECT_TRUE(all_close(gy.out, y, atol, rtol)) << what;
          EXPECT_TRUE(gy.guards_intact()) << what;
          Tensor dy = random_tensor(shape, dt, ++seed), dx = Tensor::zeros(shape, dt);
          Guarded gdx(shape, dt, kGpu);
          Tensor yg = y.to(kGpu);  // the same y on both sides
          if (log) {
            log_softmax_backward(y, dy, axis, dx);
            log_softmax_backward(yg, dy.to(kGpu), axis, gdx.out);
          } else {
            softmax_backward(y, dy, axis, dx);
            softmax_backward(yg, dy.to(kGpu), axis, gdx.out);
          }
          EXPECT_TRUE(all_close(gdx.out, dx, atol, rtol)) << what << " backward";
          EXPECT_TRUE(gdx.guards_intact()) << what << " backward";
          Tensor in_place = x.to(kGpu);  // y may alias x
          softmax(in_place, axis, in_place);
          Tensor want = Tensor::zeros(shape, dt);
          softmax(x, axis, want);
          EXPECT_TRUE(all_close(in_place, want, atol, rtol)) << what << " in place";
        }
}

// ---- gather / scatter_add -------------------------------------------------------------------

// gather: tolerance 0 (a copy). scatter_add: CUDA adds colliding entries with atomics in any
// order; each element receives at most n_index terms of size <= 1, so atol n_index * eps.
TEST(ParityDense, GatherScatterAdd) {
  NAQS_SKIP_WITHOUT_GPU();
  uint64_t seed = 800;
  for (DType dt : kFloatTypes)
    for (const Shape& shape : kAxisShapes)
      for (int axis = 0; axis < shape.rank; ++axis)
        for (int64_t n_index : {int64_t{1}, int64_t{17}, int64_t{1025}}) {
          const int64_t n_table = shape[axis];
          Shape index_shape = shape;
          index_shape[axis] = n_index;
          Tensor table = random_tensor(shape, dt, ++seed);
          Tensor index = random_tensor(index_shape, DType::i32, ++seed, 0, double(n_table));
          const std::string what = std::string(dtype_name(dt)) + shape.str() + " axis " +
                                   std::to_string(axis) + " n_index " + std::to_string(n_index);
          Tensor out = Tensor::zeros(index_shape, dt);
          gather(table, index, axis, out);
          Guarded gout(index_shape, dt, kGpu);
          Tensor index_g = index.to(kGpu);
          gather(table.to(kGpu), index_g, axis, gout.out);
          EXPECT_TRUE(all_close(gout.out, out, 0, 0)) << what;
          EXPECT_TRUE(gout.guards_intact()) << what;
          Tensor acc = table.clone();
          Guarded gacc = guarded_copy(table, kGpu);
          scatter_add(out, index, axis, acc);
          scatter_add(gout.out, index_g, axis, gacc.out);
          EXPECT_TRUE(all_close(gacc.out, acc, n_index * eps(dt), 0)) << what;
          EXPECT_TRUE(gacc.guards_intact()) << what;
        }
}

TEST(ParityDense, GatherBadIndexIsAnError) {
  NAQS_SKIP_WITHOUT_GPU();
  Tensor src = Tensor::zeros({2, 3}, DType::f32, kGpu),
         out = Tensor::zeros({2, 2}, DType::f32, kGpu);
  Tensor index = Tensor::from_vector<int32_t>({0, 1, 2, 3}, {2, 2}, kGpu);
  try {
    gather(src, index, 1, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gather: index 3 at flat position 3"), std::string::npos) << msg;
  }
  Tensor neg = Tensor::from_vector<int32_t>({0, -1, 2, -5}, {2, 2}, kGpu);
  try {
    scatter_add(out, neg, 1, src);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("scatter_add: index -1 at flat position 1"), std::string::npos) << msg;
  }
}
