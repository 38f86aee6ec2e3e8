// CUDA vs CPU parity of the ED matrix-vector product (host/ops/ed_matvec.hpp, cuda/ed_matvec.cu)
// in every sector kind, on random x in [-1, 1), with odd sizes (N = 1, 5, 11, 12, 13; dim 1 to
// 4096), the CUDA output written into a Guarded buffer. Tolerance 1e-13·N absolute: a row adds
// at most 2N+1 terms of size <= 3 (the CPU's fast paths add them in another order), so
// the difference is below (2N+1)·3·eps ≈ 1.4e-15·N (70x margin).
// Then the Lanczos ground energy with the CUDA operator equals the CPU one to 1e-12 relative
// (both converge to a residual <= 1e-12, so both energies are within ~1e-20 of the eigenvalue).
// On cuda:1 with device 0 current where there are two devices (testing::parity_device()).
// Skips without a CUDA device.
#include <cmath>
#include <random>

#include "tests/support/models.hpp"
#include "tests/support/testing.hpp"
#include "physics/ed/ed_solver.hpp"

namespace naqs {
namespace {

using testing::Guarded;

ModelParams tfim(double h, double hz) {
  ModelParams p;
  p.h = h;
  p.hz = hz;
  return p;
}

ModelParams heis(double delta, bool marshall) {
  ModelParams p;
  p.model = Model::heisenberg;
  p.h = 0;
  p.Delta = delta;
  p.marshall = marshall;
  return p;
}

TEST(ParityEd, MatvecEverySector) {
  NAQS_SKIP_WITHOUT_GPU();
  struct Case {
    Hamiltonian H;
    int n_down;
  };
  const std::vector<Case> cases{
      {Hamiltonian(Lattice::chain(1, false), tfim(0.7, 0)), -1},            // parity, dim 1
      {Hamiltonian(Lattice::chain(5, true), tfim(1.3, 0.2)), -1},           // full, dim 32
      {Hamiltonian(Lattice::chain(13, true), tfim(0.9, 0)), -1},            // parity, dim 4096
      {Hamiltonian(Lattice::square(4, 3, true, false), tfim(3, -0.1)), -1}, // full, dim 4096
      {Hamiltonian(Lattice::chain(11, true), heis(0.5, false)), 5},         // sz, dim 462
      {Hamiltonian(Lattice::square(4, 3, true, false), heis(1, true)), 6},  // sz, dim 924
      {Hamiltonian(Lattice::chain(13, false), heis(2, true)), 1},           // sz, dim 13
  };
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const Case& c : cases) {
    ed::EdBasis basis = ed::make_basis(c.H, testing::sector(c.H, c.n_down));
    const int64_t dim = basis.dim();
    std::vector<double> x(dim), y_cpu(dim);
    for (auto& v : x) v = u(gen);
    ed::EdOperator cpu(c.H, basis, Device::cpu());
    const Device device = testing::parity_device();
    testing::make_device0_current();
    ed::EdOperator gpu(c.H, basis, device);
    cpu.apply(x.data(), y_cpu.data());
    Tensor xd = Tensor::from_vector(x, {dim}, device);
    Guarded yd({dim}, DType::f64, device);
    testing::make_device0_current();
    gpu.apply_device(xd.data<double>(), yd.out.data<double>());
    EXPECT_TRUE(yd.guards_intact()) << c.H.str();
    const std::vector<double> y_gpu = yd.out.to_vector<double>();
    for (int64_t i = 0; i < dim; ++i)
      ASSERT_NEAR(y_gpu[i], y_cpu[i], 1e-13 * c.H.n_sites())
          << c.H.str() << " " << basis.str() << " row " << i;
  }
}

TEST(ParityEd, LanczosEnergyMatchesCpu) {
  NAQS_SKIP_WITHOUT_GPU();
  for (const auto& [H, n_down] :
       std::vector<std::pair<Hamiltonian, int>>{
           {Hamiltonian(Lattice::chain(16, true), tfim(1, 0)), -1},
           {Hamiltonian(Lattice::square(4, 4, true, true), heis(1, true)), 8}}) {
    const SpinHilbert space = testing::sector(H, n_down);
    const double e_cpu = ed::solve_ground_state(H, space, Device::cpu()).lanczos.energy;
    testing::make_device0_current();
    const double e_gpu =
        ed::solve_ground_state(H, space, testing::parity_device()).lanczos.energy;
    EXPECT_NEAR(e_gpu, e_cpu, 1e-12 * std::abs(e_cpu)) << H.str();
  }
}

}  // namespace
}  // namespace naqs
