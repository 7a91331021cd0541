// What the supervisor publishes about a running app for the proxy to read: its names, its
// processes' instances with their ports and states, and the recent output of each, for error
// pages. The supervisor writes (on its own thread); proxy threads read. Only the log rings take
// a lock, and only error pages and the access log touch them, never the forwarding path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

enum class InstanceState { starting, running, backing_off, crashed, stopped };
std::string_view to_string(InstanceState state);

// The last lines a process wrote, bounded.
class LogRing {
 public:
  explicit LogRing(std::size_t capacity = 1000) : capacity_(capacity) {}
  void push(std::string line);
  std::vector<std::string> tail(std::size_t n) const;

 private:
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::deque<std::string> lines_;
};

struct InstanceStatus {
  std::string process;  // "web"
  std::string label;    // "web.1"
  int port = 0;
  std::atomic<InstanceState> state{InstanceState::starting};
  std::atomic<int> outstanding{0};  // requests in flight through the proxy
  std::atomic<int> family{0};       // 0 unknown, 4 or 6: the loopback address the app answered on
  LogRing log;
};

// Where an app is in its life, as the proxy needs to know it: only `ready` is forwarded at once;
// any other phase first asks the daemon to wake the app and waits.
enum class AppPhase { stopped, starting, ready, stopping, failed };
std::string_view to_string(AppPhase phase);

// A file's modification time in nanoseconds since the epoch; 0 when there is no such file.
std::int64_t modification_time(const char* path);

struct AppStatus;
class HeldConnection;

// How a wake-up ended: the web process is ready, or the boot failed (a crash, a failed task, a
// stop, an app that cannot start) or did not finish within boot_timeout. The edges choose what
// that means to their clients (proxy/error_pages.hpp: 502 and 504).
enum class BootOutcome { ready, failed, timed_out };

struct BootResult {
  BootOutcome outcome = BootOutcome::ready;
  std::string what;              // a sentence saying why, for a failure
  std::vector<std::string> log;  // output that explains a failure beyond the web process's own
  // When ready: the app's snapshot as it is now. A boot may have moved a port, so the caller
  // forwards to this one, not to the snapshot it routed with.
  std::shared_ptr<const AppStatus> app;
  // For the first waiter, when the app has one web instance and readiness was a connection: the
  // probe's connection to `connection_to` (in `app`), for the waiter's request.
  std::shared_ptr<HeldConnection> connection;
  std::shared_ptr<InstanceStatus> connection_to;

  bool ok() const { return outcome == BootOutcome::ready; }
  static BootResult ready() { return {}; }
  static BootResult failure(BootOutcome outcome, std::string what,
                            std::vector<std::string> log = {}) {
    BootResult r;
    r.outcome = outcome;
    r.what = std::move(what);
    r.log = std::move(log);
    return r;
  }
};

// What the proxy and the daemon share about one app beyond its processes: its phase and the
// traffic that keeps it awake (an app not ready is woken through SupervisorLink). It outlives
// reloads of the app's definition.
struct AppActivity {
  std::atomic<AppPhase> phase{AppPhase::ready};
  std::atomic<int> in_flight{0};                 // requests and tunnels open through the proxy
  std::atomic<std::int64_t> last_request_ns{0};  // steady_clock, when one last ended
  void touch();                                  // a request ended now

  // Pow's tmp/restart.txt, checked on the request path (a watch alone races with the request):
  // the modification time of the touch the app has had (the file's when the app last started,
  // or the touch that restarted it; 0: no file). Only an app with a tmp/ directory pays a stat
  // per request. Written on the daemon's thread.
  std::atomic<std::int64_t> restart_seen{0};
  std::atomic<bool> has_tmp{false};

  // Whether an app ready since `ready_since` has gone `timeout` with no request in flight and
  // none ending: idle_timeout has passed and it may stop. A timeout of 0 never passes.
  bool idle_for(std::chrono::steady_clock::duration timeout,
                std::chrono::steady_clock::time_point ready_since,
                std::chrono::steady_clock::time_point now) const;
};

struct AppStatus {
  std::string name;
  std::vector<std::string> aliases;
  std::string web;              // the process that receives HTTP for the app's names
  bool https_redirect = false;  // plain-HTTP requests get a 308 to the HTTPS port
  bool boot_page = true;        // a browser waiting for its boot is shown the boot log
  std::string logs_url;         // its logs in the dashboard, for error pages to link to
  std::vector<std::shared_ptr<InstanceStatus>> instances;
  // Null for an app that is always up (a static route): nothing to wake, nothing to count.
  std::shared_ptr<AppActivity> activity;
  std::string restart_file;  // DIR/tmp/restart.txt

  // The modification time of tmp/restart.txt when it was touched since the app last had it
  // (AppActivity::restart_seen): the request waits for a restart. 0 when it was not.
  std::int64_t restart_touched() const;

  // The instances of `process`, in order.
  std::vector<std::shared_ptr<InstanceStatus>> of(std::string_view process) const;
  // Whether the app has a process of that name (no list built: routing asks per request).
  bool has(std::string_view process) const;

  // An app that is always up on `port` (a static route, rp's dashboard): one running web
  // instance called `label`, nothing to wake.
  static std::shared_ptr<AppStatus> always_up(std::string name, std::string label, int port);
};

}  // namespace rp
