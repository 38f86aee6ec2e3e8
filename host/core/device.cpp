#include "host/core/device.hpp"

#include <omp.h>

#include "host/core/cuda_runtime.hpp"
#include "host/core/error.hpp"

namespace naqs {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : cat("cuda:", index);
}

int device_count() {
#if NAQS_HAVE_CUDA
  static const int n = cuda_rt::device_count_noexcept();
  return n;
#else
  return 0;
#endif
}

std::string device_name(const Device& d) {
  if (d.is_cpu()) return cat("cpu (", omp_get_max_threads(), " OpenMP threads)");
#if NAQS_HAVE_CUDA
  return cuda_rt::device_name(d.index);
#else
  return "cuda (not compiled in)";
#endif
}

int64_t device_free_memory(const Device& d) {
  if (d.is_cpu()) return -1;
#if NAQS_HAVE_CUDA
  cuda_rt::set_device(d.index);
  return static_cast<int64_t>(cuda_rt::free_memory());
#else
  throw Error("device_free_memory: a cuda device in a build without CUDA");
#endif
}

void synchronize(const Device& d) {
  if (d.is_cpu()) return;
#if NAQS_HAVE_CUDA
  cuda_rt::set_device(d.index);
  cuda_rt::synchronize();
#else
  throw Error("synchronize: a cuda device in a build without CUDA");
#endif
}

Device resolve_device(const std::string& spec) {
  const int n = device_count();
  if (spec == "auto") return n > 0 ? Device::cuda(0) : Device::cpu();
  if (spec == "cpu") return Device::cpu();
  int index = -1;
  if (spec == "cuda") {
    index = 0;
  } else if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 &&
             spec.find_first_not_of("0123456789", 5) == std::string::npos && spec.size() < 10) {
    index = std::stoi(spec.substr(5));
  } else {
    throw UsageError(cat("unknown device '", spec, "' (allowed: auto, cpu, cuda, cuda:N)"));
  }
  if (!NAQS_HAVE_CUDA)
    throw UsageError(cat("device '", spec, "' requested but this build has no CUDA backend ",
                         "(rebuild with -DNAQS_CUDA=ON, or use --device cpu)"));
  if (index >= n)
    throw UsageError(cat("device '", spec, "' requested but ", n,
                         " CUDA device(s) are available (use --device cpu or auto)"));
  return Device::cuda(index);
}

}  // namespace naqs
