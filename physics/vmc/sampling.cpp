// Samplers of the VMC driver: see sampling.hpp.
#include "physics/vmc/sampling.hpp"

#include <algorithm>

#include "host/core/error.hpp"
#include "physics/sampler.hpp"

namespace naqs::vmc {

void VmcSampler::check_sample_count(int64_t n, const std::string& what) const {
  NAQS_REQUIRE(n >= 1, what, " must be >= 1, got ", n);
}

void VmcSampler::set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                           uint64_t /*counter*/) {
  NAQS_CHECK(tensors.empty(), kind(), " sampler has no state to restore");
}

void VmcSampler::draw_range(int64_t n, int64_t first, int64_t count, uint64_t stream,
                            int64_t minibatch, SampleSet& out) {
  NAQS_REQUIRE(first == 0 && count == n, "the ", kind(),
               " sampler cannot split its samples over MPI ranks (yet); run it with one rank, "
               "or use the exact sampler of an autoregressive model");
  draw(n, stream, minibatch, out);
}

// ---- exact ------------------------------------------------------------------------------------

void ExactSampler::draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) {
  draw_range(n, 0, n, stream, minibatch, out);
}

void ExactSampler::draw_range(int64_t n, int64_t first_row, int64_t count, uint64_t stream,
                              int64_t minibatch, SampleSet& out) {
  check_sample_count(n, "number of samples");
  NAQS_CHECK(first_row >= 0 && count >= 0 && first_row + count <= n, "ExactSampler: rows [",
             first_row, ", ", first_row + count, ") of ", n);
  const int64_t mb = std::max<int64_t>(1, std::min(minibatch, n)), N = psi_.n_sites();
  const DType dt = psi_.dtype();
  const Device dev = psi_.device();
  SamplerOptions so;
  so.seed = seed_;
  so.stream = stream;
  so.batch_size = mb;
  out = SampleSet{};
  out.n_samples = count;
  const int64_t end = first_row + count;
  for (int64_t first = first_row; first < end; first += mb) {
    const int64_t b = std::min(mb, end - first);
    Tensor sigma = Tensor::empty({b, N}, dt, dev);
    Tensor lr = Tensor::empty({b}, dt, dev), li = Tensor::empty({b}, dt, dev);
    sample_autoregressive(psi_, first, so, sigma, lr, li);
    out.sigma.push_back(std::move(sigma));
    out.log_re.push_back(std::move(lr));
    out.log_im.push_back(std::move(li));
  }
}

// ---- Metropolis -------------------------------------------------------------------------------

MetropolisVmcSampler::MetropolisVmcSampler(Wavefunction& psi, MetropolisConfig config)
    : sampler_(psi, std::move(config)) {}

void MetropolisVmcSampler::check_sample_count(int64_t n, const std::string& what) const {
  const int64_t c = n_chains();
  NAQS_REQUIRE(n >= c && n % c == 0, what, " (", n, ") must be a positive multiple of the ", c,
               " Metropolis chains (--mc-chains)");
}

void MetropolisVmcSampler::draw(int64_t n, uint64_t /*stream*/, int64_t minibatch,
                                SampleSet& out) {
  check_sample_count(n, "number of samples");
  const int64_t c = n_chains();
  Tensor sigma, lr, li;
  sampler_.reset_counters();
  sampler_.sample(n / c, sigma, lr, li);
  out = SampleSet{};
  out.n_samples = n;
  out.n_chains = c;
  out.acceptance = sampler_.acceptance_rate();
  const int64_t mb = std::max<int64_t>(1, std::min(minibatch, n));
  for (int64_t first = 0; first < n; first += mb) {
    const int64_t b = std::min(mb, n - first);
    out.sigma.push_back(sigma.narrow(first, b));
    out.log_re.push_back(lr.narrow(first, b));
    out.log_im.push_back(li.narrow(first, b));
  }
}

std::vector<std::pair<std::string, Tensor>> MetropolisVmcSampler::state_tensors() const {
  return {{"chains", sampler_.state().clone()}};
}

void MetropolisVmcSampler::set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                     uint64_t counter) {
  NAQS_CHECK(tensors.size() == 1 && tensors[0].first == "chains",
             "metropolis sampler state: expected one tensor 'chains'");
  sampler_.set_state(tensors[0].second, counter);
}

std::string MetropolisVmcSampler::str() const {
  const MetropolisConfig& m = sampler_.config();
  return cat("Metropolis (", move_rule_name(m.rule), " moves", m.p_global > 0 ? cat(
             ", global flips p = ", m.p_global) : std::string(), "), ", m.n_chains, " chains, ",
             m.n_burn_in_sweeps, " burn-in sweeps per draw, ", m.n_sweeps_between,
             " sweep(s) between samples");
}

// ---- factory ----------------------------------------------------------------------------------

std::string resolve_sampler_kind(const std::string& kind, bool autoregressive) {
  if (kind != "auto") return kind;
  return autoregressive ? "exact" : "metropolis";
}

std::unique_ptr<VmcSampler> make_sampler(const SamplerSettings& s, Wavefunction& psi,
                                         const Hamiltonian& H, bool sz_zero) {
  auto* autoregressive = dynamic_cast<AutoregressiveWavefunction*>(&psi);
  const std::string kind = resolve_sampler_kind(s.kind, autoregressive != nullptr);
  if (kind == "exact") {
    NAQS_REQUIRE(autoregressive != nullptr,
                 "--sampler exact needs an autoregressive model (--model naqs): this model's "
                 "|psi|^2 cannot be sampled directly; use --sampler metropolis");
    return std::make_unique<ExactSampler>(*autoregressive, s.seed);
  }
  NAQS_REQUIRE(kind == "metropolis", "unknown sampler '", s.kind,
               "' (choices: auto, exact, metropolis)");
  MetropolisConfig m;
  m.n_chains = s.n_chains;
  m.n_burn_in_sweeps = s.burn_in;
  m.n_sweeps_between = s.sweeps_between;
  m.p_global = s.p_global;
  m.seed = s.seed + kMetropolisSeedOffset;
  if (sz_zero) {
    m.rule = ops::MoveRule::exchange;
    m.bonds = H.lattice().bonds();
    m.magnetisation = 0;
  }
  return std::make_unique<MetropolisVmcSampler>(psi, std::move(m));
}

}  // namespace naqs::vmc
