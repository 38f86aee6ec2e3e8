// The emulated devices' memory and runtime API (emu/emu.hpp, emu/shim.hpp): NAQS_EMU_DEVICES
// devices (default 1) sharing the host's address space, a current device per host thread
// (cudaSetDevice), every cudaMalloc its own mapping (0xff-filled, ending at a PROT_NONE guard
// page) tagged with the device current at the call, copies and memsets checked against the
// allocations (sizes, directions, devices), error details for cudaGetErrorString.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "emu/emu.hpp"
#include "host/core/error.hpp"

namespace naqs::emu {
namespace {

constexpr std::size_t kDeviceBytes = std::size_t{16} << 30;  // what the device reports

struct Allocation {
  char* map;              // the mapping: data pages, then one guard page
  std::size_t map_bytes;  // including the guard page
  std::size_t bytes;      // as requested
  int device;             // current at cudaMalloc
};

std::mutex g_mutex;
std::map<std::uintptr_t, Allocation> g_allocations;  // by the pointer handed out
std::size_t g_in_use = 0;
thread_local int g_device = 0;  // the current device (CUDA's is per host thread)
thread_local cudaError_t g_last_error = cudaSuccess;  // cudaGetLastError's sticky state
thread_local cudaError_t g_detail_code = cudaSuccess;
thread_local std::string g_detail;

std::size_t page_size() {
  static const std::size_t p = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

// The allocation holding [p, p + bytes), or nullptr. Caller holds g_mutex.
const std::pair<const std::uintptr_t, Allocation>* find_locked(const void* p, std::size_t bytes) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = g_allocations.upper_bound(a);
  if (it == g_allocations.begin()) return nullptr;
  --it;
  if (a - it->first > it->second.bytes) return nullptr;
  if (bytes > it->second.bytes - (a - it->first)) return nullptr;
  return &*it;
}

// The device of the allocation holding p, or -1 when p is not device memory.
int device_of(const void* p) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const auto* a = find_locked(p, 1);
  return a ? a->second.device : -1;
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

const char* kind_name(cudaMemcpyKind k) {
  switch (k) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    case cudaMemcpyDefault: return "Default";
  }
  return "unknown";
}

}  // namespace

bool is_device_range(const void* p, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return find_locked(p, bytes) != nullptr;
}

int fail(int code, std::string detail) {
  g_detail_code = static_cast<cudaError_t>(code);
  g_detail = std::move(detail);
  g_last_error = static_cast<cudaError_t>(code);
  return code;
}

int device_count() {
  const char* v = std::getenv("NAQS_EMU_DEVICES");
  if (v == nullptr) return 1;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < 1 || n > 8)
    throw Error(cat("NAQS_EMU_DEVICES='", v, "' is not allowed; use 1 to 8"));
  return static_cast<int>(n);
}

int current_device() { return g_device; }

std::string wrong_device(const void* p) {
  const int d = device_of(p);
  if (d < 0) return cat(hex(p), " is not device memory");
  if (d != g_device)
    return cat(hex(p), " is memory of device ", d, " but device ", g_device,
               " is current (select the tensor's device before the call)");
  return "";
}

void check_kernel_pointer(const KernelSite& site, int index, const void* p) {
  if (p == nullptr) return;
  const std::string why = wrong_device(p);
  if (why.empty()) return;
  throw Error(cat("emulated kernel ", site.name, " (", site.file, ":", site.line,
                  "): pointer argument ", index, ": ", why, "; a GPU would fault on it"));
}

long long grid_cap(long long cap) {
  const char* v = std::getenv("NAQS_EMU_GRID_CAP");
  if (v == nullptr) return cap;
  char* end = nullptr;
  const long long c = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || c < 1)
    throw Error(cat("NAQS_EMU_GRID_CAP='", v, "' is not allowed; use a positive integer"));
  return c < cap ? c : cap;
}

Order thread_order() {
  const char* v = std::getenv("NAQS_EMU_ORDER");
  if (v == nullptr || std::strcmp(v, "forward") == 0) return Order::forward;
  if (std::strcmp(v, "reverse") == 0) return Order::reverse;
  if (std::strcmp(v, "random") == 0) return Order::random;
  throw Error(cat("NAQS_EMU_ORDER='", v, "' is not allowed; use forward, reverse or random"));
}

}  // namespace naqs::emu

using naqs::emu::fail;

cudaError_t cudaGetDeviceCount(int* count) {
  *count = naqs::emu::device_count();
  return cudaSuccess;
}

