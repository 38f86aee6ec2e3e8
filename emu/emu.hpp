// The host emulation tier's device (NAQS_CUDA=EMU; docs/ARCHITECTURE.md "The emulation tier"):
// what cuda/launch.cuh and the emulated toolkit headers (emu/include/) call. The kernels of cuda/
// are compiled unmodified as host C++ with emu/shim.hpp force-included; every launch runs here.
//
// NAQS_EMU_DEVICES devices (1 to 8, default 1; read at every call) in the host's one address
// space: each allocation belongs to the device current (cudaSetDevice, per host thread) at its
// cudaMalloc, and a kernel's pointer arguments, a memset's range, a copy's device operand (a
// device-to-device copy's destination) and cuBLAS's operands must belong to the current device,
// so an op that does not select its tensors' device fails by name with two devices.
// A launch runs its blocks one after another; the threads of a block are stackful coroutines
// (Boost.Context fibers) that run until they exit or reach a __syncthreads, a warp shuffle/vote
// or __syncwarp, so barriers and shuffles are real: a barrier or warp operation that only part
// of the block (warp, mask) reaches, threads of one block waiting at different barriers, or a
// deadlock is a naqs::Error naming the kernel and the launch site.
// The order in which the threads of a block run between two barriers (and the order of the
// blocks) is forward, reverse or random: NAQS_EMU_ORDER=forward|reverse|random (default
// forward), NAQS_EMU_SEED (random order's seed, default 1). A missing barrier shows as a wrong
// result in at least one order, so the gpuemu tier runs every test in all three.
// Memory: every cudaMalloc is its own mapping, filled with 0xff bytes (NaN for f32/f64, -1 for
// integers) and ending at a PROT_NONE guard page; static __shared__ variables (one ELF section)
// and the dynamic shared bytes are refilled with 0xff before every block, the dynamic ones end
// at a guard page too. A fault inside a kernel prints the kernel, block and thread and aborts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "emu/shim.hpp"

namespace naqs::emu {

struct KernelSite {
  const char* name;  // as written at the launch (NAQS_LAUNCH's last argument)
  const char* file;
  int line;
};

// One emulated thread's work: run(ctx) calls the kernel with the launch's arguments.
struct KernelBody {
  void* ctx;
  void (*run)(void*);
};

// Runs the kernel on the emulated device; returns when every block has finished.
void launch(const KernelSite& site, dim3 grid, dim3 block, std::size_t shared_bytes,
            KernelBody body);

// The running block's dynamic shared memory (NAQS_EXTERN_SHARED).
void* dynamic_shared();

// A kernel's pointer parameter `index` must be null or point into the current device's memory.
void check_kernel_pointer(const KernelSite& site, int index, const void* p);

int device_count();    // NAQS_EMU_DEVICES (a bad value is a naqs::Error)
int current_device();  // this host thread's (cudaSetDevice)
// "" when p points into memory of the current device, else why not (for an error message).
std::string wrong_device(const void* p);

// True when [p, p + bytes) lies inside one device allocation.
bool is_device_range(const void* p, std::size_t bytes);
// Records the detail of a failed emulated API call (cudaGetErrorString returns it) and
// returns `code`.
int fail(int code, std::string detail);

// The grid cap of cuda_rt::grid_for / grid_for_rows (cuda/check.cuh): `cap`, or
// NAQS_EMU_GRID_CAP when that is smaller (a positive integer; read at every call). With 1, every
// kernel those helpers size runs as one block, so a kernel without a grid-stride loop misses
// elements at test sizes.
long long grid_cap(long long cap);

enum class Order { forward, reverse, random };
Order thread_order();  // NAQS_EMU_ORDER, read at every launch (a bad value is a naqs::Error)

}  // namespace naqs::emu
