// The state behind Apps, shared by the two files that define its work: apps.cpp (registration:
// up, link, unlink, release, down; the daemon's start and stop) and apps_upkeep.cpp (keeping every
// app current: the routes it publishes, its definition, wakes, changed files, exits, idleness).
// Private to supervisor/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "supervisor/apps.hpp"
#include "supervisor/file_watch.hpp"

namespace rp {

// Without throwing: a directory rp may not read is as good as gone, and must not stop the daemon.
inline bool is_readable_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec);
}

// What a wake of a name no app has any more comes to.
inline BootResult not_registered() {
  return BootResult::failure(BootOutcome::failed, "The app is no longer registered with rp.");
}

struct Apps::Impl {
  struct Entry {
    Registration reg;
    bool linked = false;
    bool attached = false;
    std::unique_ptr<App> app;                   // null while its files have never been valid
    Diagnostics errors;                         // why it cannot (re)start as it is now
    std::shared_ptr<AppActivity> activity;      // the app's, or the stand-in's
    std::shared_ptr<const AppStatus> stand_in;  // routes the name to an error page
    bool leaving = false;   // unlinked or down: no longer routed, forgotten once stopped
    bool dir_gone = false;  // its directory went away: watched again when it is back
  };

  boost::asio::io_context& io;
  AppContext& ctx;
  GlobalConfig global;
  Registry& registry;
  Publish publish_fn;
  boost::asio::signal_set child_signal;  // SIGCHLD: exits to reap
  boost::asio::steady_timer idle_timer;
  FileWatch watch;                       // every registered project's directory
  std::map<std::string, Entry> entries;  // by the app's name
  std::vector<StaticRoute> routes;       // `rp route`
  bool publishing = true;  // false while start() registers the links: one snapshot for all

  Impl(boost::asio::io_context& io, AppContext& ctx, GlobalConfig global, Registry& registry,
       Publish publish);

  // --- apps_upkeep.cpp: routes, definitions, wakes, files, exits, idleness ---
  void publish();
  std::optional<Project> load(const Registration& reg, Diagnostics& errors);
  static std::string fallback_name(const Registration& reg);
  void wake(const std::string& name, std::int64_t restart_touched,
            std::function<void(BootResult)> done);
  void set_stand_in(Entry& e, const std::string& name);
  void make_app(Entry& e, Project project);
  void watch_files(const std::string& name, const std::filesystem::path& dir);
  void on_files(const std::string& name, const FileChanges& changes);
  void mark_gone(const std::string& name, Entry& e);
  void restore_if_back(const std::string& name, Entry& e);
  void reload(const std::string& name, Entry& e);
  void reap();
  void check_idle();

  // --- apps.cpp: registration, start and stop ---
  std::optional<Outcome> conflict(const std::string& name, const std::vector<std::string>& aliases,
                                  const std::filesystem::path& dir);
  const std::pair<const std::string, Entry>* alias_holder(const std::string& alias,
                                                          const std::filesystem::path& dir) const;
  bool is_route(const std::string& name) const;  // a static route's name
  std::optional<std::string> alias_taken(const std::string& alias,
                                         const std::filesystem::path& dir) const;
  void drop_taken_aliases(Project& project, const std::filesystem::path& dir,
                          const std::map<std::string, int>& claims, Diagnostics& problems);
  // True, with the reason in `e`'s errors and log, when `project` may not be taken up.
  bool refuse_taken_aliases(const std::string& name, const Project& project, Entry& e);
  void forget_other_names(const std::string& name, const std::filesystem::path& dir);
  void up(const Registration& reg, bool attached, std::function<void(Outcome)> then);
  void release(const std::string& name);
  void after_release(const std::string& name);
  void forget(const std::string& name);
  Outcome link(const Registration& reg);
  bool unlink(const std::string& name, std::string& error);
  void forget_if_unowned(const std::string& name);
  bool down(const std::string& name, std::function<void()> done);
  Diagnostics start();
  void stop_all(std::function<void()> done);
};

}  // namespace rp
