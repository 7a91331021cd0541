#include "supervisor/project/text.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace rp {

std::optional<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

std::string_view strip_bom(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  text = strip_bom(text);
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

bool report_nul_byte(std::string_view text, const std::string& path, Diagnostics& errors) {
  text = strip_bom(text);
  const auto at = text.find('\0');
  if (at == std::string_view::npos) return false;
  const std::string_view before = text.substr(0, at);
  const auto line_start = before.rfind('\n');
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const auto column = line_start == std::string_view::npos ? at + 1 : at - line_start;
  errors.push_back({path, static_cast<int>(line), static_cast<int>(column),
                    "this file holds a NUL byte, which no command or variable can carry",
                    "save it as plain text (UTF-8) without the NUL"});
  return true;
}

std::vector<std::string_view> split_list(std::string_view list, char separator) {
  std::vector<std::string_view> items;
  while (!list.empty()) {
    auto comma = list.find(separator);
    items.push_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return items;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace rp
