// Caching allocator, one per device (cpu, cuda:N). Freed blocks go to a size-bucketed free
// list and are reused by later requests of the same bucket, so steady-state training allocates
// nothing from the system. Sizes round up to 512 bytes (small) or 1/8 of the power of two
// above (large), bounding waste at 12.5%. Thread-safe.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "host/core/device.hpp"
#include "host/core/error.hpp"

namespace naqs {

struct AllocatorStats {
  std::size_t bytes_in_use = 0;     // handed out and not yet freed
  std::size_t bytes_cached = 0;     // held in free lists
  std::size_t peak_in_use = 0;
  std::size_t n_system_allocs = 0;  // calls to the system allocator (cache misses)
};

// Requests above this are refused with a message (no machine has a PiB; the size usually comes
// from a wrapped product).
constexpr std::size_t kMaxAllocationBytes = std::size_t{1} << 50;

class CachingAllocator {
 public:
  explicit CachingAllocator(Device device) : device_(device) {}
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(std::size_t bytes);     // never nullptr; throws naqs::Error on failure
  void deallocate(void* p, std::size_t bytes) noexcept;
  void empty_cache() noexcept;           // returns every cached block to the system
  AllocatorStats stats() const;
  static std::size_t round_size(std::size_t bytes);

 private:
  void* system_alloc(std::size_t bytes);
  void system_free(void* p) noexcept;

  Device device_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

// The process-wide allocator of a device.
CachingAllocator& allocator_for(const Device& d);

}  // namespace naqs
