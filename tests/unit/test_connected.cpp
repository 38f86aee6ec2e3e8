// The connected-configuration, local-energy-combination and sampling-decision ops
// (host/ops/connected.hpp, host/ops/sample_site.hpp) on the CPU: hand-computed values, and the
// connections of every sample equal to the spin operator's per-sample primitive on an int8
// array (Hamiltonian::connections), for f32 and f64 batches, empty to larger-than-threaded
// batches.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "host/ops/connected.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/sample_site.hpp"
#include "physics/operator/local_energy.hpp"
#include "tests/support/models.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::heis;
using testing::tfim;

Tensor spins_tensor(const std::vector<double>& s, int64_t batch, int64_t n, DType dtype) {
  Tensor t = Tensor::empty({batch, n}, dtype);
  ops::cast(Tensor::from_vector(s, {batch, n}), t);
  return t;
}

TEST(ConnectedOps, HandComputedTfimAndHeisenberg) {
  {  // open TFIM chain of 3, J = 1, h = 0.5, hz = 0.2, sigma = (+,-,-):
    // diag = -(+1)(-1) - (-1)(-1) - 0.2 (1 - 1 - 1) = 1 - 1 + 0.2; three flips of element -0.5.
    const Hamiltonian H(Lattice::chain(3, false), tfim(1, 0.5, 0.2));
    ops::ConnectedList c;
    ops::connected_generate(spins_tensor({1, -1, -1}, 1, 3, DType::f64),
                            H.op(), c);
    EXPECT_NEAR(c.diagonal.item(), 0.2, 1e-15);
    ASSERT_EQ(c.n_connected, 3);
    EXPECT_EQ(c.offsets.to_vector<int32_t>(), (std::vector<int32_t>{0, 3}));
    EXPECT_EQ(c.flips.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, -1, 0, 1, -1, 0, 2, -1}));
    EXPECT_EQ(c.elements.to_vector<double>(), (std::vector<double>{-0.5, -0.5, -0.5}));
    Tensor configs = Tensor::empty({3, 3}, DType::f64);
    ops::connected_configs(spins_tensor({1, -1, -1}, 1, 3, DType::f64), c.flips, configs);
    EXPECT_EQ(configs.to_vector<double>(),
              (std::vector<double>{-1, -1, -1, 1, 1, -1, 1, -1, 1}));
  }
  {  // periodic Heisenberg ring of 4, J = 1, Delta = 1, sigma = (+,+,-,+): zz sum
    // 1 - 1 - 1 + 1 = 0; exchange on the anti-aligned bonds (1,2), (2,3) with element 2J = 2.
    // A second sample (all up) has diag 4 and no connections.
    const Hamiltonian H(Lattice::chain(4, true), heis(1, 1, false));
    ops::ConnectedList c;
    ops::connected_generate(spins_tensor({1, 1, -1, 1, 1, 1, 1, 1}, 2, 4, DType::f32),
                            H.op(), c);
    EXPECT_EQ(c.diagonal.to_vector<double>(), (std::vector<double>{0, 4}));
    EXPECT_EQ(c.offsets.to_vector<int32_t>(), (std::vector<int32_t>{0, 2, 2}));
    EXPECT_EQ(c.flips.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2, 0, 2, 3}));
    EXPECT_EQ(c.elements.to_vector<double>(), (std::vector<double>{2, 2}));
  }
}

TEST(ConnectedOps, MatchHamiltonianPerSample) {
  std::mt19937_64 gen(3);
  for (const Hamiltonian& H : {Hamiltonian(Lattice::square(4, 3, true, false), heis(1, 0.8, true)),
                               Hamiltonian(Lattice::chain(5, false), tfim(1, 0.3, 0.1))}) {
    const int64_t n = H.n_sites();
    const ops::SpinOperator& terms = H.op();
    for (DType dtype : {DType::f32, DType::f64})
      for (int64_t batch : {0, 1, 17, 300}) {
        std::vector<int8_t> spins(static_cast<std::size_t>(batch * n));
        for (auto& x : spins) x = (gen() & 1) ? 1 : -1;
        const Tensor sigma = spins_tensor(std::vector<double>(spins.begin(), spins.end()), batch,
                                          n, dtype);
        ops::ConnectedList c;
        ops::connected_generate(sigma, terms, c);
        const std::vector<double> diag = c.diagonal.to_vector<double>();
        const std::vector<int32_t> off = c.offsets.to_vector<int32_t>();
        ASSERT_EQ(off.size(), static_cast<std::size_t>(batch + 1));
        EXPECT_EQ(off[0], 0);
        EXPECT_EQ(off.back(), c.n_connected);
        std::vector<double> configs;
        std::vector<int32_t> flips;
        std::vector<double> elements;
        if (c.n_connected > 0) {
          Tensor cf = Tensor::empty({c.n_connected, n}, dtype);
          ops::connected_configs(sigma, c.flips, cf);
          Tensor cf64 = Tensor::empty(cf.shape(), DType::f64);
          ops::cast(cf, cf64);
          configs = cf64.to_vector<double>();
          flips = c.flips.to_vector<int32_t>();
          elements = c.elements.to_vector<double>();
        }
        for (int64_t b = 0; b < batch; ++b) {
          const int8_t* s = spins.data() + b * n;
          struct Connection {
            int site_a, site_b;
            double element;
          };
          std::vector<Connection> expect;
          EXPECT_DOUBLE_EQ(diag[b], H.connections(ops::SpinArray<int8_t>{s}, [&](int a, int c,
                                                                                 double e) {
            expect.push_back({a, c, e});
          }));
          ASSERT_EQ(off[b + 1] - off[b], static_cast<int32_t>(expect.size()));
          for (std::size_t k = 0; k < expect.size(); ++k) {
            const int64_t m = off[b] + static_cast<int64_t>(k);
            EXPECT_EQ(flips[3 * m], b);
            EXPECT_EQ(flips[3 * m + 1], expect[k].site_a);
            EXPECT_EQ(flips[3 * m + 2], expect[k].site_b);
            EXPECT_EQ(elements[m], expect[k].element);
            std::vector<double> want(s, s + n);
            want[expect[k].site_a] = -want[expect[k].site_a];
            if (expect[k].site_b >= 0) want[expect[k].site_b] = -want[expect[k].site_b];
            EXPECT_TRUE(std::equal(want.begin(), want.end(), configs.begin() + m * n));
          }
        }
      }
  }
}

