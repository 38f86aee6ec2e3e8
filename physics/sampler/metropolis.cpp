// Metropolis sampler: see metropolis.hpp.
#include "physics/sampler/metropolis.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "physics/hilbert/hilbert.hpp"

namespace naqs {

ops::MoveRule parse_move_rule(const std::string& s) {
  if (s == "flip") return ops::MoveRule::flip;
  if (s == "exchange") return ops::MoveRule::exchange;
  throw UsageError(cat("unknown Metropolis move rule '", s, "' (allowed: flip, exchange)"));
}

const char* move_rule_name(ops::MoveRule r) {
  return r == ops::MoveRule::flip ? "flip" : "exchange";
}

MetropolisSampler::MetropolisSampler(Wavefunction& psi, MetropolisConfig config)
    : psi_(psi), config_(std::move(config)) {
  const int64_t n = psi_.n_sites();
  if (config_.n_chains < 1) throw UsageError(cat("metropolis: n_chains must be >= 1"));
  if (config_.first_chain < 0) throw UsageError(cat("metropolis: first_chain must be >= 0"));
  if (config_.n_burn_in_sweeps < 0 || config_.n_sweeps_between < 1)
    throw UsageError("metropolis: burn-in sweeps must be >= 0 and sweeps between samples >= 1");
  if (!(config_.p_global >= 0 && config_.p_global < 1))
    throw UsageError(cat("metropolis: p_global must be in [0, 1) (got ", config_.p_global, ")"));
  if (config_.rule == ops::MoveRule::exchange) {
    if (config_.bonds.empty()) throw UsageError("metropolis: exchange moves need lattice bonds");
    if (!config_.magnetisation)
      throw UsageError("metropolis: exchange moves conserve Sz; give the magnetisation");
    std::vector<int32_t> flat;
    for (auto [i, j] : config_.bonds) {
      if (i < 0 || j < 0 || i >= n || j >= n || i == j)
        throw UsageError(cat("metropolis: bond (", i, ",", j, ") invalid for ", n, " sites"));
      flat.push_back(i);
      flat.push_back(j);
    }
    bonds_ = Tensor::from_vector(flat, Shape{static_cast<int64_t>(config_.bonds.size()), 2},
                                 psi_.device());
  }
  if (config_.magnetisation) SpinHilbert::with_magnetisation(n, *config_.magnetisation);  // checks
  const Shape chains{config_.n_chains};
  move_a_ = Tensor::empty(chains, DType::i32, psi_.device());
  move_b_ = Tensor::empty(chains, DType::i32, psi_.device());
  accepted_ = Tensor::empty(chains, DType::i32, psi_.device());
  reset();
}

void MetropolisSampler::reset() {
  const int64_t n = psi_.n_sites(), c_total = config_.n_chains;
  constexpr uint64_t kInitIndex = uint64_t{1} << 62;  // disjoint from step indices
  std::vector<double> s(static_cast<std::size_t>(c_total * n));
  for (int64_t c = 0; c < c_total; ++c) {
    double* row = s.data() + c * n;
    const auto u = [&](int64_t i) {
      return philox_uniform_f64(config_.seed, static_cast<uint64_t>(config_.first_chain + c),
                                kInitIndex + static_cast<uint64_t>(i));
    };
    if (!config_.magnetisation) {
      for (int64_t i = 0; i < n; ++i) row[i] = u(i) < 0.5 ? 1.0 : -1.0;
      continue;
    }
    const int64_t n_up = SpinHilbert::with_magnetisation(n, *config_.magnetisation).n_up();
    for (int64_t i = 0; i < n; ++i) row[i] = i < n_up ? 1.0 : -1.0;
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
      const int64_t j = std::min<int64_t>(i, static_cast<int64_t>(u(i) * static_cast<double>(i + 1)));
      std::swap(row[i], row[j]);
    }
  }
  sigma_ = from_host_f64(s, Shape{c_total, n}, psi_.dtype(), psi_.device());
  step_ = 0;
  reset_counters();
  rebind();
}

void MetropolisSampler::rebind() { psi_.ratio_begin(sigma_); }

void MetropolisSampler::set_state(const Tensor& sigma, uint64_t step_count) {
  check_shape("MetropolisSampler::set_state", sigma, sigma_.shape(), "sigma");
  sigma_.copy_from(sigma);
  step_ = step_count;
  reset_counters();
  rebind();
}

void MetropolisSampler::reset_counters() { n_proposed_ = n_accepted_ = 0; }

double MetropolisSampler::acceptance_rate() const {
  return n_proposed_ == 0 ? 0.0 : static_cast<double>(n_accepted_) / static_cast<double>(n_proposed_);
}

void MetropolisSampler::step() {
  const ops::MetropolisStepSpec spec{config_.rule, config_.p_global, config_.seed, step_,
                                     static_cast<uint64_t>(config_.first_chain)};
  ops::metropolis_propose(sigma_, bonds_, spec, move_a_, move_b_);
  psi_.log_psi_ratio(sigma_, move_a_, move_b_, d_re_, d_im_);
  ops::metropolis_accept(sigma_, d_re_, move_a_, move_b_, spec, accepted_);
  psi_.ratio_update(accepted_);
  const std::vector<int32_t> acc = accepted_.to_vector<int32_t>();
  n_accepted_ += std::accumulate(acc.begin(), acc.end(), int64_t{0});
  n_proposed_ += config_.n_chains;
  ++step_;
}

void MetropolisSampler::sweep() {
  for (int64_t i = 0; i < psi_.n_sites(); ++i) step();
}

void MetropolisSampler::sample(int64_t n_per_chain, Tensor& samples, Tensor& log_re,
                               Tensor& log_im) {
  NAQS_CHECK(n_per_chain >= 0, "metropolis sample: n_per_chain ", n_per_chain, " < 0");
  const int64_t c_total = config_.n_chains, n = psi_.n_sites();
  rebind();
  for (int64_t k = 0; k < config_.n_burn_in_sweeps; ++k) sweep();
  samples = Tensor::empty(Shape{n_per_chain * c_total, n}, psi_.dtype(), psi_.device());
  log_re = Tensor::empty(Shape{n_per_chain * c_total}, psi_.dtype(), psi_.device());
  log_im = Tensor::empty(Shape{n_per_chain * c_total}, psi_.dtype(), psi_.device());
  for (int64_t s = 0; s < n_per_chain; ++s) {
    for (int64_t k = 0; k < config_.n_sweeps_between; ++k) sweep();
    samples.narrow(s * c_total, c_total).copy_from(sigma_);
    log_re.narrow(s * c_total, c_total).copy_from(psi_.tracked_log_re());
    log_im.narrow(s * c_total, c_total).copy_from(psi_.tracked_log_im());
  }
}

}  // namespace naqs
