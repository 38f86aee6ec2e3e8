// The runtime half of the seam: plain C++ declarations of what cuda/cuda_runtime.cu implements.
// Only host/core uses these; they exist only when NAQS_HAVE_CUDA is 1.
#pragma once
#include <cstddef>
#include <string>

#include "naqs/config.hpp"

namespace naqs::cuda_rt {

int device_count_noexcept();                 // 0 on any CUDA error
std::string device_name(int index);          // cudaGetDeviceProperties().name
void set_device(int index);
void* malloc_device(std::size_t bytes);      // cudaMalloc, throws naqs::Error with the size
void free_device(void* p) noexcept;          // cudaFree, logs (never throws) on error
void copy_h2d(void* dst, const void* src, std::size_t bytes);
void copy_d2h(void* dst, const void* src, std::size_t bytes);
void copy_d2d(void* dst, const void* src, std::size_t bytes);
void memset_device(void* dst, int value, std::size_t bytes);
void synchronize();
std::size_t free_memory();                   // bytes free on the current device

}  // namespace naqs::cuda_rt

// In op dispatch: the CUDA branch of an op. In a CPU-only build it throws a clear error.
#if NAQS_HAVE_CUDA
#define NAQS_CUDA_BRANCH(op, call) call
#else
#define NAQS_CUDA_BRANCH(op, call) \
  throw ::naqs::Error(::naqs::cat(op, ": a cuda tensor reached a build without CUDA"))
#endif
