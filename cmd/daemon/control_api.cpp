#include "cmd/daemon/control_api.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <optional>
#include <span>

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/control_socket.hpp"
#include "cmd/daemon/dashboard_files.hpp"
#include "cmd/daemon/dashboard_gate.hpp"
#include "cmd/daemon/log_stream.hpp"
#include "proxy/async_result.hpp"
#include "proxy/error_pages.hpp"
#include "proxy/http/message.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/random_hex.hpp"
#include "proxy/socket_deadline.hpp"
#include "supervisor/apps.hpp"
#include "supervisor/project/project_config.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace rp::cmd {
namespace {

// The dashboard's live view (GET /v1/events): how often the status is looked at, how long a
// stream may say nothing, and how long a client may leave a write unread before it is dropped.
constexpr auto kEventsEvery = std::chrono::milliseconds(500);
constexpr auto kEventsQuiet = std::chrono::seconds(15);
constexpr auto kEventsStuck = std::chrono::seconds(30);

// One request being answered: what was asked, the names the path's "*" segments stood for, and
// the connection, which a stream takes for its own.
struct Call {
  Request request;
  std::vector<std::string> args;
  ControlConnection socket;
  bool streamed = false;       // a stream took the connection and answers on it
  std::function<void()> then;  // once the answer is written
};

// Whether `parts` is `pattern` ("*" for any one segment), the "*" segments into `args`.
bool matches(std::string_view pattern, const std::vector<std::string>& parts,
             std::vector<std::string>& args) {
  const auto want = split_path(pattern);
  if (want.size() != parts.size()) return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "*") {
      found.push_back(parts[i]);
    } else if (want[i] != parts[i]) {
      return false;
    }
  }
  args = std::move(found);
  return true;
}

// A request no route takes: the method is wrong for a path that exists, or the path is unknown.
std::string unrouted(const Request& r, const std::vector<std::string>& parts) {
  if (parts.empty() || parts[0] != "v1") {
    return error_answer(404, "unknown path; this daemon speaks /v1/");
  }
  const std::string what = parts.size() > 1 ? parts[1] : "";
  if (what == "status" && parts.size() == 2) return error_answer(405, "use GET");
  if (what == "up" || what == "daemon" || what == "apps") return error_answer(405, "use POST");
  if (what == "logs" && parts.size() == 2) return error_answer(405, "use GET");
  return error_answer(404, fmt::format("no such API: {} {}", r.method, r.path));
}

std::string no_app(const std::string& name) {
  return error_answer(404, fmt::format("no app named {} (`rp ls` lists them)", name));
}

}  // namespace