TEST(ConnectedOps, ScanAndCombineHandComputed) {
  Tensor counts = Tensor::from_vector(std::vector<int32_t>{2, 0, 3}, {3});
  Tensor offsets = Tensor::empty({4}, DType::i32);
  EXPECT_EQ(ops::exclusive_scan(counts, offsets), 5);
  EXPECT_EQ(offsets.to_vector<int32_t>(), (std::vector<int32_t>{0, 2, 2, 5}));

  // One sample, diag 0.5, log psi(sigma) = 0.3 + 0.1i; connections with elements -1 and 2 and
  // psi'/psi = 2i and -1: E = 0.5 - 2i - 2.
  const double pi = std::numbers::pi;
  Tensor diag = Tensor::from_vector(std::vector<double>{0.5}, {1});
  Tensor off = Tensor::from_vector(std::vector<int32_t>{0, 2}, {2});
  Tensor elements = Tensor::from_vector(std::vector<double>{-1, 2}, {2});
  Tensor conn_re = Tensor::from_vector(std::vector<double>{0.3 + std::log(2.0), 0.3}, {2});
  Tensor conn_im = Tensor::from_vector(std::vector<double>{0.1 + pi / 2, 0.1 + pi}, {2});
  Tensor base_re = Tensor::from_vector(std::vector<double>{0.3}, {1});
  Tensor base_im = Tensor::from_vector(std::vector<double>{0.1}, {1});
  Tensor er = Tensor::empty({1}, DType::f64), ei = Tensor::empty({1}, DType::f64);
  ops::local_energy_combine(diag, off, elements, conn_re, conn_im, base_re, base_im, er, ei);
  EXPECT_NEAR(er.item(), -1.5, 1e-14);
  EXPECT_NEAR(ei.item(), -2.0, 1e-14);
  // No connections at all: E = diag.
  ops::local_energy_combine(diag, Tensor::from_vector(std::vector<int32_t>{0, 0}, {2}), Tensor(),
                            Tensor(), Tensor(), base_re, base_im, er, ei);
  EXPECT_EQ(er.item(), 0.5);
  EXPECT_EQ(ei.item(), 0.0);
}

TEST(SampleSiteOp, HandComputedDecisionsAndConstraint) {
  // Equal logits: p(up) = 1/2, sigma_t = +1 iff u < 1/2; log|psi| gains log(1/2)/2; the phase of
  // the chosen state is added. Column 1 of a (B,2,3) logit tensor, site 2 of 4.
  const int64_t batch = 64;
  std::vector<double> re(batch * 6, 0.0), im(batch * 6, 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    im[(b * 2 + 0) * 3 + 1] = 0.25;  // up
    im[(b * 2 + 1) * 3 + 1] = -0.5;  // down
  }
  ops::SampleSiteSpec spec;
  spec.seed = 11;
  spec.stream = 2;
  spec.first_sample = 100;
  spec.site = 2;
  spec.n_sites = 4;
  for (int64_t target : {-1, 0, 4}) {
    spec.n_up_target = target;
    Tensor sigma = Tensor::zeros({batch, 4}, DType::f64);
    Tensor sigma_t = Tensor::empty({batch}, DType::f64);
    Tensor lr = Tensor::zeros({batch}, DType::f64), li = Tensor::zeros({batch}, DType::f64);
    Tensor n_up = Tensor::full({batch}, 0, DType::i32);
    if (target == 4) ops::fill(n_up, 2);  // two up so far: only up keeps 4 reachable
    ops::sample_site(Tensor::from_vector(re, {batch, 2, 3}), Tensor::from_vector(im, {batch, 2, 3}),
                     1, spec, sigma, sigma_t, lr, li, n_up);
    int n_up_count = 0;
    for (int64_t b = 0; b < batch; ++b) {
      const double u = philox_uniform_f64(11, 2, static_cast<uint64_t>(100 + b) * 4 + 2);
      const bool up = target == -1 ? u < 0.5 : target == 4;
      const double s = up ? 1.0 : -1.0;
      EXPECT_EQ(sigma.to_vector<double>()[b * 4 + 2], s);
      EXPECT_EQ(sigma.to_vector<double>()[b * 4 + 1], 0.0);
      EXPECT_EQ(sigma_t.to_vector<double>()[b], s);
      EXPECT_NEAR(lr.to_vector<double>()[b], target == -1 ? 0.5 * std::log(0.5) : 0.0, 1e-15);
      EXPECT_EQ(li.to_vector<double>()[b], up ? 0.25 : -0.5);
      EXPECT_EQ(n_up.to_vector<int32_t>()[b], (target == 4 ? 2 : 0) + (up ? 1 : 0));
      n_up_count += up;
    }
    if (target == -1) EXPECT_GT(n_up_count, 16) << "fair coin over 64 draws";
    if (target == -1) EXPECT_LT(n_up_count, 48) << "fair coin over 64 draws";
  }
}

}  // namespace
}  // namespace naqs
