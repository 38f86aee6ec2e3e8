// The emulated device's execution (emu/emu.hpp): blocks one after another, the threads of a block
// as Boost.Context fibers on pooled stacks (each with a guard page). A pass runs every ready
// thread, in the block's order, until it exits or waits (a __syncthreads, a warp operation);
// then complete warp operations are carried out, or, when every thread waits at the same
// barrier, the barrier opens. Anything else (a barrier some threads never reach, lanes of one
// mask at different operations, a mask naming lanes that are missing or have exited, a
// deadlock) is a naqs::Error naming the kernel, its launch site, the block and the threads.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "emu/emu.hpp"
#include "host/core/error.hpp"

// The built-in variables of the running emulated thread.
uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

// The bounds of the static __shared__ section (the linker defines them when a kernel has one).
extern "C" {
extern char __start_naqs_emu_shared[] __attribute__((weak));
extern char __stop_naqs_emu_shared[] __attribute__((weak));
}

namespace naqs::emu {
namespace {

namespace bc = boost::context;

constexpr std::size_t kStackBytes = 128 * 1024;  // per emulated thread
constexpr int kStacksPerMapping = 64;
constexpr std::size_t kDynamicSharedBytes = 48 * 1024;

std::size_t page_size() {
  static const std::size_t p = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

// Stacks for the fibers, kept for reuse; each has a PROT_NONE page below it.
class StackPool {
 public:
  bc::stack_context allocate() {
    if (free_.empty()) grow();
    bc::stack_context sc;
    sc.size = kStackBytes;
    sc.sp = free_.back();
    free_.pop_back();
    return sc;
  }
  void deallocate(bc::stack_context& sc) noexcept { free_.push_back(sc.sp); }

 private:
  void grow() {
    const std::size_t each = kStackBytes + page_size();
    void* m = mmap(nullptr, each * kStacksPerMapping, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw Error("emulator: cannot map thread stacks");
    char* base = static_cast<char*>(m);
    for (int i = 0; i < kStacksPerMapping; ++i) {
      char* low = base + i * each;
      if (mprotect(low, page_size(), PROT_NONE) != 0)
        throw Error("emulator: cannot protect a thread stack's guard page");
      free_.push_back(low + each);  // the top: stacks grow down
    }
  }
  std::vector<void*> free_;
};

struct PoolRef {
  StackPool* pool;
  bc::stack_context allocate() { return pool->allocate(); }
  void deallocate(bc::stack_context& sc) noexcept { pool->deallocate(sc); }
};

enum class State { ready, at_barrier, at_warp_op, exited };

struct EmuThread {
  bc::fiber fiber;  // the suspended thread
  bc::fiber back;   // inside the thread while it runs: the scheduler
  State state = State::ready;
  bool started = false;
  uint3 tid{};
  // Where it waits, and a warp operation's operands and result.
  std::source_location where;
  WarpOp op = WarpOp::sync;
  unsigned mask = 0;
  std::uint64_t value = 0, result = 0;
  int arg = 0, width = 32;
};

// One launch at a time on the device (kernels' static shared variables are shared).
std::mutex g_device;
StackPool g_pool;
std::vector<EmuThread> g_threads;
EmuThread* g_current = nullptr;
KernelBody g_body{};
const KernelSite* g_site = nullptr;
char* g_dynamic_shared = nullptr;  // the launch's dynamic shared bytes, ending at a guard page
std::uint64_t g_launches = 0;
volatile sig_atomic_t g_in_kernel = 0;
struct sigaction g_previous_segv {
}, g_previous_bus{};

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::sync: return "__syncwarp";
  }
  return "warp operation";
}

std::string at(const std::source_location& w) { return cat(w.file_name(), ":", w.line()); }
std::string hex32(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}
std::string str(uint3 v) { return cat("(", v.x, ",", v.y, ",", v.z, ")"); }

[[noreturn]] void fail_block(const std::string& what) {
  throw Error(cat("emulated kernel ", g_site->name, " (", g_site->file, ":", g_site->line,
                  "), block ", str(blockIdx), " of grid ",
                  str(uint3{gridDim.x, gridDim.y, gridDim.z}), " x block ",
                  str(uint3{blockDim.x, blockDim.y, blockDim.z}), ": ", what));
}

// ---- a fault inside a kernel: name it, then die as the fault would ---------------------------
void on_fault(int sig, siginfo_t* info, void*) {
  if (g_in_kernel) {
    char buf[512];
    const int n = std::snprintf(
        buf, sizeof buf,
        "naqs emulator: %s at address %p in emulated kernel %s (%s:%d), block (%u,%u,%u), "
        "thread (%u,%u,%u): outside device memory or past the end of an allocation\n",
        sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", info->si_addr, g_site->name, g_site->file,
        g_site->line, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
    if (n > 0) (void)!write(2, buf, static_cast<std::size_t>(n));
  }
  sigaction(sig, sig == SIGSEGV ? &g_previous_segv : &g_previous_bus, nullptr);
  // Returning re-runs the faulting access under the previous (default) handler.
}

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
    sigaction(SIGBUS, &sa, &g_previous_bus);
  });
  // The handler runs on an alternate stack: a fiber stack that overflowed has no room for it.
  thread_local std::unique_ptr<char[]> alt;
  if (!alt) {
    alt.reset(new char[64 * 1024]);
    stack_t ss{};
    ss.ss_sp = alt.get();
    ss.ss_size = 64 * 1024;
    sigaltstack(&ss, nullptr);
  }
}

