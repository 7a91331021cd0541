// The dashboard's page: plain files in cmd/daemon/dashboard/, built into the binary
// (cmake/embed_files.cmake), so that building rp needs no JavaScript toolchain and the page is
// the one the daemon was built with.
#pragma once

#include <span>
#include <string_view>

namespace rp::cmd {

struct PageFile {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view body;
};

std::span<const PageFile> dashboard_files();

// The file at `path`; "/" is index.html. nullptr for any other path.
const PageFile* dashboard_file(std::string_view path);

}  // namespace rp::cmd
