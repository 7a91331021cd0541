// Keeping every registered app current: the routes the proxy sees, an app's definition (loaded
// from its files, reloaded when they change, a stand-in with the errors while they are broken),
// wakes from the proxy, a directory that goes away and comes back, tmp/restart.txt, the exits the
// daemon reaps, and the idle stop.
#include <fmt/format.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>
#include <set>

#include "supervisor/apps_impl.hpp"
#include "supervisor/project/text.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp {
namespace {

// How often idle apps are looked for; idle_timeout is in minutes, so this is plenty.
constexpr auto kIdleCheck = 1s;

// The files that define a project; a change to one reloads it.
bool defines_project(const std::string& name, const Registration& reg) {
  static const std::set<std::string> standard{"Procfile", "Procfile.dev", ".env", ".env.local",
                                              "rp.yaml"};
  if (standard.contains(name)) return true;
  if (reg.procfile && std::filesystem::path(*reg.procfile).filename() == name) return true;
  if (reg.env_files) {
    for (auto file : split_list(*reg.env_files)) {
      if (std::filesystem::path(std::string(file)).filename() == name) return true;
    }
  }
  return false;
}

std::string errors_text(const Diagnostics& errors) {
  std::string out;
  for (const auto& e : errors) out += e.str() + "\n";
  return out;
}

}  // namespace

void Apps::Impl::publish() {
  if (!publishing) return;
  std::vector<std::shared_ptr<const AppStatus>> all;
  for (auto& [name, e] : entries) {
    if (e.leaving) continue;
    // An entry being built (its app under construction) has nothing to show yet.
    auto status = e.app ? e.app->status() : e.stand_in;
    if (status) all.push_back(std::move(status));
  }
  for (const auto& r : routes) {
    if (entries.contains(r.name)) continue;  // an app's own name wins
    all.push_back(AppStatus::always_up(r.name, fmt::format("port {}", r.port), r.port));
  }
  publish_fn(std::move(all));
}

std::optional<Project> Apps::Impl::load(const Registration& reg, Diagnostics& errors) {
  LoadOptions options;
  if (reg.procfile) options.procfile = *reg.procfile;
  if (reg.env_files) {
    std::vector<std::filesystem::path> files;
    for (auto item : split_list(*reg.env_files)) {
      if (!item.empty()) files.emplace_back(std::string(item));
    }
    options.env_files = files;
  }
  options.formation = reg.formation;
  options.only = reg.only;
  auto project = load_project(reg.dir, options, reg.env, global, errors);
  if (!errors.empty()) return std::nullopt;
  if (project && reg.name) project->name = *reg.name;
  return project;
}

// The name an unloadable project would have had: what `rp link NAME` said, else its
// directory's.
std::string Apps::Impl::fallback_name(const Registration& reg) {
  return reg.name ? *reg.name : project_name(reg.dir, std::nullopt);
}

void Apps::Impl::wake(const std::string& name, std::int64_t restart_touched,
                      std::function<void(BootResult)> done) {
  auto it = entries.find(name);
  if (it == entries.end()) return done(not_registered());
  Entry& e = it->second;
  if (e.leaving)
    return done(
        BootResult::failure(BootOutcome::failed, "The app was just stopped and removed from rp."));
  if (e.dir_gone) restore_if_back(name, e);
  const bool down =
      !e.app || e.app->phase() == AppPhase::stopped || e.app->phase() == AppPhase::failed;
  if (!e.errors.empty() && down) {
    return done(BootResult::failure(BootOutcome::failed,
                                    "The app cannot start:\n" + errors_text(e.errors)));
  }
  if (restart_touched != 0) e.app->restart_if_touched(restart_touched);
  e.app->wake(std::move(done));
}

// A stand-in for a name whose project cannot load: requests for it get the errors.
void Apps::Impl::set_stand_in(Entry& e, const std::string& name) {
  auto activity = std::make_shared<AppActivity>();
  activity->phase = AppPhase::failed;
  auto status = std::make_shared<AppStatus>();
  status->name = name;
  status->web = "web";
  status->activity = activity;
  e.activity = activity;
  e.stand_in = status;
}

void Apps::Impl::make_app(Entry& e, Project project) {
  const std::string name = project.name;
  e.app = std::make_unique<App>(io, ctx, std::move(project), e.reg.env,
                                AppOptions{e.reg.exit_on_error});
  e.activity = e.app->activity();
  e.stand_in.reset();
}

void Apps::Impl::watch_files(const std::string& name, const std::filesystem::path& dir) {
  watch.watch(dir, [this, name](const FileChanges& changes) { on_files(name, changes); });
}

