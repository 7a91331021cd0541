#include "supervisor/project/formation.hpp"

#include <fmt/format.h>

#include <charconv>

#include "supervisor/project/procfile.hpp"
#include "supervisor/project/text.hpp"

namespace rp {

int Formation::count_for(const std::string& process) const {
  if (auto it = counts.find(process); it != counts.end()) return it->second;
  return all.value_or(1);
}

std::optional<Formation> parse_formation(std::string_view text, std::string& error) {
  Formation formation;
  for (auto raw : split_list(text)) {
    std::string_view item = trim(raw);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = fmt::format("'{}' is not process=count", item);
      return std::nullopt;
    }
    std::string_view name = trim(item.substr(0, eq));
    std::string_view number = trim(item.substr(eq + 1));
    int count = -1;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc{} || end != number.data() + number.size() || count < 0 || count > 100) {
      error = fmt::format("'{}' is not a count from 0 to 100 (in '{}')", number, item);
      return std::nullopt;
    }
    if (!valid_process_name(name)) {
      error = fmt::format("'{}' is not a process name (in '{}')", name, item);
      return std::nullopt;
    }
    if (name == "all") {
      formation.all = count;
    } else {
      formation.counts[std::string(name)] = count;
    }
  }
  return formation;
}

}  // namespace rp
