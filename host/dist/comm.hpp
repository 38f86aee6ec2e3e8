// Data-parallel communication between the ranks of one job (DESIGN.md §7: MPI ranks via srun,
// gradients and energies all-reduced, results independent of the rank count).
//
// Communicator is the small interface the VMC driver and SR need: rank/size, an in-place sum
// over ranks, a concatenation in rank order (all-gather), a broadcast and a barrier. Two
// implementations:
//   serial()  one rank; every collective is a no-op or a copy. Always built.
//   MPI       MPI_COMM_WORLD (host/dist/comm_mpi.cpp), built when CMake's NAQS_MPI finds MPI
//             (NAQS_HAVE_MPI in naqs/config.hpp).
// world() picks one: MPI when this build has it and the process was started by an MPI launcher
// (mpirun, or srun --mpi=pmix / pmi2), serial otherwise. A launcher that asks for several ranks
// of a build without MPI, or srun tasks that MPI cannot wire together, is a UsageError: N copies
// of the same serial run writing the same files is never what the user meant.
//
// Sums are made identical on every rank by construction (reduce to rank 0, then broadcast), so
// replicated state (parameters, CG vectors) can never drift apart between ranks. A sum of
// per-rank partial sums is grouped differently from the one-rank sum, so a reduced value differs
// from the serial one by rounding only (~1e-16 relative); the driver gathers per-sample values
// (local energies) instead of summing them where bitwise equality with one rank matters.
//
// Tests: tests/unit/test_comm.cpp (serial semantics, block_slice, launcher detection);
// tests/cluster/test_mpi.cpp (the same checks on 2 real ranks under mpirun and srun --mpi=pmix,
// distributed SR vs serial SR to 1e-12, `naqs vmc` 1 vs 2 ranks).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/tensor.hpp"

namespace naqs::dist {

// Element types of the typed collectives.
enum class Elem : unsigned char { f32, f64, i64 };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;         // rank among the ranks on this node (GPU choice)
  virtual std::string description() const = 0;  // "serial", "MPI: 2 ranks (Open MPI v4.1.4)"

  // data[i] <- sum over ranks of data[i] (n elements of type t), identical on every rank.
  virtual void all_reduce_sum(void* data, int64_t n, Elem t) = 0;
  // recv <- concatenation of every rank's send buffer in rank order; rank r sends
  // bytes[r] bytes (bytes must be the same vector on every rank).
  virtual void all_gather_bytes(const void* send, void* recv,
                                const std::vector<int64_t>& bytes) = 0;
  virtual void broadcast_bytes(void* data, int64_t n_bytes, int root) = 0;
  virtual void barrier() = 0;

  bool is_root() const { return rank() == 0; }
};

// The one-rank communicator.
Communicator& serial();

// MPI_COMM_WORLD when launched by an MPI launcher in an MPI build, else serial(). Initialises
// MPI on the first call (MPI_Finalize runs at exit). Throws UsageError for the mismatches above.
Communicator& world();

// Whether this build has the MPI communicator (CMake NAQS_MPI).
bool mpi_built();

// Ranks the launcher environment announces (OMPI_COMM_WORLD_SIZE, PMI_SIZE, or Slurm's
// SLURM_STEP_NUM_TASKS under a PMI/PMIx launcher); 1 when not launched by one. Exposed for tests.
struct LaunchInfo {
  bool mpi_launcher = false;  // an MPI launcher's variables are present
  int ranks = 1;              // announced rank count (1 when unknown)
  int slurm_tasks = 1;        // SLURM_STEP_NUM_TASKS of an srun step (1 outside one)
};
LaunchInfo launch_info();

// Rows [first, first + count) of n items that rank `rank` of `size` owns: contiguous blocks in
// rank order, the first n % size ranks one longer.
struct Slice {
  int64_t first = 0, count = 0;
};
Slice block_slice(int64_t n, int rank, int size);

// ---- typed helpers (tensors on any device are staged through host memory) ----------------

int64_t sum(Communicator& comm, int64_t value);
bool any(Communicator& comm, bool value);  // true when any rank passes true
void all_reduce_sum(Communicator& comm, std::vector<double>& values);
// t (any shape, f32 or f64, any device): element-wise sum over ranks, in place.
void all_reduce_sum(Communicator& comm, Tensor& t);
// Concatenation of every rank's values in rank order (lengths may differ between ranks).
std::vector<double> all_gather(Communicator& comm, const std::vector<double>& local);
// local (n_r, ...) on every rank -> (sum n_r, ...) in rank order, same dtype and device.
Tensor all_gather_rows(Communicator& comm, const Tensor& local);

// The device a rank should use: with several ranks, "cuda" and "auto" become
// cuda:(local_rank mod device_count) (one rank per GPU); anything else is returned unchanged.
std::string rank_device(Communicator& comm, const std::string& device);

// For main(): " [rank r of n]" in a multi-rank run, "" otherwise (never initialises MPI).
std::string rank_tag();
// For main() after a fatal error: in a multi-rank MPI run, aborts every rank with `code`
// (MPI_Abort) so no rank waits forever in a collective; otherwise returns.
void abort_if_parallel(int code);

}  // namespace naqs::dist
