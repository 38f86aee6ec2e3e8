// CUDA vs CPU parity of the 2D NAQS (physics/naqs_conv2d.*) and of its symmetrisation: logits,
// summed and per-sample gradients, cached per-site logits (bit-identical to the full forward on
// the GPU itself), exact samples and psi_sym, on an odd-sized lattice (5x3, batch 17 and 1).
// Skips without a GPU. Tolerances: the CUDA conv2d sums every output in the same (ci, i, j) order
// as the CPU, but may contract multiply-adds into FMAs, so values differ by a few ulps per layer:
// f64 1e-11 relative over depth 3 (a few hundred roundings of O(1) terms), f32 1e-4.
#include <gtest/gtest.h>

#include "physics/models/symmetric_wavefunction.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/unit/test_naqs2d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

// The same random model on the CPU and on cuda:0.
struct ModelPair {
  NaqsConv2d cpu, gpu;
};

ModelPair make_pair(PhaseMode mode, DType dtype) {
  const NaqsConv2dConfig c = small_2d_config(5, 3, 3, 5, mode);
  NaqsConv2d cpu = random_2d_model(c, dtype, 300, 0.8);
  NaqsConv2d gpu(c, dtype, Device::cuda(0), 1);
  gpu.params().flat().copy_from(cpu.params().flat());
  return {std::move(cpu), std::move(gpu)};
}

}  // namespace

TEST(GpuParityNaqs2d, LogitsAndGradients) {
  NAQS_SKIP_WITHOUT_GPU();
  for (DType dtype : {DType::f64, DType::f32})
    for (PhaseMode mode : {PhaseMode::real_positive, PhaseMode::complex})
      for (int64_t batch : {1, 17}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " " << phase_mode_name(mode) << " B=" << batch);
        const double tol = dtype == DType::f64 ? 1e-11 : 1e-4;
        ModelPair m = make_pair(mode, dtype);
        const int64_t n = 15, n_params = m.cpu.params().size();
        Tensor sigma = random_spins(batch, n, 301, dtype);
        Tensor sigma_gpu = sigma.to(Device::cuda(0));
        Tensor re = Tensor::empty({batch, 2, n}, dtype), im = re.clone();
        Tensor re_g = Tensor::empty({batch, 2, n}, dtype, Device::cuda(0)), im_g = re_g.clone();
        m.cpu.logits(sigma, re, im);
        m.gpu.logits(sigma_gpu, re_g, im_g);
        EXPECT_TRUE(all_close(re_g.to(Device::cpu()), re, tol, tol));
        EXPECT_TRUE(all_close(im_g.to(Device::cpu()), im, tol, tol));

        Tensor w_re = random_tensor({batch}, dtype, 302), w_im = random_tensor({batch}, dtype, 303);
        Tensor grad = Tensor::empty({n_params}, dtype);
        Tensor grad_g = Tensor::empty({n_params}, dtype, Device::cuda(0));
        m.cpu.grad_log_psi(sigma, w_re, w_im, grad);
        m.gpu.grad_log_psi(sigma_gpu, w_re.to(Device::cuda(0)), w_im.to(Device::cuda(0)), grad_g);
        EXPECT_TRUE(all_close(grad_g.to(Device::cpu()), grad, tol, 10 * tol));
        Tensor jac = Tensor::empty({batch, n_params}, dtype), jac_i = jac.clone();
        Tensor jac_g = Tensor::empty({batch, n_params}, dtype, Device::cuda(0)), jac_gi = jac_g.clone();
        m.cpu.per_sample_grad(sigma, jac, jac_i);
        m.gpu.per_sample_grad(sigma_gpu, jac_g, jac_gi);
        EXPECT_TRUE(all_close(jac_g.to(Device::cpu()), jac, tol, 10 * tol));

        // GPU cached per-site logits == GPU full forward, bit for bit: the site kernel
        // (cuda/conv_site.cu) starts from [y +] bias and adds the in-lattice taps in (ci, i, j)
        // order with the same multiply-add, as conv2d's per-pixel kernel does, and ReLU and the
        // residual add are the same operations. (On the CPU the site op uses GEMMs and agrees
        // to rounding only: tests/unit/test_naqs2d.cpp.)
        std::vector<double> full = to_host_f64(re_g), s = to_host_f64(sigma);
        m.gpu.cache_begin(batch);
        Tensor re_t = Tensor::empty({batch, 2}, dtype, Device::cuda(0)), im_t = re_t.clone();
        for (int64_t t = 0; t < n; ++t) {
          m.gpu.cache_logits(t, re_t, im_t);
          std::vector<double> a = to_host_f64(re_t);
          for (int64_t b = 0; b < batch; ++b)
            for (int st = 0; st < 2; ++st) ASSERT_EQ(a[b * 2 + st], full[(b * 2 + st) * n + t]) << "site " << t;
          std::vector<double> col(static_cast<std::size_t>(batch));
          for (int64_t b = 0; b < batch; ++b) col[b] = s[b * n + t];
          m.gpu.cache_set_site(t, from_host_f64(col, {batch}, dtype, Device::cuda(0)));
        }
      }
}

TEST(GpuParityNaqs2d, SamplesAndSymmetrisation) {
  NAQS_SKIP_WITHOUT_GPU();
  ModelPair m = make_pair(PhaseMode::complex, DType::f64);
  m.cpu.set_hilbert(SpinHilbert::with_magnetisation(15, 1));
  m.gpu.set_hilbert(SpinHilbert::with_magnetisation(15, 1));
  SamplerOptions options;
  options.seed = 304;
  options.batch_size = 64;
  const int64_t count = 200, n = 15;
  Tensor s = Tensor::empty({count, n}, DType::f64), lr = Tensor::empty({count}, DType::f64), li = lr.clone();
  Tensor s_g = Tensor::empty({count, n}, DType::f64, Device::cuda(0));
  Tensor lr_g = Tensor::empty({count}, DType::f64, Device::cuda(0)), li_g = lr_g.clone();
  sample_autoregressive(m.cpu, 0, options, s, lr, li);
  sample_autoregressive(m.gpu, 0, options, s_g, lr_g, li_g);
  // Same uniforms and logits equal to ~1e-13: identical spins (a flip needs a uniform within
  // ~1e-13 of a threshold).
  EXPECT_EQ(s_g.to_vector<double>(), s.to_vector<double>());
  EXPECT_TRUE(all_close(lr_g.to(Device::cpu()), lr, 1e-11, 1e-11));
  EXPECT_TRUE(all_close(li_g.to(Device::cpu()), li, 1e-11, 1e-11));

  // Symmetrised: D2 on the open 5x3 square (no flip: the sector has Sz != 0).
  const SymmetryGroup group = SymmetryGroup::of_lattice(Lattice::square(5, 3, false, false));
  SymmetricWavefunction sym(m.cpu, group), sym_g(m.gpu, group);
  sample_symmetric(sym, 0, options, s, lr, li);
  sample_symmetric(sym_g, 0, options, s_g, lr_g, li_g);
  EXPECT_EQ(s_g.to_vector<double>(), s.to_vector<double>());
  EXPECT_TRUE(all_close(lr_g.to(Device::cpu()), lr, 1e-11, 1e-11));
}
