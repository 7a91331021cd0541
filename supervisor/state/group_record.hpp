// The process groups a daemon has started, written down as it starts them, so that when a daemon
// is killed (SIGKILL, OOM, a crash) the next one can find the apps it left running and stop them
// instead of leaving them holding ports. RP_HOME/run/groups is text, one `<pgid> <marker>` a line;
// the marker is the RP_RUN_ID prefix of the daemon that started the group, so the next daemon can
// tell its predecessor's processes from unrelated ones that were given the same pgid since.
//
// One daemon runs at a time and calls these from one thread; the record is not shared further.
// A failure to write is remembered in error(), never thrown: losing the record costs orphans on a
// crash, not the running apps. It is told to `say` once when writes start failing (a full or
// read-only RP_HOME), not at every process that starts.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace rp {

struct GroupEntry {
  pid_t pgid;
  std::string marker;

  bool operator==(const GroupEntry&) const = default;
};

class GroupRecord {
 public:
  explicit GroupRecord(std::filesystem::path file,
                       std::function<void(const std::string&)> say = nullptr);

  // The entries in file order; a missing file is none. Lines that are not `<pgid> <marker>` with
  // pgid > 1 are skipped: a torn last line from a crash must not cost the others.
  std::vector<GroupEntry> load() const;
  // Appends one line in one O_APPEND write, creating the directory (0700) and file (0600). A
  // marker that is empty or has white space would make an unreadable line and is refused.
  void add(pid_t pgid, const std::string& marker);
  // Rewrites the file without `pgid` (atomically: a crash leaves the old file or the new one).
  void remove(pid_t pgid);
  // Removes the file: every group has been reclaimed or stopped.
  void clear();

  // Why the last change failed, or empty when it worked.
  const std::string& error() const { return error_; }

 private:
  void write_line(pid_t pgid, const std::string& marker);
  // After a change: says a failure that follows a success.
  void told(bool was_failing);

  std::filesystem::path file_;
  std::function<void(const std::string&)> say_;
  std::string error_;
};

}  // namespace rp