struct ControlApi::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, Apps& apps_, DaemonInfo info_, std::function<void()> stop_)
      : io(io_), apps(apps_), info(std::move(info_)), stop_daemon(std::move(stop_)) {}

  asio::io_context& io;
  Apps& apps;
  DaemonInfo info;
  std::function<void()> stop_daemon;
  std::unique_ptr<ControlSocket> socket;
  std::unique_ptr<ControlSocket> browsers;          // the dashboard's listener
  const std::string token = proxy::random_hex(32);  // only the dashboard's page carries it

  using Handler = asio::awaitable<std::string> (Impl::*)(Call&);
  struct Route {
    std::string_view method;
    std::string_view path;
    Handler handler;
  };

  // The API, as docs/control-api.md lists it. The first route that matches answers.
  static std::span<const Route> routes() {
    static const Route table[] = {
        {"GET", "/v1/status", &Impl::status},
        {"GET", "/v1/events", &Impl::events},
        {"POST", "/v1/up", &Impl::up},
        {"POST", "/v1/apps/*/start", &Impl::start},
        {"POST", "/v1/apps/*/stop", &Impl::stop},
        {"POST", "/v1/apps/*/restart", &Impl::restart},
        {"POST", "/v1/apps/*/down", &Impl::down},
        {"POST", "/v1/apps/*/kill", &Impl::kill},
        {"POST", "/v1/apps/*/*", &Impl::unknown_action},
        {"POST", "/v1/links", &Impl::link},
        {"DELETE", "/v1/links/*", &Impl::unlink},
        {"PUT", "/v1/routes/*", &Impl::put_route},
        {"DELETE", "/v1/routes/*", &Impl::delete_route},
        {"GET", "/v1/logs", &Impl::logs},
        {"POST", "/v1/daemon/stop", &Impl::stop_the_daemon},
    };
    return table;
  }

  // The socket's handler. It holds the API only while a request is answered: a request that
  // arrives as the daemon goes away is dropped.
  static asio::awaitable<void> answer(std::weak_ptr<Impl> weak, Request request,
                                      ControlConnection connection) {
    auto self = weak.lock();
    if (!self) co_return;
    co_await self->dispatch(std::move(request), std::move(connection));
  }

  // GCC 12 cannot keep a string literal inside a co_await expression, and evaluates a co_await
  // inside && twice: each co_await is a statement of its own.
  asio::awaitable<void> dispatch(Request request, ControlConnection connection) {
    if (request.browser) {
      // A browser's request, by way of the proxy: the dashboard's rules first, then the same
      // routes as the rp command's.
      const GateVerdict verdict = check_browser_request(request, info.tlds, token);
      if (!verdict.ok()) {
        std::string answer = for_browsers(error_answer(verdict.status, verdict.message));
        co_await write_answer(connection, std::move(answer));
        co_return;
      }
      if (const PageFile* file = dashboard_file(request.path)) {
        std::string answer = for_browsers(page_answer(*file, request.method == "HEAD"));
        co_await write_answer(connection, std::move(answer));
        co_return;
      }
    }
    const bool browser = request.browser;
    const auto parts = split_path(request.path);
    Call call{std::move(request), {}, std::move(connection), false, {}};
    const Route* route = nullptr;
    for (const auto& r : routes()) {
      if (r.method == call.request.method && matches(r.path, parts, call.args)) {
        route = &r;
        break;
      }
    }
    std::string answer;
    if (route) {
      auto handled = (this->*(route->handler))(call);
      answer = co_await std::move(handled);
    } else {
      answer = unrouted(call.request, parts);
    }
    if (browser) answer = for_browsers(std::move(answer));
    if (!call.streamed) co_await write_answer(call.socket, std::move(answer));
    if (call.then) call.then();
  }

  // One of the page's files; the page itself with this daemon's token in it.
  std::string page_answer(const PageFile& file, bool head_only) const {
    std::string body(file.body);
    constexpr std::string_view kSlot = "{{token}}";
    if (auto at = body.find(kSlot); at != std::string::npos) body.replace(at, kSlot.size(), token);
    std::string out = http::response_head(200, {{"Content-Type", std::string(file.content_type)},
                                                {"Content-Length", std::to_string(body.size())},
                                                {"Cache-Control", "no-store"},
                                                {"Connection", "close"}});
    if (!head_only) out += body;
    return out;
  }

  // --- Handlers ---------------------------------------------------------------------------------

  // GET /v1/status
  asio::awaitable<std::string> status(Call&) { co_return json_answer(200, status_now()); }

  json::object status_now() const {
    auto url_of = [this](const std::string& name) { return apps.url_of(name); };
    return status_json(info, ::getpid(), apps.list(), apps.routes(), url_of, Clock::now());
  }

  // GET /v1/events: the status as Server-Sent Events (the dashboard's live view): at once, then
  // each time something in it changes (looked at every kEventsEvery; the ages that grow by
  // themselves are no change), with a comment after a quiet kEventsQuiet so that a client that
  // went away is noticed. A client that stops reading is dropped after kEventsStuck.
  asio::awaitable<std::string> events(Call& call) {
    call.streamed = true;
    asio::co_spawn(io, send_events(std::move(call.socket), call.request.browser), asio::detached);
    co_return std::string();
  }

  asio::awaitable<void> send_events(ControlConnection socket, bool browser) {
    auto self = shared_from_this();
    std::string out = http::response_head(200, {{"Content-Type", "text/event-stream"},
                                                {"Cache-Control", "no-store"},
                                                {"Connection", "close"}});
    if (browser) out = for_browsers(std::move(out));
    std::string sent;
    auto quiet_since = Clock::now();
    asio::steady_timer timer(io);
    for (;;) {
      json::object now = status_now();
      if (std::string key = status_fingerprint(now); key != sent) {
        sent = std::move(key);
        out += "data: " + json::serialize(now) + "\n\n";
      } else if (Clock::now() - quiet_since >= kEventsQuiet) {
        out += ": quiet\n\n";
      }
      if (!out.empty()) {
        proxy::SocketDeadline stuck(socket, Clock::now() + kEventsStuck);
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), proxy::nothrow);
        if (ec) break;
        out.clear();
        quiet_since = Clock::now();
      }
      timer.expires_after(kEventsEvery);
      co_await timer.async_wait(proxy::nothrow);
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  // POST /v1/up: registers and starts the project. Attached (the default), the answer is the
  // app's output as a stream that ends with {"type":"exit"}; with "detach": true it is one JSON
  // object once the web process is ready.
  asio::awaitable<std::string> up(Call& call) {
    std::string error;
    auto reg = registration_from(call.request.body, error);
    if (!reg) co_return error_answer(400, error);
    const bool detach = bool_field(call.request.body, "detach");
    auto outcome = co_await proxy::async_result_of<Apps::Outcome>(
        [&](auto done) { apps.up(*reg, !detach, std::move(done)); });
    if (!outcome.ok()) co_return refusal_answer(outcome);
    // The answer came by way of the event loop: the app may have gone meanwhile (rp down).
    App* app = apps.find(outcome.name);
    if (!app) co_return error_answer(410, outcome.name + " was removed meanwhile");
    const std::string name = outcome.name;
    if (detach) {
      auto result = co_await proxy::async_result_of<BootResult>(
          [&](auto done) { apps.start(name, std::move(done)); });
      if (!result.ok()) co_return boot_failure(name, result);
      co_return json_answer(
          200,
          json::object{{"app", name}, {"url", apps.url_of(name)}, {"url_hint", info.url_hint}});
    }
    call.streamed = true;
    auto stream = std::make_shared<Stream>(std::move(call.socket));
    json::array labels;
    for (const auto& i : app->instances()) labels.emplace_back(i.label);
    stream->push(json::object{{"type", "hello"},
                              {"app", name},
                              {"url", apps.url_of(name)},
                              {"labels", std::move(labels)}});
    auto listener = std::make_shared<StreamListener>(stream, std::string(), std::string(), true);
    listener->on_end = [this, name, weak = std::weak_ptr<StreamListener>(listener)] {
      asio::post(io, [this, name, weak] {
        auto l = weak.lock();
        if (App* a = apps.find(name); a && l) a->unlisten(l.get());
      });
    };
    app->listen(listener);
    asio::co_spawn(io, stream->write_loop(), asio::detached);
    // Ctrl-C (the client closed its side), a closed terminal, SIGKILL: the app stops.
    auto gone = [this, name, listener] { apps.release(name); };
    asio::co_spawn(io, stream->watch_client(std::move(gone)), asio::detached);
    for (const auto& notice : info.notices) {
      stream->push(json::object{{"type", "line"}, {"source", "rp"}, {"text", notice}});
    }
    if (outcome.restarted) {
      std::string text = fmt::format(
          "{} was running for the daemon: restarted with this terminal's environment; "
          "it goes back to the daemon when rp up ends",
          name);
      stream->push(json::object{{"type", "line"}, {"source", "rp"}, {"text", std::move(text)}});
    }
    app->start();
    co_return std::string();
  }

  // What a control of an app answers before it acts: with {"process": "worker"}, the control of
  // that process alone, done at once; for an unknown app, 404. Nothing: the whole app it is.
  std::optional<std::string> answered_early(Call& call, Apps::Control what) {
    const std::string& name = call.args[0];
    if (auto process = string_field(call.request.body, "process")) {
      return process_answer(name, *process, apps.control_process(name, *process, what));
    }
    if (!apps.find(name)) return no_app(name);
    return std::nullopt;
  }

  // POST /v1/apps/NAME/start: answers once the web process is ready (or 502/504).
  asio::awaitable<std::string> start(Call& call) { return until_ready(call, Apps::Control::start); }

  // POST /v1/apps/NAME/stop: answers once every process is gone.
  asio::awaitable<std::string> stop(Call& call) {
    if (auto answer = answered_early(call, Apps::Control::stop)) co_return std::move(*answer);
    const std::string& name = call.args[0];
    co_await proxy::async_result_of<bool>(
        [&](auto done) { apps.stop(name, [done] { done(true); }); });
    co_return json_answer(200, json::object{{"app", name}});
  }

  // POST /v1/apps/NAME/restart: a stop, then a start as above.
  asio::awaitable<std::string> restart(Call& call) {
    return until_ready(call, Apps::Control::restart);
  }

  // A start or a restart of the whole app, answered once it is ready or its boot failed.
  asio::awaitable<std::string> until_ready(Call& call, Apps::Control what) {
    if (auto answer = answered_early(call, what)) co_return std::move(*answer);
    const std::string& name = call.args[0];
    auto result = co_await proxy::async_result_of<BootResult>([&](auto done) {
      if (what == Apps::Control::restart) return apps.restart(name, std::move(done));
      apps.start(name, std::move(done));
    });
    if (!result.ok()) co_return boot_failure(name, result);
    co_return json_answer(200, json::object{{"app", name}});
  }

  // POST /v1/apps/NAME/down: `rp down`.
  asio::awaitable<std::string> down(Call& call) {
    const std::string& name = call.args[0];
    if (!apps.find(name)) co_return no_app(name);
    co_await proxy::async_result_of<bool>(
        [&](auto done) { apps.down(name, [done] { done(true); }); });
    co_return json_answer(200, json::object{{"app", name}, {"state", "stopped"}});
  }

  // POST /v1/apps/NAME/kill: a stop under way finishes with SIGKILL now.
  asio::awaitable<std::string> kill(Call& call) {
    const std::string& name = call.args[0];
    App* app = apps.find(name);
    if (!app) co_return no_app(name);
    app->kill();
    co_return json_answer(200, json::object{{"app", name}});
  }

  asio::awaitable<std::string> unknown_action(Call& call) {
    if (!apps.find(call.args[0])) co_return no_app(call.args[0]);
    co_return error_answer(404, "unknown action " + call.args[1]);
  }

  // POST /v1/links: `rp link`.
  asio::awaitable<std::string> link(Call& call) {
    std::string error;
    auto reg = registration_from(call.request.body, error);
    if (!reg) co_return error_answer(400, error);
    auto outcome = apps.link(*reg);
    if (!outcome.ok()) co_return refusal_answer(outcome);
    auto name = apps.name_of(reg->dir).value_or("");
    co_return json_answer(200,
                          json::object{{"app", name},
                                       {"url", apps.url_of(name)},
                                       {"url_hint", info.url_hint},
                                       {"diagnostics", diagnostics_json(outcome.diagnostics)}});
  }

  // DELETE /v1/links/NAME: `rp unlink`.
  asio::awaitable<std::string> unlink(Call& call) {
    const std::string& name = call.args[0];
    std::string error;
    if (!apps.unlink(name, error)) co_return error_answer(404, error);
    co_return json_answer(200, json::object{{"unlinked", name}});
  }

  // PUT /v1/routes/NAME {"port": N}: `rp route NAME PORT`.
  asio::awaitable<std::string> put_route(Call& call) {
    const std::string& name = call.args[0];
    if (!valid_dns_label(name)) co_return bad_route_name(name);
    auto port = route_port(call.request.body);
    if (!port) co_return error_answer(400, "\"port\" must be a number from 1 to 65535");
    std::string error;
    if (!apps.add_route(name, *port, error)) co_return error_answer(409, error);
    co_return json_answer(
        200, json::object{{"name", name}, {"port", *port}, {"url", apps.url_of(name)}});
  }

  // DELETE /v1/routes/NAME: `rp route rm NAME`.
  asio::awaitable<std::string> delete_route(Call& call) {
    const std::string& name = call.args[0];
    if (!valid_dns_label(name)) co_return bad_route_name(name);
    std::string error;
    if (!apps.remove_route(name, error)) co_return error_answer(404, error);
    co_return json_answer(200, json::object{{"removed", name}});
  }

  // GET /v1/logs?app=NAME&process=PROC&n=N&follow=1: the recent lines, interleaved by time
  // across apps, then (follow) new ones until the client goes.
  asio::awaitable<std::string> logs(Call& call) {
    std::string error;
    auto query = log_query(call.request.query, error);
    if (!query) co_return error_answer(400, error);
    std::vector<std::string> names;
    if (query->app.empty()) {
      for (const auto& a : apps.list()) {
        if (apps.find(a.name)) names.push_back(a.name);
      }
    } else if (apps.find(query->app)) {
      names.push_back(query->app);
    } else {
      co_return no_app(query->app);
    }
    const bool mixed = query->app.empty();
    const std::size_t n = query->n;
    std::vector<std::pair<LogEntry, std::string>> all;
    for (const auto& name : names) {
      for (auto& e : apps.find(name)->recent(n, query->process)) {
        all.emplace_back(std::move(e), name);
      }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first.time < b.first.time; });
    if (all.size() > n) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n));
    call.streamed = true;
    auto stream = std::make_shared<Stream>(std::move(call.socket), call.request.browser);
    for (const auto& [e, name] : all) stream->push_entry(e, mixed ? name : std::string());
    asio::co_spawn(io, stream->write_loop(), asio::detached);
    if (!query->follow) {
      stream->finish();
      co_return std::string();
    }
    std::vector<std::shared_ptr<StreamListener>> listeners;
    for (const auto& name : names) {
      auto l = std::make_shared<StreamListener>(stream, mixed ? name : "", query->process, false);
      apps.find(name)->listen(l);
      listeners.push_back(l);
    }
    auto gone = [this, names, listeners, weak = std::weak_ptr(stream)] {
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (App* a = apps.find(names[i])) a->unlisten(listeners[i].get());
      }
      // Nothing more will come: the writer ends, and the connection with it.
      if (auto s = weak.lock()) s->finish();
    };
    asio::co_spawn(io, stream->watch_client(std::move(gone)), asio::detached);
    co_return std::string();
  }

  // POST /v1/daemon/stop: answered first, then every app stops and the daemon with them.
  asio::awaitable<std::string> stop_the_daemon(Call& call) {
    call.then = [this] { asio::post(io, stop_daemon); };
    co_return json_answer(200, json::object{{"stopping", true}});
  }

  // --- Answers --------------------------------------------------------------------------------

  // A start that did not end ready, with the app's last lines.
  std::string boot_failure(const std::string& name, const BootResult& result) {
    json::array log;
    if (App* app = apps.find(name)) {
      for (const auto& e : app->recent(20)) log.emplace_back(e.source + " | " + e.text);
    }
    return json_answer(proxy::status_of(result.outcome),
                       json::object{{"error", result.what}, {"log", std::move(log)}});
  }

  static std::string process_answer(const std::string& name, const std::string& process,
                                    Apps::Found found) {
    switch (found) {
      case Apps::Found::no_app:
        return no_app(name);
      case Apps::Found::no_process:
        return error_answer(404, fmt::format("{} has no process named {}", name, process));
      case Apps::Found::yes:
        break;
    }
    return json_answer(200, json::object{{"app", name}, {"process", process}});
  }

  static std::string bad_route_name(const std::string& name) {
    return error_answer(400, fmt::format("{} is not a valid name: use lower-case letters, digits "
                                         "and '-' (like a DNS label)",
                                         name));
  }
};

