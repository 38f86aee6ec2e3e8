// Samplers of the VMC driver: see sampler.hpp.
#include "physics/sampler/sampler.hpp"

#include <algorithm>

#include "host/core/error.hpp"
#include "host/ops/gather.hpp"
#include "physics/sampler/autoregressive.hpp"

namespace naqs::vmc {

void VmcSampler::check_sample_count(int64_t n, const std::string& what) const {
  NAQS_REQUIRE(n >= 1, what, " must be >= 1, got ", n);
}

dist::SampleSplit VmcSampler::split(int64_t n) const {
  return dist::SampleSplit(comm_, n, 1, dist::default_blocks(n, 1));
}

void VmcSampler::set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                           uint64_t /*counter*/) {
  NAQS_CHECK(tensors.empty(), kind(), " sampler has no state to restore");
}

// ---- exact ------------------------------------------------------------------------------------

void ExactSampler::draw(int64_t n, uint64_t stream, int64_t minibatch, SampleSet& out) {
  check_sample_count(n, "number of samples");
  const int64_t mb = std::max<int64_t>(1, std::min(minibatch, n)), N = psi_.n_sites();
  const DType dt = psi_.dtype();
  const Device dev = psi_.device();
  SamplerOptions so;
  so.seed = seed_;
  so.stream = stream;
  so.batch_size = mb;
  out = SampleSet{};
  out.n_samples = n;
  for (const dist::Slice& rows : split(n).my_chunks(mb)) {
    Tensor sigma = Tensor::empty({rows.count, N}, dt, dev);
    Tensor lr = Tensor::empty({rows.count}, dt, dev), li = Tensor::empty({rows.count}, dt, dev);
    sample_autoregressive(psi_, rows.first, so, sigma, lr, li);
    out.sigma.push_back(std::move(sigma));
    out.log_re.push_back(std::move(lr));
    out.log_im.push_back(std::move(li));
    out.rows.push_back(rows);
  }
}

// ---- Metropolis -------------------------------------------------------------------------------

namespace {

// Chain groups of C chains: the reduction blocks of every draw, fixed for the run.
int64_t chain_blocks(int64_t n_chains) { return std::min(n_chains, dist::kMaxBlocks); }

// This rank's share of the chains as the config of its MetropolisSampler.
MetropolisConfig rank_chains(MetropolisConfig config, dist::Communicator& comm) {
  NAQS_REQUIRE(config.n_chains >= 1, "metropolis: n_chains must be >= 1, got ", config.n_chains);
  NAQS_CHECK(config.first_chain == 0, "MetropolisVmcSampler: first_chain must be 0");
  const int64_t groups = chain_blocks(config.n_chains);
  NAQS_REQUIRE(comm.size() <= groups, "metropolis over ", comm.size(), " MPI ranks needs at "
               "least as many chain groups, but ", config.n_chains, " chains make ", groups,
               " (at most ", dist::kMaxBlocks, "): use --mc-chains >= ", comm.size(),
               comm.size() > dist::kMaxBlocks ? " and fewer ranks" : "");
  const dist::Slice mine =
      dist::SampleSplit(comm, config.n_chains, 1, groups).my_units();
  config.n_chains = mine.count;
  config.first_chain = mine.first;
  return config;
}

}  // namespace

MetropolisVmcSampler::MetropolisVmcSampler(Wavefunction& psi, MetropolisConfig config,
                                           dist::Communicator& comm)
    : VmcSampler(comm),
      n_chains_(config.n_chains),
      n_blocks_(chain_blocks(config.n_chains)),
      sampler_(psi, rank_chains(std::move(config), comm)) {}

void MetropolisVmcSampler::check_sample_count(int64_t n, const std::string& what) const {
  const int64_t c = n_chains();
  NAQS_REQUIRE(n >= c && n % c == 0, what, " (", n, ") must be a positive multiple of the ", c,
               " Metropolis chains (--mc-chains)");
}

dist::SampleSplit MetropolisVmcSampler::split(int64_t n) const {
  check_sample_count(n, "number of samples");
  return dist::SampleSplit(comm(), n_chains_, n / n_chains_, n_blocks_);
}

