// CPU reference of the Metropolis step and device dispatch; see metropolis_step.hpp.
#include "host/ops/metropolis_step.hpp"

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs::ops {
namespace {

// A chain's step is one Philox block and a few compares: threads only pay off for many chains
// (on a loaded machine a parallel region over 32 chains costs ~1000x the work).
constexpr int64_t kMinChainsParallel = 16384;

void check_moves(const char* op, const Tensor& sigma, const Tensor& a, const Tensor& b) {
  check_rank(op, sigma, 2, "sigma");
  check_shape(op, a, Shape{sigma.size(0)}, "move_a");
  check_shape(op, b, Shape{sigma.size(0)}, "move_b");
  check_dtype(op, a, DType::i32, "move_a");
  check_dtype(op, b, DType::i32, "move_b");
  check_same_device(op, {&sigma, &a, &b});
  check_contiguous(op, sigma, "sigma");
  check_contiguous(op, a, "move_a");
  check_contiguous(op, b, "move_b");
}

}  // namespace

void metropolis_propose(const Tensor& sigma, const Tensor& bonds, const MetropolisStepSpec& spec,
                        Tensor& move_a, Tensor& move_b) {
  const char* op = "metropolis_propose";
  check_moves(op, sigma, move_a, move_b);
  const int64_t n_chains = sigma.size(0);
  const int32_t n_sites = static_cast<int32_t>(sigma.size(1));
  int32_t n_bonds = 0;
  const int32_t* pb = nullptr;
  if (spec.rule == MoveRule::exchange) {
    NAQS_CHECK(bonds.defined() && bonds.rank() == 2 && bonds.size(1) == 2 && bonds.size(0) > 0,
               op, ": exchange moves need bonds (n_bonds,2), got ",
               bonds.defined() ? bonds.str() : std::string("undefined"));
    check_dtype(op, bonds, DType::i32, "bonds");
    check_same_device(op, {&sigma, &bonds});
    n_bonds = static_cast<int32_t>(bonds.size(0));
    pb = bonds.data<int32_t>();
  }
  NAQS_CHECK(n_sites > 0, op, ": no sites in ", sigma.str());
  if (sigma.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(sigma.device().index));
    NAQS_CUDA_BRANCH(op, detail::metropolis_propose_cuda(sigma.raw_data(), sigma.dtype(), n_chains,
                                                         n_sites, pb, n_bonds, spec,
                                                         move_a.data<int32_t>(),
                                                         move_b.data<int32_t>()));
    return;
  }
  dispatch_float(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* s = sigma.data<T>();
    int32_t* a = move_a.data<int32_t>();
    int32_t* b = move_b.data<int32_t>();
#pragma omp parallel for schedule(static) if (n_chains >= kMinChainsParallel)
    for (int64_t c = 0; c < n_chains; ++c)
      metropolis_propose_one<T>(spec.seed, spec.first_chain + static_cast<uint64_t>(c), spec.step,
                                static_cast<int32_t>(spec.rule), spec.p_global, s + c * n_sites,
                                n_sites, pb, n_bonds, a[c], b[c]);
  });
}

void metropolis_accept(Tensor& sigma, const Tensor& d_re, const Tensor& move_a,
                       const Tensor& move_b, const MetropolisStepSpec& spec, Tensor& accepted) {
  const char* op = "metropolis_accept";
  check_moves(op, sigma, move_a, move_b);
  const int64_t n_chains = sigma.size(0);
  const int32_t n_sites = static_cast<int32_t>(sigma.size(1));
  check_shape(op, d_re, Shape{n_chains}, "d_re");
  check_shape(op, accepted, Shape{n_chains}, "accepted");
  check_dtype(op, accepted, DType::i32, "accepted");
  check_same_dtype(op, {&sigma, &d_re});
  check_same_device(op, {&sigma, &d_re, &accepted});
  if (sigma.device().is_cuda()) {
    NAQS_CUDA_BRANCH(op, cuda_rt::set_device(sigma.device().index));
    NAQS_CUDA_BRANCH(op, detail::metropolis_accept_cuda(sigma.raw_data(), sigma.dtype(), n_chains,
                                                        n_sites, d_re.raw_data(),
                                                        move_a.data<int32_t>(),
                                                        move_b.data<int32_t>(), spec,
                                                        accepted.data<int32_t>()));
    return;
  }
  dispatch_float(sigma.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* s = sigma.data<T>();
    const T* d = d_re.data<T>();
    const int32_t* a = move_a.data<int32_t>();
    const int32_t* b = move_b.data<int32_t>();
    int32_t* acc = accepted.data<int32_t>();
#pragma omp parallel for schedule(static) if (n_chains >= kMinChainsParallel)
    for (int64_t c = 0; c < n_chains; ++c)
      acc[c] = metropolis_accept_one<T>(spec.seed, spec.first_chain + static_cast<uint64_t>(c), spec.step,
                                        static_cast<double>(d[c]), a[c], b[c], s + c * n_sites,
                                        n_sites);
  });
}

}  // namespace naqs::ops
