// Metropolis sampler mechanics (physics/sampler/metropolis.hpp, host/ops/metropolis_step.hpp):
// proposals, Sz conservation of exchange moves, determinism in the seed, acceptance bookkeeping,
// errors.
#include <set>

#include "host/core/error.hpp"
#include "physics/models/naqs_conv1d.hpp"
#include "physics/models/rbm.hpp"
#include "physics/sampler/metropolis.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

std::vector<std::pair<int, int>> ring(int n) {
  std::vector<std::pair<int, int>> b;
  for (int i = 0; i < n; ++i) b.emplace_back(std::min(i, (i + 1) % n), std::max(i, (i + 1) % n));
  return b;
}

TEST(MetropolisStep, ProposalsCoverSitesAndBonds) {
  const int64_t chains = 4000, n = 7;
  const Tensor sigma = Tensor::full(Shape{chains, n}, 1.0, DType::f64);
  Tensor a = Tensor::empty(Shape{chains}, DType::i32), b = a.clone();
  ops::metropolis_propose(sigma, Tensor(), {ops::MoveRule::flip, 0.0, 5, 0}, a, b);
  std::set<int32_t> sites;
  for (int32_t k : a.to_vector<int32_t>()) sites.insert(k);
  EXPECT_EQ(sites, (std::set<int32_t>{0, 1, 2, 3, 4, 5, 6}));
  for (int32_t k : b.to_vector<int32_t>()) EXPECT_EQ(k, -1);
  // global flips with probability 0.25: about 1000 of 4000 (binomial sd ~27)
  ops::metropolis_propose(sigma, Tensor(), {ops::MoveRule::flip, 0.25, 5, 1}, a, b);
  int n_global = 0;
  for (int32_t k : a.to_vector<int32_t>()) n_global += k == kGlobalFlip;
  EXPECT_NEAR(n_global, 1000, 150);
  // exchange on equal spins is no move; on a Neel state every bond of the ring has opposite spins
  std::vector<int32_t> bonds;
  for (auto [i, j] : ring(n)) bonds.insert(bonds.end(), {i, j});
  const Tensor tb = Tensor::from_vector(bonds, Shape{n, 2});
  ops::metropolis_propose(sigma, tb, {ops::MoveRule::exchange, 0.0, 5, 2}, a, b);
  for (int32_t k : a.to_vector<int32_t>()) EXPECT_EQ(k, -1);
  std::vector<double> neel(chains * 6);
  for (std::size_t i = 0; i < neel.size(); ++i) neel[i] = (i % 2) ? -1.0 : 1.0;
  const Tensor s6 = Tensor::from_vector(neel, Shape{chains, 6});
  const Tensor tb6 = Tensor::from_vector<int32_t>({0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 0, 5}, Shape{6, 2});
  ops::metropolis_propose(s6, tb6, {ops::MoveRule::exchange, 0.0, 5, 3}, a, b);
  const auto va = a.to_vector<int32_t>(), vb = b.to_vector<int32_t>();
  for (int64_t c = 0; c < chains; ++c) {
    ASSERT_GE(va[c], 0);
    EXPECT_TRUE(std::abs(va[c] - vb[c]) == 1 || std::abs(va[c] - vb[c]) == 5);
  }
}

TEST(MetropolisStep, AcceptFollowsLogRatio) {
  const int64_t chains = 20000;
  Tensor sigma = Tensor::full(Shape{chains, 3}, 1.0, DType::f64);
  const Tensor a = Tensor::full(Shape{chains}, 1, DType::i32), b = Tensor::full(Shape{chains}, -1, DType::i32);
  // Re d = 0.5 log(0.3): acceptance probability 0.3 (binomial sd 0.0032)
  const Tensor d = Tensor::full(Shape{chains}, 0.5 * std::log(0.3), DType::f64);
  Tensor acc = Tensor::empty(Shape{chains}, DType::i32);
  ops::metropolis_accept(sigma, d, a, b, {ops::MoveRule::flip, 0.0, 9, 0}, acc);
  const auto va = acc.to_vector<int32_t>();
  const auto vs = sigma.to_vector<double>();
  int64_t n_acc = 0;
  for (int64_t c = 0; c < chains; ++c) {
    n_acc += va[c];
    EXPECT_EQ(vs[c * 3 + 1], va[c] ? -1.0 : 1.0);
    EXPECT_EQ(vs[c * 3], 1.0);
  }
  EXPECT_NEAR(static_cast<double>(n_acc) / chains, 0.3, 0.016);
}