// ---- running threads --------------------------------------------------------------------
void resume(EmuThread& t) {
  threadIdx = t.tid;
  g_current = &t;
  if (!t.started) {
    t.started = true;
    t.fiber = bc::fiber(std::allocator_arg, PoolRef{&g_pool}, [&t](bc::fiber&& back) {
      t.back = std::move(back);
      g_body.run(g_body.ctx);
      t.state = State::exited;
      return std::move(t.back);
    });
  }
  t.fiber = std::move(t.fiber).resume();
  g_current = nullptr;
}

// Inside an emulated thread: back to the scheduler until the thread is resumed.
void suspend() {
  EmuThread& t = *g_current;
  t.back = std::move(t.back).resume();
}

EmuThread& current(const char* what) {
  if (g_current == nullptr)
    throw Error(cat("emulator: ", what, " called outside an emulated kernel"));
  return *g_current;
}

// ---- warp operations ----------------------------------------------------------------------
// Every lane of `mask` in warp w (lanes [first, first + n_lanes)) waits at one consistent warp
// operation: each lane's result; the lanes become ready.
void carry_out_warp_op(int w, int first, int n_lanes, unsigned mask) {
  std::uint64_t ballot = 0;
  for (int m = 0; m < n_lanes; ++m)
    if ((mask >> m & 1u) && g_threads[first + m].value != 0) ballot |= 1ull << m;
  for (int m = 0; m < n_lanes; ++m) {
    if (!(mask >> m & 1u)) continue;
    EmuThread& t = g_threads[first + m];
    const int width = t.width, base = m & ~(width - 1);
    int src = m;
    switch (t.op) {
      case WarpOp::shfl_idx: src = base + (t.arg & (width - 1)); break;
      case WarpOp::shfl_up: src = (m - base) >= t.arg ? m - t.arg : m; break;
      case WarpOp::shfl_down: src = (m - base) + t.arg < width ? m + t.arg : m; break;
      case WarpOp::shfl_xor: {
        const int x = m ^ t.arg;
        src = x >= base && x < base + width ? x : m;
        break;
      }
      default: break;
    }
    switch (t.op) {
      case WarpOp::ballot: t.result = ballot & mask; break;
      case WarpOp::any: t.result = (ballot & mask) != 0; break;
      case WarpOp::all: t.result = (ballot & mask) == mask; break;
      case WarpOp::sync: t.result = 0; break;
      default:
        if (src >= n_lanes || !(mask >> src & 1u))
          fail_block(cat(op_name(t.op), " at ", at(t.where), ": lane ", m, " of warp ", w,
                         " reads lane ", src, ", which is not in the mask ", hex32(mask),
                         " (undefined on a GPU)"));
        t.result = g_threads[first + src].value;
    }
  }
  for (int m = 0; m < n_lanes; ++m)
    if (mask >> m & 1u) g_threads[first + m].state = State::ready;
}

