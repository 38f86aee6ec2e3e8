// The emulation tier's own tests (NAQS_CUDA=EMU builds only; label gpuemu): kernels written for
// the test, compiled as cuda/ is in that build (host C++, emu/shim.hpp force-included), show that
// the emulated device catches what a GPU would show or do differently: a missing barrier (a wrong
// result in forward order, as the thread order changes), barriers and shuffles reached by part
// of a block or warp, bad launch configurations, host pointers given to kernels, copies in the
// wrong direction or past an allocation, writes past an allocation (guard page), cuBLAS's
// leading-dimension rules, another device's memory given to a kernel, a memset, a copy or cuBLAS
// (NAQS_EMU_DEVICES=2); and that shuffles and votes compute what CUDA defines.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "host/core/error.hpp"

namespace {

constexpr unsigned kFull = 0xffffffffu;

// Thread 0 sums what the block wrote to shared memory; `barrier` = false leaves out the
// __syncthreads between the writes and the read (a data race on a GPU).
__global__ void block_sum_kernel(const int* in, int* out, bool barrier) {
  __shared__ int buf[64];
  buf[threadIdx.x] = in[threadIdx.x];
  if (barrier) __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0;
    for (int i = 0; i < 64; ++i) s += buf[i];
    *out = s;
  }
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void two_barriers_kernel(int* out) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void partial_shuffle_kernel(int* out) {
  if (threadIdx.x < 16)
    out[threadIdx.x] = __shfl_down_sync(kFull, static_cast<int>(threadIdx.x), 1);
}

__global__ void warp_ops_kernel(int* down, int* up, int* xr, int* idx, unsigned* ballot,
                                double* wide) {
  const int t = static_cast<int>(threadIdx.x);
  const int v = 10 * t;
  down[t] = __shfl_down_sync(kFull, v, 3);
  up[t] = __shfl_up_sync(kFull, v, 2);
  xr[t] = __shfl_xor_sync(kFull, v, 5);
  idx[t] = __shfl_sync(kFull, v, 7, 16);
  ballot[t] = __ballot_sync(kFull, t % 3 == 0);
  wide[t] = __shfl_down_sync(kFull, 0.5 + t, 16);
}

__global__ void write_kernel(int* out, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = i;
}

template <class T>
T* device_alloc(std::size_t n) {
  void* p = nullptr;
  NAQS_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  return static_cast<T*>(p);
}

template <class T>
std::vector<T> to_host(const T* d, std::size_t n) {
  std::vector<T> h(n);
  NAQS_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

int run_block_sum(bool barrier, const char* order) {
  setenv("NAQS_EMU_ORDER", order, 1);
  std::vector<int> h(64);
  for (int i = 0; i < 64; ++i) h[i] = i + 1;  // sum 2080
  int* in = device_alloc<int>(64);
  int* out = device_alloc<int>(1);
  NAQS_CUDA_CHECK(cudaMemcpy(in, h.data(), 64 * sizeof(int), cudaMemcpyHostToDevice));
  NAQS_LAUNCH(1, 64, 0, block_sum_kernel)(in, out, barrier);
  const int r = to_host(out, 1)[0];
  cudaFree(in);
  cudaFree(out);
  unsetenv("NAQS_EMU_ORDER");
  return r;
}

// The naqs::Error message of running `launch`, or "" when it succeeds.
template <class F>
std::string error_of(F&& launch) {
  try {
    launch();
  } catch (const naqs::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Emulator, MissingBarrierGivesAWrongResultInSomeOrder) {
  for (const char* order : {"forward", "reverse", "random"})
    EXPECT_EQ(run_block_sum(true, order), 2080) << order;
  // Without the barrier thread 0 runs first in forward order and reads unwritten (0xff = -1)
  // shared memory; in reverse order it runs last and happens to be right.
  EXPECT_NE(run_block_sum(false, "forward"), 2080);
  EXPECT_EQ(run_block_sum(false, "reverse"), 2080);
}

TEST(Emulator, BarrierReachedByPartOfTheBlockIsAnError) {
  int* out = device_alloc<int>(64);
  const std::string e = error_of([&] { NAQS_LAUNCH(1, 32, 0, divergent_barrier_kernel)(out); });
  EXPECT_NE(e.find("divergent_barrier_kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("reached by 16 of 32 threads"), std::string::npos) << e;
  cudaFree(out);
}

TEST(Emulator, DifferentBarriersAreAnError) {
  int* out = device_alloc<int>(64);
  const std::string e = error_of([&] { NAQS_LAUNCH(1, 64, 0, two_barriers_kernel)(out); });
  EXPECT_NE(e.find("different barriers"), std::string::npos) << e;
  cudaFree(out);
}

TEST(Emulator, ShuffleWithMissingLanesIsAnError) {
  int* out = device_alloc<int>(64);
  const std::string e = error_of([&] { NAQS_LAUNCH(1, 32, 0, partial_shuffle_kernel)(out); });
  EXPECT_NE(e.find("partial_shuffle_kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("has returned"), std::string::npos) << e;
  cudaFree(out);
}

TEST(Emulator, ShufflesAndVotesFollowCuda) {
  constexpr int n = 64;  // two warps
  int* down = device_alloc<int>(n);
  int* up = device_alloc<int>(n);
  int* xr = device_alloc<int>(n);
  int* idx = device_alloc<int>(n);
  unsigned* ballot = device_alloc<unsigned>(n);
  double* wide = device_alloc<double>(n);
  NAQS_LAUNCH(1, n, 0, warp_ops_kernel)(down, up, xr, idx, ballot, wide);
  const auto hd = to_host(down, n), hu = to_host(up, n), hx = to_host(xr, n), hi = to_host(idx, n);
  const auto hb = to_host(ballot, n);
  const auto hw = to_host(wide, n);
  unsigned expected_ballot = 0;
  for (int l = 0; l < 32; ++l)
    if (l % 3 == 0) expected_ballot |= 1u << l;
  for (int t = 0; t < n; ++t) {
    const int lane = t % 32, warp_base = t - lane;
    EXPECT_EQ(hd[t], 10 * (lane + 3 < 32 ? t + 3 : t)) << t;
    EXPECT_EQ(hu[t], 10 * (lane >= 2 ? t - 2 : t)) << t;
    EXPECT_EQ(hx[t], 10 * (warp_base + (lane ^ 5))) << t;
    EXPECT_EQ(hi[t], 10 * (warp_base + (lane / 16) * 16 + 7)) << t;
    // Lane l votes t % 3 == 0 with t = warp_base + l; warp_base is 0 or 32 (32 % 3 = 2).
    unsigned b = 0;
    for (int l = 0; l < 32; ++l)
      if ((warp_base + l) % 3 == 0) b |= 1u << l;
    EXPECT_EQ(hb[t], b) << t;
    EXPECT_EQ(hw[t], 0.5 + (lane + 16 < 32 ? t + 16 : t)) << t;
  }
  (void)expected_ballot;
  for (void* p : {static_cast<void*>(down), static_cast<void*>(up), static_cast<void*>(xr),
                  static_cast<void*>(idx), static_cast<void*>(ballot), static_cast<void*>(wide)})
    cudaFree(p);
}

TEST(Emulator, BadLaunchConfigurationsAreRefused) {
  int* out = device_alloc<int>(2048);
  auto message = [&](dim3 grid, dim3 block, std::size_t shared) -> std::string {
    try {
      NAQS_LAUNCH(grid, block, shared, write_kernel)(out, 1);
    } catch (const naqs::Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(1, 1025, 0).find("at most 1024 threads"), std::string::npos);
  EXPECT_NE(message(dim3(1, 0, 1), 32, 0).find("empty grid"), std::string::npos);
  EXPECT_NE(message(0, 32, 0).find("empty grid"), std::string::npos);
  EXPECT_NE(message(1, dim3(32, 2, 65), 0).find("block beyond"), std::string::npos);
  EXPECT_NE(message(1, 32, 48 * 1024 + 1).find("shared memory"), std::string::npos);
  const std::string ok = message(1, 1024, 48 * 1024);
  EXPECT_EQ(ok, "");
  const std::string named = message(1, 1025, 0);
  EXPECT_NE(named.find("write_kernel"), std::string::npos) << named;
  EXPECT_NE(named.find("test_emulator.cpp"), std::string::npos) << named;
  cudaFree(out);
}

TEST(Emulator, HostPointerGivenToAKernelIsAnError) {
  std::vector<int> host(32);
  try {
    NAQS_LAUNCH(1, 32, 0, write_kernel)(host.data(), 32);
    FAIL() << "a host pointer reached the kernel";
  } catch (const naqs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not device memory"), std::string::npos) << e.what();
  }
}

TEST(Emulator, DeviceMemoryStartsAsNaNAndCopiesAreChecked) {
  double* d = device_alloc<double>(10);
  const auto fresh = to_host(d, 10);
  for (double v : fresh) EXPECT_TRUE(std::isnan(v));
  std::vector<double> h(20, 1.0);
  // Past the end of the allocation, and the directions swapped.
  EXPECT_EQ(cudaMemcpy(d, h.data(), 20 * sizeof(double), cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_NE(std::string(cudaGetErrorString(cudaErrorInvalidValue)).find("past the end"),
            std::string::npos);
  EXPECT_EQ(cudaMemcpy(h.data(), d, 8 * sizeof(double), cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(d, h.data(), 8 * sizeof(double), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(d, 0, 11 * sizeof(double)), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(d, h.data(), 10 * sizeof(double), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidDevicePointer);  // twice
  cudaGetLastError();
}

TEST(EmulatorDeathTest, WritePastAnAllocationFaultsNamingTheKernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        int* out = device_alloc<int>(1024);  // 4096 bytes: the guard page follows directly
        NAQS_LAUNCH(1, 32, 0, write_kernel)(out, 1025);
      },
      "emulated kernel write_kernel");
}

TEST(Emulator, CublasLeadingDimensionsAreChecked) {
  cublasHandle_t h = naqs::cuda_rt::cublas_handle();
  double* a = device_alloc<double>(64);
  const double one = 1.0, zero = 0.0;
  // m = 4, n = 4, k = 4, no transposes: lda must be >= 4; 3 is refused as cuBLAS does.
  EXPECT_EQ(
      naqs::cuda_rt::cublas().dgemm_strided_batched(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a,
                                                    3, 0, a, 4, 0, &zero, a + 32, 4, 0, 1),
      CUBLAS_STATUS_INVALID_VALUE);
  // op(A) = A^T: A is stored k x m, so lda >= k = 2 suffices even with m = 4.
  EXPECT_EQ(
      naqs::cuda_rt::cublas().dgemm_strided_batched(h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 4, 2, &one, a,
                                                    2, 0, a, 2, 0, &zero, a + 32, 4, 0, 1),
      CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(
      naqs::cuda_rt::cublas().dgemm_strided_batched(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a,
                                                    4, 0, a, 4, 0, &zero, a + 32, 3, 0, 1),
      CUBLAS_STATUS_INVALID_VALUE);
  cudaFree(a);
}

// With two devices each allocation belongs to the device current at its cudaMalloc; a kernel,
// memset, copy or cuBLAS call given memory of the other device fails by name.
TEST(Emulator, AnotherDevicesMemoryIsRefused) {
  setenv("NAQS_EMU_DEVICES", "2", 1);
  int count = 0;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(cudaSetDevice(2), cudaErrorInvalidDevice);
  cudaGetLastError();
  NAQS_CUDA_CHECK(cudaSetDevice(1));
  cublasHandle_t h1 = naqs::cuda_rt::cublas_handle();
  int* on1 = device_alloc<int>(64);
  double* m1 = device_alloc<double>(32);
  NAQS_CUDA_CHECK(cudaSetDevice(0));
  int* on0 = device_alloc<int>(64);
  try {
    NAQS_LAUNCH(1, 32, 0, write_kernel)(on1, 64);
    FAIL() << "device 1's memory reached a kernel on device 0";
  } catch (const naqs::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("write_kernel"), std::string::npos) << m;
    EXPECT_NE(m.find("memory of device 1 but device 0 is current"), std::string::npos) << m;
  }
  std::vector<int> h(64, 7);
  EXPECT_EQ(cudaMemset(on1, 0, 64 * sizeof(int)), cudaErrorInvalidValue);
  EXPECT_NE(std::string(cudaGetErrorString(cudaErrorInvalidValue)).find("device 1"),
            std::string::npos);
  EXPECT_EQ(cudaMemcpy(on1, h.data(), 64 * sizeof(int), cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(h.data(), on1, 64 * sizeof(int), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  // A device-to-device copy runs on the destination's device and may read another's (peer).
  EXPECT_EQ(cudaMemcpy(on1, on0, 64 * sizeof(int), cudaMemcpyDeviceToDevice),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(on0, on1, 64 * sizeof(int), cudaMemcpyDeviceToDevice), cudaSuccess);
  cudaGetLastError();
  // cuBLAS: device 0's handle with device 1's operands, and device 1's handle on device 0.
  const double one = 1.0, zero = 0.0;
  cublasHandle_t h0 = naqs::cuda_rt::cublas_handle();
  EXPECT_EQ(naqs::cuda_rt::cublas().dgemm_strided_batched(h0, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4,
                                                          &one, m1, 4, 0, m1, 4, 0, &zero,
                                                          m1 + 16, 4, 0, 1),
            CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(naqs::cuda_rt::cublas().dgemm_strided_batched(h1, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4,
                                                          &one, m1, 4, 0, m1, 4, 0, &zero,
                                                          m1 + 16, 4, 0, 1),
            CUBLAS_STATUS_INVALID_VALUE);
  // On its own device everything works.
  NAQS_CUDA_CHECK(cudaSetDevice(1));
  NAQS_LAUNCH(1, 32, 0, write_kernel)(on1, 64);
  EXPECT_EQ(to_host(on1, 64)[63], 63);
  EXPECT_EQ(naqs::cuda_rt::cublas().dgemm_strided_batched(h1, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4,
                                                          &one, m1, 4, 0, m1, 4, 0, &zero,
                                                          m1 + 16, 4, 0, 1),
            CUBLAS_STATUS_SUCCESS);
  cudaFree(on1);
  cudaFree(m1);
  cudaFree(on0);
  NAQS_CUDA_CHECK(cudaSetDevice(0));
  unsetenv("NAQS_EMU_DEVICES");
}

}  // namespace
