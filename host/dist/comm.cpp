// The serial communicator, world() selection, launcher detection and the typed helpers
// (host/dist/comm.hpp). The MPI communicator lives in comm_mpi.cpp.
#include "host/dist/comm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "host/core/error.hpp"
#include "naqs/config.hpp"

namespace naqs::dist {

#if NAQS_HAVE_MPI
namespace detail {
// comm_mpi.cpp: MPI_COMM_WORLD (initialising MPI on the first call), whether MPI is initialised
// with more than one rank, and MPI_Abort.
Communicator& mpi_world();
bool mpi_parallel();
void mpi_abort(int code);
}  // namespace detail
#endif

namespace {

class SerialCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string description() const override { return "serial (1 rank)"; }
  void all_reduce_sum(void*, int64_t, Elem) override {}
  void all_gather_bytes(const void* send, void* recv,
                        const std::vector<int64_t>& bytes) override {
    NAQS_CHECK(bytes.size() == 1, "serial all_gather: ", bytes.size(), " counts for 1 rank");
    if (bytes[0] > 0 && send != recv) std::memmove(recv, send, static_cast<std::size_t>(bytes[0]));
  }
  void broadcast_bytes(void*, int64_t, int root) override {
    NAQS_CHECK(root == 0, "serial broadcast from rank ", root);
  }
  void barrier() override {}
};

// A positive integer environment variable, or 0 when unset or not a positive integer.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x > 0 && x < (1L << 30)) ? static_cast<int>(x) : 0;
}

bool env_set(const char* name) { return std::getenv(name) != nullptr; }

Communicator& pick_world() {
  const LaunchInfo li = launch_info();
#if NAQS_HAVE_MPI
  if (li.mpi_launcher) {
    Communicator& c = detail::mpi_world();
    NAQS_REQUIRE(li.ranks <= 1 || c.size() == li.ranks, "the launcher started ", li.ranks,
                 " ranks but MPI sees ", c.size(),
                 " (each process is alone): with Slurm use `srun --mpi=pmix` (see `srun "
                 "--mpi=list`), or mpirun");
    return c;
  }
#endif
  if (li.ranks > 1 || li.slurm_tasks > 1) {
    const int n = std::max(li.ranks, li.slurm_tasks);
    if (!mpi_built())
      throw UsageError(cat("started as ", n, " ranks/tasks, but this naqs was built without MPI "
                           "(configure with -DNAQS_MPI=ON and install libopenmpi-dev): every "
                           "task would repeat the same serial run; start one task instead"));
    throw UsageError(cat("started as ", n, " srun tasks without an MPI launcher: use "
                         "`srun --mpi=pmix` (or mpirun) so the tasks form one MPI job"));
  }
  return serial();
}

void check_tensor(const char* op, const Tensor& t) {
  check_defined(op, t, "t");
  NAQS_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op,
             ": only f32 and f64 tensors, got ", t.str());
}

}  // namespace

Communicator& serial() {
  static SerialCommunicator s;
  return s;
}

Communicator& world() {
  static Communicator& w = pick_world();
  return w;
}

bool mpi_built() { return NAQS_HAVE_MPI != 0; }

LaunchInfo launch_info() {
  LaunchInfo li;
  li.slurm_tasks = std::max(1, env_int("SLURM_STEP_NUM_TASKS"));
  if (const int n = env_int("OMPI_COMM_WORLD_SIZE")) {  // Open MPI's mpirun
    li.mpi_launcher = true;
    li.ranks = n;
  } else if (env_set("PMI_RANK") && env_int("PMI_SIZE")) {  // PMI-1/2 (srun --mpi=pmi2, hydra)
    li.mpi_launcher = true;
    li.ranks = env_int("PMI_SIZE");
  } else if (env_set("PMIX_RANK")) {  // PMIx (srun --mpi=pmix); the size comes from Slurm
    li.mpi_launcher = true;
    li.ranks = li.slurm_tasks;
  }
  return li;
}