// Carries out the complete warp operations of warp w (threads [first, end) of the block);
// returns whether any thread became ready. Inconsistent or impossible ones are errors.
bool resolve_warp(int w, int first, int end) {
  bool progress = false;
  unsigned done = 0;  // lanes handled in this call
  const int n_lanes = end - first;
  const unsigned present = n_lanes >= 32 ? 0xffffffffu : ((1u << n_lanes) - 1u);
  for (int l = 0; l < n_lanes; ++l) {
    EmuThread& lead = g_threads[first + l];
    if (lead.state != State::at_warp_op || (done >> l & 1u)) continue;
    const unsigned mask = lead.mask;
    if (lead.width < 1 || lead.width > 32 || (lead.width & (lead.width - 1)) != 0)
      fail_block(cat(op_name(lead.op), " at ", at(lead.where), ": width ", lead.width,
                     " is not a power of two in [1, 32]"));
    if (!(mask >> l & 1u))
      fail_block(cat("thread ", str(lead.tid), " calls ", op_name(lead.op), " at ", at(lead.where),
                     " with mask ", hex32(mask), ", which does not include its own lane ", l));
    if (mask & ~present)
      fail_block(cat(op_name(lead.op), " at ", at(lead.where), " with mask ", hex32(mask),
                     " in warp ", w, ", which has only ", n_lanes, " lanes in this block"));
    for (int m = 0; m < n_lanes; ++m) {
      if (!(mask >> m & 1u)) continue;
      const EmuThread& o = g_threads[first + m];
      if (o.state == State::exited)
        fail_block(cat(op_name(lead.op), " at ", at(lead.where), " with mask ", hex32(mask),
                       ": lane ", m, " of warp ", w, " (thread ", str(o.tid), ") has returned"));
      if (o.state == State::at_barrier)
        fail_block(cat(op_name(lead.op), " at ", at(lead.where), " with mask ", hex32(mask),
                       ": lane ", m, " of warp ", w, " (thread ", str(o.tid),
                       ") waits at __syncthreads at ", at(o.where), " instead"));
      if (o.op != lead.op || o.mask != mask || o.where.line() != lead.where.line() ||
          std::strcmp(o.where.file_name(), lead.where.file_name()) != 0 || o.width != lead.width)
        fail_block(cat("lanes of warp ", w, " wait at different warp operations: lane ", l, " at ",
                       op_name(lead.op), " ", at(lead.where), " (mask ", hex32(mask), "), lane ", m,
                       " at ", op_name(o.op), " ", at(o.where), " (mask ", hex32(o.mask), ")"));
    }
    carry_out_warp_op(w, first, n_lanes, mask);
    done |= mask;
    progress = true;
  }
  return progress;
}

// ---- one block ----------------------------------------------------------------------------
int lanes_in(unsigned mask) { return mask == 0xffffffffu ? 32 : std::popcount(mask); }

