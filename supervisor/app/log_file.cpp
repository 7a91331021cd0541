#include "supervisor/app/log_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "supervisor/state/state_files.hpp"

namespace rp {

LogFile::LogFile(std::filesystem::path path, std::uintmax_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

LogFile::~LogFile() {
  close();
}

LogFile::LogFile(LogFile&& other) noexcept
    : path_(std::move(other.path_)),
      max_bytes_(other.max_bytes_),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      error_(std::move(other.error_)),
      failed_with_(other.failed_with_) {}

LogFile& LogFile::operator=(LogFile&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    max_bytes_ = other.max_bytes_;
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    error_ = std::move(other.error_);
    failed_with_ = other.failed_with_;
  }
  return *this;
}

void LogFile::append(std::string_view lines) {
  if (lines.empty()) return;
  if (failed_with_ == ENOSPC && !room_to_resume()) return;  // error_ still says why
  if (fd_ < 0 && !open()) return;
  if (size_ > 0 && size_ + lines.size() > max_bytes_) {
    rotate();
    if (fd_ < 0 && !open()) return;
  }
  ssize_t n;
  do {
    n = ::write(fd_, lines.data(), lines.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 || static_cast<std::size_t>(n) < lines.size()) {
    const int why = n < 0 ? errno : ENOSPC;
    // Part of the batch went in: taken back, so that the file does not end in half a line.
    if (n > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) size_ += n;
    error_ = fmt::format("cannot write {}: {}", path_.string(), std::strerror(why));
    failed_with_ = why;
    // Open again next time: the file or its directory may have been replaced meanwhile.
    close();
    return;
  }
  size_ += static_cast<std::uintmax_t>(n);
  error_.clear();
  failed_with_ = 0;
}

// Whether the disk of the log's directory has kRoomToResume free for anyone (f_bavail: root's
// reserve left aside). A disk that cannot be asked is given the benefit of the doubt.
bool LogFile::room_to_resume() const {
  struct statvfs st {};
  const std::filesystem::path dir = path_.has_parent_path() ? path_.parent_path() : ".";
  if (::statvfs(dir.c_str(), &st) != 0) return true;
  return static_cast<std::uintmax_t>(st.f_bavail) * st.f_frsize >= kRoomToResume;
}

bool LogFile::open() {
  if (path_.has_parent_path() && !make_private_dirs(path_.parent_path(), error_)) return false;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    failed_with_ = errno;
    error_ = fmt::format("cannot open {}: {}", path_.string(), std::strerror(failed_with_));
    return false;
  }
  // Appending to what an earlier daemon wrote: the limit counts that too.
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uintmax_t>(st.st_size) : 0;
  return true;
}

void LogFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

// When the rename fails the current file stays open and keeps growing: better too much log than
// none. (It is tried again at the next batch; a directory that refuses renames refuses the
// writes too, and those are reported.)
void LogFile::rotate() {
  std::filesystem::path old = path_;
  old += ".1";
  if (::rename(path_.c_str(), old.c_str()) != 0) return;
  close();
}

}  // namespace rp
