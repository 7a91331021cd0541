// Signal names as users write them in rp.yaml (`SIGTERM` or `TERM`) and as rp prints them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rp {

std::optional<int> parse_signal(std::string_view name);
std::string signal_name(int signal);  // "SIGTERM", or "signal 40" for one without a name

}  // namespace rp