bool same_site(const std::source_location& a, const std::source_location& b) {
  return a.line() == b.line() &&
         (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

// The state of the running block: which threads run in the next pass, and the counts that
// decide when a barrier or a warp operation completes.
struct BlockRun {
  int n = 0;
  std::vector<std::uint64_t> next;  // bit i: thread i runs in the next pass
  std::vector<int> warp_waiting;    // lanes of warp w waiting at a warp operation
  int barrier_waiting = 0, exited = 0;
  std::source_location barrier_site;
  void wake(int i) { next[static_cast<std::size_t>(i) >> 6] |= 1ull << (i & 63); }
};

// All lanes of `mask` in warp w wait at one warp operation: carry it out, or return false to
// wait (a lane not there yet; inconsistencies are reported by resolve_warp when nothing can run).
bool complete_warp_op(BlockRun& run, int w, unsigned mask, const EmuThread& arrived) {
  const int first = w * 32, n_lanes = std::min(32, run.n - first);
  const unsigned present = n_lanes >= 32 ? 0xffffffffu : ((1u << n_lanes) - 1u);
  if (mask & ~present) return false;
  for (int m = 0; m < n_lanes; ++m) {
    if (!(mask >> m & 1u)) continue;
    const EmuThread& o = g_threads[first + m];
    if (o.state != State::at_warp_op || o.mask != mask || o.op != arrived.op ||
        o.width != arrived.width || !same_site(o.where, arrived.where))
      return false;
  }
  if (arrived.width < 1 || arrived.width > 32 || (arrived.width & (arrived.width - 1)) != 0)
    return false;
  carry_out_warp_op(w, first, n_lanes, mask);
  for (int m = 0; m < n_lanes; ++m)
    if (mask >> m & 1u) run.wake(first + m);
  run.warp_waiting[w] -= lanes_in(mask);
  return true;
}

// A barrier opens when every thread that has not returned waits at it; if some returned, the
// barrier can never open on a GPU (undefined behaviour): an error.
void check_barrier(BlockRun& run) {
  if (run.barrier_waiting == 0 || run.barrier_waiting + run.exited < run.n) return;
  if (run.exited > 0) {
    const EmuThread* gone = nullptr;
    for (const EmuThread& t : g_threads)
      if (t.state == State::exited) {
        gone = &t;
        break;
      }
    fail_block(cat("__syncthreads at ", at(run.barrier_site), " reached by ", run.barrier_waiting,
                   " of ", run.n, " threads; the others (thread ", str(gone->tid),
                   " first) have returned"));
  }
  for (int i = 0; i < run.n; ++i) {
    g_threads[i].state = State::ready;
    run.wake(i);
  }
  run.barrier_waiting = 0;
}

// After thread i ran: count where it stopped, and carry out what it completed.
void after_run(BlockRun& run, int i) {
  EmuThread& t = g_threads[i];
  switch (t.state) {
    case State::exited:
      ++run.exited;
      check_barrier(run);
      break;
    case State::at_barrier:
      if (run.barrier_waiting == 0) {
        run.barrier_site = t.where;
      } else if (!same_site(t.where, run.barrier_site)) {
        const EmuThread* other = nullptr;
        for (const EmuThread& o : g_threads)
          if (o.state == State::at_barrier && &o != &t) {
            other = &o;
            break;
          }
        fail_block(cat("threads wait at different barriers: thread ", str(other->tid), " at ",
                       at(other->where), ", thread ", str(t.tid), " at ", at(t.where)));
      }
      ++run.barrier_waiting;
      check_barrier(run);
      break;
    case State::at_warp_op: {
      const int w = i >> 5;
      if (++run.warp_waiting[w] >= lanes_in(t.mask)) complete_warp_op(run, w, t.mask, t);
      break;
    }
    case State::ready: break;
  }
}

void run_block(Order order, std::size_t shared_bytes, std::mt19937_64& rng) {
  // Fresh shared memory for the block, 0xff-filled as device memory is.
  if (__start_naqs_emu_shared != nullptr && __stop_naqs_emu_shared != nullptr)
    std::memset(__start_naqs_emu_shared, 0xff,
                static_cast<std::size_t>(__stop_naqs_emu_shared - __start_naqs_emu_shared));
  std::memset(g_dynamic_shared, 0xff, (shared_bytes + 15) / 16 * 16);

  BlockRun run;
  run.n = static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
  const int n = run.n;
  g_threads.clear();
  g_threads.resize(n);
  for (int i = 0; i < n; ++i)
    g_threads[i].tid =
        uint3{i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y)};
  const std::size_t words = (static_cast<std::size_t>(n) + 63) / 64;
  run.next.assign(words, 0);
  run.warp_waiting.assign(static_cast<std::size_t>((n + 31) / 32), 0);
  for (int i = 0; i < n; ++i) run.wake(i);
  std::vector<std::uint64_t> current(words);
  std::vector<int> shuffled;
  for (;;) {
    // One pass: the threads woken so far, in the block's order; what they wake runs next pass.
    current.swap(run.next);
    std::fill(run.next.begin(), run.next.end(), 0);
    bool any = false;
    if (order == Order::forward) {
      for (std::size_t k = 0; k < words; ++k)
        for (std::uint64_t bits = current[k]; bits != 0; bits &= bits - 1) {
          const int i = static_cast<int>(k * 64) + std::countr_zero(bits);
          resume(g_threads[i]);
          after_run(run, i);
          any = true;
        }
    } else if (order == Order::reverse) {
      for (std::size_t k = words; k-- > 0;)
        for (std::uint64_t bits = current[k]; bits != 0;) {
          const int b = 63 - std::countl_zero(bits);
          bits &= ~(1ull << b);
          const int i = static_cast<int>(k * 64) + b;
          resume(g_threads[i]);
          after_run(run, i);
          any = true;
        }
    } else {
      shuffled.clear();
      for (std::size_t k = 0; k < words; ++k)
        for (std::uint64_t bits = current[k]; bits != 0; bits &= bits - 1)
          shuffled.push_back(static_cast<int>(k * 64) + std::countr_zero(bits));
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      for (int i : shuffled) {
        resume(g_threads[i]);
        after_run(run, i);
      }
      any = !shuffled.empty();
    }
    if (any) continue;
    if (run.exited == n) return;
    // Nothing can run: name what waits for what (resolve_warp throws), else a deadlock.
    for (int w = 0; w * 32 < n; ++w) resolve_warp(w, w * 32, std::min(n, w * 32 + 32));
    fail_block("deadlock: threads wait at warp operations and barriers that cannot complete");
  }
}

}  // namespace

