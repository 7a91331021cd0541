// Every app the daemon knows, and how each comes and goes: `rp up` registers a project (attached
// to its terminal, or handed over with -d), `rp link` keeps one across restarts, release, unlink
// and down let it go; the daemon's start registers the links, its stop stops everything. Keeping
// the registered apps current (wakes, changed files, exits, idleness) is apps_upkeep.cpp's.
#include "supervisor/apps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <map>
#include <set>

#include "supervisor/apps_impl.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace rp {
namespace {

// A link as it is registered again: by the daemon at start, or when an `rp up` gives it back.
Registration registration_of(const Link& link) {
  return {link.dir, link.env, link.name, link.procfile, link.env_files, {}, {}, false};
}

}  // namespace

Apps::Impl::Impl(asio::io_context& io_, AppContext& ctx_, GlobalConfig global_, Registry& registry_,
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

// --- registration ---------------------------------------------------------------------------

// Checks that `name` may be (re)registered from `dir`, and `aliases` (rp.yaml's) with it.
std::optional<Apps::Outcome> Apps::Impl::conflict(const std::string& name,
                                                  const std::vector<std::string>& aliases,
                                                  const std::filesystem::path& dir) {
  if (name == kReservedName) {
    return Outcome::failure(Refusal::name_taken,
                            "the name rp is rp's own (rp.<tld> is its dashboard); give the "
                            "project another `name:` in rp.yaml, or `rp link NAME`");
  }
  auto it = entries.find(name);
  if (it != entries.end() && it->second.reg.dir != dir) {
    return Outcome::failure(
        Refusal::name_taken,
        fmt::format("the name {} is taken by {}; give this project another `name:` "
                    "in rp.yaml, or `rp down {}` / `rp unlink {}` that one",
                    name, it->second.reg.dir.string(), name, name));
  }
  if (is_route(name)) {
    return Outcome::failure(
        Refusal::name_taken,
        fmt::format("the name {} is a static route; `rp route rm {}` first", name, name));
  }
  if (auto other = alias_holder(name, dir)) {
    return Outcome::failure(Refusal::name_taken,
                            fmt::format("the name {} is an alias of {} ({}); give this project "
                                        "another `name:` in rp.yaml, or take the alias out there",
                                        name, other->first, other->second.reg.dir.string()));
  }
  for (const auto& alias : aliases) {
    if (auto holder = alias_taken(alias, dir)) {
      return Outcome::failure(
          Refusal::name_taken,
          fmt::format("the alias {} in rp.yaml is {}; take it out of `aliases:` or rename it",
                      alias, *holder));
    }
  }
  return std::nullopt;
}

// An alias is a name of its own: what answers to `alias` already, if anything but the project in
// `dir` does.
std::optional<std::string> Apps::Impl::alias_taken(const std::string& alias,
                                                   const std::filesystem::path& dir) const {
  if (alias == kReservedName) return "rp's own (rp.<tld> is its dashboard)";
  if (auto a = entries.find(alias); a != entries.end() && a->second.reg.dir != dir) {
    return fmt::format("the name of the app in {}", a->second.reg.dir.string());
  }
  if (is_route(alias)) return "a static route";
  if (auto other = alias_holder(alias, dir)) {
    return fmt::format("an alias of {} ({})", other->first, other->second.reg.dir.string());
  }
  return std::nullopt;
}

bool Apps::Impl::is_route(const std::string& name) const {
  return std::any_of(routes.begin(), routes.end(),
                     [&](const StaticRoute& r) { return r.name == name; });
}

// The app of another directory than `dir` that has `alias` among its aliases, if any.
const std::pair<const std::string, Apps::Impl::Entry>* Apps::Impl::alias_holder(
    const std::string& alias, const std::filesystem::path& dir) const {
  for (const auto& entry : entries) {
    const Entry& e = entry.second;
    if (e.reg.dir == dir || !e.app) continue;
    const auto& theirs = e.app->project().aliases;
    if (std::find(theirs.begin(), theirs.end(), alias) != theirs.end()) return &entry;
  }
  return nullptr;
}

// At the daemon's start there is nobody to refuse, and no telling which of two projects had an
// alias first (an rp.yaml may have changed while no daemon ran): an alias that another app's
// name, a route or rp answers to, or that more than one project claims (`claims`), is routed to
// none of them, and the daemon's log says so.
void Apps::Impl::drop_taken_aliases(Project& project, const std::filesystem::path& dir,
                                    const std::map<std::string, int>& claims,
                                    Diagnostics& problems) {
  std::vector<std::string> kept;
  for (auto& alias : project.aliases) {
    std::optional<std::string> holder;
    if (alias != project.name) holder = alias_taken(alias, dir);
    if (!holder && claims.at(alias) > 1) holder = "claimed by another project's rp.yaml too";
    if (holder) {
      problems.push_back(
          {(dir / "rp.yaml").string(), 0, 0,
           fmt::format("{}'s alias {} is {}: it is not routed", project.name, alias, *holder),
           "take it out of `aliases:` or rename it"});
    } else {
      kept.push_back(std::move(alias));
    }
  }
  project.aliases = std::move(kept);
}

// The registered project in `dir` under another name (its rp.yaml name changed): forgotten
// when it runs nothing, so that one directory is one app.
void Apps::Impl::forget_other_names(const std::string& name, const std::filesystem::path& dir) {
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

void Apps::Impl::up(const Registration& reg, bool attached, std::function<void(Outcome)> then) {
  Diagnostics errors;
  auto project = load(reg, errors);
  if (!project)
    return then(
        Outcome::failure(Refusal::invalid_files, "the project's files have errors", errors));
  const std::string name = project->name;
  if (auto c = conflict(name, project->aliases, reg.dir)) return then(*c);
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

void Apps::Impl::release(const std::string& name) {
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

void Apps::Impl::after_release(const std::string& name) {
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
    if (project && refuse_taken_aliases(name, *project, e)) continue;
    if (project && e.app) e.app->redefine(std::move(*project), e.reg.env, {});
  }
  publish();
}

void Apps::Impl::forget(const std::string& name) {
  auto it = entries.find(name);
  if (it == entries.end()) return;
  watch.unwatch(it->second.reg.dir);
  entries.erase(it);
  publish();
}

Apps::Outcome Apps::Impl::link(const Registration& reg) {
  Diagnostics errors;
  auto project = load(reg, errors);
  const std::string name = project ? project->name : fallback_name(reg);
  if (name.empty())
    return Outcome::failure(Refusal::needs_name, "the project needs a name: `rp link NAME`");
  if (auto c = conflict(name, project ? project->aliases : std::vector<std::string>{}, reg.dir))
    return *c;
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

bool Apps::Impl::unlink(const std::string& name, std::string& error) {
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

void Apps::Impl::forget_if_unowned(const std::string& name) {
  auto it = entries.find(name);
  if (it == entries.end()) return;
  if (!it->second.linked && !it->second.attached) return forget(name);
  it->second.leaving = false;  // linked or up again meanwhile: it stays
  publish();
}

bool Apps::Impl::down(const std::string& name, std::function<void()> done) {
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

Diagnostics Apps::Impl::start() {
  Diagnostics problems;
  publishing = false;
  routes = registry.routes(problems);
  const auto links = registry.links(problems);
  // The links taken (a name linked twice is taken once), each with its project as loaded.
  struct Loaded {
    const Link& link;
    Entry& entry;
    std::optional<Project> project;
  };
  std::vector<Loaded> loaded;
  for (const auto& l : links) {
    auto [it, fresh] = entries.try_emplace(l.name);
    if (!fresh) continue;
    Entry& e = it->second;
    e.reg = registration_of(l);
    e.linked = true;
    loaded.push_back({l, e, load(e.reg, e.errors)});
  }
  // Every name is known now: the aliases, each checked against them all, then the apps.
  std::map<std::string, int> claims;
  for (const auto& [l, e, project] : loaded) {
    if (!project) continue;
    for (const auto& alias :
         std::set<std::string>(project->aliases.begin(), project->aliases.end())) {
      ++claims[alias];
    }
  }
  for (auto& [l, e, project] : loaded) {
    if (project) {
      project->name = l.name;
      drop_taken_aliases(*project, l.dir, claims, problems);
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
  publishing = true;
  publish();
  reap();
  check_idle();
  return problems;
}

void Apps::Impl::stop_all(std::function<void()> done) {
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

void Apps::start(const std::string& name, std::function<void(BootResult)> done) {
  App* app = find(name);
  if (!app) return done(not_registered());
  app->wake(std::move(done));
}

void Apps::stop(const std::string& name, std::function<void()> done) {
  App* app = find(name);
  if (!app) return done();
  app->stop(std::move(done));
}

void Apps::restart(const std::string& name, std::function<void(BootResult)> done) {
  App* app = find(name);
  if (!app) return done(not_registered());
  app->stop([this, name, done = std::move(done)] {
    // Not from inside the app's own stop. An app removed meanwhile (rp unlink) has had the
    // restart it was asked for: it is stopped, and stays so.
    asio::post(impl_->io, [this, name, done] {
      if (!find(name)) return done(BootResult::ready());
      start(name, done);
    });
  });
}

Apps::Found Apps::control_process(const std::string& name, const std::string& process,
                                  Control what) {
  App* app = find(name);
  if (!app) return Found::no_app;
  bool found = false;
  switch (what) {
    case Control::start:
      found = app->start_process(process);
      break;
    case Control::stop:
      found = app->stop_process(process);
      break;
    case Control::restart:
      found = app->restart_process(process);
      break;
  }
  return found ? Found::yes : Found::no_process;
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
  if (name == kReservedName) {
    error = "the name rp is rp's own (rp.<tld> is its dashboard); pick another name";
    return false;
  }
  if (impl_->entries.contains(name)) {
    error = fmt::format("{} is an app's name; pick another name for the route", name);
    return false;
  }
  if (auto holder = impl_->alias_holder(name, {})) {
    error = fmt::format("{} is an alias of the app {}; pick another name for the route", name,
                        holder->first);
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
  return impl_->ctx.url_of(name);
}

}  // namespace rp
