#include "supervisor/state/group_record.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "supervisor/project/text.hpp"
#include "supervisor/state/state_files.hpp"

namespace rp {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::optional<GroupEntry> parse_line(std::string_view line) {
  line = trim(line);
  auto space = std::find_if(line.begin(), line.end(), is_space);
  if (space == line.end()) return std::nullopt;
  std::string_view pgid_text(line.begin(), space);
  std::string_view marker = trim(std::string_view(space, line.end()));
  if (marker.empty() || std::any_of(marker.begin(), marker.end(), is_space)) return std::nullopt;
  pid_t pgid = 0;
  auto [end, ec] = std::from_chars(pgid_text.data(), pgid_text.data() + pgid_text.size(), pgid);
  // kill(-1) signals every process we may signal and kill(-0) our own group: never reclaim those.
  if (ec != std::errc{} || end != pgid_text.data() + pgid_text.size() || pgid <= 1) {
    return std::nullopt;
  }
  return GroupEntry{pgid, std::string(marker)};
}

}  // namespace

GroupRecord::GroupRecord(std::filesystem::path file, std::function<void(const std::string&)> say)
    : file_(std::move(file)), say_(std::move(say)) {}

std::vector<GroupEntry> GroupRecord::load() const {
  std::vector<GroupEntry> out;
  auto text = read_text_file(file_);
  if (!text) return out;
  for (auto line : split_lines(*text)) {
    if (auto entry = parse_line(line)) out.push_back(std::move(*entry));
  }
  return out;
}

void GroupRecord::add(pid_t pgid, const std::string& marker) {
  const bool was_failing = !std::exchange(error_, {}).empty();
  write_line(pgid, marker);
  told(was_failing);
}

void GroupRecord::write_line(pid_t pgid, const std::string& marker) {
  if (pgid <= 1 || marker.empty() || std::any_of(marker.begin(), marker.end(), is_space)) {
    error_ = fmt::format("cannot record process group {} with marker '{}'", pgid, marker);
    return;
  }
  if (file_.has_parent_path() && !make_private_dirs(file_.parent_path(), error_)) return;
  int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    error_ = fmt::format("cannot open {}: {}", file_.string(), std::strerror(errno));
    return;
  }
  // One write, so a crash leaves at worst a torn last line, which load() skips.
  std::string line = fmt::format("{} {}\n", pgid, marker);
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(line.size())) {
    error_ = fmt::format("cannot write {}: {}", file_.string(),
                         n < 0 ? std::strerror(errno) : "disk full");
  }
  ::close(fd);
}

void GroupRecord::remove(pid_t pgid) {
  auto entries = load();
  auto removed = std::erase_if(entries, [&](const GroupEntry& e) { return e.pgid == pgid; });
  if (removed == 0) return;  // nothing to forget: leave the file alone
  std::string text;
  for (const auto& e : entries) text += fmt::format("{} {}\n", e.pgid, e.marker);
  const bool was_failing = !std::exchange(error_, {}).empty();
  write_file_atomically(file_, text, error_);
  told(was_failing);
}

void GroupRecord::clear() {
  const bool was_failing = !std::exchange(error_, {}).empty();
  std::error_code ec;
  std::filesystem::remove(file_, ec);
  if (ec) error_ = fmt::format("cannot remove {}: {}", file_.string(), ec.message());
  told(was_failing);
}

void GroupRecord::told(bool was_failing) {
  if (was_failing || error_.empty() || !say_) return;
  say_(
      fmt::format("{} — the apps run on, but should this daemon be killed, the next one may not "
                  "find the processes it started",
                  error_));
}

}  // namespace rp
