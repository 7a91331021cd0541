#include "supervisor/project/duration.hpp"

#include <fmt/format.h>

#include <cctype>

namespace rp {

std::optional<Duration> parse_duration(std::string_view text, std::string& error) {
  if (text == "0") return Duration{0};
  if (text.empty()) {
    error = "empty duration";
    return std::nullopt;
  }
  using namespace std::chrono;
  Duration total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t digits_start = i;
    long long n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) {
        error = fmt::format("duration '{}' is too large", text);
        return std::nullopt;
      }
      ++i;
    }
    if (i == digits_start) {
      error = fmt::format("'{}' is not a duration", text);
      return std::nullopt;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "ms") {
      total += milliseconds(n);
    } else if (unit == "s") {
      total += seconds(n);
    } else if (unit == "m") {
      total += minutes(n);
    } else if (unit == "h") {
      total += hours(n);
    } else if (unit.empty()) {
      error = fmt::format("'{}' has no unit", text);
      return std::nullopt;
    } else {
      error = fmt::format("'{}' has an unknown unit '{}'", text, unit);
      return std::nullopt;
    }
    if (total > kLongestDuration) {
      error = fmt::format("duration '{}' is too large (at most {}, about a century)", text,
                          format_duration(kLongestDuration));
      return std::nullopt;
    }
  }
  return total;
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  if (d.count() == 0) return "0";
  std::string out;
  auto ms = d.count();
  const std::pair<long long, const char*> units[] = {
      {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  for (auto [size, name] : units) {
    if (ms >= size) {
      out += fmt::format("{}{}", ms / size, name);
      ms %= size;
    }
  }
  return out;
}

}  // namespace rp
