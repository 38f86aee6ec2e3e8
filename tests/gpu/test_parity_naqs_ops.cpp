// CUDA vs CPU parity of the connected-configuration ops, the local-energy combination
// (host/ops/connected.hpp) and the ancestral-sampling site decision (host/ops/sample_site.hpp),
// twins in cuda/connected.cu and cuda/sample_site.cu. Batches 1, 17, 1025 (and 5000 for the multi-chunk scan), odd site
// counts, chains and squares, TFIM with hz and Heisenberg with Marshall signs; outputs written into
// Guarded buffers. Tolerances: integer outputs, diagonal elements and configurations exact (the
// same additions of +-coef in the same order); local energies and log-probability accumulators
// 1e-13 relative (+1e-13 absolute) in f64: exp/log/sin/cos differ by about an ulp between libm and
// CUDA, amplified by at most the number of terms summed. Skipped without a GPU.
#include <gtest/gtest.h>

#include <random>

#include "host/core/device.hpp"
#include "host/ops/connected.hpp"
#include "host/ops/fill.hpp"
#include "host/ops/sample_site.hpp"
#include "physics/local_energy.hpp"
#include "tests/support/models.hpp"
#include "tests/support/testing.hpp"

namespace naqs {
namespace {

using testing::Guarded;

Tensor random_spins(int64_t batch, int64_t n, DType dtype, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<double> v(static_cast<std::size_t>(batch * n));
  for (double& x : v) x = (gen() & 1) ? 1.0 : -1.0;
  Tensor out = Tensor::empty({batch, n}, dtype);
  ops::cast(Tensor::from_vector(v, {batch, n}), out);
  return out;
}

std::vector<Hamiltonian> hamiltonians() {
  const ModelParams tfim = testing::tfim(1, 0.7, 0.2), heis = testing::heis(1, 0.9, true);
  return {Hamiltonian(Lattice::chain(13, true), tfim), Hamiltonian(Lattice::chain(13, false), heis),
          Hamiltonian(Lattice::square(3, 5, true, false), tfim),
          Hamiltonian(Lattice::square(4, 6, true, true), heis)};
}

TEST(GpuParityNaqsOps, ConnectedConfigurationsExact) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  for (const Hamiltonian& H : hamiltonians())
    for (DType dtype : {DType::f32, DType::f64})
      for (int64_t batch : {1, 17, 1025, 5000}) {
        const int64_t n = H.n_sites();
        const Tensor sigma = random_spins(batch, n, dtype, 7 + batch);
        const Tensor sigma_d = sigma.to(gpu);
        const ops::SpinTerms terms = spin_terms(H, Device::cpu()), terms_d = terms.to(gpu);

        Tensor diag = Tensor::empty({batch}, DType::f64);
        Tensor counts = Tensor::empty({batch}, DType::i32);
        ops::connected_count(sigma, terms, diag, counts);
        Guarded diag_d({batch}, DType::f64, gpu), counts_d({batch}, DType::i32, gpu, -7);
        ops::connected_count(sigma_d, terms_d, diag_d.out, counts_d.out);
        EXPECT_EQ(diag.to_vector<double>(), diag_d.out.to_vector<double>()) << H.str();
        EXPECT_EQ(counts.to_vector<int32_t>(), counts_d.out.to_vector<int32_t>()) << H.str();

        Tensor offsets = Tensor::empty({batch + 1}, DType::i32);
        const int64_t total = ops::exclusive_scan(counts, offsets);
        Guarded offsets_d({batch + 1}, DType::i32, gpu, -7);
        EXPECT_EQ(ops::exclusive_scan(counts_d.out, offsets_d.out), total);
        EXPECT_EQ(offsets.to_vector<int32_t>(), offsets_d.out.to_vector<int32_t>()) << H.str();
        ASSERT_GT(total, 0);

        Tensor flips = Tensor::empty({total, 3}, DType::i32);
        Tensor elements = Tensor::empty({total}, DType::f64);
        ops::connected_list(sigma, terms, offsets, flips, elements);
        Guarded flips_d({total, 3}, DType::i32, gpu, -7), elements_d({total}, DType::f64, gpu);
        ops::connected_list(sigma_d, terms_d, offsets_d.out, flips_d.out, elements_d.out);
        EXPECT_EQ(flips.to_vector<int32_t>(), flips_d.out.to_vector<int32_t>()) << H.str();
        EXPECT_EQ(elements.to_vector<double>(), elements_d.out.to_vector<double>()) << H.str();

        Tensor configs = Tensor::empty({total, n}, dtype);
        ops::connected_configs(sigma, flips, configs);
        Guarded configs_d({total, n}, dtype, gpu);
        ops::connected_configs(sigma_d, flips_d.out, configs_d.out);
        EXPECT_TRUE(testing::all_close(configs_d.out.to(Device::cpu()), configs, 0, 0)) << H.str();

        // Combination with random log psi values around the sample's own.
        Tensor conn_re = testing::random_tensor({total}, dtype, 3, -2, 2);
        Tensor conn_im = testing::random_tensor({total}, dtype, 4, -3, 3);
        Tensor base_re = testing::random_tensor({batch}, dtype, 5, -2, 2);
        Tensor base_im = testing::random_tensor({batch}, dtype, 6, -3, 3);
        Tensor er = Tensor::empty({batch}, dtype), ei = Tensor::empty({batch}, dtype);
        ops::local_energy_combine(diag, offsets, elements, conn_re, conn_im, base_re, base_im, er,
                                  ei);
        Guarded er_d({batch}, dtype, gpu), ei_d({batch}, dtype, gpu);
        ops::local_energy_combine(diag_d.out, offsets_d.out, elements_d.out, conn_re.to(gpu),
                                  conn_im.to(gpu), base_re.to(gpu), base_im.to(gpu), er_d.out,
                                  ei_d.out);
        const double tol = dtype == DType::f64 ? 1e-13 : 1e-5;  // f32: rounding of the output
        EXPECT_TRUE(testing::all_close(er_d.out.to(Device::cpu()), er, tol, tol)) << H.str();
        EXPECT_TRUE(testing::all_close(ei_d.out.to(Device::cpu()), ei, tol, tol)) << H.str();
        for (const Guarded* g : {&diag_d, &counts_d, &offsets_d, &flips_d, &elements_d, &configs_d,
                                 &er_d, &ei_d})
          EXPECT_TRUE(g->guards_intact()) << H.str();
      }
}

TEST(GpuParityNaqsOps, SampleSiteDecisionsExact) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const int64_t n = 11;
  for (DType dtype : {DType::f32, DType::f64})
    for (int64_t batch : {1, 17, 1025})
      for (int64_t target : {-1, 5}) {
        // A whole run over the sites with random logits; the constrained run keeps n_up reachable.
        Tensor sigma = Tensor::zeros({batch, n}, dtype), sigma_t = Tensor::empty({batch}, dtype);
        Tensor lr = Tensor::zeros({batch}, DType::f64), li = lr.clone();
        Tensor n_up = Tensor::zeros({batch}, DType::i32);
        Guarded sigma_d({batch, n}, dtype, gpu), sigma_t_d({batch}, dtype, gpu);
        Guarded lr_d({batch}, DType::f64, gpu), li_d({batch}, DType::f64, gpu);
        Guarded n_up_d({batch}, DType::i32, gpu, -7);
        for (Tensor* t : {&sigma_d.out, &lr_d.out, &li_d.out, &n_up_d.out}) ops::fill(*t, 0);
        ops::SampleSiteSpec spec;
        spec.seed = 42;
        spec.stream = 3;
        spec.first_sample = 1000;
        spec.n_sites = n;
        spec.n_up_target = target;
        for (int64_t t = 0; t < n; ++t) {
          spec.site = t;
          const Tensor re = testing::random_tensor({batch, 2, 3}, dtype, 100 + t, -2, 2);
          const Tensor im = testing::random_tensor({batch, 2, 3}, dtype, 200 + t, -3, 3);
          ops::sample_site(re, im, t % 3, spec, sigma, sigma_t, lr, li, n_up);
          ops::sample_site(re.to(gpu), im.to(gpu), t % 3, spec, sigma_d.out, sigma_t_d.out,
                           lr_d.out, li_d.out, n_up_d.out);
        }
        EXPECT_TRUE(testing::all_close(sigma_d.out.to(Device::cpu()), sigma, 0, 0));
        EXPECT_TRUE(testing::all_close(sigma_t_d.out.to(Device::cpu()), sigma_t, 0, 0));
        EXPECT_EQ(n_up.to_vector<int32_t>(), n_up_d.out.to_vector<int32_t>());
        EXPECT_TRUE(testing::all_close(lr_d.out.to(Device::cpu()), lr, 1e-13, 1e-13));
        EXPECT_TRUE(testing::all_close(li_d.out.to(Device::cpu()), li, 1e-13, 1e-13));
        if (target >= 0)
          for (int32_t k : n_up.to_vector<int32_t>()) EXPECT_EQ(k, target);
        for (const Guarded* g : {&sigma_d, &sigma_t_d, &lr_d, &li_d, &n_up_d})
          EXPECT_TRUE(g->guards_intact());
      }
}

}  // namespace
}  // namespace naqs
