// Progress of long runs (training steps, Lanczos iterations, sweeps).
//
// On a terminal: one line, redrawn in place with '\r' at most every `redraw_s` seconds:
//   train  120/1000 (12%)  E = -20.4 ± 0.01  35.2 steps/s  ETA 0:25
// Not on a terminal (batch logs): the same text as a plain line every `log_every_s` seconds
// (default 30) and once at the end. Quiet: nothing. The clock, the is-terminal flag and the
// output are injectable so tests can drive it (tests/unit/test_progress.cpp).
//
//   Progress p({.label = "train", .total = n_steps});
//   for (int64_t s = 0; s < n_steps; ++s) { ...; p.update(s + 1, cat("E = ", e, " ± ", err)); }
//   p.finish();
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace naqs {

struct ProgressOptions {
  std::string label;          // first word of the line ("train", "lanczos")
  int64_t total = 0;          // number of steps; 0 = unknown (no percentage, no ETA)
  int64_t first_step = 0;     // the step a resumed run starts from (rates count from here)
  std::string unit = "steps"; // rate unit: "<items_per_step * steps/s> <unit>/s"
  double items_per_step = 1;  // e.g. samples per step, with unit = "samples"
  bool quiet = false;
  double log_every_s = 30;    // non-terminal: seconds between log lines
  double redraw_s = 0.1;      // terminal: minimum seconds between redraws
};

// v with `digits` significant digits ("%.*g"), for the fields of a progress line.
std::string fmt_g(double v, int digits);

class Progress {
 public:
  using Clock = std::function<double()>;               // monotonic seconds
  using Sink = std::function<void(const std::string&)>; // receives text exactly as printed

  // Writes to stdout; terminal mode when stdout is a tty.
  explicit Progress(ProgressOptions opt);
  // For tests and special outputs: explicit terminal flag, clock and sink.
  Progress(ProgressOptions opt, bool is_terminal, Clock clock, Sink sink);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();  // ends an unfinished terminal line with '\n' (never throws)

  // `step` steps are done; `fields` is shown after the count ("E = -20.4 ± 0.01").
  void update(int64_t step, const std::string& fields = "");
  // Prints a message without garbling the progress line (terminal: clears it, prints the
  // message, redraws).
  void message(const std::string& text);
  // Final line (always printed unless quiet), with the elapsed time.
  void finish(const std::string& fields = "");

  // The status text for the current state, without '\r' or '\n' (what update prints).
  std::string line() const;

 private:
  void emit(const std::string& text);
  void draw(bool final);

  ProgressOptions opt_;
  bool terminal_;
  Clock clock_;
  Sink sink_;
  double t_start_;
  double t_last_ = -1;  // last redraw (terminal) or log line (otherwise)
  int64_t step_;
  std::string fields_;
  std::size_t drawn_width_ = 0;  // characters of the line now on the terminal
  bool finished_ = false;
};

// "0:25", "12:05", "1:02:03" (hours only when needed); "?" for negative or non-finite values.
std::string format_duration(double seconds);

}  // namespace naqs
