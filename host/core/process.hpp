// Running a helper program (the Python plot scripts of naqs report, naqs lm report and naqs
// align) without a shell: one place for workflow/, ml/ and apps/ (ml may not depend on workflow).
// Tests: tests/unit/test_process.cpp.
#pragma once
#include <string>
#include <vector>

namespace naqs {

// Runs argv (no shell, argv[0] looked up in PATH); returns the exit status, 128 + the signal
// number when a signal ended it, or -1 if it could not start. Our stdout and stderr are flushed
// first (our lines stay before the child's). With `quiet`, the child's stdout and stderr go to
// /dev/null; with a `log` path, to that file (created or truncated, mode 0600).
int spawn_wait(const std::vector<std::string>& args, bool quiet = false,
               const std::string& log = "");

}  // namespace naqs
