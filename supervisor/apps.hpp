// Every app the daemon knows: those `rp link` registered (kept in RP_HOME across restarts), those
// an `rp up` runs (attached to its terminal, or handed over with -d), and the static routes of
// `rp route`. It decides when an app starts (a first request, `rp up`, `rp start`), when it stops
// (Ctrl-C in its terminal or a lost client, `rp down`, idle_timeout) and when it reloads (its
// files changed, tmp/restart.txt), and it publishes what the proxy routes to.
//
// All of it runs on the daemon's thread; the proxy reaches it only through SupervisorLink, whose
// calls post here.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/app/app.hpp"
#include "supervisor/link.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/state/registry.hpp"

namespace boost::asio {
class io_context;
}

namespace rp {

class FileWatch;

// What a client says about a project when it registers it.
struct Registration {
  std::filesystem::path dir;
  EnvMap env;                            // the client's environment
  std::optional<std::string> name;       // `rp link NAME`: instead of rp.yaml's or the directory's
  std::optional<std::string> procfile;   // -f, absolute
  std::optional<std::string> env_files;  // -e, comma-separated absolute paths
  std::optional<std::string> formation;  // -m
  std::vector<std::string> only;         // PROC...
  bool exit_on_error = false;
};

// An app as `rp ls` shows it.
struct AppView {
  std::string name;
  std::filesystem::path dir;
  std::string url;
  bool linked = false;
  bool attached = false;  // an `rp up` in a terminal owns it
  AppPhase phase = AppPhase::stopped;
  std::chrono::steady_clock::time_point since;
  std::vector<std::string> errors;  // why it cannot start: its files, or its directory is gone
  std::vector<App::InstanceInfo> instances;
};

class Apps : public SupervisorLink {
 public:
  // No app or route may be called this: rp.<tld> is rp's own (its dashboard).
  static constexpr std::string_view kReservedName = "rp";

  // `publish` receives every name the proxy should route, each time that changes.
  using Publish = std::function<void(std::vector<std::shared_ptr<const AppStatus>>)>;

  Apps(boost::asio::io_context& io, AppContext& context, GlobalConfig global, Registry& registry,
       Publish publish);
  ~Apps() override;

  // Registers the linked apps and static routes from RP_HOME (stopped: a request wakes them)
  // and starts watching for exits and idleness. Problems in RP_HOME's files come back as
  // diagnostics; the rest still loads.
  Diagnostics start();

  // Why a registration did not take. The control API chooses the status for each.
  enum class Refusal {
    none,
    needs_name,     // `rp link` outside a project with no name to give it
    name_taken,     // by another directory's project, or by a static route
    invalid_files,  // the project's files have errors: see the diagnostics
    gone,           // the app was removed while it was being registered
    cannot_save,    // RP_HOME could not be written
  };

  struct Outcome {
    App* app = nullptr;  // on success
    Refusal refusal = Refusal::none;
    std::string error;        // what went wrong, one sentence
    Diagnostics diagnostics;  // the project's files, when they are what went wrong
    std::string name;         // the app's, on success
    bool restarted = false;   // `rp up` took over an app that ran (linked, or rp up -d)

    bool ok() const { return refusal == Refusal::none; }
    static Outcome failure(Refusal refusal, std::string error, Diagnostics diagnostics = {}) {
      Outcome o;
      o.refusal = refusal;
      o.error = std::move(error);
      o.diagnostics = std::move(diagnostics);
      return o;
    }
    static Outcome success(App* app, std::string name, Diagnostics diagnostics = {}) {
      Outcome o;
      o.app = app;
      o.name = std::move(name);
      o.diagnostics = std::move(diagnostics);
      return o;
    }
  };

  // `rp up`: registers the project (restarting it if it runs for a request or an `rp up -d`)
  // and calls `then` with the app, ready for the caller to listen to and start. Attached, it
  // belongs to the caller until release(); else (-d) to the daemon, until `rp down`.
  void up(const Registration& registration, bool attached, std::function<void(Outcome)> then);
  // The attached client is gone (Ctrl-C, a closed terminal, SIGKILL): the app stops, and goes
  // back to being linked or is forgotten.
  void release(const std::string& name);
  // `rp link`: registered for good, stopped until a request comes.
  Outcome link(const Registration& registration);
  bool unlink(const std::string& name, std::string& error);
  // `rp down`: stops the app; one that is not linked is forgotten once stopped.
  bool down(const std::string& name, std::function<void()> done);

  // `rp start|restart APP`: `done` once the app is ready or its boot failed (failed at once when
  // there is no such app). `rp stop APP`: `done` once every process is gone (at once when there
  // is no such app).
  void start(const std::string& name, std::function<void(BootResult)> done);
  void stop(const std::string& name, std::function<void()> done);
  void restart(const std::string& name, std::function<void(BootResult)> done);
  // `rp start|stop|restart APP/PROC`, at once: that process's instances only.
  enum class Control { start, stop, restart };
  enum class Found { yes, no_app, no_process };
  Found control_process(const std::string& name, const std::string& process, Control what);

  App* find(const std::string& name);

  // SupervisorLink, from any thread.
  void wake(const std::string& app, std::int64_t restart_touched,
            std::function<void(BootResult)> done) override;
  void access(std::vector<AccessLine> lines) override;
  // The app registered from `dir`, if any.
  std::optional<std::string> name_of(const std::filesystem::path& dir) const;

  bool add_route(const std::string& name, int port, std::string& error);
  bool remove_route(const std::string& name, std::string& error);
  const std::vector<StaticRoute>& routes() const;

  std::vector<AppView> list() const;

  // Stops every app; `done` once all are gone.
  void stop_all(std::function<void()> done);
  // A stop under way finishes with SIGKILL now.
  void kill_all();

  const GlobalConfig& global() const;
  std::string url_of(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp
