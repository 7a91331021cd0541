// How tests show a list of diagnostics in a failure message: one a line, as `rp check` prints
// them.
#pragma once

#include <string>

#include "supervisor/project/diagnostic.hpp"

namespace rp::test {

inline std::string errors_text(const Diagnostics& errors) {
  std::string out;
  for (const auto& e : errors) out += e.str() + "\n";
  return out;
}

}  // namespace rp::test
