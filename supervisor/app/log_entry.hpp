// An app's output as the rest of the daemon sees it: lines with their source and time, and the
// listeners that receive them live (an `rp up` client, `rp logs -f`).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace rp {

// One line of an app's output, or one of rp's own events about it (source "rp", no colour).
struct LogEntry {
  std::chrono::system_clock::time_point time;
  std::string source;  // "web.1", or "rp"
  int color = -1;      // palette index; -1 for rp's events
  std::string text;

  // Whether the line is of `process`: "web" is every instance of it (web.1, web.2), "web.2"
  // that one; an empty `process` is every line.
  bool of(std::string_view process) const;
};

// Receives an app's output as it happens.
class AppListener {
 public:
  virtual ~AppListener() = default;
  virtual void entry(const LogEntry& entry) = 0;
  // The app's session is over, with the status `rp up` exits with: it ended on its own (a task
  // failed, --exit-on-error) or the daemon ended it (Ctrl-C in its terminal, `rp down`).
  virtual void ended(int exit_code) = 0;
};

}  // namespace rp