void MetropolisVmcSampler::draw(int64_t n, uint64_t /*stream*/, int64_t minibatch,
                                SampleSet& out) {
  const dist::SampleSplit sp = split(n);
  const int64_t S = n / n_chains_, C = sampler_.config().n_chains;
  Tensor sigma, lr, li;
  sampler_.reset_counters();
  sampler_.sample(S, sigma, lr, li);  // (S * C, N), sample-major
  // Chain-major: row c * S + s <- row s * C + c (an exact copy through ops::gather).
  std::vector<int32_t> from(static_cast<std::size_t>(S * C));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < S; ++t) from[c * S + t] = static_cast<int32_t>(t * C + c);
  const int64_t N = sigma.size(1);
  const Tensor index_1d = Tensor::from_vector(from, Shape{S * C}, sigma.device());
  std::vector<int32_t> from_rows(static_cast<std::size_t>(S * C * N));
  for (int64_t r = 0; r < S * C; ++r)
    for (int64_t i = 0; i < N; ++i) from_rows[r * N + i] = from[r];
  const Tensor index_2d = Tensor::from_vector(from_rows, Shape{S * C, N}, sigma.device());
  Tensor sigma_cm = Tensor::empty(sigma.shape(), sigma.dtype(), sigma.device());
  Tensor lr_cm = Tensor::empty(lr.shape(), lr.dtype(), lr.device());
  Tensor li_cm = Tensor::empty(li.shape(), li.dtype(), li.device());
  ops::gather(sigma, index_2d, 0, sigma_cm);
  ops::gather(lr, index_1d, 0, lr_cm);
  ops::gather(li, index_1d, 0, li_cm);
  int64_t counts[2] = {sampler_.n_accepted(), sampler_.n_proposed()};
  comm().all_reduce_sum(counts, 2, dist::Elem::i64);
  out = SampleSet{};
  out.n_samples = n;
  out.n_chains = n_chains_;
  out.acceptance = counts[1] > 0 ? static_cast<double>(counts[0]) / counts[1] : 0.0;
  const int64_t row0 = sp.my_rows().first;
  for (const dist::Slice& rows : sp.my_chunks(std::max<int64_t>(1, minibatch))) {
    out.sigma.push_back(sigma_cm.narrow(rows.first - row0, rows.count));
    out.log_re.push_back(lr_cm.narrow(rows.first - row0, rows.count));
    out.log_im.push_back(li_cm.narrow(rows.first - row0, rows.count));
    out.rows.push_back(rows);
  }
}

std::vector<std::pair<std::string, Tensor>> MetropolisVmcSampler::state_tensors() const {
  return {{"chains", dist::all_gather_rows(comm(), sampler_.state()).clone()}};  // (C,N)
}

void MetropolisVmcSampler::set_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                     uint64_t counter) {
  NAQS_CHECK(tensors.size() == 1 && tensors[0].first == "chains",
             "metropolis sampler state: expected one tensor 'chains'");
  const Tensor& all = tensors[0].second;  // (C,N): every rank's chains
  check_shape("MetropolisVmcSampler::set_state", all, Shape{n_chains_, sampler_.state().size(1)},
              "chains");
  sampler_.set_state(all.narrow(sampler_.config().first_chain, sampler_.config().n_chains),
                     counter);
}

std::string MetropolisVmcSampler::str() const {
  const MetropolisConfig& m = sampler_.config();
  return cat("Metropolis (", move_rule_name(m.rule), " moves", m.p_global > 0 ? cat(
             ", global flips p = ", m.p_global) : std::string(), "), ", n_chains_, " chains, ",
             m.n_burn_in_sweeps, " burn-in sweeps per draw, ", m.n_sweeps_between,
             " sweep(s) between samples");
}

// ---- factory ----------------------------------------------------------------------------------

SamplerKind resolve_sampler_kind(SamplerKind kind, bool autoregressive) {
  if (kind != SamplerKind::automatic) return kind;
  return autoregressive ? SamplerKind::exact : SamplerKind::metropolis;
}

std::unique_ptr<VmcSampler> make_sampler(const SamplerSettings& s, Wavefunction& psi,
                                         const Hamiltonian& H, const SpinHilbert& hilbert,
                                         dist::Communicator& comm) {
  auto* autoregressive = dynamic_cast<AutoregressiveWavefunction*>(&psi);
  const SamplerKind kind = resolve_sampler_kind(s.kind, autoregressive != nullptr);
  if (kind == SamplerKind::exact) {
    NAQS_REQUIRE(autoregressive != nullptr,
                 "--sampler exact needs an autoregressive model (--model naqs): this model's "
                 "|psi|^2 cannot be sampled directly; use --sampler metropolis");
    NAQS_REQUIRE(autoregressive->hilbert() == hilbert, "--sampler exact draws from the model's "
                 "space (", autoregressive->hilbert().str(), "), and the run's space is ",
                 hilbert.str());
    return std::make_unique<ExactSampler>(*autoregressive, s.seed, comm);
  }
  MetropolisConfig m;
  m.n_chains = s.n_chains;
  m.n_burn_in_sweeps = s.burn_in;
  m.n_sweeps_between = s.sweeps_between;
  m.p_global = s.p_global;
  m.seed = s.seed + kMetropolisSeedOffset;
  NAQS_REQUIRE(hilbert.n_sites() == psi.n_sites(), "a Hilbert space of ", hilbert.n_sites(),
               " sites for a wavefunction on ", psi.n_sites());
  if (hilbert.constrained()) {
    m.rule = ops::MoveRule::exchange;
    m.bonds = H.lattice().bonds();
    m.magnetisation = hilbert.magnetisation();
  }
  return std::make_unique<MetropolisVmcSampler>(psi, std::move(m), comm);
}

}  // namespace naqs::vmc
