// The control-API client every command uses: it finds the daemon of this RP_HOME (starting it
// when it is not running), sends one request and reads the answer, or a stream of JSON lines.
// Nothing here waits forever: a daemon that does not answer in time is reported as wedged, with
// what to do about it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/project/dotenv.hpp"

namespace rp::http {
class ResponseReader;
}

namespace rp::cmd {

struct Reply {
  int status = 0;     // HTTP status; 0 when the daemon could not be reached or did not answer
  std::string body;   // JSON
  std::string error;  // when status is 0: what went wrong, and what to do
};

class DaemonClient {
 public:
  // `autostart`: start the daemon when none runs (every command but `rp daemon stop`).
  DaemonClient(const EnvMap& env, bool autostart);

  // One request, one answer within `timeout`.
  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             std::chrono::milliseconds timeout = kDefaultTimeout);

  // A streaming request: after open() succeeds (status 200), next_line() returns each JSON line
  // as it comes, nullopt at the end. The other side of a stream may be quiet for long: the
  // caller waits with poll() on fd() as it likes.
  Reply open(const std::string& method, const std::string& path, const std::string& body = {},
             std::chrono::milliseconds timeout = kDefaultTimeout);
  std::optional<std::string> next_line();
  // The same in two steps, for a caller that polls fd() itself: receive() reads what is there
  // (false once the daemon has closed), take_line() returns complete lines.
  bool receive();
  std::optional<std::string> take_line();
  // take_line() without a copy, for a busy stream: the line (without its newline) stays valid
  // until the next take_line(), take_line_view() or receive().
  std::optional<std::string_view> take_line_view();
  int fd() const { return fd_; }
  // Tells the daemon this side is done (Ctrl-C in `rp up`): the stream goes on until it ends.
  void close_sending();

  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  static constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

  // The daemon's pid from RP_HOME/rp.lock, when one holds it.
  static std::optional<int> daemon_pid(const EnvMap& env);

 private:
  bool connect(std::string& error);
  bool start_daemon(std::string& error);
  bool send_request(const std::string& method, const std::string& path, const std::string& body,
                    std::string& error);
  Reply read_head(std::chrono::milliseconds timeout);
  // The answer is over: complete, cut short, or not HTTP.
  bool ended() const;

  EnvMap env_;
  bool autostart_;
  int fd_ = -1;
  // The answer on this connection; its body() holds what was read, of which the first `taken_`
  // bytes were returned as lines (dropped at the next receive(), not one line at a time).
  std::unique_ptr<http::ResponseReader> reader_;
  std::size_t taken_ = 0;
  bool eof_ = false;
};

}  // namespace rp::cmd
