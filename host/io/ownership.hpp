// Output ownership: nothing lost, nothing clobbered. Every command that writes a result file
// goes through these helpers (vmc, ed, sweep task files and manifests, collect, checkpoints);
// later commands call the same ones.
//
// Before any work (all throw UsageError, one line naming the option and the path):
//   check_output_path("--output", path, /*must_not_exist=*/true);
//       the parent directory exists and is writable, the path is not a directory (nor, with
//       must_not_exist, anything at all: a result is never overwritten)
//   check_distinct_paths({{"--output", out}, {"--checkpoint", ckpt}});
//       no two of the paths name the same file (after resolving symlinks and ".."), and none is
//       another's temp file
//
// Writing (a crash at any instant leaves the old state or the new file, never a torn file):
//   write_new_atomically(path, fill)   a NEW result: temp file, fsync, then published with
//       renameat2(RENAME_NOREPLACE) (link + unlink where the file system lacks it), so of two
//       processes writing the same path exactly one succeeds; the other gets "already exists"
//       and its temp is removed. Never check-then-rename.
//   write_atomically(path, fill)       (host/io/hdf5.hpp) REPLACES path (checkpoints, --force)
//   write_text_atomically(path, text, replace)   the same for a small text file
//   (all three through write_through_temp below: one implementation, one fsync policy)
//   H5File::create_exclusive(path)     a file written in place (O_EXCL, for traces appended
//       while a run goes on)
//
// Temp files are "<target>.tmp.<pid>@<host>" in the target's directory. remove_stale_temps(target)
// removes those of this host whose process is gone (crash, kill -9) and those of the old
// "<target>.tmp.<pid>" form whose pid is gone; every writer above calls it first, so a later
// run of the same target cleans up after a killed one. Another host's or a live process's temp
// is left alone.
//
// Run identity: a result a run may continue (vmc output + checkpoint) carries
//   "run_fingerprint" (FNV-1a 64 of the settings that must match, host/io/checkpoint.hpp) and
//   "run_id" (128 random bits, hex) as attributes on "/"; the checkpoint carries the same two.
//   --resume continues a file only when both match. plan_resume below is the one place that
//   decides it, for naqs vmc (physics/vmc/driver.cpp) and naqs lm train (ml/transformer/train.cpp).
// Documented in docs/HDF5_LAYOUT.md ("Ownership"). Tests: tests/unit/test_ownership.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/io/hdf5.hpp"

namespace naqs {

void check_output_path(const std::string& option, const std::string& path, bool must_not_exist);
void check_distinct_paths(const std::vector<std::pair<std::string, std::string>>& named_paths);

// True when something (a file, a directory, a dangling symlink) is at `path`.
bool path_present(const std::string& path);

std::string temp_path_for(const std::string& target);
// Is `name` (a file name, no directory) a temp file of `target`'s file name? Sets *pid, *host
// ("" for the old form) when it is.
bool parse_temp_name(const std::string& name, const std::string& target_name, long* pid,
                     std::string* host);
// Removes the stale temp files of `target`; returns how many. Never throws.
int remove_stale_temps(const std::string& target);
std::string this_host();

void write_new_atomically(const std::string& path, const std::function<void(H5File&)>& fill);
void write_text_atomically(const std::string& path, const std::string& text, bool replace);
// The one "temp file, fsync, publish" writer behind the three above: removes stale temps of
// `path`, `write`s the temp file "<path>.tmp.<pid>@<host>", fsyncs it (a failure is an Error),
// publishes it (replace: rename over `path`; else publish_new, never over an existing file),
// then fsyncs the directory. Policy: the publishing rename is the commit point. Any failure
// before it removes the temp file and throws, leaving `path` as it was; after it the new file is
// complete and visible under its name, so a failed directory fsync (open or fsync of the
// directory; some file systems refuse fsync on directories) is not reported: it risks only the
// name's durability across a power loss at that instant, and an error there would make a caller
// treat a published result or checkpoint as lost.
void write_through_temp(const std::string& path,
                        const std::function<void(const std::string& tmp)>& write, bool replace);
// Moves `tmp` to `path` only if nothing is at `path` (UsageError naming path otherwise).
void publish_new(const std::string& tmp, const std::string& path);
// A new file written by an external program (a plot by Python): runs argv without a shell, every
// argument equal to kTargetArg replaced by the temp path, through write_through_temp (published
// as `target`, never over an existing file). A non-zero exit or no file is an Error "the <what>
// failed (<program> exit status N)<hint>", with the temp removed.
inline constexpr const char* kTargetArg = "{target}";
void write_by_command(std::vector<std::string> argv, const std::string& target,
                      const std::string& what, const std::string& hint = "");

struct RunIdentity {
  std::string fingerprint;  // 16 hex digits
  std::string run_id;       // 32 hex digits
  bool operator==(const RunIdentity&) const = default;
  std::string str() const;  // "run <id> (settings <fingerprint>)"
};
std::string new_run_id();
void write_run_identity(H5File& f, const RunIdentity& id);
std::optional<RunIdentity> read_run_identity(const H5File& f);

// --resume: what a training run that writes an output + checkpoint does with the files it finds
// (docs/VMC.md "Ownership of the output"), decided before any work:
//   a checkpoint exists:   without --resume refused (a checkpoint is never overwritten by a new
//       run); with it, restored, and the output must exist and carry the checkpoint's identity
//       (else refused, naming both files, both left untouched); an output complete at the
//       checkpoint's step == steps is a finished run, left exactly as it is (already_complete)
//   no checkpoint, --resume and an output:  taken over from step 0 only when it is unfinished
//       and of this run's settings (same fingerprint), keeping its run id; refused otherwise
//   otherwise:  a new run; the output must not exist; a fresh run id
// Then first_step <= steps. Paths are checked first (check_paths; false on MPI ranks other than
// 0, which also pass output = "").
struct ResumeRequest {
  std::string command;     // "vmc", "lm": the file kind in refusals ("not a naqs <command> output")
  std::string output;      // "" = no output
  std::string checkpoint;  // "" = no checkpoint
  bool resume = false;
  bool check_paths = true;
  std::string fingerprint;  // this run's settings fingerprint (16 hex digits)
  int64_t steps = 0;
  // Restores the checkpoint into the run (parameters, optimiser, ...); returns its step and sets
  // *run_id to the run id it carries.
  std::function<int64_t(std::string* run_id)> restore;
  std::function<void(const std::string&)> say;  // progress lines (may be empty)
};
struct ResumePlan {
  int64_t first_step = 0;
  bool resumed = false;           // restored from the checkpoint
  bool reopen = false;            // the existing output is continued (its identity matched)
  bool already_complete = false;  // a finished run: write nothing
  RunIdentity identity;           // of this run (the output's and checkpoint's)
};
ResumePlan plan_resume(const ResumeRequest& r);

}  // namespace naqs
