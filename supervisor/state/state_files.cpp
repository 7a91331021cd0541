#include "supervisor/state/state_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rp {
namespace {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what, const fs::path& path) {
  return fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(errno));
}

// write(2) until done: a regular file may take fewer bytes than asked when the disk fills.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

bool make_private_dirs(const fs::path& dir, std::string& error) {
  fs::path so_far;
  for (const auto& part : dir) {
    so_far /= part;
    if (::mkdir(so_far.c_str(), 0700) == 0 || errno == EEXIST) continue;
    error = errno_text("create directory", so_far);
    return false;
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    error = fmt::format("cannot create directory {}: a file is in the way", dir.string());
    return false;
  }
  return true;
}

bool write_file_atomically(const fs::path& path, std::string_view contents, std::string& error,
                           Durability durability) {
  const bool synced = durability == Durability::synced;
  if (path.has_parent_path() && !make_private_dirs(path.parent_path(), error)) return false;
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno_text("create", tmp);
    return false;
  }
  bool ok = write_all(fd, contents) && (!synced || ::fsync(fd) == 0);
  if (!ok) error = errno_text("write", tmp);
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno_text("write", tmp);
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    error = errno_text("replace", path);
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return false;
  }
  if (!synced) return true;
  // Best effort: without it the rename may be lost in a crash, but the old file is still whole.
  fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace rp
