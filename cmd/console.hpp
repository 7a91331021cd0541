// rp up's combined output: every line prefixed with its source (`web.1 | ...`, rp's own events
// as `rp | ...`), names padded to one width, a colour per process on a terminal. Each line
// reaches the terminal in one write, so lines of different processes never mix.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/project/dotenv.hpp"

namespace rp {

struct ConsoleStyle {
  bool color = false;
  bool timestamps = false;
  std::size_t width = 0;  // prefixes are padded to this many characters
};

// Colour when `fd` is a terminal and NO_COLOR is unset or empty (no-color.org).
bool color_wanted(int fd, const EnvMap& env);

// One output line: "[HH:MM:SS ]source | text". `color_index` picks from a fixed palette; rp's own
// lines pass nullopt and are drawn bold.
std::string format_line(const ConsoleStyle& style, std::string_view source,
                        std::optional<int> color_index, std::string_view timestamp,
                        std::string_view text);
// The same line appended to `out`.
void append_line(std::string& out, const ConsoleStyle& style, std::string_view source,
                 std::optional<int> color_index, std::string_view timestamp, std::string_view text);

class Console {
 public:
  Console(int fd, ConsoleStyle style) : fd_(fd), style_(style) {}

  void set_width(std::size_t width) { style_.width = std::max(style_.width, width); }
  void line(std::string_view source, std::optional<int> color_index, std::string_view text) {
    std::string out;
    render_to(out, source, color_index, text);
    write(out);
  }
  void event(std::string_view text) { line("rp", std::nullopt, text); }

  // A line as line() would print it, appended to `out`, for callers that batch several into
  // one write().
  void render_to(std::string& out, std::string_view source, std::optional<int> color_index,
                 std::string_view text) const;
  // Whole lines, in one write: lines from different threads never mix.
  void write(std::string_view lines);
  int fd() const { return fd_; }

 private:
  int fd_;
  ConsoleStyle style_;
};

}  // namespace rp
