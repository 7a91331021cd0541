// The control API's answers that go on: `rp up`'s output and `rp logs -f`, newline-delimited
// JSON written as it comes until the connection closes. The daemon never waits for a terminal:
// a client that does not read has its lines dropped (and counted) past a limit, not queued
// without end.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "supervisor/app/log_entry.hpp"

namespace rp::cmd {

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;

  // `browser`: the dashboard's listener, whose answers carry its headers (dashboard_gate.hpp).
  explicit Stream(Socket socket, bool browser = false);

  void push(const boost::json::value& v);
  // A line already in JSON, newline included.
  void push_line(std::string_view line);
  // An app's line of output (api_json's entry_line), written straight into the queue.
  void push_entry(const LogEntry& e, const std::string& app);
  // Writes what is queued, then closes.
  void finish();
  bool finishing() const { return finishing_; }

  // Writes the stream's head, then lines as they come, until finish() or the client is gone.
  boost::asio::awaitable<void> write_loop();

  // Reads until the client closes its side or goes away; then `gone`, unless the stream ended
  // first.
  boost::asio::awaitable<void> watch_client(std::function<void()> gone);

 private:
  // Whether a line may join the queue (else it is dropped, and counted); wakes the writer.
  bool may_queue();

  Socket socket_;
  bool browser_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer batch_;  // a browser's lines gathered before a write
  // What waits to be written, lines end to end, and what is being written: two buffers that
  // change places, so that a stream in steady use allocates nothing per line.
  std::string queued_;
  std::string writing_;
  std::size_t dropped_ = 0;
  bool closed_ = false;
  bool finishing_ = false;
};

// An app's output into a stream: `rp up`'s terminal (every line; the app's end ends the
// stream), or `rp logs -f` (one process's lines, or all; the stream goes on).
class StreamListener : public AppListener {
 public:
  // `app` is named in each line when the stream mixes apps (else empty); `process` filters as
  // LogEntry::of does.
  StreamListener(std::shared_ptr<Stream> stream, std::string app, std::string process,
                 bool ends_stream);

  void entry(const LogEntry& e) override;
  void ended(int exit_code) override;

  std::function<void()> on_end;  // leaves the app (not from inside its own call)

 private:
  std::shared_ptr<Stream> stream_;
  std::string app_;
  std::string process_;
  bool ends_stream_;
};

}  // namespace rp::cmd
