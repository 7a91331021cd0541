// How many instances of each process to run, as `-m` takes it: "web=2,worker=1", where "all=N"
// sets the count of every process not named. Names are checked against the project later, where
// the list of processes is known.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rp {

struct Formation {
  std::optional<int> all;
  std::map<std::string, int> counts;

  // The instances to run of `process`: its own count, else `all`, else 1.
  int count_for(const std::string& process) const;
};

std::optional<Formation> parse_formation(std::string_view text, std::string& error);

}  // namespace rp
