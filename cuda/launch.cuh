// The one way cuda/ launches a kernel:
//
//   NAQS_LAUNCH(grid, block, shared_bytes, kernel)(args...);
//
// is `kernel<<<grid, block, shared_bytes>>>(args...)` under nvcc and, in the host emulation tier
// (NAQS_CUDA=EMU, emu/), runs the kernel on the emulated device. Either way the configuration is
// checked first (grid >= 1 and <= CUDA's limit in each dim, block >= 1 in each dim and <= 1024
// threads, dynamic + static shared memory <= 48 KiB, the limit without the opt-in attribute no
// kernel here sets): a bad one is a naqs::Error naming the kernel, the launch site and the
// value, instead of a launch that fails later or silently runs nothing. After the launch
// cudaGetLastError() is checked, naming the kernel; with NAQS_CUDA_SYNC_LAUNCH=1 in the
// environment every launch also synchronises, so a fault during execution is reported at the
// kernel that caused it rather than at the next synchronising call (a debugging aid: it
// serialises the host and the GPU). The kernel goes last because a template kernel's name may
// contain commas (conv_site_kernel<T, -1>).
// Dynamic shared memory: NAQS_EXTERN_SHARED(type, name) declares `type* name` pointing at the
// launch's dynamic shared bytes (`extern __shared__ type name[]` under nvcc).
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>

#include "cuda/check.cuh"

#if defined(NAQS_CUDA_EMU)
#include "emu/emu.hpp"  // the host emulation tier (only its build has this include root)
#endif

#define NAQS_LAUNCH(grid, block, shared_bytes, ...)                                          \
  ::naqs::cuda_rt::Launch(#__VA_ARGS__, __FILE__, __LINE__, (grid), (block), (shared_bytes), \
                          __VA_ARGS__)

#if !defined(NAQS_CUDA_EMU)
#define NAQS_EXTERN_SHARED(type, name)         \
  extern __shared__ type naqs_shared_##name[]; \
  type* name = naqs_shared_##name
#else
#define NAQS_EXTERN_SHARED(type, name) \
  type* name = static_cast<type*>(::naqs::emu::dynamic_shared())
#endif

namespace naqs::cuda_rt {

constexpr unsigned kMaxBlockThreads = 1024;
constexpr std::size_t kMaxSharedBytes = 48 * 1024;

// Throws naqs::Error when CUDA would refuse the configuration (or launch nothing).
void check_launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block,
                  std::size_t shared_bytes, std::size_t static_shared_bytes);
// cudaGetLastError() after a launch, and cudaDeviceSynchronize() under NAQS_CUDA_SYNC_LAUNCH=1;
// a failure names the kernel and the launch site.
void after_launch(const char* kernel, const char* file, int line);

template <class... Params>
class Launch {
 public:
  Launch(const char* name, const char* file, int line, dim3 grid, dim3 block,
         std::size_t shared_bytes, void (*kernel)(Params...))
      : name_(name),
        file_(file),
        line_(line),
        grid_(grid),
        block_(block),
        shared_(shared_bytes),
        kernel_(kernel) {}

  template <class... Args>
  void operator()(Args&&... args) const {
    static_assert(sizeof...(Args) == sizeof...(Params), "NAQS_LAUNCH: wrong argument count");
#if !defined(NAQS_CUDA_EMU)
    std::size_t static_shared = 0;
    if (shared_ > 0) {
      cudaFuncAttributes attr{};
      NAQS_CUDA_CHECK(cudaFuncGetAttributes(&attr, kernel_));
      static_shared = attr.sharedSizeBytes;
    }
    check_launch(name_, file_, line_, grid_, block_, shared_, static_shared);
    kernel_<<<grid_, block_, shared_>>>(std::forward<Args>(args)...);
#else
    check_launch(name_, file_, line_, grid_, block_, shared_, 0);
    check_pointer_args(std::index_sequence_for<Params...>{}, args...);
    // Every emulated thread calls the kernel with its own copies of the parameters.
    auto body = [&] { kernel_(args...); };
    emu::launch(emu::KernelSite{name_, file_, line_}, grid_, block_, shared_,
                emu::KernelBody{&body, [](void* b) { (*static_cast<decltype(body)*>(b))(); }});
#endif
    after_launch(name_, file_, line_);
  }

 private:
#if defined(NAQS_CUDA_EMU)
  // Pointer parameters must be null or point into device memory (the emulator knows every
  // allocation); a host pointer handed to a kernel is an error, as it would fault on a GPU.
  template <std::size_t... I, class... Args>
  void check_pointer_args(std::index_sequence<I...>, const Args&... args) const {
    (check_pointer_arg<Params>(static_cast<int>(I), args), ...);
  }
  template <class P, class A>
  void check_pointer_arg(int index, const A& a) const {
    if constexpr (std::is_pointer_v<P>)
      emu::check_kernel_pointer(emu::KernelSite{name_, file_, line_}, index,
                                static_cast<const void*>(static_cast<P>(a)));
  }
#endif
  const char* name_;
  const char* file_;
  int line_;
  dim3 grid_, block_;
  std::size_t shared_;
  void (*kernel_)(Params...);
};

}  // namespace naqs::cuda_rt
