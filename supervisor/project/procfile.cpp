#include "supervisor/project/procfile.hpp"

#include <fmt/format.h>

#include <cctype>
#include <map>

#include "supervisor/project/text.hpp"

namespace rp {

bool valid_process_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

std::vector<ProcfileEntry> parse_procfile(std::string_view text, const std::string& path,
                                          Diagnostics& errors) {
  if (report_nul_byte(text, path, errors)) return {};
  std::vector<ProcfileEntry> entries;
  // Each name's first line, so that a long Procfile is not read in quadratic time.
  std::map<std::string_view, int> first_lines;
  int number = 0;
  for (std::string_view raw : split_lines(text)) {
    ++number;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      errors.push_back({path, number, 0, "this line has no process name",
                        "write it as 'name: command', e.g. 'web: bin/server'"});
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view command = trim(line.substr(colon + 1));
    if (!valid_process_name(name)) {
      errors.push_back({path, number, 0, fmt::format("invalid process name '{}'", name),
                        "a line is 'name: command' and names use only letters, digits, '-' "
                        "and '_'"});
      continue;
    }
    if (command.empty()) {
      errors.push_back({path, number, 0, fmt::format("process '{}' has no command", name),
                        "write the command after the colon"});
      continue;
    }
    if (auto [first, added] = first_lines.emplace(name, number); !added) {
      errors.push_back(
          {path, number, 0,
           fmt::format("duplicate process '{}' (first on line {})", name, first->second),
           "give each process its own name"});
      continue;
    }
    entries.push_back({std::string(name), std::string(command), number});
  }
  return entries;
}

}  // namespace rp
