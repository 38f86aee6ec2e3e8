// Progress reporter: see progress.hpp. Tests: tests/unit/test_progress.cpp.
#include "host/core/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "host/core/error.hpp"

namespace naqs {

std::string fmt_g(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}


namespace {

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void write_stdout(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Characters as a terminal shows them: UTF-8 continuation bytes do not start a character.
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string format_rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r);
  return buf;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

Progress::Progress(ProgressOptions opt)
    : Progress(std::move(opt), ::isatty(::fileno(stdout)) == 1, steady_seconds, write_stdout) {}

Progress::Progress(ProgressOptions opt, bool is_terminal, Clock clock, Sink sink)
    : opt_(std::move(opt)),
      terminal_(is_terminal),
      clock_(std::move(clock)),
      sink_(std::move(sink)),
      t_start_(clock_()),
      step_(opt_.first_step) {
  NAQS_CHECK(opt_.log_every_s > 0 && opt_.redraw_s >= 0, "Progress: log_every_s ",
             opt_.log_every_s, " must be > 0 and redraw_s ", opt_.redraw_s, " >= 0");
  t_last_ = t_start_;
}

Progress::~Progress() {
  if (!opt_.quiet && terminal_ && drawn_width_ > 0 && !finished_) {
    try {
      sink_("\n");
    } catch (...) {  // a destructor must not throw; losing a newline is harmless
    }
  }
}

std::string Progress::line() const {
  const double now = clock_();
  const double elapsed = now - t_start_;
  std::string s = opt_.label.empty() ? "" : opt_.label + "  ";
  s += std::to_string(step_);
  if (opt_.total > 0)
    s += cat("/", opt_.total, " (", static_cast<int>(100.0 * step_ / opt_.total), "%)");
  if (!fields_.empty()) s += "  " + fields_;
  const int64_t done = step_ - opt_.first_step;
  const double steps_per_s = elapsed > 0 && done > 0 ? done / elapsed : 0;
  if (steps_per_s > 0)
    s += cat("  ", format_rate(steps_per_s * opt_.items_per_step), " ", opt_.unit, "/s");
  if (finished_)
    s += "  done in " + format_duration(elapsed);
  else if (opt_.total > 0 && steps_per_s > 0 && step_ < opt_.total)
    s += "  ETA " + format_duration((opt_.total - step_) / steps_per_s);
  return s;
}

void Progress::emit(const std::string& text) {
  if (!opt_.quiet) sink_(text);
}

void Progress::draw(bool final) {
  const std::string text = line();
  if (!terminal_) {
    emit(text + "\n");
    return;
  }
  const std::size_t width = display_width(text);
  const std::string pad = drawn_width_ > width ? std::string(drawn_width_ - width, ' ') : "";
  emit("\r" + text + pad + (final ? "\n" : ""));
  drawn_width_ = final ? 0 : width;
}

void Progress::update(int64_t step, const std::string& fields) {
  step_ = step;
  fields_ = fields;
  const double now = clock_();
  const double interval = terminal_ ? opt_.redraw_s : opt_.log_every_s;
  if (now - t_last_ < interval) return;
  t_last_ = now;
  draw(false);
}

void Progress::message(const std::string& text) {
  if (terminal_ && drawn_width_ > 0) {
    std::string clear = "\r";
    clear.append(drawn_width_, ' ').append("\r").append(text).append("\n");
    emit(clear);
    drawn_width_ = 0;
    draw(false);
  } else {
    emit(text + "\n");
  }
}

void Progress::finish(const std::string& fields) {
  if (finished_) return;
  if (!fields.empty()) fields_ = fields;
  finished_ = true;
  draw(true);
}

}  // namespace naqs
