#include "host/core/allocator.hpp"

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "host/core/cuda_runtime.hpp"

namespace naqs {

std::size_t CachingAllocator::round_size(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr std::size_t small = 1 << 20;
  if (bytes <= small) return (bytes + 511) / 512 * 512;
  std::size_t p2 = std::bit_ceil(bytes);
  std::size_t step = p2 / 16;  // p2 < 2*bytes, so step < bytes/8
  return (bytes + step - 1) / step * step;
}

CachingAllocator::~CachingAllocator() { empty_cache(); }

void* CachingAllocator::system_alloc(std::size_t bytes) {
  if (device_.is_cpu()) {
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw Error(cat("cpu allocator: out of memory allocating ", bytes, " bytes"));
    return p;
  }
#if NAQS_HAVE_CUDA
  cuda_rt::set_device(device_.index);
  return cuda_rt::malloc_device(bytes);
#else
  throw Error("cuda allocator: this build has no CUDA");
#endif
}

void CachingAllocator::system_free(void* p) noexcept {
  if (device_.is_cpu()) {
    std::free(p);
    return;
  }
#if NAQS_HAVE_CUDA
  cuda_rt::free_device(p);
#endif
}

void* CachingAllocator::allocate(std::size_t bytes) {
  // Larger than any machine's memory (and round_size's power of two would overflow): refused
  // with the size instead of wrapping to a zero step.
  if (bytes > kMaxAllocationBytes)
    throw Error(cat(device_.str(), " allocator: refusing an impossible allocation of ", bytes,
                    " bytes (limit ", kMaxAllocationBytes, " bytes = 1 PiB)"));
  const std::size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.bytes_cached -= size;
  } else {
    try {
      p = system_alloc(size);
    } catch (const Error&) {
      // Out of memory: give the cache back to the system and try once more.
      for (auto& [sz, blocks] : free_)
        for (void* b : blocks) system_free(b);
      free_.clear();
      stats_.bytes_cached = 0;
      p = system_alloc(size);
    }
    ++stats_.n_system_allocs;
  }
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.bytes_in_use;
  return p;
}

void CachingAllocator::deallocate(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  const std::size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    free_[size].push_back(p);
    stats_.bytes_cached += size;
  } catch (...) {
    system_free(p);
  }
  stats_.bytes_in_use -= size;
}

void CachingAllocator::empty_cache() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [sz, blocks] : free_)
    for (void* b : blocks) system_free(b);
  free_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CachingAllocator& allocator_for(const Device& d) {
  // Leaked on purpose: tensors in static storage may be freed after main() returns.
  static CachingAllocator* cpu = new CachingAllocator(Device::cpu());
  if (d.is_cpu()) return *cpu;
  static std::mutex m;
  static std::map<int, CachingAllocator*> cuda;
  std::lock_guard<std::mutex> lock(m);
  auto& a = cuda[d.index];
  if (!a) a = new CachingAllocator(d);
  return *a;
}

}  // namespace naqs
