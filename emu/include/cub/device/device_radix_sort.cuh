// The emulation tier's stand-in for CUB's DeviceRadixSort::SortPairs (cuda/embedding.cu): a
// stable sort of (key, value) pairs by the key bits [begin_bit, end_bit), as CUB's radix sort
// is stable. The temporary-storage protocol is CUB's: a null d_temp_storage asks for the size;
// the call with storage checks that it, the inputs and the outputs are device memory.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "emu/emu.hpp"

namespace cub {

struct DeviceRadixSort {
  template <class KeyT, class ValueT, class NumItemsT>
  static cudaError_t SortPairs(void* d_temp_storage, std::size_t& temp_storage_bytes,
                               const KeyT* d_keys_in, KeyT* d_keys_out, const ValueT* d_values_in,
                               ValueT* d_values_out, NumItemsT num_items, int begin_bit = 0,
                               int end_bit = sizeof(KeyT) * 8, cudaStream_t = nullptr) {
    namespace emu = ::naqs::emu;
    const std::size_t n = num_items > 0 ? static_cast<std::size_t>(num_items) : 0;
    const std::size_t need = n * (sizeof(KeyT) + sizeof(ValueT)) + 1;
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = need;
      return cudaSuccess;
    }
    if (temp_storage_bytes < need || !emu::is_device_range(d_temp_storage, temp_storage_bytes))
      return static_cast<cudaError_t>(emu::fail(
          cudaErrorInvalidValue, "cub::DeviceRadixSort::SortPairs: temporary storage of " +
                                     std::to_string(temp_storage_bytes) +
                                     " bytes is not the device memory the size query asked for"));
    if (begin_bit < 0 || end_bit > static_cast<int>(sizeof(KeyT) * 8) || begin_bit >= end_bit)
      return static_cast<cudaError_t>(
          emu::fail(cudaErrorInvalidValue, "cub::DeviceRadixSort::SortPairs: bits [" +
                                               std::to_string(begin_bit) + ", " +
                                               std::to_string(end_bit) + ")"));
    if (n == 0) return cudaSuccess;
    if (!emu::is_device_range(d_keys_in, n * sizeof(KeyT)) ||
        !emu::is_device_range(d_keys_out, n * sizeof(KeyT)) ||
        !emu::is_device_range(d_values_in, n * sizeof(ValueT)) ||
        !emu::is_device_range(d_values_out, n * sizeof(ValueT)))
      return static_cast<cudaError_t>(emu::fail(
          cudaErrorInvalidValue, "cub::DeviceRadixSort::SortPairs: keys or values of " +
                                     std::to_string(n) + " items are not all device memory"));
    using U = std::make_unsigned_t<KeyT>;
    const int bits = end_bit - begin_bit;
    const U mask = bits >= static_cast<int>(sizeof(U) * 8) ? static_cast<U>(~U(0))
                                                           : static_cast<U>((U(1) << bits) - 1);
    auto digit = [&](std::size_t i) { return static_cast<U>(U(d_keys_in[i]) >> begin_bit) & mask; };
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return digit(a) < digit(b); });
    std::vector<KeyT> keys(n);
    std::vector<ValueT> values(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = d_keys_in[order[i]];
      values[i] = d_values_in[order[i]];
    }
    std::copy(keys.begin(), keys.end(), d_keys_out);
    std::copy(values.begin(), values.end(), d_values_out);
    return cudaSuccess;
  }
};

}  // namespace cub
