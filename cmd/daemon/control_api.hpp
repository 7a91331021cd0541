// The daemon's control API: HTTP/1.1 + JSON on the Unix socket RP_HOME/rp.sock (mode 0600), one
// request per connection. Every `rp` command is a client of it; README.md, "Control API", lists
// the paths. GETs only read; everything that changes state is a POST, PUT or DELETE. Streams
// (`rp up`'s output, `rp logs -f`) are newline-delimited JSON until the connection closes; an
// `rp up` client that closes its side, or dies, stops its app.
//
// It runs on the daemon's thread, beside the apps it controls.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace rp {
class Apps;
}

namespace rp::cmd {

struct DaemonInfo {
  std::filesystem::path home;
  std::string version;
  int http_port = 0;  // 0 when the proxy is off or could not listen
  int dns_port = 0;   // likewise
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // What a user should know about the listeners (a port that could not be had, `rp setup`):
  // shown at the top of every `rp up`.
  std::vector<std::string> notices;
};

// A Unix socket's path may be at most 107 bytes, and a deep RP_HOME is longer: such a path is
// reached through an open descriptor of its directory ("/proc/self/fd/N/rp.sock"). `holder` is
// that descriptor (or -1); close it once bound or connected.
std::string reachable_socket_path(const std::filesystem::path& socket, int& holder);

class ControlApi {
 public:
  // `stop_daemon` is called once `rp daemon stop` has been answered.
  ControlApi(boost::asio::io_context& io, Apps& apps, DaemonInfo info,
             std::function<void()> stop_daemon);
  ~ControlApi();

  // Listens on `socket_path` (a stale file there is replaced), mode 0600. False, with `error`,
  // when it cannot.
  bool listen(const std::filesystem::path& socket_path, std::string& error);
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rp::cmd
