// Where a library run's console text goes (issue 14: library code returns data, the commands
// print). A run (run_vmc, the sweep's tasks, the breakdown study) takes a Console and sends its
// status lines and warnings there; the command (apps/cmd_*.cpp) builds it, and so decides what is
// shown: Console::standard (stdout lines, stderr warnings, the progress line) or less (--quiet).
// A default Console is silent, which is what tests and library callers get.
// Tests: tests/unit/test_console.cpp.
#pragma once
#include <functional>
#include <string>

namespace naqs {

struct Console {
  using Sink = std::function<void(const std::string& line)>;  // one line, without its '\n'
  Sink line;     // status and result lines (empty: dropped)
  Sink warning;  // warnings (empty: dropped)
  bool progress = false;  // whether long runs draw their progress line (host/core/progress.hpp)

  void say(const std::string& s) const {
    if (line) line(s);
  }
  void warn(const std::string& s) const {
    if (warning) warning(s);
  }
  // Only the warnings of this console (a nested run whose lines the caller does not show).
  Console warnings_only() const { return Console{{}, warning, false}; }

  // The commands' console: lines on stdout (flushed after each), warnings on stderr, the progress
  // line; quiet: the warnings only.
  static Console standard(bool quiet);
};

}  // namespace naqs
