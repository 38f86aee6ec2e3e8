#include "nn/layers.hpp"

#include "host/ops/embedding.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/norm.hpp"
#include "host/ops/reduce.hpp"

namespace naqs::nn {
namespace {

// s with its last dim replaced by `last`.
Shape with_last(const Shape& s, int64_t last) {
  Shape r = s;
  r[r.rank - 1] = last;
  return r;
}

void check_rank_at_least(const char* op, const Tensor& t, int rank, const char* name) {
  check_defined(op, t, name);
  if (t.rank() < rank)
    throw Error(cat(op, ": ", name, " ", t.str(), " has rank ", t.rank(), "; expected >= ", rank));
}

// Runs compute(target) into dst directly, or, with accumulate, into a scratch tensor that is then
// added to dst (for ops that only overwrite).
template <class Compute>
void write_or_add(Tensor& dst, bool accumulate, Compute&& compute) {
  if (!accumulate) {
    compute(dst);
    return;
  }
  Tensor scratch = Tensor::empty(dst.shape(), dst.dtype(), dst.device());
  compute(scratch);
  ops::axpby(1.0, scratch, 1.0, dst);
}

// Checks of the linear layer: inp (..., C), weight (OC, C), and a tensor (..., OC) named
// rows_name (out or dout). Returns inp as (N, C) and the other as (N, OC).
struct LinearViews {
  Tensor inp2, rows2;
  int64_t c, oc;
};
LinearViews linear_views(const char* op, const Tensor& inp, const Tensor& rows,
                         const char* rows_name, int64_t oc) {
  check_rank_at_least(op, inp, 1, "inp");
  check_defined(op, rows, rows_name);
  const int64_t c = inp.size(-1);
  check_shape(op, rows, with_last(inp.shape(), oc), rows_name);
  return {inp.reshape({-1, c}), rows.reshape({-1, oc}), c, oc};
}

}  // namespace

// ---- linear ----------------------------------------------------------------------------------

void linear_forward(Tensor out, const Tensor& inp, const Tensor& weight, const Tensor& bias) {
  const char* op = "nn::linear_forward";
  check_defined(op, weight, "weight");
  check_rank(op, weight, 2, "weight");
  const LinearViews v = linear_views(op, inp, out, "out", weight.size(0));
  check_shape(op, weight, Shape{v.oc, v.c}, "weight");
  if (bias.defined()) check_shape(op, bias, Shape{v.oc}, "bias");
  Tensor out2 = v.rows2;
  ops::gemm(v.inp2, weight, out2, false, /*trans_b=*/true);
  if (bias.defined()) ops::bias_add(out2, bias, 1);
}

void linear_backward(Tensor dinp, Tensor dweight, Tensor dbias, const Tensor& dout,
                     const Tensor& inp, const Tensor& weight, bool accumulate) {
  const char* op = "nn::linear_backward";
  check_rank_at_least(op, dout, 1, "dout");
  const LinearViews v = linear_views(op, inp, dout, "dout", dout.size(-1));
  const double beta = accumulate ? 1.0 : 0.0;
  if (dinp.defined()) {
    check_defined(op, weight, "weight");
    check_shape(op, weight, Shape{v.oc, v.c}, "weight");
    check_shape(op, dinp, inp.shape(), "dinp");
    Tensor dinp2 = dinp.reshape({-1, v.c});
    ops::gemm(v.rows2, weight, dinp2, false, false, 1.0, beta);  // (N,OC) @ (OC,C)
  }
  if (dweight.defined()) {
    check_shape(op, dweight, Shape{v.oc, v.c}, "dweight");
    ops::gemm(v.rows2, v.inp2, dweight, /*trans_a=*/true, false, 1.0, beta);  // (OC,N) @ (N,C)
  }
  if (dbias.defined()) {
    check_shape(op, dbias, Shape{v.oc}, "dbias");
    ops::bias_backward(v.rows2, 1, dbias, accumulate);
  }
}

void linear_backward_per_sample(Tensor dweight, Tensor dbias, const Tensor& dout,
                                const Tensor& inp, bool accumulate) {
  const char* op = "nn::linear_backward_per_sample";
  check_rank_at_least(op, inp, 2, "inp");
  check_rank_at_least(op, dout, 2, "dout");
  const LinearViews v = linear_views(op, inp, dout, "dout", dout.size(-1));
  const int64_t b = inp.size(0);
  const Tensor dout3 = dout.reshape({b, -1, v.oc});  // (B, T', OC), T' = rows per sample
  if (dweight.defined()) {
    check_shape(op, dweight, Shape{b, v.oc, v.c}, "dweight");
    ops::gemm_batched(dout3, inp.reshape({b, -1, v.c}), dweight, /*trans_a=*/true, false, 1.0,
                      accumulate ? 1.0 : 0.0);  // (B, OC, T') @ (B, T', C)
  }
  if (dbias.defined()) {
    check_shape(op, dbias, Shape{b, v.oc}, "dbias");
    write_or_add(dbias, accumulate,
                 [&](Tensor& target) { ops::reduce(ops::Reduce::sum, dout3, 1, target); });
  }
}

// ---- layernorm / rmsnorm -----------------------------------------------------------------------

void layernorm_forward(Tensor out, Tensor mean, Tensor rstd, const Tensor& inp,
                       const Tensor& weight, const Tensor& bias, double eps) {
  ops::layernorm_forward(inp, weight, bias, eps, out, mean, rstd);
}

void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, const Tensor& dout,
                        const Tensor& inp, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, bool accumulate) {
  const char* op = "nn::layernorm_backward";
  if (dweight.defined()) check_rank(op, dweight, 1, "dweight");
  if (dbias.defined()) check_rank(op, dbias, 1, "dbias");
  ops::layernorm_backward(dout, inp, weight, mean, rstd, dinp, dweight, dbias, accumulate);
}

