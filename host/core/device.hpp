// Devices: the CPU and CUDA GPUs. device_count() is 0 when CUDA is not compiled in or any
// CUDA call fails (no driver, no device), so callers never need to guard against errors.
#pragma once
#include <cstdint>
#include <string>

namespace naqs {

enum class DeviceType : unsigned char { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
};

// Number of usable CUDA devices; 0 on any error or in a CPU-only build.
int device_count();

// Human-readable name ("NVIDIA H200", "cpu (2 threads)").
std::string device_name(const Device& d);

// Bytes free on a CUDA device (cudaMemGetInfo); -1 for the CPU (see /proc/meminfo instead).
int64_t device_free_memory(const Device& d);

// Waits until all work queued on the device has finished (no-op for the CPU); for timings.
void synchronize(const Device& d);

// Resolves "auto" | "cpu" | "cuda" | "cuda:N". "auto" picks cuda:0 when a device exists.
// Asking for cuda without one is a UsageError; so is any other string.
Device resolve_device(const std::string& spec);

}  // namespace naqs
