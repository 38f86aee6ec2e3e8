// CUDA as the host emulation tier presents it (NAQS_CUDA=EMU; emu/emu.hpp): force-included
// (-include) before every cuda/*.cu compiled as host C++, and what emu/include/cuda_runtime.h
// provides. Device side: the keywords, the built-in variables (threadIdx, blockIdx, blockDim,
// gridDim), static __shared__ variables (one ELF section the emulator refills with 0xff before
// every block; dynamic shared memory through NAQS_EXTERN_SHARED, cuda/launch.cuh),
// __syncthreads, __syncwarp, the warp shuffles and votes with their masks, atomics, __ldg and the
// intrinsics the kernels use. Host side: the subset of the runtime API cuda/ calls.
// Not modelled: CUDA's last-ulp differences in exp/log/tanh and nvcc's FMA contraction (the
// emulated kernels round as the host does), true concurrency (blocks run one after another);
// several devices only as far as emu/emu.hpp says (which device memory belongs to).
#pragma once
#include <math.h>  // the global-namespace math functions device code calls (exp, fmax, isinf)

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

// ---- keywords ----------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// A block's static shared variable: one copy (blocks run one at a time), in a section the
// emulator refills before every block. `extern __shared__` does not compile here: declare
// dynamic shared memory with NAQS_EXTERN_SHARED (cuda/launch.cuh).
#define __shared__ static __attribute__((section("naqs_emu_shared")))

// ---- built-in variables (emu/scheduler.cpp sets them for the running thread) --------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

// ---- barriers and warp operations (emu/scheduler.cpp) -------------------------------------
namespace naqs::emu {
enum class WarpOp : int { shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, any, all, sync };
void syncthreads(const std::source_location& where);
// The lane's result of a warp operation that every lane of `mask` reaches (value: the lane's
// operand bits; arg: source lane, delta or lane mask).
std::uint64_t warp_op(WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                      const std::source_location& where);

template <class T>
T warp_shuffle(WarpOp op, unsigned mask, T v, int arg, int width,
               const std::source_location& where) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move 4- or 8-byte values");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_op(op, mask, bits, arg, width, where);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}
}  // namespace naqs::emu

inline void __syncthreads(std::source_location where = std::source_location::current()) {
  naqs::emu::syncthreads(where);
}
inline void __syncwarp(unsigned mask = 0xffffffffu,
                       std::source_location where = std::source_location::current()) {
  naqs::emu::warp_op(naqs::emu::WarpOp::sync, mask, 0, 0, 32, where);
}
inline void __threadfence() {}
inline void __threadfence_block() {}
template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32,
              std::source_location where = std::source_location::current()) {
  return naqs::emu::warp_shuffle(naqs::emu::WarpOp::shfl_idx, mask, v, src_lane, width, where);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32,
                 std::source_location where = std::source_location::current()) {
  return naqs::emu::warp_shuffle(naqs::emu::WarpOp::shfl_up, mask, v, static_cast<int>(delta),
                                 width, where);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32,
                   std::source_location where = std::source_location::current()) {
  return naqs::emu::warp_shuffle(naqs::emu::WarpOp::shfl_down, mask, v, static_cast<int>(delta),
                                 width, where);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32,
                  std::source_location where = std::source_location::current()) {
  return naqs::emu::warp_shuffle(naqs::emu::WarpOp::shfl_xor, mask, v, lane_mask, width, where);
}
inline unsigned __ballot_sync(unsigned mask, int pred,
                              std::source_location where = std::source_location::current()) {
  return static_cast<unsigned>(
      naqs::emu::warp_op(naqs::emu::WarpOp::ballot, mask, pred != 0, 0, 32, where));
}
inline int __any_sync(unsigned mask, int pred,
                      std::source_location where = std::source_location::current()) {
  return static_cast<int>(
      naqs::emu::warp_op(naqs::emu::WarpOp::any, mask, pred != 0, 0, 32, where));
}
inline int __all_sync(unsigned mask, int pred,
                      std::source_location where = std::source_location::current()) {
  return static_cast<int>(
      naqs::emu::warp_op(naqs::emu::WarpOp::all, mask, pred != 0, 0, 32, where));
}

// ---- atomics: one emulated thread runs at a time, so a read-modify-write is atomic ---------
template <class T>
T atomicAdd(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <class T>
T atomicSub(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = old - v;
  return old;
}
template <class T>
T atomicMin(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = v < old ? v : old;
  return old;
}
template <class T>
T atomicMax(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = v > old ? v : old;
  return old;
}
template <class T>
T atomicExch(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = v;
  return old;
}
template <class T>
T atomicCAS(T* p, std::type_identity_t<T> compare, std::type_identity_t<T> v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}
template <class T>
T atomicAnd(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = old & v;
  return old;
}
template <class T>
T atomicOr(T* p, std::type_identity_t<T> v) {
  const T old = *p;
  *p = old | v;
  return old;
}

// ---- loads and intrinsics ------------------------------------------------------------------
template <class T>
T __ldg(const T* p) {
  return *p;
}
// Round-to-nearest operations that nvcc never contracts into an FMA; the emulator is built with
// -ffp-contract=off, so plain operations round the same way.
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float __int_as_float(int v) { return std::bit_cast<float>(v); }
inline int __float_as_int(float v) { return std::bit_cast<int>(v); }
inline double __longlong_as_double(long long v) { return std::bit_cast<double>(v); }
inline long long __double_as_longlong(double v) { return std::bit_cast<long long>(v); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
// CUDA's device min / max overloads for integers and floating point.
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

// ---- the runtime API (host side; emu/device.cpp) --------------------------------------------
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorCudartUnloading = 4,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchFailure = 719,
};
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
typedef struct CUstream_st* cudaStream_t;
struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaMalloc(void** p, std::size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
