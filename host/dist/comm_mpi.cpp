// The MPI communicator over MPI_COMM_WORLD (host/dist/comm.hpp); compiled to nothing unless
// CMake's NAQS_MPI found MPI (NAQS_HAVE_MPI). Every MPI call's return code is checked (the
// communicator's error handler is MPI_ERRORS_RETURN, so failures come back as codes and become
// naqs::Error with the call and MPI's message).
// Sums: MPI_Reduce to rank 0 then MPI_Bcast, so every rank holds the same bits (MPI_Allreduce
// does not promise that for floating point). All-gather: MPI_Allgatherv of bytes.
// Tests: tests/cluster/test_mpi.cpp (2 ranks under mpirun and srun --mpi=pmix).
#include "naqs/config.hpp"

#if NAQS_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (no deprecated C++ bindings to link)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <vector>

#include "host/core/error.hpp"
#include "host/dist/comm.hpp"

#define NAQS_MPI_CHECK(call)                                                           \
  do {                                                                                 \
    const int naqs_mpi_rc_ = (call);                                                   \
    if (naqs_mpi_rc_ != MPI_SUCCESS) ::naqs::dist::detail::mpi_fail(#call, naqs_mpi_rc_, \
                                                                    __FILE__, __LINE__); \
  } while (0)

namespace naqs::dist::detail {

[[noreturn]] void mpi_fail(const char* call, int rc, const char* file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) msg[0] = '\0';
  throw Error(cat(call, " failed: ", msg, " (code ", rc, ") [", file, ":", line, "]"));
}

namespace {

MPI_Datatype mpi_type(Elem t) {
  switch (t) {
    case Elem::f32: return MPI_FLOAT;
    case Elem::f64: return MPI_DOUBLE;
    case Elem::i64: return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

std::size_t elem_size(Elem t) { return t == Elem::f32 ? 4 : 8; }

int to_int(int64_t n, const char* what) {
  NAQS_CHECK(n >= 0 && n <= INT_MAX, "MPI: ", what, " of ", n,
             " does not fit an int count (split the message)");
  return static_cast<int>(n);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int provided = 0;
    NAQS_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    NAQS_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    NAQS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    NAQS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    MPI_Comm node = MPI_COMM_NULL;
    NAQS_MPI_CHECK(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
    NAQS_MPI_CHECK(MPI_Comm_rank(node, &local_rank_));
    NAQS_MPI_CHECK(MPI_Comm_free(&node));
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int len = 0;
    NAQS_MPI_CHECK(MPI_Get_library_version(lib, &len));
    std::string l(lib, static_cast<std::size_t>(len));
    library_ = l.substr(0, l.find_first_of(",\n"));
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string description() const override {
    return cat("MPI: ", size_, " rank", size_ == 1 ? "" : "s", " (", library_, ")");
  }

  void all_reduce_sum(void* data, int64_t n, Elem t) override {
    if (size_ == 1 || n == 0) return;
    const int count = to_int(n, "all_reduce_sum count");
    std::vector<unsigned char> out(rank_ == 0 ? static_cast<std::size_t>(n) * elem_size(t) : 0);
    NAQS_MPI_CHECK(MPI_Reduce(data, rank_ == 0 ? out.data() : nullptr, count, mpi_type(t),
                              MPI_SUM, 0, MPI_COMM_WORLD));
    if (rank_ == 0) std::copy(out.begin(), out.end(), static_cast<unsigned char*>(data));
    NAQS_MPI_CHECK(MPI_Bcast(data, count, mpi_type(t), 0, MPI_COMM_WORLD));
  }

  void all_gather_bytes(const void* send, void* recv,
                        const std::vector<int64_t>& bytes) override {
    NAQS_CHECK(static_cast<int>(bytes.size()) == size_, "MPI all_gather: ", bytes.size(),
               " counts for ", size_, " ranks");
    std::vector<int> counts(bytes.size()), displs(bytes.size());
    int64_t offset = 0;
    for (std::size_t r = 0; r < bytes.size(); ++r) {
      counts[r] = to_int(bytes[r], "all_gather bytes");
      displs[r] = to_int(offset, "all_gather offset");
      offset += bytes[r];
    }
    NAQS_MPI_CHECK(MPI_Allgatherv(send, counts[rank_], MPI_BYTE, recv, counts.data(),
                                  displs.data(), MPI_BYTE, MPI_COMM_WORLD));
  }

  void broadcast_bytes(void* data, int64_t n_bytes, int root) override {
    NAQS_MPI_CHECK(
        MPI_Bcast(data, to_int(n_bytes, "broadcast bytes"), MPI_BYTE, root, MPI_COMM_WORLD));
  }

  void barrier() override { NAQS_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::string library_;
};

MpiCommunicator* g_world = nullptr;

}  // namespace

Communicator& mpi_world() {
  static MpiCommunicator w;
  g_world = &w;
  return w;
}

bool mpi_parallel() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return g_world && initialized && !finalized && g_world->size() > 1;
}

void mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

}  // namespace naqs::dist::detail

#endif  // NAQS_HAVE_MPI
