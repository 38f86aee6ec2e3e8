// Output ownership helpers (see ownership.hpp).
#include "host/io/ownership.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <variant>

#include "host/core/error.hpp"
#include "host/core/process.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

std::string parent_dir(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// Best effort, by the policy of write_through_temp (ownership.hpp): called after the publishing
// rename, when the new file is complete and visible under its name; a failure here only risks
// the name's durability across a power loss at that instant, so it is not reported.
void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void fsync_file(const std::string& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  NAQS_CHECK(fd >= 0, "open('", p, "') for fsync failed: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  NAQS_CHECK(rc == 0, "fsync('", p, "') failed: ", std::strerror(err));
}

bool pid_alive(long pid) {
  if (pid <= 0) return true;  // not a pid we understand: leave it alone
  if (pid == static_cast<long>(::getpid())) return true;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// The canonical form of a path that may not exist yet: its parent resolved, the name kept.
fs::path resolved(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) return fs::path(p).lexically_normal();
  // Follow symlinks at the last component too (also dangling ones: the file they would create).
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(abs, ec)); ++hops) {
    const fs::path target = fs::read_symlink(abs, ec);
    if (ec) break;
    abs = target.is_absolute() ? target : abs.parent_path() / target;
  }
  fs::path c = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : c;
}

}  // namespace

bool path_present(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string this_host() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return "localhost";
  std::string h(host);
  for (char& c : h)
    if (c == '/' || c == '@') c = '_';
  return h;
}

std::string temp_path_for(const std::string& target) {
  return cat(target, ".tmp.", ::getpid(), "@", this_host());
}

bool parse_temp_name(const std::string& name, const std::string& target_name, long* pid,
                     std::string* host) {
  const std::string prefix = target_name + ".tmp.";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string rest = name.substr(prefix.size());
  const std::size_t at = rest.find('@');
  const std::string digits = rest.substr(0, at);
  if (digits.empty() || digits.size() > 10 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  if (at != std::string::npos && at + 1 >= rest.size()) return false;
  *pid = std::stol(digits);
  *host = at == std::string::npos ? std::string() : rest.substr(at + 1);
  return true;
}

int remove_stale_temps(const std::string& target) {
  if (target.empty()) return 0;
  const std::string dir = parent_dir(target);
  const std::string target_name = fs::path(target).filename().string();
  const std::string host = this_host();
  int removed = 0;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    long pid = 0;
    std::string h;
    if (!parse_temp_name(name, target_name, &pid, &h)) continue;
    if (!h.empty() && h != host) continue;  // another machine's (shared file system)
    if (pid_alive(pid)) continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

void check_output_path(const std::string& option, const std::string& path, bool must_not_exist) {
  NAQS_REQUIRE(!path.empty(), option, ": empty path");
  std::error_code ec;
  NAQS_REQUIRE(!fs::is_directory(path, ec), option, ": '", path,
               "' is a directory (give a file name)");
  const std::string dir = parent_dir(path);
  NAQS_REQUIRE(fs::is_directory(dir, ec), option, ": the directory '", dir, "' of '", path,
               "' does not exist");
  NAQS_REQUIRE(::access(dir.c_str(), W_OK | X_OK) == 0, option, ": the directory '", dir,
               "' is not writable (", std::strerror(errno), ")");
  if (must_not_exist)
    NAQS_REQUIRE(!path_present(path), option, ": '", path,
                 "' already exists; naqs never overwrites results (choose another path or "
                 "move the old file away)");
}

void check_distinct_paths(const std::vector<std::pair<std::string, std::string>>& named) {
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (named[i].second.empty()) continue;
    const fs::path a = resolved(named[i].second);
    for (std::size_t j = 0; j < named.size(); ++j) {
      if (j == i || named[j].second.empty()) continue;
      const fs::path b = resolved(named[j].second);
      if (j > i)
        NAQS_REQUIRE(a != b, named[i].first, " '", named[i].second, "' and ", named[j].first,
                     " '", named[j].second, "' are the same file; they must differ");
      long pid = 0;
      std::string host;
      if (a.parent_path() == b.parent_path())
        NAQS_REQUIRE(!parse_temp_name(a.filename().string(), b.filename().string(), &pid, &host),
                     named[i].first, " '", named[i].second, "' is a temp file name of ",
                     named[j].first, " '", named[j].second, "'; choose another path");
    }
  }
}

void publish_new(const std::string& tmp, const std::string& path) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return;
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == ENOTSUP) {  // no RENAME_NOREPLACE here
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      return;
    }
    err = errno;
  }
  if (err == EEXIST)
    throw UsageError(cat("'", path, "' already exists (another run wrote it first); naqs never "
                         "overwrites results"));
  throw Error(cat("cannot move '", tmp, "' to '", path, "': ", std::strerror(err)));
}