ControlApi::ControlApi(asio::io_context& io, Apps& apps, DaemonInfo info,
                       std::function<void()> stop_daemon, proxy::AcceptShortage& shortage)
    : impl_(std::make_shared<Impl>(io, apps, std::move(info), std::move(stop_daemon))),
      shortage_(shortage) {
  impl_->socket = std::make_unique<ControlSocket>(
      io,
      [weak = std::weak_ptr<Impl>(impl_)](Request request, ControlConnection connection) {
        return Impl::answer(weak, std::move(request), std::move(connection));
      },
      shortage_);
}

ControlApi::~ControlApi() {
  close();
}

bool ControlApi::listen(const std::filesystem::path& socket_path, std::string& error) {
  return impl_->socket->listen(socket_path, error);
}

int ControlApi::listen_for_browsers(std::string& error) {
  impl_->browsers = std::make_unique<ControlSocket>(
      impl_->io,
      [weak = std::weak_ptr<Impl>(impl_)](Request request, ControlConnection connection) {
        return Impl::answer(weak, std::move(request), std::move(connection));
      },
      shortage_);
  return impl_->browsers->listen_for_browsers(error);
}

void ControlApi::close() {
  impl_->socket->close();
  if (impl_->browsers) impl_->browsers->close();
}

}  // namespace rp::cmd
