// The VMC driver's samplers (physics/sampler/sampler.hpp) and the driver over them: exact draws are
// those of sample_autoregressive (any mini-batch split), a Metropolis sampler restored from its
// saved state continues bit for bit, sample counts must fit the chains, exact sampling of a
// non-autoregressive model and unknown names are usage errors, Sz = 0 runs use exchange moves,
// and a short Metropolis run of the driver (RBM and NAQS) trains and records its diagnostics.
#include <gtest/gtest.h>

#include <cmath>

#include <unistd.h>

#include <filesystem>

#include "host/core/error.hpp"
#include "host/io/hdf5.hpp"
#include "physics/models/rbm.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "physics/vmc/driver.hpp"

namespace naqs::vmc {
namespace {

VmcConfig small_config(const char* model, const char* sampler) {
  VmcConfig c;
  c.length_x = 6;
  c.model = cli::parse_choice<Ansatz>(model, "model");
  c.sampler.kind = cli::parse_choice<SamplerKind>(sampler, "sampler");
  c.sampler.n_chains = 8;
  c.sampler.burn_in = 2;
  c.width = 4;
  c.depth = 1;
  c.steps = 20;
  c.batch_schedule = "128";
  c.obs_samples = 1024;
  c.optimizer = OptimizerKind::sr;
  c.lr = 0.05;
  c.sr.diag_shift = 1e-2;
  c.quiet = true;
  return c;
}

std::vector<double> concat(const std::vector<Tensor>& parts) {
  std::vector<double> v;
  for (const Tensor& t : parts) {
    const std::vector<double> p = to_host_f64(t);
    v.insert(v.end(), p.begin(), p.end());
  }
  return v;
}

TEST(VmcSampling, ExactDrawsAreThoseOfTheAutoregressiveSampler) {
  const VmcConfig c = small_config("naqs", "exact");
  auto psi = make_naqs(c);
  ExactSampler sampler(*psi, 5);
  SampleSet a, b;
  sampler.draw(50, 3, 16, a);  // four mini-batches, the last one partial
  sampler.draw(50, 3, 50, b);
  ASSERT_EQ(a.sigma.size(), 4u);
  EXPECT_EQ(a.n_chains, 0);
  Tensor sigma = Tensor::empty({50, 6}, DType::f64), lr = Tensor::empty({50}, DType::f64);
  Tensor li = lr.clone();
  SamplerOptions so;
  so.seed = 5;
  so.stream = 3;
  sample_autoregressive(*psi, 0, so, sigma, lr, li);
  EXPECT_EQ(concat(a.sigma), to_host_f64(sigma));
  EXPECT_EQ(concat(b.sigma), to_host_f64(sigma));
  EXPECT_EQ(concat(a.log_re), to_host_f64(lr));
}

TEST(VmcSampling, MetropolisStateRoundTripContinuesBitwise) {
  Rbm rbm({6, 1.0, true}, DType::f64, Device::cpu());
  rbm.init_random(3, 0.3);
  const Hamiltonian H = make_hamiltonian(small_config("rbm", "metropolis"));
  SamplerSettings s;
  s.kind = SamplerKind::metropolis;
  s.n_chains = 4;
  s.burn_in = 1;
  s.p_global = 0.1;
  s.seed = 9;
  auto first = make_sampler(s, rbm, H, SpinHilbert::full(H.n_sites()));
  SampleSet x, y1, y2;
  first->draw(8, 0, 8, x);
  EXPECT_EQ(x.n_chains, 4);
  EXPECT_GT(x.acceptance, 0.0);
  const auto saved = first->state_tensors();
  const uint64_t counter = first->state_counter();
  EXPECT_EQ(counter, uint64_t{6 * (1 + 2)});  // one burn-in sweep + two samples, 6 steps each
  first->draw(12, 1, 5, y1);
  auto second = make_sampler(s, rbm, H, SpinHilbert::full(H.n_sites()));
  second->set_state(saved, counter);
  second->draw(12, 1, 5, y2);
  EXPECT_EQ(concat(y2.sigma), concat(y1.sigma));
  EXPECT_EQ(concat(y2.log_re), concat(y1.log_re));
  EXPECT_EQ(y2.acceptance, y1.acceptance);
  // a fresh sampler (no restored state) draws other samples
  auto third = make_sampler(s, rbm, H, SpinHilbert::full(H.n_sites()));
  SampleSet z;
  third->draw(12, 1, 5, z);
  EXPECT_NE(concat(z.sigma), concat(y1.sigma));
}

TEST(VmcSampling, ChoicesAndErrors) {
  const VmcConfig c = small_config("rbm", "exact");
  const Hamiltonian H = make_hamiltonian(c);
  auto rbm = make_wavefunction(c);
  auto naqs = make_naqs(small_config("naqs", "auto"));
  SamplerSettings s;
  s.kind = SamplerKind::exact;
  try {
    make_sampler(s, *rbm, H, SpinHilbert::full(H.n_sites()));
    ADD_FAILURE() << "exact sampling of an RBM was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--sampler metropolis"), std::string::npos) << e.what();
  }
  s.kind = SamplerKind::automatic;
  EXPECT_STREQ(make_sampler(s, *rbm, H, SpinHilbert::full(H.n_sites()))->kind(), "metropolis");
  EXPECT_STREQ(make_sampler(s, *naqs, H, SpinHilbert::full(H.n_sites()))->kind(), "exact");
  EXPECT_THROW(cli::parse_choice<SamplerKind>("gibbs", "sampler"), UsageError);
  s.kind = SamplerKind::metropolis;
  s.n_chains = 8;
  auto m = make_sampler(s, *rbm, H, SpinHilbert::with_magnetisation(H.n_sites(), 0));
  const auto* mv = dynamic_cast<const MetropolisVmcSampler*>(m.get());
  ASSERT_NE(mv, nullptr);
  EXPECT_EQ(mv->chains().config().rule, ops::MoveRule::exchange);
  EXPECT_THROW(m->check_sample_count(100, "batch"), UsageError);  // not a multiple of 8
  EXPECT_NO_THROW(m->check_sample_count(104, "batch"));
  // The driver refuses the same before any work.
  VmcConfig bad = small_config("rbm", "metropolis");
  bad.batch_schedule = "100";
  EXPECT_THROW(run_vmc(bad), UsageError);
  bad = small_config("rbm", "exact");
  EXPECT_THROW(run_vmc(bad), UsageError);
  EXPECT_THROW(small_config("mps", "auto"), UsageError);
}

