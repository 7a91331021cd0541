// Durations as users write them in rp.yaml and config.yaml: "500ms", "30s", "15m", "1h", "1h30m",
// and a bare "0" (meaning "never" for timeouts). A bare number other than 0 is refused: "30" could
// mean seconds or minutes, and a silent guess is worse than an error.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rp {

using Duration = std::chrono::milliseconds;

// The longest duration rp takes, about a century: a deadline `now + d` must be a time the clocks
// can hold, and a steady_clock's 64-bit nanoseconds overflow after 292 years.
inline constexpr Duration kLongestDuration = std::chrono::hours(24 * 365 * 100);

// The duration (at most kLongestDuration), or nullopt with `error` set to a sentence that says
// what is wrong.
std::optional<Duration> parse_duration(std::string_view text, std::string& error);

// The shortest form that parses back to the same value ("1m30s", "500ms", "0").
std::string format_duration(Duration d);

}  // namespace rp