void syncthreads(const std::source_location& where) {
  EmuThread& t = current("__syncthreads");
  t.state = State::at_barrier;
  t.where = where;
  suspend();
}

std::uint64_t warp_op(WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                      const std::source_location& where) {
  EmuThread& t = current(op_name(op));  // errors are raised by the scheduler, not in a fiber
  t.state = State::at_warp_op;
  t.op = op;
  t.mask = mask;
  t.value = value;
  t.arg = arg;
  t.width = width;
  t.where = where;
  suspend();
  return t.result;
}

void* dynamic_shared() {
  current("dynamic shared memory");
  return g_dynamic_shared;
}

void launch(const KernelSite& site, dim3 grid, dim3 block, std::size_t shared_bytes,
            KernelBody body) {
  const Order order = thread_order();
  std::lock_guard<std::mutex> lock(g_device);
  install_fault_handler();
  if (shared_bytes > kDynamicSharedBytes)
    throw Error(cat("emulated kernel ", site.name, " (", site.file, ":", site.line,
                    "): ", shared_bytes, " bytes of dynamic shared memory, at most ",
                    kDynamicSharedBytes));
  // The dynamic shared bytes end at a guard page.
  static char* region = [] {
    void* m = mmap(nullptr, kDynamicSharedBytes + page_size(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw Error("emulator: cannot map shared memory");
    char* r = static_cast<char*>(m);
    mprotect(r + kDynamicSharedBytes, page_size(), PROT_NONE);
    return r + kDynamicSharedBytes;  // the end (the guard page)
  }();
  g_dynamic_shared = region - (shared_bytes + 15) / 16 * 16;
  g_site = &site;
  g_body = body;
  gridDim = grid;
  blockDim = block;
  const std::uint64_t seed = [] {
    const char* v = std::getenv("NAQS_EMU_SEED");
    return v ? std::strtoull(v, nullptr, 10) : 1ull;
  }();
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + g_launches++);
  const std::uint64_t n_blocks = std::uint64_t{grid.x} * grid.y * grid.z;
  // Block order: forward, reverse, or a random affine permutation (a * i + c mod n_blocks).
  std::uint64_t a = 1, c = 0;
  if (order == Order::random && n_blocks > 1) {
    do a = rng() % n_blocks;
    while (a == 0 || std::gcd(a, n_blocks) != 1);
    c = rng() % n_blocks;
  }
  struct Reset {
    ~Reset() {
      g_in_kernel = 0;
      g_threads.clear();  // unwinds the fibers of a block that failed
      g_current = nullptr;
    }
  } reset;
  g_in_kernel = 1;
  for (std::uint64_t i = 0; i < n_blocks; ++i) {
    std::uint64_t b = i;
    if (order == Order::reverse) b = n_blocks - 1 - i;
    if (order == Order::random)
      b = static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * i + c) % n_blocks);
    blockIdx =
        uint3{static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
              static_cast<unsigned>(b / (std::uint64_t{grid.x} * grid.y))};
    run_block(order, shared_bytes, rng);
  }
}

}  // namespace naqs::emu
