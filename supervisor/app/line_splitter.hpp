// Cuts a process's output stream into lines, so that lines of different processes never mix.
// A partial line is held until its newline arrives or the caller flushes it (after a short pause,
// so a prompt without a newline still shows); a line longer than the limit is cut.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 16 * 1024) : max_line_(max_line) {}

  // The complete lines in what has arrived so far, without "\n" or "\r\n".
  std::vector<std::string> feed(std::string_view bytes);

  // The held partial line, if any, now.
  bool has_partial() const { return !partial_.empty(); }
  std::string take_partial();

 private:
  std::size_t max_line_;
  std::string partial_;
};

}  // namespace rp