TEST(VmcSampling, MetropolisDriverTrainsRbmAndNaqs) {
  for (const char* model : {"rbm", "naqs"}) {
    const VmcConfig c = small_config(model, "metropolis");
    const VmcResult r = run_vmc(c);
    ASSERT_EQ(r.trace.size(), 20u);
    ASSERT_TRUE(r.exact.energy.has_value());
    const double rel =
        std::abs(r.observables.energy.mean - *r.exact.energy) / std::abs(*r.exact.energy);
    EXPECT_LT(rel, 0.03) << model;
    for (const StepRecord& s : r.trace) {
      EXPECT_GT(s.acceptance, 0.0) << model;
      EXPECT_GE(s.energy_tau, 0.0) << model;
      EXPECT_FALSE(std::isnan(s.energy_r_hat)) << model;
    }
    const VmcObservables& o = r.observables;
    EXPECT_EQ(o.sampler, "metropolis");
    EXPECT_EQ(o.n_chains, 8);
    ASSERT_EQ(o.diagnostics.size(), 6u);
    EXPECT_EQ(o.diagnostics[0].first, "energy");
    // 1024 samples of a 6-site chain: ESS is above the warning threshold unless tau > 10
    EXPECT_GT(o.diagnostics[0].second.ess, 0.0);
  }
}

// The Metropolis diagnostics reach the HDF5 output: per-observable tau / R-hat / ESS, the
// acceptance, the trace columns, and the warnings text with its count. 8 chains of 4 samples
// each (32 samples): the energy cannot reach 100 effective samples, so warnings must appear.
TEST(VmcSampling, MetropolisDiagnosticsAndWarningsInTheOutput) {
  VmcConfig c = small_config("rbm", "metropolis");
  c.steps = 3;
  c.obs_samples = 32;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("naqs_test_vmc_sampling_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  c.output = (dir / "diag.h5").string();
  const VmcResult r = run_vmc(c);
  const std::vector<std::string>& w = r.observables.warnings;
  ASSERT_GE(w.size(), 1u);
  const H5File f = H5File::open_read(c.output);
  EXPECT_EQ(std::get<int64_t>(f.get_attr("/results", "n_warnings")),
            static_cast<int64_t>(w.size()));
  const std::string text = f.read_string("/results/warnings");
  for (const std::string& line : w) EXPECT_NE(text.find(line + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("too few effective samples"), std::string::npos) << text;
  EXPECT_EQ(std::get<std::string>(f.get_attr("/results", "sampler")), "metropolis");
  EXPECT_EQ(std::get<std::string>(f.get_attr("/sampler", "rule")), "flip");
  EXPECT_EQ(f.read_doubles("/results/energy_ess").at(0), r.observables.diagnostics[0].second.ess);
  EXPECT_GT(f.read_doubles("/results/acceptance").at(0), 0.0);
  EXPECT_EQ(f.read_doubles("/train/acceptance").size(), 3u);
  std::filesystem::remove_all(dir);
}

TEST(VmcSampling, ChainErrorIncludesTheSpreadOfChainMeans) {
  // Two chains stuck at +1 and -1 (constant within each chain): tau-based error 0, but the
  // chain means differ by 2, so the error is sd(means)/sqrt(C) = sqrt(2)/sqrt(2) = 1.
  // Chain-major values: chain 0's ten samples, then chain 1's.
  std::vector<double> v(10, 1.0);
  v.insert(v.end(), 10, -1.0);
  ChainSummary s;
  const Estimate e = estimate_chains(v, 2, &s);
  EXPECT_DOUBLE_EQ(e.mean, 0.0);
  EXPECT_NEAR(e.err, 1.0, 1e-12);
  // never below the i.i.d. error: alternating chains give a spurious tau < 1
  std::vector<double> alt;
  for (int t = 0; t < 40; ++t) alt.push_back(t % 2 ? 1.0 : -1.0);
  const Estimate a = estimate_chains(alt, 1);
  EXPECT_NEAR(a.err, std::sqrt(40.0 / 39.0 / 40.0), 1e-12);
  EXPECT_GT(s.r_hat, kRHatWarn);
  // independent samples: the plain standard error
  const Estimate iid = estimate_chains(v, 0);
  EXPECT_NEAR(iid.err, std::sqrt(20.0 / 19.0 / 20.0), 1e-12);
}

}  // namespace
}  // namespace naqs::vmc