TEST(Metropolis, ExchangeConservesSz) {
  Rbm rbm({8, 1.0, false}, DType::f64, Device::cpu());
  rbm.init_random(1, 0.5);
  for (int64_t m : {0, 2, -4}) {
    MetropolisConfig cfg;
    cfg.n_chains = 32;
    cfg.rule = ops::MoveRule::exchange;
    cfg.bonds = ring(8);
    cfg.magnetisation = m;
    cfg.n_burn_in_sweeps = 5;
    MetropolisSampler sampler(rbm, cfg);
    Tensor s, lr, li;
    sampler.sample(10, s, lr, li);
    const auto v = s.to_vector<double>();
    for (int64_t r = 0; r < s.size(0); ++r) {
      double sum = 0;
      for (int i = 0; i < 8; ++i) sum += v[r * 8 + i];
      ASSERT_EQ(sum, static_cast<double>(m)) << "row " << r;
    }
    EXPECT_GT(sampler.acceptance_rate(), 0.05);
    // recorded log psi are those of the recorded samples
    Tensor er, ei;
    rbm.log_psi(s, er, ei);
    EXPECT_TRUE(testing::all_close(lr, er, 1e-10, 1e-10));
  }
}

TEST(Metropolis, DeterministicInSeed) {
  Rbm rbm({6, 1.0, true}, DType::f64, Device::cpu());
  rbm.init_random(4, 0.5);
  MetropolisConfig cfg;
  cfg.n_chains = 9;
  cfg.p_global = 0.1;
  cfg.seed = 77;
  cfg.n_burn_in_sweeps = 3;
  Tensor s1, s2, s3, l, li;
  MetropolisSampler(rbm, cfg).sample(5, s1, l, li);
  MetropolisSampler(rbm, cfg).sample(5, s2, l, li);
  cfg.seed = 78;
  MetropolisSampler(rbm, cfg).sample(5, s3, l, li);
  EXPECT_EQ(s1.to_vector<double>(), s2.to_vector<double>());
  EXPECT_NE(s1.to_vector<double>(), s3.to_vector<double>());
}

// An autoregressive model through the base interface (default full re-evaluation ratios): the
// recorded log psi are those of the recorded samples, and chains move.
TEST(Metropolis, WorksWithNaqsModel) {
  NaqsConv1dConfig nc;
  nc.n_sites = 6;
  nc.width = 4;
  nc.depth = 1;
  NaqsConv1d model(nc, DType::f64, Device::cpu(), 3);
  Wavefunction& psi = model;
  MetropolisConfig cfg;
  cfg.n_chains = 8;
  cfg.n_burn_in_sweeps = 2;
  MetropolisSampler sampler(psi, cfg);
  Tensor s, lr, li;
  sampler.sample(4, s, lr, li);
  Tensor er = Tensor::empty(lr.shape(), DType::f64), ei = er.clone();
  psi.log_psi(s, er, ei);
  EXPECT_TRUE(testing::all_close(lr, er, 1e-10, 1e-10));
  EXPECT_TRUE(testing::all_close(li, ei, 1e-10, 1e-10));
  EXPECT_GT(sampler.acceptance_rate(), 0.05);
}

TEST(Metropolis, BadConfigIsUsageError) {
  Rbm rbm({4, 1.0, false}, DType::f64, Device::cpu());
  MetropolisConfig cfg;
  cfg.rule = ops::MoveRule::exchange;
  EXPECT_THROW(MetropolisSampler(rbm, cfg), UsageError);  // no bonds
  cfg.bonds = ring(4);
  EXPECT_THROW(MetropolisSampler(rbm, cfg), UsageError);  // no magnetisation
  cfg.magnetisation = 1;
  EXPECT_THROW(MetropolisSampler(rbm, cfg), UsageError);  // parity
  cfg.magnetisation = 0;
  cfg.bonds = {{0, 4}};
  EXPECT_THROW(MetropolisSampler(rbm, cfg), UsageError);  // out of range
  EXPECT_THROW(parse_move_rule("swap"), UsageError);
  EXPECT_EQ(parse_move_rule("exchange"), ops::MoveRule::exchange);
}

}  // namespace
}  // namespace naqs