namespace {
cudaError_t check_device_index(const char* call, int device) {
  const int n = naqs::emu::device_count();
  if (device < 0 || device >= n)
    return static_cast<cudaError_t>(
        fail(cudaErrorInvalidDevice, naqs::cat(call, "(", device, "): the emulator has ", n,
                                               " device(s) (NAQS_EMU_DEVICES)")));
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaSetDevice(int device) {
  const cudaError_t e = check_device_index("cudaSetDevice", device);
  if (e == cudaSuccess) naqs::emu::g_device = device;
  return e;
}

cudaError_t cudaGetDevice(int* device) {
  *device = naqs::emu::g_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (const cudaError_t e = check_device_index("cudaGetDeviceProperties", device);
      e != cudaSuccess)
    return e;
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "naqs host emulator");
  prop->totalGlobalMem = naqs::emu::kDeviceBytes;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  using namespace naqs::emu;
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (bytes > kDeviceBytes - g_in_use)
    return static_cast<cudaError_t>(
        fail(cudaErrorMemoryAllocation,
             naqs::cat("cudaMalloc(", bytes, " bytes): the emulated device has ",
                       kDeviceBytes - g_in_use, " of ", kDeviceBytes, " bytes free")));
  const std::size_t page = page_size();
  const std::size_t padded =
      (bytes + 15) / 16 * 16;  // the buffer ends <= 15 bytes before the guard
  const std::size_t data = (padded + page - 1) / page * page;
  void* m = mmap(nullptr, data + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    return static_cast<cudaError_t>(
        fail(cudaErrorMemoryAllocation, naqs::cat("cudaMalloc(", bytes, " bytes): mmap failed")));
  char* map = static_cast<char*>(m);
  if (mprotect(map + data, page, PROT_NONE) != 0) {
    munmap(map, data + page);
    return static_cast<cudaError_t>(fail(
        cudaErrorMemoryAllocation, naqs::cat("cudaMalloc(", bytes, " bytes): mprotect failed")));
  }
  char* ptr = map + data - padded;
  std::memset(ptr, 0xff, padded);  // NaN for f32/f64, -1 for integers
  g_allocations[reinterpret_cast<std::uintptr_t>(ptr)] =
      Allocation{map, data + page, bytes, g_device};
  g_in_use += bytes;
  *p = ptr;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  using namespace naqs::emu;
  if (p == nullptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_allocations.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g_allocations.end())
    return static_cast<cudaError_t>(fail(
        cudaErrorInvalidDevicePointer,
        naqs::cat("cudaFree(", hex(p), "): not a pointer cudaMalloc returned (or freed twice)")));
  munmap(it->second.map, it->second.map_bytes);  // later use faults
  g_in_use -= it->second.bytes;
  g_allocations.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  using namespace naqs::emu;
  if (bytes == 0) return cudaSuccess;
  bool dst_dev, src_dev;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    dst_dev = find_locked(dst, 1) != nullptr;
    src_dev = find_locked(src, 1) != nullptr;
    const bool dst_ok = !dst_dev || find_locked(dst, bytes) != nullptr;
    const bool src_ok = !src_dev || find_locked(src, bytes) != nullptr;
    if (!dst_ok || !src_ok)
      return static_cast<cudaError_t>(
          fail(cudaErrorInvalidValue,
               naqs::cat("cudaMemcpy ", kind_name(kind), " of ", bytes, " bytes: the ",
                         !dst_ok ? "destination " : "source ", hex(!dst_ok ? dst : src),
                         " runs past the end of its device allocation")));
  }
  bool want_dst = dst_dev, want_src = src_dev;
  switch (kind) {
    case cudaMemcpyHostToHost: want_dst = want_src = false; break;
    case cudaMemcpyHostToDevice:
      want_dst = true;
      want_src = false;
      break;
    case cudaMemcpyDeviceToHost:
      want_dst = false;
      want_src = true;
      break;
    case cudaMemcpyDeviceToDevice: want_dst = want_src = true; break;
    case cudaMemcpyDefault: break;
    default:
      return static_cast<cudaError_t>(
          fail(cudaErrorInvalidMemcpyDirection, naqs::cat("cudaMemcpy: direction ", int(kind))));
  }
  if (want_dst != dst_dev || want_src != src_dev)
    return static_cast<cudaError_t>(
        fail(cudaErrorInvalidValue,
             naqs::cat("cudaMemcpy ", kind_name(kind), " of ", bytes, " bytes: the ",
                       want_dst != dst_dev ? "destination " : "source ",
                       hex(want_dst != dst_dev ? dst : src), " is ",
                       (want_dst != dst_dev ? dst_dev : src_dev) ? "" : "not ", "device memory")));
  // The copy runs on the current device: its device operand (a device-to-device copy's
  // destination; the source may lie on another device, a peer copy) must be that device's.
  if (dst_dev || src_dev) {
    const std::string why = wrong_device(dst_dev ? dst : src);
    if (!why.empty())
      return static_cast<cudaError_t>(
          fail(cudaErrorInvalidValue,
               naqs::cat("cudaMemcpy ", kind_name(kind), " of ", bytes, " bytes: the ",
                         dst_dev ? "destination " : "source ", why)));
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  using namespace naqs::emu;
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(dst, bytes))
    return static_cast<cudaError_t>(
        fail(cudaErrorInvalidValue, naqs::cat("cudaMemset of ", bytes, " bytes at ", hex(dst),
                                              ": not inside one device allocation")));
  if (const std::string why = wrong_device(dst); !why.empty())
    return static_cast<cudaError_t>(
        fail(cudaErrorInvalidValue, naqs::cat("cudaMemset of ", bytes, " bytes: ", why)));
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

// Launches run to completion before they return.
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  using namespace naqs::emu;
  std::lock_guard<std::mutex> lock(g_mutex);
  *total_bytes = kDeviceBytes;
  *free_bytes = kDeviceBytes - g_in_use;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = naqs::emu::g_last_error;
  naqs::emu::g_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return naqs::emu::g_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorCudartUnloading: return "cudaErrorCudartUnloading";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

// The emulator's detail of the last failed call with this code (on this host thread), else
// CUDA's generic text.
const char* cudaGetErrorString(cudaError_t e) {
  using namespace naqs::emu;
  if (e != cudaSuccess && e == g_detail_code) return g_detail.c_str();
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
