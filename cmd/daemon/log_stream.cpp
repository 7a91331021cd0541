#include "cmd/daemon/log_stream.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/dashboard_gate.hpp"
#include "proxy/http/message.hpp"
#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace rp::cmd {
namespace {

using proxy::nothrow;

// What a stream may queue for a client that does not read before lines are dropped.
constexpr std::size_t kMaxQueued = 4 << 20;
// A page shows new lines at most 20 times a second: a browser's stream gathers them that long,
// so that a chatty app costs one write per batch rather than one per line.
constexpr auto kBrowserBatch = std::chrono::milliseconds(50);

}  // namespace

Stream::Stream(Socket socket, bool browser)
    : socket_(std::move(socket)),
      browser_(browser),
      wake_(socket_.get_executor(), Clock::time_point::max()),
      batch_(socket_.get_executor()) {}

void Stream::push(const json::value& v) {
  push_line(json::serialize(v) + "\n");
}

bool Stream::may_queue() {
  if (closed_ || finishing_) return false;
  if (queued_.size() > kMaxQueued) {
    ++dropped_;
    return false;
  }
  wake_.cancel();
  return true;
}

void Stream::push_line(std::string_view line) {
  if (may_queue()) queued_ += line;
}

void Stream::push_entry(const LogEntry& e, const std::string& app) {
  if (may_queue()) append_entry_line(queued_, e, app);
}

void Stream::finish() {
  finishing_ = true;
  wake_.cancel();
}

asio::awaitable<void> Stream::write_loop() {
  auto self = shared_from_this();
  std::string head = http::response_head(200, {{"Content-Type", "application/x-ndjson"},
                                               {"Cache-Control", "no-store"},
                                               {"Connection", "close"}});
  if (browser_) head = for_browsers(std::move(head));
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(head), nothrow);
  if (ec) closed_ = true;
  while (!closed_) {
    if (queued_.empty()) {
      if (finishing_) break;
      co_await wake_.async_wait(nothrow);
      wake_.expires_at(Clock::time_point::max());
      if (browser_ && !finishing_) {
        batch_.expires_after(kBrowserBatch);
        co_await batch_.async_wait(nothrow);
      }
      continue;
    }
    writing_.clear();
    if (dropped_ > 0) {
      std::string text = fmt::format("{} lines dropped: this terminal did not keep up", dropped_);
      writing_ = json::serialize(json::object{{"type", "line"}, {"source", "rp"}, {"text", text}});
      writing_ += "\n";
      dropped_ = 0;
    }
    if (writing_.empty()) {
      std::swap(writing_, queued_);
    } else {
      writing_ += queued_;
      queued_.clear();
    }
    auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(writing_), nothrow);
    if (wec) closed_ = true;
  }
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<void> Stream::watch_client(std::function<void()> gone) {
  auto self = shared_from_this();
  std::array<char, 512> sink;
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(sink), nothrow);
    if (ec) break;
  }
  if (!finishing_) gone();
}

StreamListener::StreamListener(std::shared_ptr<Stream> stream, std::string app, std::string process,
                               bool ends_stream)
    : stream_(std::move(stream)),
      app_(std::move(app)),
      process_(std::move(process)),
      ends_stream_(ends_stream) {}

void StreamListener::entry(const LogEntry& e) {
  if (e.of(process_)) stream_->push_entry(e, app_);
}

void StreamListener::ended(int exit_code) {
  if (!ends_stream_) return;
  stream_->push(json::object{{"type", "exit"}, {"code", exit_code}});
  stream_->finish();
  if (on_end) on_end();
}

}  // namespace rp::cmd