void write_by_command(std::vector<std::string> argv, const std::string& target,
                      const std::string& what, const std::string& hint) {
  write_through_temp(
      target,
      [&](const std::string& tmp) {
        for (std::string& a : argv)
          if (a == kTargetArg) a = tmp;
        const int rc = spawn_wait(argv, /*quiet=*/false);
        if (rc != 0 || !path_present(tmp))
          throw Error(cat("the ", what, " failed (", argv.at(0), " exit status ", rc, ")", hint));
      },
      /*replace=*/false);
}

void write_through_temp(const std::string& path,
                        const std::function<void(const std::string& tmp)>& write, bool replace) {
  remove_stale_temps(path);  // a killed earlier writer's
  const std::string tmp = temp_path_for(path);
  try {
    write(tmp);
    fsync_file(tmp);
    if (replace) {
      NAQS_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "rename('", tmp, "' -> '", path,
                 "') failed: ", std::strerror(errno));
    } else {
      publish_new(tmp, path);
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_dir(parent_dir(path));
}

namespace {
void write_h5(const std::string& tmp, const std::function<void(H5File&)>& fill) {
  H5File f = H5File::create_truncate(tmp);
  fill(f);
  f.close();
}
}  // namespace

void write_new_atomically(const std::string& path, const std::function<void(H5File&)>& fill) {
  NAQS_REQUIRE(!path_present(path), "'", path,
               "' already exists; naqs never overwrites results (choose another path or move "
               "the old file away)");
  write_through_temp(path, [&](const std::string& tmp) { write_h5(tmp, fill); },
                     /*replace=*/false);
}

void write_atomically(const std::string& path, const std::function<void(H5File&)>& fill) {
  write_through_temp(path, [&](const std::string& tmp) { write_h5(tmp, fill); },
                     /*replace=*/true);
}

void write_text_atomically(const std::string& path, const std::string& text, bool replace) {
  write_through_temp(
      path,
      [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
        out << text;
        out.flush();
        NAQS_CHECK(out.good(), "cannot write '", tmp, "'");
      },
      replace);
}

std::string RunIdentity::str() const {
  return cat("run ", run_id.empty() ? std::string("<none>") : run_id, " (settings ",
             fingerprint.empty() ? std::string("<none>") : fingerprint, ")");
}

std::string new_run_id() {
  unsigned char bytes[16] = {};
  std::ifstream in("/dev/urandom", std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  NAQS_CHECK(in.gcount() == static_cast<std::streamsize>(sizeof bytes),
             "cannot read /dev/urandom for a run id");
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

void write_run_identity(H5File& f, const RunIdentity& id) {
  f.set_attr("/", "run_fingerprint", id.fingerprint);
  f.set_attr("/", "run_id", id.run_id);
}

std::optional<RunIdentity> read_run_identity(const H5File& f) {
  if (!f.has_attr("/", "run_id") || !f.has_attr("/", "run_fingerprint")) return std::nullopt;
  const AttrValue id = f.get_attr("/", "run_id"), fp = f.get_attr("/", "run_fingerprint");
  if (!std::holds_alternative<std::string>(id) || !std::holds_alternative<std::string>(fp))
    return std::nullopt;
  return RunIdentity{std::get<std::string>(fp), std::get<std::string>(id)};
}

namespace {

// The identity an existing output carries and its "complete" attribute (0 when absent).
std::pair<std::optional<RunIdentity>, int64_t> output_identity(const ResumeRequest& r) {
  try {
    const H5File f = H5File::open_read(r.output);
    const int64_t complete = f.has_attr("/", "complete") &&
                                     std::holds_alternative<int64_t>(f.get_attr("/", "complete"))
                                 ? std::get<int64_t>(f.get_attr("/", "complete"))
                                 : 0;
    return {read_run_identity(f), complete};
  } catch (const Error&) {
    throw UsageError(cat("--out '", r.output, "' exists but is not a readable naqs ",
                         r.command, " output; it is left untouched (move it away or choose "
                         "another --out)"));
  }
}

}  // namespace

ResumePlan plan_resume(const ResumeRequest& r) {
  auto say = [&](const std::string& text) {
    if (r.say) r.say(text);
  };
  if (r.check_paths) {
    check_distinct_paths({{"--out", r.output}, {"--checkpoint", r.checkpoint}});
    if (!r.output.empty()) check_output_path("--out", r.output, /*must_not_exist=*/false);
    if (!r.checkpoint.empty()) {
      check_output_path("--checkpoint", r.checkpoint, /*must_not_exist=*/false);
      remove_stale_temps(r.checkpoint);  // a killed run's half-written checkpoint
    }
  }
  const bool have_checkpoint = !r.checkpoint.empty() && path_present(r.checkpoint);
  const bool have_output = !r.output.empty() && path_present(r.output);
  const std::string not_ours = cat("not a naqs ", r.command, " run output");
  ResumePlan p;
  p.identity = {r.fingerprint, ""};
  if (have_checkpoint) {
    NAQS_REQUIRE(r.resume, "checkpoint '", r.checkpoint,
                 "' already exists; continue it with --resume, or remove it / choose another "
                 "--checkpoint to start afresh (it is never overwritten by a new run)");
    p.first_step = r.restore(&p.identity.run_id);
    p.resumed = true;
    if (!r.output.empty()) {
      NAQS_REQUIRE(have_output, "checkpoint '", r.checkpoint, "' belongs to ", p.identity.str(),
                   ", whose output '", r.output, "' does not exist; put the output back, or "
                   "remove the checkpoint to start afresh");
      const auto [found, complete] = output_identity(r);
      NAQS_REQUIRE(found && *found == p.identity, "--out '", r.output, "' is ",
                   found ? found->str() : not_ours, " but checkpoint '", r.checkpoint, "' is ",
                   p.identity.str(), "; refusing to mix them (both left untouched)");
      p.reopen = true;
      p.already_complete = complete == 1 && p.first_step == r.steps;
      if (p.already_complete)
        say(cat(r.command, ": '", r.output, "' is already complete (", r.steps,
                " steps); files left unchanged"));
    }
    say(cat(r.command, ": resumed from '", r.checkpoint, "' at step ", p.first_step));
  } else if (r.resume && have_output) {
    // No checkpoint: only an unfinished output of these very settings that never wrote one (a
    // run killed before its first checkpoint) is taken over and restarted from step 0.
    const auto [found, complete] = output_identity(r);
    NAQS_REQUIRE(found && found->fingerprint == r.fingerprint && complete == 0,
                 "--resume: no checkpoint '", r.checkpoint, "', and --out '", r.output,
                 "' is ",
                 !found ? not_ours
                        : found->fingerprint != r.fingerprint
                              ? cat(found->str(), ", a run with other settings (this run's: ",
                                    r.fingerprint, ")")
                              : cat("a complete run (", found->str(), ")"),
                 "; it is left untouched (choose another --out)");
    p.identity.run_id = found->run_id;
    p.reopen = true;
    say(cat(r.command, ": no checkpoint '", r.checkpoint, "'; restarting the unfinished run in '",
            r.output, "' from step 0"));
  } else {
    if (r.check_paths && !r.output.empty())
      check_output_path("--out", r.output, /*must_not_exist=*/true);
    p.identity.run_id = new_run_id();
    if (r.resume)
      say(cat(r.command, ": --resume given but no checkpoint '", r.checkpoint,
              "' exists; starting afresh"));
  }
  NAQS_REQUIRE(p.first_step <= r.steps, "checkpoint '", r.checkpoint, "' is at step ",
               p.first_step, ", past this run's ", r.steps, " steps");
  return p;
}

}  // namespace naqs
