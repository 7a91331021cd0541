#include "cmd/daemon/dashboard_files.hpp"

namespace rp::cmd {

const PageFile* dashboard_file(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const auto& file : dashboard_files()) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

}  // namespace rp::cmd
