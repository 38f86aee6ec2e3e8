// Generic training checkpoints: named tensors + integer/float/string attributes (step counters,
// RNG counters, optimiser counters) + a fingerprint of the configuration, in one HDF5 file
// replaced atomically (write_atomically: temp file, fsync, rename), so a crash at any instant
// leaves the previous checkpoint or the new one. Used by the VMC driver (physics/vmc/
// checkpoint.hpp maps its state onto it) and by every later trainer (ml/).
//
// File layout (readable with h5py):
//   attributes on "/": kind (string, e.g. "naqs-vmc-checkpoint"), checkpoint_version (int64),
//     fingerprint (FNV-1a 64 of the fingerprint text, 16 hex digits), written_utc, and the
//     checkpoint's own attributes ("step", ...; "/group:name" puts one on a group)
//   /fingerprint_text   string   canonical "key = value" lines: what must match to resume
//   <text path>         string   further identity texts (e.g. "/layout"), must match to resume
//   <tensor path>       dataset  each tensor in its own shape and dtype (f32, f64; i32 and u8
//                                stored as int64), restored bit for bit
//
// Loading is strict and all-or-nothing: the kind, version, fingerprint (the differing "key =
// value" lines are quoted), the identity texts, every requested attribute (present, same type)
// and every tensor (present, same shape and dtype) are checked before anything is restored; the
// caller's `check` runs between the two with the file's attribute values. A refusal is one
// UsageError that starts "checkpoint '<path>' refused (left untouched): "; an unreadable or
// corrupt file says so. The file itself is never written by a load.
// Tests: tests/unit/test_checkpoint.cpp (generic round trip of every dtype and shapes, refusal
// of a mismatched fingerprint, kind, shape, dtype, text; the VMC mapping's cases).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/core/tensor.hpp"
#include "host/io/hdf5.hpp"

namespace naqs {

// An identity text: stored at `path`, must be equal on load; `what` names it in a refusal
// ("parameter layout").
struct CheckpointText {
  std::string path;
  std::string text;
  std::string what;
};

struct Checkpoint {
  std::string kind;                // "naqs-vmc-checkpoint", "naqs-lm-checkpoint", ...
  int64_t version = 1;             // of the kind's layout; a different version is refused
  std::string fingerprint_text;    // "key = value" lines; hashed into the "fingerprint" attribute
  std::vector<CheckpointText> texts;
  // "name" (on "/") or "/group:name"; on load the file's values replace these.
  std::vector<std::pair<std::string, AttrValue>> attributes;
  // Dataset path -> tensor (any device, contiguous). On load, restored in place.
  std::vector<std::pair<std::string, Tensor>> tensors;

  // The value of attribute `name` (an Error if absent or of another type).
  int64_t attr_int(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads `path` into `into` (see above). `check`, when given, sees the file's attribute values
// (in `into`'s order) before anything is restored; it throws UsageError(refusal) to refuse, and
// the message is prefixed like every other refusal.
void load_checkpoint(const std::string& path, Checkpoint& into,
                     const std::function<void(const Checkpoint& file)>& check = {});

// 64-bit FNV-1a of text, as 16 hex digits.
std::string fingerprint_hash(const std::string& text);

// Line-by-line difference of two fingerprint texts ("h: checkpoint '0.5', this run '1'; ...").
std::string describe_fingerprint_difference(const std::string& file_text,
                                            const std::string& run_text);

}  // namespace naqs
