#include "cmd/table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rp {
namespace {

std::size_t display_width(const std::string& s) {
  // Count the bytes that start a code point, i.e. all but UTF-8 continuation bytes (10xxxxxx).
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<const std::vector<std::string>*> lines;
  if (!header.empty()) lines.push_back(&header);
  for (const auto& row : rows) lines.push_back(&row);

  std::vector<std::size_t> widths;
  for (const auto* line : lines) {
    if (line->size() > widths.size()) widths.resize(line->size(), 0);
    for (std::size_t i = 0; i < line->size(); ++i) {
      widths[i] = std::max(widths[i], display_width((*line)[i]));
    }
  }

  std::string out;
  for (const auto* line : lines) {
    std::string text;
    for (std::size_t i = 0; i < line->size(); ++i) {
      if (i > 0) text += "  ";
      const std::string& cell = (*line)[i];
      text += cell;
      text.append(widths[i] - display_width(cell), ' ');
    }
    // Padding after the last non-empty cell would be trailing space; so would a cell's own.
    text.erase(text.find_last_not_of(' ') + 1);
    out += text;
    out += '\n';
  }
  return out;
}

std::string human_age(std::chrono::seconds age) {
  long long s = std::max<long long>(age.count(), 0);
  auto with = [](long long big, const char* big_unit, long long small, const char* small_unit) {
    return small == 0 ? fmt::format("{}{}", big, big_unit)
                      : fmt::format("{}{}{}{}", big, big_unit, small, small_unit);
  };
  if (s < 60) return fmt::format("{}s", s);
  if (s < 10 * 60) return with(s / 60, "m", s % 60, "s");
  if (s < 60 * 60) return fmt::format("{}m", s / 60);
  if (s < 24 * 60 * 60) return with(s / 3600, "h", s / 60 % 60, "m");
  return with(s / 86400, "d", s / 3600 % 24, "h");
}

}  // namespace rp
