// Where an app's output goes: the lines its processes write and rp's own events about it (source
// "rp") reach, in order, whoever listens (an `rp up` client, `rp logs -f`), the ring of recent
// lines `rp logs` starts with, and the app's log file (written in batches: one write per line
// would be a system call per access line of a busy app). OutputReader reads one process's pipe
// and cuts it into lines.
//
// Everything here runs on the daemon's thread.
#pragma once

#include <array>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/app/line_splitter.hpp"
#include "supervisor/app/log_entry.hpp"

namespace rp {

class LogFile;

class AppOutput {
 public:
  AppOutput(boost::asio::io_context& io, std::filesystem::path log_file);
  ~AppOutput();  // writes what is still batched

  // A line: to the listeners, the log file and, when `keep`, the ring of recent lines.
  void add(LogEntry entry, bool keep = true);
  // One of rp's own events about the app.
  void event(std::string text);
  // Tells the listeners the app's session is over.
  void end(int exit_code);

  // The last `n` lines, oldest first, optionally of one process only.
  std::vector<LogEntry> recent(std::size_t n, std::string_view process = {}) const;
  void listen(std::shared_ptr<AppListener> listener);
  void unlisten(const AppListener* listener);

 private:
  void log(const LogEntry& entry);
  void flush();
  // Calls `tell` on every listener. A listener that leaves meanwhile (or one it makes leave) is
  // only cleared then and swept after, so that none is skipped; one that joins is told too.
  template <typename Tell>
  void tell_listeners(Tell tell);

  boost::asio::steady_timer timer_;
  std::unique_ptr<LogFile> file_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::string pending_;
  bool armed_ = false;
  std::time_t stamp_second_ = 0;
  std::string stamp_;
  std::deque<LogEntry> recent_;
  std::vector<std::shared_ptr<AppListener>> listeners_;
  int telling_ = 0;  // depth of tell_listeners calls under way
};

// Reads one run of one process's output and hands it on line by line. It lives until the pipe
// closes, which may be after the process itself exited (a child of it may still write).
class OutputReader : public std::enable_shared_from_this<OutputReader> {
 public:
  using Sink = std::function<void(std::string)>;

  OutputReader(boost::asio::io_context& io, int fd, Sink sink);

  void start() { read(); }
  // Hands on everything already in the pipe, now: a process that exited has written all it
  // will, and its last lines belong before the line saying it exited.
  void drain();
  // The app is going away: nothing more is handed on.
  void close();

 private:
  void read();
  void on_read(boost::system::error_code ec, std::size_t n);
  void print(std::vector<std::string> lines);

  boost::asio::readable_pipe pipe_;
  boost::asio::steady_timer flush_timer_;
  Sink sink_;
  LineSplitter splitter_;
  std::array<char, 16384> buffer_{};
};

}  // namespace rp
