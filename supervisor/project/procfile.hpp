// The Procfile, in the format foreman and Heroku read: one `name: command` a line, `#` comments
// and blank lines ignored, names made of [A-Za-z0-9_-]. Commands are kept verbatim; they run
// under `/bin/sh -c` so the shell expands $PORT and friends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"

namespace rp {

struct ProcfileEntry {
  std::string name;
  std::string command;
  int line = 0;
};

// The entries of `text` in file order. Mistakes go to `errors`, naming `path` and the line; the
// lines that are right are still returned so that every mistake can be reported in one run.
std::vector<ProcfileEntry> parse_procfile(std::string_view text, const std::string& path,
                                          Diagnostics& errors);

// True for names made only of letters, digits, '-' and '_' (and not empty).
bool valid_process_name(std::string_view name);

}  // namespace rp
