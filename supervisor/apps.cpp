#include "supervisor/apps.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "supervisor/file_watch.hpp"
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

// A link as it is registered again: by the daemon at start, or when an `rp up` gives it back.
Registration registration_of(const Link& link) {
  return {link.dir, link.env, link.name, link.procfile, link.env_files, {}, {}, false};
}

// Without throwing: a directory rp may not read is as good as gone, and must not stop the daemon.
bool is_readable_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec);
}

std::string errors_text(const Diagnostics& errors) {
  std::string out;
  for (const auto& e : errors) out += e.str() + "\n";
  return out;
}

}  // namespace

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

  Impl(asio::io_context& io_, AppContext& ctx_, GlobalConfig global_, Registry& registry_,
       Publish publish_)
      : io(io_),
        ctx(ctx_),
        global(std::move(global_)),
        registry(registry_),
        publish_fn(std::move(publish_)),
        child_signal(io_, SIGCHLD),
        idle_timer(io_),
        watch(io_) {
    ctx.on_status_change = [this] { publish(); };
  }

  asio::io_context& io;
  AppContext& ctx;
  GlobalConfig global;
  Registry& registry;
  Publish publish_fn;
  asio::signal_set child_signal;
  asio::steady_timer idle_timer;
  FileWatch watch;
  std::map<std::string, Entry> entries;
  std::vector<StaticRoute> routes;
  bool publishing = true;

  // --- what the proxy sees ------------------------------------------------------------------

  void publish() {
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
      auto instance = std::make_shared<InstanceStatus>();
      instance->process = "web";
      instance->label = fmt::format("port {}", r.port);
      instance->port = r.port;
      instance->state = InstanceState::running;
      auto app = std::make_shared<AppStatus>();
      app->name = r.name;
      app->web = "web";
      app->instances.push_back(instance);
      all.push_back(app);
    }
    publish_fn(std::move(all));
  }

  // --- definitions --------------------------------------------------------------------------

  std::optional<Project> load(const Registration& reg, Diagnostics& errors) {
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
  static std::string fallback_name(const Registration& reg) {
    return reg.name ? *reg.name : dns_safe_name(reg.dir.filename().string());
  }

  std::function<void(std::function<void(BootResult)>)> waker(const std::string& name) {
    return [this, name](std::function<void(BootResult)> done) {
      asio::post(io,
                 [this, name, done = std::move(done)]() mutable { wake(name, std::move(done)); });
    };
  }

  void wake(const std::string& name, std::function<void(BootResult)> done) {
    auto it = entries.find(name);
    if (it == entries.end())
      return done(
          BootResult::failure(BootOutcome::failed, "The app is no longer registered with rp."));
    Entry& e = it->second;
    if (e.leaving)
      return done(BootResult::failure(BootOutcome::failed,
                                      "The app was just stopped and removed from rp."));
    if (e.dir_gone) restore_if_back(name, e);
    const bool down =
        !e.app || e.app->phase() == AppPhase::stopped || e.app->phase() == AppPhase::failed;
    if (!e.errors.empty() && down) {
      return done(BootResult::failure(BootOutcome::failed,
                                      "The app cannot start:\n" + errors_text(e.errors)));
    }
    e.app->wake(std::move(done));
  }

  // A stand-in for a name whose project cannot load: requests for it get the errors.
  void set_stand_in(Entry& e, const std::string& name) {
    auto activity = std::make_shared<AppActivity>();
    activity->phase = AppPhase::failed;
    activity->wake = waker(name);
    auto status = std::make_shared<AppStatus>();
    status->name = name;
    status->web = "web";
    status->activity = activity;
    e.activity = activity;
    e.stand_in = status;
  }

  void make_app(Entry& e, Project project) {
    const std::string name = project.name;
    e.app = std::make_unique<App>(io, ctx, std::move(project), e.reg.env,
                                  AppOptions{e.reg.exit_on_error});
    e.activity = e.app->activity();
    e.activity->wake = waker(name);
    e.stand_in.reset();
  }

  void watch_files(const std::string& name, const std::filesystem::path& dir) {
    watch.watch(dir, [this, name](const FileChanges& changes) { on_files(name, changes); });
  }

  void on_files(const std::string& name, const FileChanges& changes) {
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
    if (changes.restart && e.app && e.app->phase() != AppPhase::stopped) {
      e.app->event("tmp/restart.txt was touched: restarting");
      e.app->restart();
    }
  }

  void mark_gone(const std::string& name, Entry& e) {
    e.errors = {{e.reg.dir.string(), 0, 0, "the project's directory is gone",
                 fmt::format("restore it, or `rp unlink {}`", name)}};
    e.dir_gone = true;
    watch.unwatch(e.reg.dir);
  }

  // A directory that was gone and is back (restored, checked out again): watched again, and
  // its files read anew.
  void restore_if_back(const std::string& name, Entry& e) {
    if (!is_readable_directory(e.reg.dir)) return;
    e.dir_gone = false;
    e.errors.clear();
    watch_files(name, e.reg.dir);
    if (e.app) e.app->event(fmt::format("{} is back: reading its files again", e.reg.dir.string()));
    reload(name, e);
  }

  void reload(const std::string& name, Entry& e) {
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
    e.errors.clear();
    project->name = name;  // a new name in rp.yaml takes effect at the next `rp up` or link
    if (e.app) {
      e.app->reload(std::move(*project));
    } else {
      make_app(e, std::move(*project));
      publish();
    }
  }

  // --- exits and idleness -------------------------------------------------------------------

  // The daemon is the subreaper of everything it starts, so it reaps orphans too; their status
  // is nobody's business, but a zombie left unreaped would linger.
  void reap() {
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

  void check_idle() {
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

  // --- registration -------------------------------------------------------------------------

  // Checks that `name` may be (re)registered from `dir`.
  std::optional<Outcome> conflict(const std::string& name, const std::filesystem::path& dir) {
    auto it = entries.find(name);
    if (it == entries.end()) {
      for (const auto& r : routes) {
        if (r.name == name) {
          return Outcome::failure(
              Refusal::name_taken,
              fmt::format("the name {} is a static route; `rp route rm {}` first", name, name));
        }
      }
      return std::nullopt;
    }
    if (it->second.reg.dir != dir) {
      return Outcome::failure(
          Refusal::name_taken,
          fmt::format("the name {} is taken by {}; give this project another `name:` "
                      "in rp.yaml, or `rp down {}` / `rp unlink {}` that one",
                      name, it->second.reg.dir.string(), name, name));
    }
    return std::nullopt;
  }

  // The registered project in `dir` under another name (its rp.yaml name changed): forgotten
  // when it runs nothing, so that one directory is one app.
  void forget_other_names(const std::string& name, const std::filesystem::path& dir) {
    for (auto it = entries.begin(); it != entries.end();) {
      Entry& e = it->second;
      if (it->first != name && e.reg.dir == dir && !e.attached && !e.linked &&
          (!e.app || e.app->phase() == AppPhase::stopped)) {
        it = entries.erase(it);
      } else {
        ++it;
      }
    }
  }

  void up(const Registration& reg, bool attached, std::function<void(Outcome)> then) {
    Diagnostics errors;
    auto project = load(reg, errors);
    if (!project)
      return then(
          Outcome::failure(Refusal::invalid_files, "the project's files have errors", errors));
    const std::string name = project->name;
    if (auto c = conflict(name, reg.dir)) return then(*c);
    forget_other_names(name, reg.dir);
    auto [it, fresh] = entries.try_emplace(name);
    Entry& e = it->second;
    if (!fresh && e.attached) {
      return then(Outcome::failure(
          Refusal::name_taken,
          fmt::format("{} is already up in another terminal; stop it there (Ctrl-C) or "
                      "`rp down {}`",
                      name, name)));
    }
    e.reg = reg;
    e.attached = attached;
    e.leaving = false;
    e.errors.clear();
    if (fresh) watch_files(name, reg.dir);
    const bool running =
        e.app && e.app->phase() != AppPhase::stopped && e.app->phase() != AppPhase::failed;
    auto define = [this, name, project = std::make_shared<Project>(std::move(*project)),
                   then = std::move(then), running] {
      auto it = entries.find(name);
      if (it == entries.end())
        return then(Outcome::failure(Refusal::gone, name + " was removed meanwhile"));
      Entry& e = it->second;
      if (e.app) {
        e.app->redefine(std::move(*project), e.reg.env, AppOptions{e.reg.exit_on_error});
      } else {
        make_app(e, std::move(*project));
      }
      publish();
      auto outcome = Outcome::success(e.app.get(), name);
      outcome.restarted = running;
      then(std::move(outcome));
    };
    if (!running) return define();
    // A linked app a request woke, or an `rp up -d`: it restarts with this caller's environment.
    e.app->event(fmt::format("rp up in {}: restarting with its environment", reg.dir.string()));
    e.app->stop([this, define = std::move(define)] { asio::post(io, define); });
  }

  void release(const std::string& name) {
    auto it = entries.find(name);
    if (it == entries.end() || !it->second.attached) return;
    it->second.attached = false;
    if (!it->second.linked) {
      it->second.leaving = true;  // it goes: no request may start it again meanwhile
      publish();
    }
    App* app = it->second.app.get();
    app->stop([this, name] {
      // Not from inside the app's own stop: forgetting it destroys it.
      asio::post(io, [this, name] { after_release(name); });
    });
  }

  void after_release(const std::string& name) {
    auto it = entries.find(name);
    if (it == entries.end() || it->second.attached) return;
    Entry& e = it->second;
    if (e.app) e.app->end(0);
    if (!e.linked) return forget(name);
    // Linked: back to what `rp link` registered, for the next request.
    Diagnostics errors;
    auto links = registry.links(errors);
    for (const auto& l : links) {
      if (l.name != name) continue;
      e.reg = registration_of(l);
      Diagnostics load_errors;
      auto project = load(e.reg, load_errors);
      e.errors = load_errors;
      if (project && e.app) e.app->redefine(std::move(*project), e.reg.env, {});
    }
    publish();
  }

  void forget(const std::string& name) {
    auto it = entries.find(name);
    if (it == entries.end()) return;
    watch.unwatch(it->second.reg.dir);
    entries.erase(it);
    publish();
  }

  Outcome link(const Registration& reg) {
    Diagnostics errors;
    auto project = load(reg, errors);
    const std::string name = project ? project->name : fallback_name(reg);
    if (name.empty())
      return Outcome::failure(Refusal::needs_name, "the project needs a name: `rp link NAME`");
    if (auto c = conflict(name, reg.dir)) return *c;
    forget_other_names(name, reg.dir);
    Link l{name, reg.dir, reg.env, reg.procfile, reg.env_files};
    std::string error;
    if (!registry.save_link(l, error))
      return Outcome::failure(Refusal::cannot_save, "cannot save the link: " + error);
    auto [it, fresh] = entries.try_emplace(name);
    Entry& e = it->second;
    e.linked = true;
    e.leaving = false;
    if (!e.attached) e.reg = reg;
    e.errors = errors;
    if (project && !e.app) make_app(e, std::move(*project));
    if (!e.app && !e.stand_in) set_stand_in(e, name);
    if (fresh) watch_files(name, reg.dir);
    publish();
    return Outcome::success(e.app.get(), name, errors);
  }

  bool unlink(const std::string& name, std::string& error) {
    auto it = entries.find(name);
    const bool had_file = registry.remove_link(name);
    if (it == entries.end() || !it->second.linked) {
      if (!had_file) error = fmt::format("{} is not linked (`rp ls` lists the apps)", name);
      return had_file;
    }
    Entry& e = it->second;
    e.linked = false;
    if (e.attached) return true;  // its terminal still owns it
    if (!e.app) {
      forget(name);
      return true;
    }
    e.leaving = true;  // no request may start it again meanwhile
    publish();
    e.app->stop([this, name] { asio::post(io, [this, name] { forget_if_unowned(name); }); });
    return true;
  }

  void forget_if_unowned(const std::string& name) {
    auto it = entries.find(name);
    if (it == entries.end()) return;
    if (!it->second.linked && !it->second.attached) return forget(name);
    it->second.leaving = false;  // linked or up again meanwhile: it stays
    publish();
  }

  bool down(const std::string& name, std::function<void()> done) {
    auto it = entries.find(name);
    if (it == entries.end()) return false;
    Entry& e = it->second;
    if (!e.app) {
      if (done) done();
      return true;
    }
    if (!e.linked) {
      e.leaving = true;  // it goes: no request may start it again meanwhile
      publish();
    }
    e.app->stop([this, name, done = std::move(done)] {
      asio::post(io, [this, name, done] {
        auto it = entries.find(name);
        if (it != entries.end()) {
          Entry& e = it->second;
          if (e.app) e.app->end(0);
          if (e.attached) {
            e.attached = false;
            after_release(name);
          } else if (!e.linked) {
            forget(name);
          }
        }
        if (done) done();
      });
    });
    return true;
  }

  Diagnostics start() {
    Diagnostics problems;
    publishing = false;
    for (const auto& l : registry.links(problems)) {
      Registration reg = registration_of(l);
      Diagnostics errors;
      auto project = load(reg, errors);
      auto [it, fresh] = entries.try_emplace(l.name);
      if (!fresh) continue;
      Entry& e = it->second;
      e.reg = reg;
      e.linked = true;
      e.errors = errors;
      if (project) {
        project->name = l.name;
        make_app(e, std::move(*project));
      } else {
        set_stand_in(e, l.name);
      }
      if (is_readable_directory(l.dir)) {
        watch_files(l.name, l.dir);
      } else {
        mark_gone(l.name, e);
      }
    }
    routes = registry.routes(problems);
    publishing = true;
    publish();
    reap();
    check_idle();
    return problems;
  }

  void stop_all(std::function<void()> done) {
    auto remaining = std::make_shared<std::size_t>(0);
    auto finish = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& [name, e] : entries) {
      if (e.app) ++*remaining;
    }
    if (*remaining == 0) return (*finish)();
    for (auto& [name, e] : entries) {
      if (!e.app) continue;
      e.app->stop([remaining, finish] {
        if (--*remaining == 0) (*finish)();
      });
    }
  }
};

Apps::Apps(asio::io_context& io, AppContext& context, GlobalConfig global, Registry& registry,
           Publish publish)
    : impl_(std::make_unique<Impl>(io, context, std::move(global), registry, std::move(publish))) {}

Apps::~Apps() = default;

Diagnostics Apps::start() {
  return impl_->start();
}

void Apps::up(const Registration& registration, bool attached, std::function<void(Outcome)> then) {
  impl_->up(registration, attached, std::move(then));
}

void Apps::release(const std::string& name) {
  impl_->release(name);
}

Apps::Outcome Apps::link(const Registration& registration) {
  return impl_->link(registration);
}

bool Apps::unlink(const std::string& name, std::string& error) {
  return impl_->unlink(name, error);
}

bool Apps::down(const std::string& name, std::function<void()> done) {
  return impl_->down(name, std::move(done));
}

App* Apps::find(const std::string& name) {
  auto it = impl_->entries.find(name);
  return it == impl_->entries.end() ? nullptr : it->second.app.get();
}

std::optional<std::string> Apps::name_of(const std::filesystem::path& dir) const {
  for (const auto& [name, e] : impl_->entries) {
    if (e.reg.dir == dir) return name;
  }
  return std::nullopt;
}

bool Apps::add_route(const std::string& name, int port, std::string& error) {
  if (impl_->entries.contains(name)) {
    error = fmt::format("{} is an app's name; pick another name for the route", name);
    return false;
  }
  auto routes = impl_->routes;
  std::erase_if(routes, [&](const StaticRoute& r) { return r.name == name; });
  routes.push_back({name, port});
  std::sort(routes.begin(), routes.end(),
            [](const StaticRoute& a, const StaticRoute& b) { return a.name < b.name; });
  if (!impl_->registry.save_routes(routes, error)) return false;
  impl_->routes = std::move(routes);
  impl_->publish();
  return true;
}

bool Apps::remove_route(const std::string& name, std::string& error) {
  auto routes = impl_->routes;
  if (std::erase_if(routes, [&](const StaticRoute& r) { return r.name == name; }) == 0) {
    error = fmt::format("there is no route named {} (`rp ls` lists them)", name);
    return false;
  }
  if (!impl_->registry.save_routes(routes, error)) return false;
  impl_->routes = std::move(routes);
  impl_->publish();
  return true;
}

const std::vector<StaticRoute>& Apps::routes() const {
  return impl_->routes;
}

std::vector<AppView> Apps::list() const {
  std::vector<AppView> out;
  for (const auto& [name, e] : impl_->entries) {
    AppView v;
    v.name = name;
    v.dir = e.reg.dir;
    v.url = url_of(name);
    v.linked = e.linked;
    v.attached = e.attached;
    v.phase = e.app ? e.app->phase() : AppPhase::failed;
    v.since = e.app ? e.app->phase_since() : Clock::now();
    for (const auto& d : e.errors) v.errors.push_back(d.str());
    if (e.app) v.instances = e.app->instances();
    out.push_back(std::move(v));
  }
  return out;
}

void Apps::stop_all(std::function<void()> done) {
  impl_->stop_all(std::move(done));
}

void Apps::kill_all() {
  for (auto& [name, e] : impl_->entries) {
    if (e.app) e.app->kill();
  }
}

const GlobalConfig& Apps::global() const {
  return impl_->global;
}

std::string Apps::url_of(const std::string& name) const {
  return "http://" + name + impl_->ctx.url_suffix;
}

}  // namespace rp
