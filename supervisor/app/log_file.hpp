// One app's output on disk, for `rp logs` after the terminal that started it is gone. The file is
// kept under a size limit by rotation: when the next write would pass it, PATH becomes PATH.1
// (replacing the older one) and a new PATH is started, so an app that logs without end costs at
// most twice the limit. Nothing here may stop an app: a full or read-only disk is remembered in
// error() for the daemon to report, and the lines are dropped; what the file already holds stays
// whole (a batch that fits only in part is taken back, so no line is torn). Once the disk ran
// full, nothing is written until it has kRoomToResume free again: a disk a few blocks short of
// full would take one batch and refuse the next, and the app's output would be said lost and
// found again with every batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace rp {

class LogFile {
 public:
  static constexpr std::uintmax_t kRoomToResume = 1024 * 1024;
  LogFile(std::filesystem::path path, std::uintmax_t max_bytes = 5 * 1024 * 1024);
  ~LogFile();
  LogFile(LogFile&& other) noexcept;
  LogFile& operator=(LogFile&& other) noexcept;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Appends whole lines (each already ending in '\n') in one write, so they are never split across
  // the two files nor interleaved with another writer's. Opens the file on first use, creating
  // the parent directory (0700) and the file (0600, O_APPEND|O_CLOEXEC). A batch bigger than
  // max_bytes still goes whole into a file of its own.
  void append(std::string_view lines);
  // Why the last append failed, or empty when it worked.
  const std::string& error() const { return error_; }

 private:
  bool open();
  void close();
  void rotate();
  bool room_to_resume() const;

  std::filesystem::path path_;
  std::uintmax_t max_bytes_;
  int fd_ = -1;
  std::uintmax_t size_ = 0;  // of the open file, counted here rather than asked for each write
  std::string error_;
  int failed_with_ = 0;  // the errno of the last write or open that failed; 0 when it worked
};

}  // namespace rp
