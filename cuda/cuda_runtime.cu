// CUDA runtime: device discovery, raw allocation, copies, the cuBLAS handle, the launch checks
// of cuda/launch.cuh. Declared (without CUDA types) in host/core/cuda_runtime.hpp; the caching
// lives in host/core/allocator.cpp. In the emulation tier (NAQS_CUDA=EMU) the same file runs on
// the emulated runtime (emu/), and cuBLAS is the emulator's (emu/cublas.cpp), not dlopen'ed.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/core/cuda_runtime.hpp"

namespace naqs::cuda_rt {

int device_count_noexcept() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not confused by it
    return 0;
  }
  return n;
}

std::string device_name(int index) {
  cudaDeviceProp prop{};
  NAQS_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return cat(prop.name, " (", prop.totalGlobalMem >> 20, " MiB, sm_", prop.major, prop.minor,
             ")");
}

void set_device(int index) { NAQS_CUDA_CHECK(cudaSetDevice(index)); }

void* malloc_device(std::size_t bytes) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error(cat("cudaMalloc(", bytes, " bytes) failed: ", cudaGetErrorString(e)));
  }
  return p;
}

void free_device(void* p) noexcept {
  cudaError_t e = cudaFree(p);
  if (e != cudaSuccess && e != cudaErrorCudartUnloading)
    std::fprintf(stderr, "naqs: warning: cudaFree failed: %s\n", cudaGetErrorString(e));
}

void copy_h2d(void* dst, const void* src, std::size_t bytes) {
  NAQS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_d2h(void* dst, const void* src, std::size_t bytes) {
  NAQS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_d2d(void* dst, const void* src, std::size_t bytes) {
  NAQS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
void memset_device(void* dst, int value, std::size_t bytes) {
  NAQS_CUDA_CHECK(cudaMemset(dst, value, bytes));
}
void synchronize() { NAQS_CUDA_CHECK(cudaDeviceSynchronize()); }

std::size_t free_memory() {
  std::size_t free_b = 0, total_b = 0;
  NAQS_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return free_b;
}

void check_launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block,
                  std::size_t shared_bytes, std::size_t static_shared_bytes) {
  const unsigned long long threads = static_cast<unsigned long long>(block.x) * block.y * block.z;
  const char* why = nullptr;
  if (grid.x < 1 || grid.y < 1 || grid.z < 1)
    why = "an empty grid (every dim must be >= 1; CUDA would refuse it and nothing would run)";
  else if (grid.x > 2147483647u || grid.y > 65535u || grid.z > 65535u)
    why = "a grid beyond CUDA's limits (x <= 2^31 - 1, y and z <= 65535)";
  else if (block.x < 1 || block.y < 1 || block.z < 1)
    why = "an empty block (every dim must be >= 1)";
  else if (block.x > 1024u || block.y > 1024u || block.z > 64u || threads > kMaxBlockThreads)
    why = "a block beyond CUDA's limits (at most 1024 threads; x, y <= 1024, z <= 64)";
  else if (shared_bytes + static_shared_bytes > kMaxSharedBytes)
    why = "more shared memory than a block may have (49152 bytes, static + dynamic)";
  if (why == nullptr) return;
  throw Error(cat("kernel launch ", kernel, " at ", file, ":", line, ": grid (", grid.x, ",",
                  grid.y, ",", grid.z, "), block (", block.x, ",", block.y, ",", block.z, "), ",
                  shared_bytes, " + ", static_shared_bytes, " bytes of shared memory: ", why));
}

void after_launch(const char* kernel, const char* file, int line) {
  static const bool sync_each = [] {
    const char* v = std::getenv("NAQS_CUDA_SYNC_LAUNCH");
    return v != nullptr && std::string(v) == "1";
  }();
  cudaError_t e = cudaGetLastError();
  const char* when = "launching";
  if (e == cudaSuccess && sync_each) {
    e = cudaDeviceSynchronize();
    when = "running (NAQS_CUDA_SYNC_LAUNCH=1)";
  }
  if (e != cudaSuccess)
    throw Error(cat("kernel ", kernel, " at ", file, ":", line, " failed ", when, ": ",
                    cudaGetErrorName(e), ": ", cudaGetErrorString(e)));
}

namespace {
#define NAQS_SYMBOL_NAME2(x) #x
#define NAQS_SYMBOL_NAME(x) NAQS_SYMBOL_NAME2(x)  // cublasCreate -> "cublasCreate_v2"

std::atomic<const CublasApi*> g_cublas{nullptr};

#if defined(NAQS_CUDA_EMU)
const CublasApi* load_cublas() {  // the emulator's cuBLAS (emu/cublas.cpp)
  return new CublasApi{&::cublasCreate, &::cublasSgemmStridedBatched, &::cublasDgemmStridedBatched,
                       &::cublasGetStatusString};
}
#else
const CublasApi* load_cublas() {
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  std::vector<std::string> candidates;
#ifdef NAQS_CUDA_LIBRARY_DIR
  candidates.push_back(std::string(NAQS_CUDA_LIBRARY_DIR) + "/" + soname);
#endif
  candidates.push_back(soname);
  candidates.push_back("libcublas.so");
  void* lib = nullptr;
  std::string why;
  for (const std::string& c : candidates) {
    lib = ::dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
    const char* e = ::dlerror();
    if (!why.empty()) why += "; ";
    why += e ? e : c;
  }
  if (!lib) throw Error(cat("cannot load cuBLAS (", soname, "): ", why));
  auto* api = new CublasApi{};  // lives until exit, as the library does
  auto resolve = [&](auto& fn, const char* name) {
    void* sym = ::dlsym(lib, name);
    if (!sym) throw Error(cat("cuBLAS (", soname, ") has no symbol ", name));
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
  resolve(api->create, NAQS_SYMBOL_NAME(cublasCreate));
  resolve(api->sgemm_strided_batched, NAQS_SYMBOL_NAME(cublasSgemmStridedBatched));
  resolve(api->dgemm_strided_batched, NAQS_SYMBOL_NAME(cublasDgemmStridedBatched));
  resolve(api->status_string, NAQS_SYMBOL_NAME(cublasGetStatusString));
  return api;
}
#endif
}  // namespace

const CublasApi& cublas() {
  static std::mutex m;
  if (const CublasApi* api = g_cublas.load()) return *api;
  std::lock_guard<std::mutex> lock(m);
  if (!g_cublas.load()) g_cublas.store(load_cublas());
  return *g_cublas.load();
}

std::string cublas_status_string(cublasStatus_t s) {
  if (const CublasApi* api = g_cublas.load()) return api->status_string(s);
  return cat("cublasStatus ", static_cast<int>(s));
}

cublasHandle_t cublas_handle() {
  static std::mutex m;
  static std::map<int, cublasHandle_t> handles;  // never destroyed: lives until exit
  int dev = 0;
  NAQS_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(m);
  auto it = handles.find(dev);
  if (it != handles.end()) return it->second;
  cublasHandle_t h = nullptr;
  NAQS_CUBLAS_CHECK(cublas().create(&h));
  handles[dev] = h;
  return h;
}

}  // namespace naqs::cuda_rt
