#include "proxy/access_log.hpp"

#include <fmt/format.h>
#include <limits.h>
#include <poll.h>

#include <algorithm>

namespace rp::proxy {
namespace {

// What may wait for a terminal that does not read (Ctrl-S, a paused pager) before lines drop.
constexpr std::size_t kMaxPending = 1 << 20;

bool writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0;
}

}  // namespace

void AccessLog::add(std::string_view text) {
  if (!console_) return;
  pending_ += console_->render("http", std::nullopt, text);
  if (pending_.size() >= 16 * 1024) return flush();
  arm();
}

void AccessLog::arm() {
  if (armed_) return;
  armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this](boost::system::error_code) {
    armed_ = false;
    flush();
  });
}

// A proxy thread must never wait for the terminal: only what the output takes at once is
// written, in whole lines of at most PIPE_BUF bytes (which a pipe writes in one piece, so no line
// of another writer lands inside); the rest waits for the next turn, up to a bound.
void AccessLog::flush() {
  if (!console_) return;
  std::size_t start = 0;
  while (start < pending_.size() && writable(console_->fd())) {
    if (dropped_ > 0) {
      console_->write(console_->render(
          "http", std::nullopt,
          fmt::format("({} access lines dropped: rp's output was not being read)", dropped_)));
      dropped_ = 0;
    }
    std::size_t end = std::min(pending_.size(), start + PIPE_BUF);
    if (end < pending_.size()) {
      auto newline = pending_.rfind('\n', end - 1);
      end = newline != std::string::npos && newline >= start ? newline + 1
                                                             : pending_.find('\n', start) + 1;
    }
    console_->write({pending_.data() + start, end - start});
    start = end;
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxPending) {
    dropped_ += static_cast<std::size_t>(std::count(pending_.begin(), pending_.end(), '\n'));
    pending_.clear();
  }
  if (!pending_.empty()) arm();
}

}  // namespace rp::proxy
