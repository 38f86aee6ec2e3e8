// Error text for the user: strip_source_locations removes the " [file.cpp:123]" tags that
// NAQS_CHECK and the checked HDF5/CUDA calls append, for messages that are about the user's
// input (a UsageError that quotes a library failure, e.g. "checkpoint 'x' refused: unreadable
// (H5Fopen failed ... [host/io/hdf5.cpp:270])"). apps/main.cpp prints every UsageError through
// it, so a bad input is one plain line. Tests: tests/unit/test_ownership.cpp.
#pragma once
#include <cctype>
#include <string>

namespace naqs {

inline std::string strip_source_locations(const std::string& msg) {
  std::string out;
  std::size_t i = 0;
  while (i < msg.size()) {
    // " [path.ext:digits]"
    if (msg[i] == '[') {
      const std::size_t close = msg.find(']', i);
      if (close != std::string::npos) {
        const std::string inner = msg.substr(i + 1, close - i - 1);
        const std::size_t colon = inner.rfind(':');
        const bool digits = colon != std::string::npos && colon + 1 < inner.size() &&
                            inner.find_first_not_of("0123456789", colon + 1) == std::string::npos;
        const std::string file = colon == std::string::npos ? "" : inner.substr(0, colon);
        const bool source = digits && file.find(' ') == std::string::npos &&
                            (file.find(".cpp") != std::string::npos ||
                             file.find(".cu") != std::string::npos ||
                             file.find(".hpp") != std::string::npos ||
                             file.find(".h") != std::string::npos);
        if (source) {
          while (!out.empty() && out.back() == ' ') out.pop_back();
          i = close + 1;
          continue;
        }
      }
    }
    out += msg[i++];
  }
  return out;
}

}  // namespace naqs