Slice block_slice(int64_t n, int rank, int size) {
  NAQS_CHECK(size >= 1 && rank >= 0 && rank < size && n >= 0, "block_slice: n ", n, ", rank ",
             rank, " of ", size);
  const int64_t base = n / size, extra = n % size;
  Slice s;
  s.count = base + (rank < extra ? 1 : 0);
  s.first = rank * base + std::min<int64_t>(rank, extra);
  return s;
}

int64_t sum(Communicator& comm, int64_t value) {
  comm.all_reduce_sum(&value, 1, Elem::i64);
  return value;
}

bool any(Communicator& comm, bool value) { return sum(comm, value ? 1 : 0) > 0; }

void all_reduce_sum(Communicator& comm, std::vector<double>& values) {
  comm.all_reduce_sum(values.data(), static_cast<int64_t>(values.size()), Elem::f64);
}

void all_reduce_sum(Communicator& comm, Tensor& t) {
  check_tensor("dist::all_reduce_sum", t);
  if (comm.size() == 1) return;
  const Elem e = t.dtype() == DType::f64 ? Elem::f64 : Elem::f32;
  if (t.device().is_cpu()) {
    comm.all_reduce_sum(t.raw_data(), t.numel(), e);
    return;
  }
  Tensor h = t.to(Device::cpu());
  comm.all_reduce_sum(h.raw_data(), h.numel(), e);
  t.copy_from(h);
}

std::vector<double> all_gather(Communicator& comm, const std::vector<double>& local) {
  if (comm.size() == 1) return local;
  std::vector<int64_t> counts(static_cast<std::size_t>(comm.size()), 0);
  counts[comm.rank()] = static_cast<int64_t>(local.size());
  comm.all_reduce_sum(counts.data(), static_cast<int64_t>(counts.size()), Elem::i64);
  int64_t total = 0;
  for (int64_t& c : counts) {
    total += c;
    c *= static_cast<int64_t>(sizeof(double));
  }
  std::vector<double> out(static_cast<std::size_t>(total));
  comm.all_gather_bytes(local.data(), out.data(), counts);
  return out;
}

Tensor all_gather_rows(Communicator& comm, const Tensor& local) {
  check_tensor("dist::all_gather_rows", local);
  NAQS_CHECK(local.rank() >= 1, "dist::all_gather_rows: rank-0 tensor ", local.str());
  if (comm.size() == 1) return local;
  // Row size from the shape, so a rank with zero rows ((0,P)) knows it too.
  int64_t rb = static_cast<int64_t>(dtype_size(local.dtype()));
  for (int d = 1; d < local.rank(); ++d) rb *= local.size(d);
  std::vector<int64_t> rows(static_cast<std::size_t>(comm.size()), 0);
  rows[comm.rank()] = local.size(0);
  comm.all_reduce_sum(rows.data(), static_cast<int64_t>(rows.size()), Elem::i64);
  Shape shape = local.shape();
  int64_t total = 0;
  std::vector<int64_t> bytes(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    total += rows[r];
    bytes[r] = rows[r] * rb;
  }
  shape[0] = total;
  const Tensor src = local.device().is_cpu() ? local : local.to(Device::cpu());
  Tensor out = Tensor::empty(shape, local.dtype(), Device::cpu());
  comm.all_gather_bytes(src.raw_data(), out.raw_data(), bytes);
  return local.device().is_cpu() ? out : out.to(local.device());
}

std::string rank_device(Communicator& comm, const std::string& device) {
  if (comm.size() == 1 || (device != "cuda" && device != "auto")) return device;
  const int n = device_count();
  if (n == 0) return device;  // "auto" -> cpu, "cuda" -> resolve_device's clear error
  return cat("cuda:", comm.local_rank() % n);
}

std::string rank_tag() {
#if NAQS_HAVE_MPI
  if (detail::mpi_parallel()) {
    Communicator& c = world();
    return cat(" [rank ", c.rank(), " of ", c.size(), "]");
  }
#endif
  return "";
}

void abort_if_parallel(int code) {
#if NAQS_HAVE_MPI
  if (detail::mpi_parallel()) detail::mpi_abort(code);
#else
  (void)code;
#endif
}

}  // namespace naqs::dist
