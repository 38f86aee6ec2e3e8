// The Δ-IRIS vector quantiser; see codebook.hpp.
#include "ml/world_model/codebook.hpp"

#include <cmath>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"
#include "host/ops/copy.hpp"
#include "host/ops/elementwise.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/gemm.hpp"
#include "host/ops/knn.hpp"
#include "host/ops/random.hpp"
#include "nn/layers.hpp"
#include "nn/optimizer.hpp"

namespace naqs::ml::world_model {

void CodebookConfig::validate() const {
  NAQS_REQUIRE(codes >= 1, "the codebook size ", codes, " is not allowed: use at least 1 code");
  NAQS_REQUIRE(dim >= 1, "the code dimension ", dim, " is not allowed: use at least 1");
  NAQS_REQUIRE(decay >= 0 && decay < 1, "the codebook decay ", decay,
               " is not allowed: use a value in [0, 1)");
  NAQS_REQUIRE(commitment >= 0 && std::isfinite(commitment), "the commitment weight ",
               commitment, " is not allowed: use a finite value >= 0");
  NAQS_REQUIRE(revive_after >= 1, "revive_after ", revive_after,
               " is not allowed: use at least 1 update");
  NAQS_REQUIRE(revive_until >= -1, "revive_until ", revive_until,
               " is not allowed: use -1 (always) or a number of updates >= 0");
}

Codebook::Codebook(const CodebookConfig& c, DType dtype, Device device, uint64_t seed)
    : cfg_(c), seed_(seed) {
  c.validate();
  NAQS_REQUIRE(dtype == DType::f32 || dtype == DType::f64, "Codebook: dtype ",
               dtype_name(dtype), " is not allowed: use f32 or f64");
  unit_ = Tensor::full({c.dim}, 1.0 / std::sqrt(double(c.dim)), dtype, device);
  codes_ = Tensor::empty({c.codes, c.dim}, dtype, device);
  ops::fill_normal(codes_, seed, kInitStream, 0);
  normalise_rows(codes_, codes_, Tensor::empty({c.codes}, dtype, device));
  idle_.assign(size_t(c.codes), 0);
}

// y = x / sqrt(|x|^2 + kNormEps) per row: rmsnorm with weight 1/sqrt(D) and eps kNormEps / D.
void Codebook::normalise_rows(const Tensor& x, Tensor y, Tensor rstd) const {
  nn::rmsnorm_forward(y, rstd, x, unit_, kNormEps / double(cfg_.dim));
}

void Codebook::set_state(const Tensor& codes, const std::vector<int64_t>& idle, int64_t updates) {
  NAQS_REQUIRE(codes.shape() == codes_.shape(), "Codebook: saved codes ", codes.str(),
               " do not match the codebook (", cfg_.codes, ", ", cfg_.dim, ")");
  NAQS_REQUIRE(int64_t(idle.size()) == cfg_.codes, "Codebook: ", idle.size(),
               " saved idle counts for ", cfg_.codes, " codes");
  for (size_t k = 0; k < idle.size(); ++k) {
    NAQS_REQUIRE(idle[k] >= 0, "Codebook: saved idle count ", idle[k], " of code ", k,
                 " is negative");
  }
  NAQS_REQUIRE(updates >= 0, "Codebook: saved update count ", updates, " is negative");
  codes_.copy_from(codes);
  normalise_rows(codes_, codes_, Tensor::empty({cfg_.codes}, codes_.dtype(), codes_.device()));
  idle_ = idle;
  updates_ = updates;
}

VqBatch Codebook::quantize(const Tensor& z) const {
  NAQS_REQUIRE(z.rank() == 2 && z.size(0) >= 1 && z.size(1) == cfg_.dim, "Codebook: input ",
               z.str(), " is not (N, ", cfg_.dim, ") with N >= 1");
  NAQS_REQUIRE(z.dtype() == codes_.dtype() && z.device() == codes_.device(), "Codebook: input ",
               z.str(), " is not on the codebook's dtype and device (", codes_.str(), ")");
  const int64_t N = z.size(0), K = cfg_.codes, D = cfg_.dim;
  const DType dt = z.dtype();
  const Device dev = z.device();
  VqBatch b;
  b.z = z;
  b.zhat = Tensor::empty({N, D}, dt, dev);
  b.rstd = Tensor::empty({N}, dt, dev);
  normalise_rows(z, b.zhat, b.rstd);

  Tensor sim = Tensor::empty({N, K}, dt, dev);  // cosine similarities
  ops::gemm(b.zhat, codes_, sim, false, true);
  Tensor best, index = Tensor::empty({N, 1}, DType::i32, dev);
  ops::topk_rows(sim, 1, best, index);
  b.tokens = index.reshape({N});

  b.q = Tensor::empty({N, D}, dt, dev);
  nn::embedding_forward(b.q, b.tokens, codes_);

  Tensor diff = Tensor::empty({N, D}, dt, dev);
  ops::binary(ops::Binary::sub, b.zhat, b.q, diff);
  const Tensor flat = diff.reshape({N * D});
  b.commitment = cfg_.commitment * nn::dot(flat, flat) / double(N * D);
  return b;
}

void Codebook::backward(const VqBatch& b, const Tensor& dq, double commitment_weight,
                        Tensor dz) const {
  NAQS_CHECK(b.zhat.defined() && dz.shape() == b.zhat.shape(), "Codebook::backward: dz ",
             dz.str(), " does not match the forward's ", b.zhat.str());
  const int64_t N = b.zhat.size(0), D = cfg_.dim;
  Tensor dzhat = Tensor::empty(b.zhat.shape(), b.zhat.dtype(), b.zhat.device());
  if (dq.defined()) {
    NAQS_CHECK(dq.shape() == b.q.shape(), "Codebook::backward: dq ", dq.str(),
               " does not match q ", b.q.str());
    ops::copy(dq, dzhat);
  } else {
    ops::fill(dzhat, 0);
  }
  const double c = commitment_weight * 2 * cfg_.commitment / double(N * D);
  if (c != 0) {  // dzhat += c (zhat - q): the straight-through path adds nothing more
    Tensor diff = Tensor::empty(b.zhat.shape(), b.zhat.dtype(), b.zhat.device());
    ops::binary(ops::Binary::sub, b.zhat, b.q, diff);
    ops::axpby(c, diff, 1, dzhat);
  }
  nn::rmsnorm_backward(dz, Tensor(), dzhat, b.z, unit_, b.rstd);
}

std::vector<int64_t> Codebook::update(const VqBatch& b) {
  NAQS_CHECK(b.tokens.defined() && b.zhat.size(1) == cfg_.dim, "Codebook::update: no forward");
  const int64_t N = b.zhat.size(0), K = cfg_.codes, D = cfg_.dim;
  const DType dt = codes_.dtype();
  const Device dev = codes_.device();
  const Tensor tokens_host = b.tokens.to(Device::cpu());
  const int32_t* tok = tokens_host.data<int32_t>();
  std::vector<int64_t> count(static_cast<size_t>(K), 0);
  for (int64_t i = 0; i < N; ++i) ++count[size_t(tok[i])];

  // e_k <- gamma e_k + (1 - gamma) sums_k / n_k for used codes; a = 1, b = 0 keep the others.
  std::vector<double> a(static_cast<size_t>(K)), s(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) {
    a[k] = count[k] > 0 ? cfg_.decay : 1.0;
    s[k] = count[k] > 0 ? (1 - cfg_.decay) / double(count[k]) : 0.0;
  }
  Tensor sums = Tensor::empty({K, D}, dt, dev);
  nn::embedding_backward(sums, b.zhat, b.tokens);
  const Tensor a_rows = from_host_f64(a, {K, 1}, dt, dev).expand({K, D}).contiguous();
  const Tensor s_rows = from_host_f64(s, {K, 1}, dt, dev).expand({K, D}).contiguous();
  ops::binary(ops::Binary::mul, codes_, a_rows, codes_);
  ops::binary(ops::Binary::mul, sums, s_rows, sums);
  ops::binary(ops::Binary::add, codes_, sums, codes_);
  normalise_rows(codes_, codes_, Tensor::empty({K}, dt, dev));

  std::vector<int64_t> revived;
  for (int64_t k = 0; k < K; ++k) {
    idle_[k] = count[k] > 0 ? 0 : idle_[k] + 1;
    if (idle_[k] < cfg_.revive_after || (cfg_.revive_until >= 0 && updates_ >= cfg_.revive_until))
      continue;
    const double u = philox_uniform_f64(seed_, kReviveStream, uint64_t(updates_ * K + k));
    const int64_t j = std::min(N - 1, int64_t(u * double(N)));
    Tensor row = codes_.narrow(0, k, 1);
    ops::copy(b.zhat.narrow(0, j, 1), row);
    idle_[k] = 0;
    revived.push_back(k);
  }
  ++updates_;
  return revived;
}

}  // namespace naqs::ml::world_model