namespace {
// Per-sample norm gradients: (B, C) with B = inp's leading dim (the op's groups of rows).
void check_per_sample_rows(const char* op, const Tensor& inp, const Tensor& grad,
                           const char* name) {
  check_rank_at_least(op, inp, 2, "inp");
  if (grad.defined()) check_shape(op, grad, Shape{inp.size(0), inp.size(-1)}, name);
}
}  // namespace

void layernorm_backward_per_sample(Tensor dweight, Tensor dbias, const Tensor& dout,
                                   const Tensor& inp, const Tensor& mean, const Tensor& rstd,
                                   bool accumulate) {
  const char* op = "nn::layernorm_backward_per_sample";
  check_per_sample_rows(op, inp, dweight, "dweight");
  check_per_sample_rows(op, inp, dbias, "dbias");
  Tensor none;  // no dinp, so no gamma either
  ops::layernorm_backward(dout, inp, Tensor(), mean, rstd, none, dweight, dbias, accumulate);
}

void rmsnorm_forward(Tensor out, Tensor rstd, const Tensor& inp, const Tensor& weight,
                     double eps) {
  ops::rmsnorm_forward(inp, weight, eps, out, rstd);
}

void rmsnorm_backward(Tensor dinp, Tensor dweight, const Tensor& dout, const Tensor& inp,
                      const Tensor& weight, const Tensor& rstd, bool accumulate) {
  if (dweight.defined()) check_rank("nn::rmsnorm_backward", dweight, 1, "dweight");
  ops::rmsnorm_backward(dout, inp, weight, rstd, dinp, dweight, accumulate);
}

void rmsnorm_backward_per_sample(Tensor dweight, const Tensor& dout, const Tensor& inp,
                                 const Tensor& rstd, bool accumulate) {
  const char* op = "nn::rmsnorm_backward_per_sample";
  check_per_sample_rows(op, inp, dweight, "dweight");
  Tensor none;  // no dinp, so no gamma either
  ops::rmsnorm_backward(dout, inp, Tensor(), rstd, none, dweight, accumulate);
}

// ---- embedding ---------------------------------------------------------------------------------

void embedding_forward(Tensor out, const Tensor& ids, const Tensor& table, bool accumulate) {
  ops::embedding_forward(ids, table, out, accumulate);
}

void embedding_backward(Tensor dtable, const Tensor& dout, const Tensor& ids, bool accumulate) {
  if (dtable.defined()) check_rank("nn::embedding_backward", dtable, 2, "dtable");
  ops::embedding_backward(ids, dout, dtable, accumulate);
}

void embedding_backward_per_sample(Tensor dtable, const Tensor& dout, const Tensor& ids,
                                   bool accumulate) {
  const char* op = "nn::embedding_backward_per_sample";
  check_rank_at_least(op, ids, 1, "ids");
  check_rank(op, dtable, 3, "dtable");
  if (dtable.size(0) != ids.size(0))
    throw Error(cat(op, ": dtable ", dtable.str(), " must have one (V, C) block per sample of ids ",
                    ids.str()));
  ops::embedding_backward(ids, dout, dtable, accumulate);
}

// ---- activations and softmax -------------------------------------------------------------------

void activation_forward(ops::Unary f, Tensor out, const Tensor& inp) { ops::unary(f, inp, out); }

void activation_backward(ops::Unary f, Tensor dinp, const Tensor& dout, const Tensor& inp,
                         bool accumulate) {
  check_defined("nn::activation_backward", dinp, "dinp");
  write_or_add(dinp, accumulate,
               [&](Tensor& target) { ops::unary_backward(f, inp, dout, target); });
}

void softmax_forward(Tensor out, const Tensor& scores, const ops::SoftmaxMask& mask) {
  ops::masked_softmax(scores, mask, out);
}

void softmax_backward(Tensor dscores, const Tensor& dout, const Tensor& out, bool accumulate) {
  check_defined("nn::softmax_backward", dscores, "dscores");
  write_or_add(dscores, accumulate,
               [&](Tensor& target) { ops::softmax_backward(out, dout, -1, target); });
}

}  // namespace naqs::nn
