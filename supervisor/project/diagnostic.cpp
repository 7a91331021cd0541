#include "supervisor/project/diagnostic.hpp"

#include <fmt/format.h>

namespace rp {

std::string Diagnostic::str() const {
  std::string where = file;
  if (line > 0) where += fmt::format(":{}", line);
  if (line > 0 && column > 0) where += fmt::format(":{}", column);
  if (fix.empty()) return fmt::format("{}: {}", where, what);
  return fmt::format("{}: {} — {}", where, what, fix);
}

}  // namespace rp
