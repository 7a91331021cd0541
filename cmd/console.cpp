#include "cmd/console.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <iterator>

namespace rp {
namespace {

constexpr const char* kPalette[] = {"36", "33", "32", "35", "34", "91", "96", "93", "92", "95"};
constexpr const char* kReset = "\x1b[0m";

}  // namespace

bool color_wanted(int fd, const EnvMap& env) {
  auto it = env.find("NO_COLOR");
  if (it != env.end() && !it->second.empty()) return false;
  return ::isatty(fd) == 1;
}

std::string format_line(const ConsoleStyle& style, std::string_view source,
                        std::optional<int> color_index, std::string_view timestamp,
                        std::string_view text) {
  std::string out;
  out.reserve(text.size() + style.width + 24);
  append_line(out, style, source, color_index, timestamp, text);
  return out;
}

void append_line(std::string& out, const ConsoleStyle& style, std::string_view source,
                 std::optional<int> color_index, std::string_view timestamp,
                 std::string_view text) {
  if (style.timestamps) {
    out += timestamp;
    out += ' ';
  }
  if (style.color) {
    out += "\x1b[";
    // (Any number picks a colour: a negative one too.)
    out += color_index ? kPalette[static_cast<unsigned>(*color_index) % std::size(kPalette)] : "1";
    out += 'm';
  }
  fmt::format_to(std::back_inserter(out), "{:<{}} |", source, style.width);
  if (style.color) out += kReset;
  if (!text.empty()) {
    out += ' ';
    out += text;
  }
  out += '\n';
}

void Console::render_to(std::string& out, std::string_view source, std::optional<int> color_index,
                        std::string_view text) const {
  std::string stamp;
  if (style_.timestamps) {
    std::time_t now = std::time(nullptr);
    stamp = fmt::format("{:%H:%M:%S}", fmt::localtime(now));
  }
  append_line(out, style_, source, color_index, stamp, text);
}

void Console::write(std::string_view rest) {
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader went away (a closed pipe): output is dropped, work goes on
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace rp
