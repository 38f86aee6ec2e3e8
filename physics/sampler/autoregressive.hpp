// Exact ancestral sampling of an autoregressive wavefunction: sigma ~ |psi(sigma)|^2 i.i.d.,
// site by site, sigma_t ~ |psi_t(. | sigma_<t)|^2 (with the magnetisation constraint's mask when
// the wavefunction has one; Hibat-Allah et al. PRR 2, 023358, App. D.2).
//
// Randomness: the uniform deciding site t of global sample s is
//     u(s, t) = philox_uniform_f64(seed, stream, s * N + t)         (host/core/philox.hpp)
// and sigma_t = +1 iff u < |psi_t(+1 | sigma_<t)|^2. A sample therefore depends only on
// (seed, stream, s) and the parameters: not on the batch size, first_sample splitting, thread
// count or device (up to the rounding of the network on that device).
//
// Two evaluation strategies with the same decisions:
//   cached (default): the model's per-layer activation caches (cache_begin/cache_logits/
//     cache_set_site); each step computes only the new site, O(N) cheaper for long chains.
//   naive: the full network is re-evaluated on the partial configuration for every site
//     (unset sites are 0); the reference the cached path is tested against.
// The per-site decision (log-softmax of the two logits, mask, draw; ops::sample_site in
// host/ops/sample_site.hpp) runs on the model's device in double precision for both strategies
// and writes the chosen spin into the batch there: a CUDA run never copies to the host per site.
// Tests: tests/unit/test_naqs1d_sampler.cpp (cached == naive, batch splitting, constraint),
// tests/statistical/test_naqs_sampler.cpp (chi-square vs exact |psi|^2).
#pragma once
#include <cstdint>

#include "physics/models/autoregressive_wavefunction.hpp"
#include "physics/models/symmetric_wavefunction.hpp"

namespace naqs {

struct SamplerOptions {
  uint64_t seed = 0;
  uint64_t stream = 0;
  int64_t batch_size = 1024;  // samples evaluated together; the samples do not depend on it
  bool cached = true;         // false: naive full re-evaluation per site (reference, slow)
};

// Draws global samples first_sample .. first_sample + n - 1, with n = sigma.size(0):
// sigma (n,N) +1/-1 in the model's dtype on its device; log_re, log_im (n) the log|psi| and
// phase of each sample, accumulated from the conditionals in double precision.
void sample_autoregressive(AutoregressiveWavefunction& psi, int64_t first_sample,
                           const SamplerOptions& options, Tensor& sigma, Tensor& log_re,
                           Tensor& log_im);

inline constexpr uint64_t kSymmetryStreamTag = 0x53594d4d00000000ull;  // "SYMM"

// Exact sampling of the symmetrised wavefunction (physics/models/symmetric_wavefunction.hpp):
// global samples first_sample .. first_sample + n - 1 of the base model as
// sample_autoregressive, then g uniform on G applied to each (g = floor(G u),
// u = philox_uniform_f64(seed, stream ^ kSymmetryStreamTag, sample)); log_re, log_im are
// those of psi_sym.
void sample_symmetric(SymmetricWavefunction& psi, int64_t first_sample,
                      const SamplerOptions& options, Tensor& sigma, Tensor& log_re,
                      Tensor& log_im);

}  // namespace naqs
