// The commands' console; see console.hpp.
#include "host/core/console.hpp"

#include <cstdio>

namespace naqs {

Console Console::standard(bool quiet) {
  Console c;
  c.warning = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  if (quiet) return c;
  c.line = [](const std::string& s) {
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  };
  c.progress = true;
  return c;
}

}  // namespace naqs
