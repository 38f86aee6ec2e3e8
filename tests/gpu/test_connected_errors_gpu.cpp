// Errors of the connected-configuration ops on CUDA tensors (host/ops/connected.hpp): an output
// with fewer rows than the scan's total is refused before a kernel runs, as on the CPU (it used
// to be written past its end on CUDA). Parity on random inputs: tests/op_cases/connected.cpp.
// Skips (reported as skipped by ctest) without a CUDA device.
#include "host/ops/connected.hpp"
#include "host/ops/fill.hpp"
#include "physics/operator/local_energy.hpp"
#include "tests/support/models.hpp"
#include "tests/support/testing.hpp"

using namespace naqs;
using namespace naqs::ops;

TEST(ConnectedErrorsGpu, UndersizedListIsRefused) {
  NAQS_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const Hamiltonian h(Lattice::chain(9, true), naqs::testing::tfim(1, 0.7, 0.0));
  const SpinOperator terms = h.op().to(gpu);
  const int64_t batch = 300, n = h.n_sites();
  Tensor sigma = Tensor::empty({batch, n}, DType::f64, gpu);
  fill(sigma, 1.0);
  Tensor diagonal = Tensor::zeros({batch}, DType::f64, gpu);
  Tensor counts = Tensor::zeros({batch}, DType::i32, gpu);
  connected_count(sigma, terms, diagonal, counts);
  Tensor offsets = Tensor::zeros({batch + 1}, DType::i32, gpu);
  const int64_t total = exclusive_scan(counts, offsets);
  ASSERT_EQ(total, batch * n);  // TFIM: one flip per site
  const int64_t m = total - 100;
  Tensor flips = Tensor::zeros({m, 3}, DType::i32, gpu);
  Tensor elements = Tensor::zeros({m}, DType::f64, gpu);
  try {
    connected_list(sigma, terms, offsets, flips, elements);
    FAIL() << "an undersized list was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(cat("offsets end at ", total, " but flips has ", m, " rows")),
              std::string::npos)
        << msg;
  }
}