void Apps::Impl::on_files(const std::string& name, const FileChanges& changes) {
  auto it = entries.find(name);
  if (it == entries.end()) return;
  Entry& e = it->second;
  if (changes.gone || !is_readable_directory(e.reg.dir)) {
    mark_gone(name, e);
    if (e.app) {
      e.app->event(fmt::format("{} is gone: stopping", e.reg.dir.string()));
      e.app->stop();
    }
    return;
  }
  bool definition = false;
  for (const auto& file : changes.names) definition = definition || defines_project(file, e.reg);
  if (definition) return reload(name, e);
  // Usually a request has seen the touch first; then this changes nothing.
  if (e.app && (changes.restart || changes.names.contains("tmp"))) e.app->restart_if_touched();
}

void Apps::Impl::mark_gone(const std::string& name, Entry& e) {
  e.errors = {{e.reg.dir.string(), 0, 0, "the project's directory is gone",
               fmt::format("restore it, or `rp unlink {}`", name)}};
  e.dir_gone = true;
  watch.unwatch(e.reg.dir);
}

// A directory that was gone and is back (restored, checked out again): watched again, and
// its files read anew.
void Apps::Impl::restore_if_back(const std::string& name, Entry& e) {
  if (!is_readable_directory(e.reg.dir)) return;
  e.dir_gone = false;
  e.errors.clear();
  watch_files(name, e.reg.dir);
  if (e.app) e.app->event(fmt::format("{} is back: reading its files again", e.reg.dir.string()));
  reload(name, e);
}

// An alias that another app or a route has must not take their requests: the files are not taken
// up, and the previous definition (if any) runs on.
bool Apps::Impl::refuse_taken_aliases(const std::string& name, const Project& project, Entry& e) {
  auto c = conflict(name, project.aliases, e.reg.dir);
  if (!c) return false;
  const std::string yaml = (e.reg.dir / "rp.yaml").string();
  e.errors = {{yaml, 0, 0, c->error, ""}};
  if (e.app) {
    e.app->event(fmt::format("{}: {}", yaml, c->error));
    e.app->event("the previous definition runs on");
  }
  return true;
}

void Apps::Impl::reload(const std::string& name, Entry& e) {
  Diagnostics errors;
  auto project = load(e.reg, errors);
  if (!project) {
    e.errors = errors;
    if (e.app) {
      for (const auto& d : errors) e.app->event(d.str());
      e.app->event("the project's files have errors: the previous definition runs on");
    }
    return;
  }
  if (refuse_taken_aliases(name, *project, e)) return;
  e.errors.clear();
  project->name = name;  // a new name in rp.yaml takes effect at the next `rp up` or link
  if (e.app) {
    e.app->reload(std::move(*project));
  } else {
    make_app(e, std::move(*project));
    publish();
  }
}

// The daemon is the subreaper of everything it starts, so it reaps orphans too; their status
// is nobody's business, but a zombie left unreaped would linger.
void Apps::Impl::reap() {
  child_signal.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& [name, e] : entries) {
        if (e.app && e.app->on_child_exit(pid, status)) break;
      }
    }
    reap();
  });
}

void Apps::Impl::check_idle() {
  idle_timer.expires_after(kIdleCheck);
  idle_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto now = Clock::now();
    for (auto& [name, e] : entries) {
      if (e.dir_gone) restore_if_back(name, e);
    }
    for (auto& [name, e] : entries) {
      if (!e.app || e.attached || e.app->phase() != AppPhase::ready) continue;
      const auto timeout = e.app->project().idle_timeout;
      if (!e.activity->idle_for(timeout, e.app->phase_since(), now)) continue;
      e.app->event(fmt::format("idle for {}: stopping (the next request starts it again)",
                               format_duration(timeout)));
      e.app->stop();
    }
    check_idle();
  });
}

// --- SupervisorLink: from the proxy's threads ---------------------------------------------------

void Apps::wake(const std::string& app, std::int64_t restart_touched,
                std::function<void(BootResult)> done) {
  asio::post(impl_->io,
             [impl = impl_.get(), app, restart_touched, done = std::move(done)]() mutable {
               impl->wake(app, restart_touched, std::move(done));
             });
}

void Apps::access(std::vector<AccessLine> lines) {
  asio::post(impl_->io, [impl = impl_.get(), lines = std::move(lines)]() mutable {
    // Grouped per app: one hand-over to each app for the whole batch.
    std::map<std::string, std::vector<std::string>> by_app;
    for (auto& l : lines) by_app[l.app].push_back(std::move(l.text));
    for (auto& [name, texts] : by_app) {
      auto it = impl->entries.find(name);
      if (it != impl->entries.end() && it->second.app) it->second.app->access(std::move(texts));
    }
  });
}

}  // namespace rp
