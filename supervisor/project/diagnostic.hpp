// A mistake in one of the user's files, as a value: where it is (file, line, column) and what to
// do about it. Every parser reports into a list of these instead of throwing, so `rp check` can
// show all of them at once and `rp up` can refuse to start with the same text.
#pragma once

#include <string>
#include <vector>

namespace rp {

struct Diagnostic {
  std::string file;  // as the user would type it (relative to the project where possible)
  int line = 0;      // from 1; 0 when the mistake is not on a line (a missing file, a flag)
  int column = 0;    // from 1; 0 when unknown
  std::string what;  // what is wrong
  std::string fix;   // how to fix it

  // "path:line[:column]: what — fix", the compiler style every rp command prints.
  std::string str() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace rp
