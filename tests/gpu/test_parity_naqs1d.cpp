// CUDA vs CPU parity of the 1D NAQS (physics/naqs_conv1d.*, wavefunction.*, sampler.*,
// local_energy.*): the same parameters on both devices give the same log psi, conditionals,
// gradients (summed and per sample), cached samples and local energies. Skips without a GPU.
#include <gtest/gtest.h>

#include "physics/operator/local_energy.hpp"
#include "physics/sampler/autoregressive.hpp"
#include "tests/unit/test_naqs1d_support.hpp"

using namespace naqs;
using namespace naqs::testing;

namespace {

NaqsConv1dConfig parity_config(int64_t n) {
  NaqsConv1dConfig c;
  c.n_sites = n;
  c.width = 17;  // odd widths exercise kernel tails
  c.depth = 2;
  c.kernel = 3;
  c.dilations = {1, 3};
  c.activation = Activation::selu;
  c.phase_mode = PhaseMode::complex;
  return c;
}

// Same model on the GPU, parameters copied from `cpu`.
NaqsConv1d gpu_twin(const NaqsConv1d& cpu) {
  NaqsConv1d gpu(cpu.config(), cpu.dtype(), Device::cuda(0), 0);
  gpu.params().flat().copy_from(cpu.params().flat());
  if (cpu.hilbert().constrained()) gpu.set_hilbert(cpu.hilbert());
  return gpu;
}

Tensor random_spins(int64_t batch, int64_t n, DType dtype, uint64_t seed) {
  Tensor s = random_tensor({batch, n}, DType::f64, seed);
  std::vector<double> v = s.to_vector<double>();
  for (double& x : v) x = x < 0 ? -1.0 : 1.0;
  return from_host_f64(v, {batch, n}, dtype, Device::cpu());
}

}  // namespace

TEST(GpuParityNaqs1d, LogPsiGradientsSamplesLocalEnergies) {
  NAQS_SKIP_WITHOUT_GPU();
  for (DType dtype : {DType::f64, DType::f32}) {
    SCOPED_TRACE(dtype_name(dtype));
    // Tolerances: f64 differs only by summation order (1e-10); f32 logits carry ~1e-6 relative
    // rounding through ~10 layers and N = 37 sites (1e-3 absolute on log psi sums of ~25).
    const double atol = dtype == DType::f64 ? 1e-10 : 2e-3;
    const double rtol = dtype == DType::f64 ? 1e-10 : 1e-4;
    const int64_t n = 37, batch = 33;
    NaqsConv1d cpu = random_model(parity_config(n), dtype, 500);
    NaqsConv1d gpu = gpu_twin(cpu);
    Tensor sigma = random_spins(batch, n, dtype, 501);
    Tensor sigma_d = sigma.to(Device::cuda(0));

    Tensor lr = Tensor::empty({batch}, dtype), li = lr.clone();
    cpu.log_psi(sigma, lr, li);
    Guarded lr_d({batch}, dtype, Device::cuda(0)), li_d({batch}, dtype, Device::cuda(0));
    gpu.log_psi(sigma_d, lr_d.out, li_d.out);
    EXPECT_TRUE(all_close(lr_d.out, lr, atol, rtol));
    EXPECT_TRUE(all_close(li_d.out, li, atol, rtol));
    EXPECT_TRUE(lr_d.guards_intact() && li_d.guards_intact());

    const int64_t p = cpu.params().size();
    Tensor w_re = random_tensor({batch}, dtype, 502), w_im = random_tensor({batch}, dtype, 503);
    Tensor grad = Tensor::empty({p}, dtype);
    cpu.grad_log_psi(sigma, w_re, w_im, grad);
    Guarded grad_d({p}, dtype, Device::cuda(0));
    gpu.grad_log_psi(sigma_d, w_re.to(Device::cuda(0)), w_im.to(Device::cuda(0)), grad_d.out);
    EXPECT_TRUE(all_close(grad_d.out, grad, atol * 10, rtol * 10));
    EXPECT_TRUE(grad_d.guards_intact());

    Tensor jr = Tensor::empty({batch, p}, dtype), ji = jr.clone();
    cpu.per_sample_grad(sigma, jr, ji);
    Guarded jr_d({batch, p}, dtype, Device::cuda(0)), ji_d({batch, p}, dtype, Device::cuda(0));
    gpu.per_sample_grad(sigma_d, jr_d.out, ji_d.out);
    EXPECT_TRUE(all_close(jr_d.out, jr, atol * 10, rtol * 10));
    EXPECT_TRUE(all_close(ji_d.out, ji, atol * 10, rtol * 10));

    SamplerOptions options;
    options.seed = 504;
    options.batch_size = 17;
    Tensor s_cpu = Tensor::empty({batch, n}, dtype), sr = lr.clone(), si = lr.clone();
    sample_autoregressive(cpu, 0, options, s_cpu, sr, si);
    Tensor s_gpu = Tensor::empty({batch, n}, dtype, Device::cuda(0));
    Tensor sr_d = Tensor::empty({batch}, dtype, Device::cuda(0)), si_d = sr_d.clone();
    sample_autoregressive(gpu, 0, options, s_gpu, sr_d, si_d);
    if (dtype == DType::f64) {  // f32 rounding may move a uniform across a threshold
      EXPECT_TRUE(all_close(s_gpu, s_cpu, 0, 0));
      EXPECT_TRUE(all_close(sr_d, sr, atol, rtol));
    }

    ModelParams heis;
    heis.model = Model::heisenberg;
    heis.h = 0.0;
    heis.marshall = true;
    Hamiltonian h(Lattice::chain(static_cast<int>(n), false), heis);
    Tensor er = lr.clone(), ei = lr.clone();
    local_energy(cpu, h, sigma, lr, li, er, ei);
    Tensor er_d = lr_d.out.clone(), ei_d = lr_d.out.clone();
    local_energy(gpu, h, sigma_d, lr_d.out, li_d.out, er_d, ei_d);
    EXPECT_TRUE(all_close(er_d, er, atol * 100, rtol * 100));
    EXPECT_TRUE(all_close(ei_d, ei, atol * 100, rtol * 100));
  }
}
