#include "supervisor/state/root_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "supervisor/project/text.hpp"

namespace rp {

namespace fs = std::filesystem;

fs::path under_root(const fs::path& root, std::string_view path) {
  return root / fs::path(path).relative_path();
}

bool make_dirs_under_root(const fs::path& root, const fs::path& dir,
                          std::vector<std::string>& created, std::string& error) {
  fs::path so_far = "/";
  for (const auto& part : dir.relative_path()) {
    so_far /= part;
    auto p = under_root(root, so_far.string());
    std::error_code ec;
    if (fs::is_directory(p, ec)) continue;
    if (!fs::create_directory(p, ec) || ec) {
      error = fmt::format("cannot create {}: {}", p.string(), ec ? ec.message() : "it exists");
      return false;
    }
    if (std::find(created.begin(), created.end(), so_far.string()) == created.end()) {
      created.push_back(so_far.string());
    }
  }
  return true;
}

bool write_system_file(const fs::path& p, std::string_view text, std::string& error) {
  fs::path tmp = p;
  tmp += ".rp-new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      error = fmt::format("cannot write {}", tmp.string());
      return false;
    }
  }
  std::error_code ec;
  fs::permissions(tmp, fs::perms(0644), ec);
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    error = fmt::format("cannot write {}: {}", p.string(), ec.message());
    return false;
  }
  return true;
}

void remove_empty_dirs(const fs::path& root, const std::vector<std::string>& created,
                       std::vector<std::string>& done) {
  std::error_code ec;
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    auto p = under_root(root, *it);
    if (fs::is_directory(p, ec) && fs::is_empty(p, ec) && fs::remove(p, ec)) {
      done.push_back(fmt::format("removed {}", p.string()));
    }
  }
}

std::vector<ManifestLine> manifest_lines(std::string_view text) {
  std::vector<ManifestLine> out;
  int n = 0;
  for (auto raw : split_lines(text)) {
    ++n;
    auto line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    auto space = line.find(' ');
    auto rest = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));
    out.push_back({n, line, line.substr(0, space), rest});
  }
  return out;
}

}  // namespace rp
