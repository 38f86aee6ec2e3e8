// Exact diagonalisation: symmetry sectors (EdBasis) and the on-the-fly Hamiltonian operator
// (EdOperator) on the CPU (OpenMP) or a CUDA GPU. The matrix elements come from the Hamiltonian's
// compiled spin operator (Hamiltonian::op(), host/ops/spin_operator.hpp) through the per-row
// formula in host/ops/ed_matvec.hpp; nothing is stored but the sector's index tables.
// Tests: tests/unit/test_ed.cpp; GPU parity: tests/gpu/test_ed_matvec_gpu.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/core/device.hpp"
#include "host/ops/ed_matvec.hpp"
#include "physics/hilbert/hilbert.hpp"
#include "physics/operator/hamiltonian.hpp"

namespace naqs::ed {

// Largest lattice the packed ED basis accepts (index arithmetic and vectors of 2^N doubles).
constexpr int kEdMaxSites = 40;

class EdBasis {
 public:
  static EdBasis full(int n_sites);
  // Spin-flip parity sector, sign +1 (even) or −1 (odd).
  static EdBasis parity(int n_sites, int sign);
  // Fixed number of down spins (set bits): total Sz = (N − 2 n_down)/2 in spin-½ units.
  static EdBasis sz(int n_sites, int n_down);
  // Dimension of a sector without building it (for memory estimates).
  static int64_t sz_dimension(int n_sites, int n_down);

  int n_sites() const { return view_.n_sites; }
  int64_t dim() const { return view_.dim; }
  ops::EdSectorKind kind() const { return static_cast<ops::EdSectorKind>(view_.kind); }
  int parity_sign() const { return view_.parity_sign; }
  int n_down() const { return view_.n_set; }
  const ops::EdSectorView& view() const { return view_; }  // host pointers
  std::size_t table_bytes() const;
  // "full (2^N)", "parity even", "sz n_down=8 (Sz=0)".
  std::string str() const;

  uint64_t state(int64_t index) const;
  // Index and sign of a state, or −1 when the state is outside the sector (wrong Sz).
  int64_t index(uint64_t s, double& sign) const;

  // Lin tables (sz sector only; empty otherwise).
  const std::vector<int64_t>& hi_offset() const { return hi_offset_; }
  const std::vector<int32_t>& lo_rank() const { return lo_rank_; }
  const std::vector<uint32_t>& lo_values() const { return lo_values_; }
  const std::vector<int64_t>& lo_start() const { return lo_start_; }

 private:
  void refresh_view();
  ops::EdSectorView view_{};
  std::vector<int64_t> hi_offset_;
  std::vector<int32_t> lo_rank_;
  std::vector<uint32_t> lo_values_;
  std::vector<int64_t> lo_start_;
};

// The sector ED uses for the ground state of H in `hilbert`: with a fixed magnetisation the Sz
// sector of n_down = hilbert.n_down() (UsageError when H does not conserve Sz); otherwise the
// spin-flip-even sector for a TFIM without hz, the full space for the rest.
EdBasis make_basis(const Hamiltonian& H, const SpinHilbert& hilbert);

// Bytes ED will allocate for a ground state in `basis`-sized vectors: `n_vectors` float64
// vectors plus the sector tables (host) — and, for a GPU, the same on the device.
int64_t ed_memory_bytes(int64_t dim, int n_vectors, std::size_t table_bytes);
// MemAvailable from /proc/meminfo in bytes (−1 when it cannot be read).
int64_t memory_available_bytes();
// UsageError naming the bytes needed and available when `bytes` will not fit in host memory
// (or, for a CUDA device, in the GPU's free memory).
void require_memory(int64_t bytes, const Device& device, const std::string& what);

class EdOperator {
 public:
  EdOperator(const Hamiltonian& H, const EdBasis& basis, Device device = Device::cpu());
  ~EdOperator();
  EdOperator(const EdOperator&) = delete;
  EdOperator& operator=(const EdOperator&) = delete;

  int64_t dim() const { return basis_->dim(); }
  const Device& device() const { return device_; }
  // The operator's table on the host (for ed_matvec_cpu / ed_matvec_reference_cpu).
  const ops::SpinOperatorView& op_view() const { return view_; }
  // y = H x; x and y are (dim,) host arrays. On a CUDA device they are copied over and back.
  void apply(const double* x, double* y) const;
  // y = H x with x, y (dim,) in the operator's device memory (CUDA only; for benchmarks).
  void apply_device(const double* x_device, double* y_device) const;

 private:
  struct DeviceState;
  const EdBasis* basis_;
  Device device_;
  ops::SpinOperator op_;          // H's table on the host
  ops::SpinOperatorView view_{};
  std::unique_ptr<DeviceState> dev_;
};

// The CPU product on its own (OpenMP): y = H x, x and y (dim,) host arrays that must not
// alias. Full and parity sectors without exchange (the TFIM) take a cache-blocked SIMD path
// (ed_operator.cpp); the rest evaluate ops::ed_row per row.
void ed_matvec_cpu(const ops::SpinOperatorView& op, const ops::EdSectorView& sector,
                   const double* x, double* y);
// The reference: ops::ed_row for every row (the formula the CUDA twin uses), OpenMP over rows.
// Tests compare the fast paths with it.
void ed_matvec_reference_cpu(const ops::SpinOperatorView& op, const ops::EdSectorView& sector,
                             const double* x, double* y);

}  // namespace naqs::ed
