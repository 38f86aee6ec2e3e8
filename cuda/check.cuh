// Error checks for every CUDA, cuBLAS and cuRAND call: the failing call, file:line and the
// library's message go into a naqs::Error. NAQS_LAUNCH (cuda/launch.cuh) checks its own launch;
// NAQS_CUDA_CHECK_LAUNCH() is for kernels a library launched (CUB).
// cuBLAS is not linked: it is loaded on first use (cuda_rt::cublas(), dlopen), because loading
// and initialising libcublasLt took ~60 ms of every start-up before any naqs code ran (issue 21:
// signals in that window killed the process, and `naqs --help` waited for it). Call cuBLAS
// through cuda_rt::cublas().<function> only.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <string>

#include "host/core/error.hpp"

#define NAQS_CUDA_CHECK(call)                                                                \
  do {                                                                                       \
    cudaError_t naqs_e_ = (call);                                                            \
    if (naqs_e_ != cudaSuccess)                                                              \
      throw ::naqs::Error(::naqs::cat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",   \
                                      cudaGetErrorName(naqs_e_), ": ",                       \
                                      cudaGetErrorString(naqs_e_)));                         \
  } while (0)

// Grid-stride loop over [0, n) with a 64-bit index (for kernels launched with grid_for()).
#define NAQS_GRID_STRIDE(i, n)                                                          \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

#define NAQS_CUDA_CHECK_LAUNCH() NAQS_CUDA_CHECK(cudaGetLastError())

#define NAQS_CUBLAS_CHECK(call)                                                              \
  do {                                                                                       \
    cublasStatus_t naqs_s_ = (call);                                                         \
    if (naqs_s_ != CUBLAS_STATUS_SUCCESS)                                                    \
      throw ::naqs::Error(::naqs::cat(#call, " failed at ", __FILE__, ":", __LINE__, ": ",   \
                                      ::naqs::cuda_rt::cublas_status_string(naqs_s_)));      \
  } while (0)

#define NAQS_CURAND_CHECK(call)                                                              \
  do {                                                                                       \
    curandStatus_t naqs_s_ = (call);                                                         \
    if (naqs_s_ != CURAND_STATUS_SUCCESS)                                                    \
      throw ::naqs::Error(::naqs::cat(#call, " failed at ", __FILE__, ":", __LINE__,         \
                                      ": curandStatus ", static_cast<int>(naqs_s_)));        \
  } while (0)

#if defined(NAQS_CUDA_EMU)
#include "emu/emu.hpp"
#endif

namespace naqs::cuda_rt {
// The most blocks grid_for() and grid_for_rows() (kernel_util.cuh) launch: the kernels they size
// loop over the rest (grid-stride). The emulation tier can lower it (NAQS_EMU_GRID_CAP, emu/emu.hpp)
// so that a kernel that does not loop shows at test sizes.
inline long long grid_cap(long long cap) {
#if defined(NAQS_CUDA_EMU)
  return emu::grid_cap(cap);
#else
  return cap;
#endif
}
// Grid size for a 1-D launch over n elements with `block` threads, capped for grid-stride loops.
inline unsigned grid_for(long long n, int block = 256) {
  long long g = (n + block - 1) / block;
  if (g < 1) g = 1;
  const long long cap = grid_cap(65535LL * 32);
  if (g > cap) g = cap;
  return static_cast<unsigned>(g);
}
cublasHandle_t cublas_handle();  // per device, created on first use, checked

// The cuBLAS functions naqs uses, resolved from the library on first use (dlopen of
// libcublas.so.<major> from the toolkit's library directory, then the default search path).
// A library that cannot be loaded is a naqs::Error naming it and dlerror().
struct CublasApi {
  decltype(&::cublasCreate) create;
  decltype(&::cublasSgemmStridedBatched) sgemm_strided_batched;
  decltype(&::cublasDgemmStridedBatched) dgemm_strided_batched;
  decltype(&::cublasGetStatusString) status_string;
};
const CublasApi& cublas();
// cublasGetStatusString when cuBLAS is loaded, else the numeric status.
std::string cublas_status_string(cublasStatus_t s);
}  // namespace naqs::cuda_rt
