// What every fuzz target over the user's files checks of a diagnostic: it names the file it was
// given and a line within the text (0 only where a format says a mistake is on no line).
#pragma once

#include <string>
#include <string_view>

#include "supervisor/project/diagnostic.hpp"

namespace rp::fuzz {

// A broken property is a finding: libFuzzer reports the trap with the input that made it.
inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

// How many lines `text` has, counting a last one without its newline. YAML also ends a line
// at a CR that no LF follows.
inline int line_count(std::string_view text, bool lone_cr_ends_a_line = false) {
  int lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    lines += text[i] == '\n' || (lone_cr_ends_a_line && text[i] == '\r' &&
                                 (i + 1 == text.size() || text[i + 1] != '\n'));
  }
  return lines;
}

// Each diagnostic names `path` and a line from `first_line` to `last_line`, and says what and how.
inline void check_diagnostics(const Diagnostics& errors, const std::string& path, int first_line,
                              int last_line) {
  for (const auto& d : errors) {
    require(d.file == path);
    require(d.line >= first_line && d.line <= last_line);
    require(d.column >= 0);
    require(!d.what.empty() && !d.fix.empty());
    (void)d.str();
  }
}

}  // namespace rp::fuzz
