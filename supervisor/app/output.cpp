#include "supervisor/app/output.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>

#include "supervisor/app/log_file.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace rp {
namespace {

// How long a partial line waits for its newline before it is shown anyway.
constexpr auto kPartialLineDelay = 200ms;
// The lines of output and events an app keeps for `rp logs`: the last 1000.
constexpr std::size_t kRecentLines = 1000;
// Log file writes are gathered for this long, or this much.
constexpr auto kLogBatchDelay = 100ms;
constexpr std::size_t kLogBatchBytes = 64 * 1024;

}  // namespace

bool LogEntry::of(std::string_view process) const {
  if (process.empty() || source == process) return true;
  return source.size() > process.size() && source.starts_with(process) &&
         source[process.size()] == '.';
}

// --- AppOutput ------------------------------------------------------------------------------

AppOutput::AppOutput(asio::io_context& io, std::filesystem::path log_file)
    : timer_(io), file_(std::make_unique<LogFile>(std::move(log_file))) {}

AppOutput::~AppOutput() {
  *alive_ = false;
  if (!pending_.empty()) file_->append(pending_);
}

template <typename Tell>
void AppOutput::tell_listeners(Tell tell) {
  ++telling_;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    // A copy of the pointer (no allocation, unlike a copy of the list) keeps it alive meanwhile.
    if (std::shared_ptr<AppListener> l = listeners_[i]) tell(*l);
  }
  if (--telling_ == 0) std::erase(listeners_, nullptr);
}

void AppOutput::add(LogEntry entry, bool keep) {
  log(entry);
  tell_listeners([&](AppListener& l) { l.entry(entry); });
  if (!keep) return;
  if (recent_.size() == kRecentLines) recent_.pop_front();
  recent_.push_back(std::move(entry));
}

void AppOutput::event(std::string text) {
  add({std::chrono::system_clock::now(), "rp", -1, std::move(text)});
}

void AppOutput::end(int exit_code) {
  tell_listeners([&](AppListener& l) { l.ended(exit_code); });
}

std::vector<LogEntry> AppOutput::recent(std::size_t n, std::string_view process) const {
  std::vector<LogEntry> out;
  for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < n; ++it) {
    if (it->of(process)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void AppOutput::listen(std::shared_ptr<AppListener> listener) {
  listeners_.push_back(std::move(listener));
}

void AppOutput::unlisten(const AppListener* listener) {
  for (auto& l : listeners_) {
    if (l.get() == listener) l.reset();
  }
  if (telling_ == 0) std::erase(listeners_, nullptr);
}

void AppOutput::log(const LogEntry& entry) {
  // The time, formatted once a second: a busy app logs thousands of access lines in one.
  const std::time_t second = std::chrono::system_clock::to_time_t(entry.time);
  if (second != stamp_second_) {
    stamp_second_ = second;
    stamp_ = fmt::format("{:%Y-%m-%dT%H:%M:%S}", fmt::localtime(second));
  }
  pending_ += stamp_;
  pending_ += ' ';
  pending_ += entry.source;
  pending_ += " | ";
  pending_ += entry.text;
  pending_ += '\n';
  if (pending_.size() >= kLogBatchBytes) return flush();
  if (armed_) return;
  armed_ = true;
  timer_.expires_after(kLogBatchDelay);
  timer_.async_wait([this, life = alive_](boost::system::error_code) {
    if (!*life) return;
    armed_ = false;
    flush();
  });
}

// A log file that stops taking lines (a full or read-only disk) is said once in the app's own
// output, where `rp up` and `rp logs -f` show it, and once more when it takes them again.
void AppOutput::flush() {
  if (pending_.empty()) return;
  const bool was_failing = !file_->error().empty();
  file_->append(pending_);
  pending_.clear();
  const std::string& error = file_->error();
  if (!was_failing && !error.empty()) {
    event(
        fmt::format("{} — the app runs on; until the disk takes writes again its output is "
                    "kept only in memory (the last {} lines: rp logs)",
                    error, kRecentLines));
  } else if (was_failing && error.empty()) {
    event("its log file takes writes again");
  }
}

// --- OutputReader ---------------------------------------------------------------------------

OutputReader::OutputReader(asio::io_context& io, int fd, Sink sink)
    : pipe_(io, fd), flush_timer_(io), sink_(std::move(sink)) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void OutputReader::drain() {
  if (!pipe_.is_open()) return;
  ssize_t n;
  while ((n = ::read(pipe_.native_handle(), buffer_.data(), buffer_.size())) > 0) {
    print(splitter_.feed({buffer_.data(), static_cast<std::size_t>(n)}));
  }
  if (splitter_.has_partial()) sink_(splitter_.take_partial());
}

void OutputReader::close() {
  flush_timer_.cancel();
  if (pipe_.is_open()) pipe_.close();
  sink_ = [](std::string) {};
}

void OutputReader::read() {
  pipe_.async_read_some(asio::buffer(buffer_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                          self->on_read(ec, n);
                        });
}

void OutputReader::on_read(boost::system::error_code ec, std::size_t n) {
  if (ec == asio::error::operation_aborted) return;
  if (n > 0) print(splitter_.feed({buffer_.data(), n}));
  if (ec) {  // EOF: every writer is gone
    if (splitter_.has_partial()) sink_(splitter_.take_partial());
    flush_timer_.cancel();
    pipe_.close();
    return;
  }
  if (splitter_.has_partial()) {
    flush_timer_.expires_after(kPartialLineDelay);
    flush_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e && self->splitter_.has_partial()) self->sink_(self->splitter_.take_partial());
    });
  }
  read();
}

void OutputReader::print(std::vector<std::string> lines) {
  for (auto& l : lines) sink_(std::move(l));
}

}  // namespace rp
