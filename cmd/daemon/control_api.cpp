#include "cmd/daemon/control_api.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <deque>

#include "cmd/daemon/json_escape.hpp"
#include "proxy/error_pages.hpp"
#include "proxy/http/parser.hpp"
#include "proxy/nothrow.hpp"
#include "supervisor/apps.hpp"
#include "supervisor/project/text.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using Socket = asio::local::stream_protocol::socket;
using Clock = std::chrono::steady_clock;

namespace rp::cmd {
using proxy::nothrow;
namespace {

// A request body is a few hundred bytes of JSON (an environment, at most): more is a mistake.
constexpr std::size_t kMaxBody = 1 << 20;
// How long a client has to send its whole request.
constexpr auto kRequestTimeout = std::chrono::seconds(30);
// What a stream may queue for a client that does not read before lines are dropped: the daemon
// never waits for a terminal.
constexpr std::size_t kMaxQueued = 4 << 20;

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

std::string response(int status, const json::value& body) {
  std::string text = json::serialize(body) + "\n";
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: "
      "close\r\n\r\n{}",
      status, reason(status), text.size(), text);
}

std::string error_response(int status, std::string_view message) {
  return response(status, json::object{{"error", message}});
}

json::array diagnostics_json(const Diagnostics& errors) {
  json::array out;
  for (const auto& d : errors) {
    out.push_back(json::object{{"file", d.file},
                               {"line", d.line},
                               {"column", d.column},
                               {"what", d.what},
                               {"fix", d.fix},
                               {"text", d.str()}});
  }
  return out;
}

// A registration that did not take (the project's files, a name taken): the error and, when the
// files are at fault, where.
std::string outcome_error(const Apps::Outcome& outcome) {
  using Refusal = Apps::Refusal;
  int status = 500;
  switch (outcome.refusal) {
    case Refusal::needs_name:
      status = 400;
      break;
    case Refusal::name_taken:
      status = 409;
      break;
    case Refusal::gone:
      status = 410;
      break;
    case Refusal::invalid_files:
      status = 422;
      break;
    case Refusal::none:
    case Refusal::cannot_save:
      status = 500;
      break;
  }
  return response(status, json::object{{"error", outcome.error},
                                       {"diagnostics", diagnostics_json(outcome.diagnostics)}});
}

std::int64_t seconds_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t).count();
}

// One line of output as the streams carry it. Written by hand: a busy app's access lines pass
// here by the thousand, and a JSON object per line would cost more than the line itself.
std::string entry_line(const LogEntry& e, const std::string& app) {
  std::string out;
  out.reserve(e.text.size() + e.source.size() + app.size() + 64);
  out += R"({"type":"line","source":")";
  append_json_string(out, e.source);
  out += R"(","text":")";
  append_json_string(out, e.text);
  out += '"';
  if (e.color >= 0) out += fmt::format(R"(,"color":{})", e.color);
  if (!app.empty()) {
    out += R"(,"app":")";
    append_json_string(out, app);
    out += '"';
  }
  out += fmt::format(
      R"(,"time":{}}})",
      std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count());
  out += '\n';
  return out;
}

// A request, as the handlers see it.
struct Request {
  std::string method;
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // ?a=b&c=d, undecoded
  json::object body;
};

// "a=b&c=d", as written (rp's own clients send nothing that needs decoding).
std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  for (auto part : split_list(q, '&')) {
    auto eq = part.find('=');
    out[std::string(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
  }
  return out;
}

// "/v1/apps/shop/stop" -> v1, apps, shop, stop.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  for (auto part : split_list(path, '/')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

// What a client sends about a project; nullopt (and `error`) when it is malformed.
std::optional<Registration> registration_from(const json::object& o, std::string& error) {
  Registration r;
  auto dir = string_field(o, "dir");
  if (!dir || dir->empty() || (*dir)[0] != '/') {
    error = "\"dir\" must be the project's absolute path";
    return std::nullopt;
  }
  r.dir = *dir;
  if (auto it = o.find("env"); it != o.end()) {
    if (!it->value().is_object()) {
      error = "\"env\" must be an object of strings";
      return std::nullopt;
    }
    for (const auto& [k, v] : it->value().as_object()) {
      if (!v.is_string()) {
        error = "\"env\" must be an object of strings";
        return std::nullopt;
      }
      r.env[std::string(k)] = std::string(v.as_string());
    }
  }
  r.name = string_field(o, "name");
  r.procfile = string_field(o, "procfile");
  r.env_files = string_field(o, "env_files");
  r.formation = string_field(o, "formation");
  if (auto it = o.find("only"); it != o.end() && it->value().is_array()) {
    for (const auto& v : it->value().as_array()) {
      if (v.is_string()) r.only.emplace_back(v.as_string());
    }
  }
  if (auto it = o.find("exit_on_error"); it != o.end() && it->value().is_bool()) {
    r.exit_on_error = it->value().as_bool();
  }
  return r;
}

// A response that goes on: newline-delimited JSON written as it comes, never waiting for a
// client that does not read (past kMaxQueued, lines are dropped and counted).
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  explicit Stream(Socket socket)
      : socket_(std::move(socket)), wake_(socket_.get_executor(), Clock::time_point::max()) {}

  void push(const json::value& v) { push_line(json::serialize(v) + "\n"); }
  // A line already in JSON, newline included.
  void push_line(std::string line) {
    if (closed_ || finishing_) return;
    if (queued_ > kMaxQueued) {
      ++dropped_;
      return;
    }
    queued_ += line.size();
    queue_.push_back(std::move(line));
    wake_.cancel();
  }
  // Writes what is queued, then closes.
  void finish() {
    finishing_ = true;
    wake_.cancel();
  }
  bool finishing() const { return finishing_; }

  asio::awaitable<void> write_loop(std::string head) {
    auto self = shared_from_this();
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(head), nothrow);
    if (ec) closed_ = true;
    while (!closed_) {
      if (queue_.empty()) {
        if (finishing_) break;
        co_await wake_.async_wait(nothrow);
        wake_.expires_at(Clock::time_point::max());
        continue;
      }
      std::string batch;
      if (dropped_ > 0) {
        batch = json::serialize(json::object{
                    {"type", "line"},
                    {"source", "rp"},
                    {"text",
                     fmt::format("{} lines dropped: this terminal did not keep up", dropped_)}}) +
                "\n";
        dropped_ = 0;
      }
      for (auto& line : queue_) batch += line;
      queue_.clear();
      queued_ = 0;
      auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(batch), nothrow);
      if (wec) closed_ = true;
    }
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // Reads until the client closes its side or goes away; then `gone`, unless the stream ended
  // first.
  asio::awaitable<void> watch_client(std::function<void()> gone) {
    auto self = shared_from_this();
    std::array<char, 512> sink;
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(sink), nothrow);
      if (ec) break;
    }
    if (!finishing_) gone();
  }

 private:
  Socket socket_;
  asio::steady_timer wake_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  std::size_t dropped_ = 0;
  bool closed_ = false;
  bool finishing_ = false;
};

constexpr std::string_view kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n"
    "Connection: close\r\n\r\n";

// An app's output into a stream: `rp up`'s terminal, or `rp logs -f`.
class StreamListener : public AppListener {
 public:
  StreamListener(std::shared_ptr<Stream> stream, std::string app, bool ends_stream)
      : stream_(std::move(stream)), app_(std::move(app)), ends_stream_(ends_stream) {}

  void entry(const LogEntry& e) override { stream_->push_line(entry_line(e, app_)); }
  void ended(int exit_code) override {
    if (!ends_stream_) return;
    stream_->push(json::object{{"type", "exit"}, {"code", exit_code}});
    stream_->finish();
    if (on_end) on_end();
  }

  std::function<void()> on_end;  // leaves the app (not from inside its own call)

 private:
  std::shared_ptr<Stream> stream_;
  std::string app_;  // named in each line when the stream mixes apps
  bool ends_stream_;
};

}  // namespace

struct ControlApi::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, Apps& apps_, DaemonInfo info_, std::function<void()> stop_)
      : io(io_),
        apps(apps_),
        info(std::move(info_)),
        stop_daemon(std::move(stop_)),
        acceptor(io_) {}

  asio::io_context& io;
  Apps& apps;
  DaemonInfo info;
  std::function<void()> stop_daemon;
  asio::local::stream_protocol::acceptor acceptor;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(nothrow);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  // Reads one request, head and body, then answers it.
  asio::awaitable<void> serve(Socket socket) {
    auto self = shared_from_this();
    http::Parser parser(http::Parser::Kind::request);
    std::string body;
    std::array<char, 8192> buffer;
    // A client that connects and never finishes its request must not hold a connection forever.
    asio::steady_timer limit(io, kRequestTimeout);
    limit.async_wait([&socket](boost::system::error_code e) {
      if (!e) socket.close();
    });
    bool done = false;
    while (!done) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
      if (ec) co_return;
      std::string_view data(buffer.data(), n);
      for (;;) {
        auto step = parser.feed(data);
        data.remove_prefix(step.consumed);
        for (auto part : step.body) body += part;
        if (body.size() > kMaxBody) {
          std::string answer = error_response(413, "the request body is too large");
          co_await write_all(socket, std::move(answer));
          co_return;
        }
        if (step.status == http::Parser::Status::error) {
          std::string answer = error_response(400, "malformed request: " + parser.error());
          co_await write_all(socket, std::move(answer));
          co_return;
        }
        if (step.status == http::Parser::Status::message_done ||
            step.status == http::Parser::Status::upgrade) {
          done = true;
          break;
        }
        // After the head the parser goes on with the body, or ends a message that has none.
        if (step.status != http::Parser::Status::head_done) break;
      }
    }
    limit.cancel();
    const auto& head = parser.head();
    Request request;
    request.method = head.method;
    auto q = head.target.find('?');
    request.path = head.target.substr(0, q);
    if (q != std::string::npos)
      request.query = parse_query(std::string_view(head.target).substr(q + 1));
    if (!body.empty()) {
      boost::system::error_code jec;
      auto parsed = json::parse(body, jec);
      if (jec || !parsed.is_object()) {
        std::string answer = error_response(400, "the body must be a JSON object");
        co_await write_all(socket, std::move(answer));
        co_return;
      }
      request.body = std::move(parsed.as_object());
    }
    co_await dispatch(std::move(request), std::move(socket));
  }

  static asio::awaitable<void> write_all(Socket& socket, std::string text) {
    co_await asio::async_write(socket, asio::buffer(text), nothrow);
    boost::system::error_code ignored;
    socket.shutdown(Socket::shutdown_send, ignored);
  }

  // Waits on the daemon's thread for a callback-style operation to call back.
  template <typename T, typename Start>
  asio::awaitable<T> wait_for(Start start) {
    auto timer = std::make_shared<asio::steady_timer>(io, Clock::time_point::max());
    auto result = std::make_shared<std::optional<T>>();
    start([timer, result](T value) {
      *result = std::move(value);
      timer->cancel();
    });
    if (!*result) co_await timer->async_wait(nothrow);
    co_return std::move(**result);
  }

  // GCC 12 cannot keep a string literal inside a co_await expression: answers are built in
  // statements of their own, and written by one co_await.
  asio::awaitable<void> dispatch(Request r, Socket socket) {
    const auto parts = split_path(r.path);
    const std::string what = parts.size() > 1 && parts[0] == "v1" ? parts[1] : "";
    std::string answer;
    if (what == "up" && parts.size() == 2 && r.method == "POST") {
      co_await up(std::move(r), std::move(socket));
      co_return;
    }
    if (what == "logs" && parts.size() == 2 && r.method == "GET") {
      co_await logs(std::move(r), std::move(socket));
      co_return;
    }
    if (what == "apps" && parts.size() == 4 && r.method == "POST") {
      answer = co_await control(parts[2], parts[3], r.body);
    } else if (what == "daemon" && parts.size() == 3 && parts[2] == "stop" && r.method == "POST") {
      answer = response(200, json::object{{"stopping", true}});
      co_await write_all(socket, std::move(answer));
      asio::post(io, stop_daemon);
      co_return;
    } else {
      answer = answer_plain(r, parts);
    }
    co_await write_all(socket, std::move(answer));
  }

  // The requests answered at once.
  std::string answer_plain(const Request& r, const std::vector<std::string>& parts) {
    if (parts.empty() || parts[0] != "v1") {
      return error_response(404, "unknown path; this daemon speaks /v1/");
    }
    const std::string what = parts.size() > 1 ? parts[1] : "";
    const bool get = r.method == "GET";
    if (what == "status" && parts.size() == 2) {
      return get ? response(200, status_json()) : error_response(405, "use GET");
    }
    if ((what == "up" || what == "daemon" || what == "apps") && parts.size() >= 2) {
      return error_response(405, "use POST");
    }
    if (what == "logs" && parts.size() == 2) return error_response(405, "use GET");
    if (what == "links" && parts.size() == 2 && r.method == "POST") return link(r.body);
    if (what == "links" && parts.size() == 3 && r.method == "DELETE") {
      std::string error;
      if (!apps.unlink(parts[2], error)) return error_response(404, error);
      return response(200, json::object{{"unlinked", parts[2]}});
    }
    if (what == "routes" && parts.size() == 3 && (r.method == "PUT" || r.method == "DELETE")) {
      return route(r.method, parts[2], r.body);
    }
    return error_response(404, fmt::format("no such API: {} {}", r.method, r.path));
  }

  // An app that cannot start because of its files (or its directory) is in "error" while it
  // does not run; a running one keeps its state, and its errors are listed beside it.
  static std::string state_of(const AppView& a) {
    const bool down = a.phase == AppPhase::stopped || a.phase == AppPhase::failed;
    if (!a.errors.empty() && down) return "error";
    return std::string(to_string(a.phase));
  }

  json::object status_json() {
    json::array apps_json;
    for (const auto& a : apps.list()) {
      json::array processes;
      for (const auto& i : a.instances) {
        json::object p{{"label", i.label},
                       {"process", i.process},
                       {"state", std::string(to_string(i.state))},
                       {"port", i.port},
                       {"pid", i.pid > 0 ? json::value(i.pid) : json::value(nullptr)}};
        p["uptime_s"] = i.pid > 0 ? json::value(seconds_since(i.started)) : json::value(nullptr);
        processes.push_back(std::move(p));
      }
      json::array errors;
      for (const auto& e : a.errors) errors.emplace_back(e);
      apps_json.push_back(json::object{{"name", a.name},
                                       {"dir", a.dir.string()},
                                       {"url", a.url},
                                       {"linked", a.linked},
                                       {"attached", a.attached},
                                       {"state", state_of(a)},
                                       {"since_s", seconds_since(a.since)},
                                       {"errors", std::move(errors)},
                                       {"processes", std::move(processes)}});
    }
    json::array routes_json;
    for (const auto& r : apps.routes()) {
      routes_json.push_back(
          json::object{{"name", r.name}, {"port", r.port}, {"url", apps.url_of(r.name)}});
    }
    return json::object{{"daemon", json::object{{"pid", ::getpid()},
                                                {"version", info.version},
                                                {"home", info.home.string()},
                                                {"http_port", info.http_port},
                                                {"dns_port", info.dns_port},
                                                {"uptime_s", seconds_since(info.started)}}},
                        {"apps", std::move(apps_json)},
                        {"routes", std::move(routes_json)}};
  }

  // POST /v1/up: registers and starts the project. Attached (the default), the answer is the
  // app's output as a stream that ends with {"type":"exit"}; with "detach": true it is one JSON
  // object once the web process is ready.
  asio::awaitable<void> up(Request r, Socket socket) {
    std::string error;
    auto reg = registration_from(r.body, error);
    if (!reg) {
      std::string answer = error_response(400, error);
      co_await write_all(socket, std::move(answer));
      co_return;
    }
    bool detach = false;
    if (auto it = r.body.find("detach"); it != r.body.end() && it->value().is_bool()) {
      detach = it->value().as_bool();
    }
    auto outcome = co_await wait_for<Apps::Outcome>(
        [&](auto done) { apps.up(*reg, !detach, std::move(done)); });
    App* app = outcome.app ? apps.find(outcome.name) : nullptr;
    if (!app) {
      std::string answer = outcome_error(outcome);
      co_await write_all(socket, std::move(answer));
      co_return;
    }
    const std::string name = outcome.name;
    if (detach) {
      auto result = co_await wait_for<BootResult>([&](auto done) { app->wake(std::move(done)); });
      std::string answer =
          !result.ok() ? boot_failure(name, result)
                       : response(200, json::object{{"app", name}, {"url", apps.url_of(name)}});
      co_await write_all(socket, std::move(answer));
      co_return;
    }
    auto stream = std::make_shared<Stream>(std::move(socket));
    json::array labels;
    for (const auto& i : app->instances()) labels.emplace_back(i.label);
    stream->push(json::object{{"type", "hello"},
                              {"app", name},
                              {"url", apps.url_of(name)},
                              {"labels", std::move(labels)}});
    auto listener = std::make_shared<StreamListener>(stream, std::string(), true);
    listener->on_end = [this, name, weak = std::weak_ptr<StreamListener>(listener)] {
      asio::post(io, [this, name, weak] {
        auto l = weak.lock();
        if (App* a = apps.find(name); a && l) a->unlisten(l.get());
      });
    };
    app->listen(listener);
    asio::co_spawn(io, stream->write_loop(std::string(kStreamHead)), asio::detached);
    asio::co_spawn(io, stream->watch_client([this, name, listener] {
      // Ctrl-C (the client closed its side), a closed terminal, SIGKILL.
      apps.release(name);
    }),
                   asio::detached);
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
    co_return;
  }

  // The answer to a start that did not end ready, with the app's last lines.
  std::string boot_failure(const std::string& name, const BootResult& result) {
    json::array log;
    if (App* app = apps.find(name)) {
      for (const auto& e : app->recent(20)) log.emplace_back(e.source + " | " + e.text);
    }
    return response(proxy::status_of(result.outcome),
                    json::object{{"error", result.what}, {"log", std::move(log)}});
  }

  // GET /v1/logs?app=NAME&process=PROC&n=N&follow=1
  asio::awaitable<void> logs(Request r, Socket socket) {
    std::string app_name = r.query["app"];
    std::string process = r.query["process"];
    std::size_t n = 100;
    bool bad_n = false;
    if (auto it = r.query.find("n"); it != r.query.end()) {
      try {
        n = std::stoul(it->second);
      } catch (...) {
        bad_n = true;
      }
    }
    if (bad_n) {
      std::string answer = error_response(400, "n must be a number");
      co_await write_all(socket, std::move(answer));
      co_return;
    }
    const bool follow = r.query["follow"] == "1";
    std::vector<std::string> names;
    if (app_name.empty()) {
      for (const auto& a : apps.list()) {
        if (apps.find(a.name)) names.push_back(a.name);
      }
    } else if (apps.find(app_name)) {
      names.push_back(app_name);
    } else {
      std::string answer =
          error_response(404, fmt::format("no app named {} (`rp ls` lists them)", app_name));
      co_await write_all(socket, std::move(answer));
      co_return;
    }
    const bool mixed = app_name.empty();
    // Interleaved by time across apps.
    std::vector<std::pair<LogEntry, std::string>> all;
    for (const auto& name : names) {
      for (auto& e : apps.find(name)->recent(n, process)) all.emplace_back(std::move(e), name);
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first.time < b.first.time; });
    if (all.size() > n) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n));
    auto stream = std::make_shared<Stream>(std::move(socket));
    for (const auto& [e, name] : all) stream->push_line(entry_line(e, mixed ? name : ""));
    asio::co_spawn(io, stream->write_loop(std::string(kStreamHead)), asio::detached);
    if (!follow) {
      stream->finish();
      co_return;
    }
    std::vector<std::shared_ptr<FilteredListener>> listeners;
    for (const auto& name : names) {
      auto l = std::make_shared<FilteredListener>(stream, mixed ? name : "", process);
      apps.find(name)->listen(l);
      listeners.push_back(l);
    }
    asio::co_spawn(io, stream->watch_client([this, names, listeners, weak = std::weak_ptr(stream)] {
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (App* a = apps.find(names[i])) a->unlisten(listeners[i].get());
      }
      // Nothing more will come: the writer ends, and the connection with it.
      if (auto s = weak.lock()) s->finish();
    }),
                   asio::detached);
  }

  // `rp logs -f APP/PROC`: one process's lines.
  class FilteredListener : public AppListener {
   public:
    FilteredListener(std::shared_ptr<Stream> stream, std::string app, std::string process)
        : stream_(std::move(stream)), app_(std::move(app)), process_(std::move(process)) {}
    void entry(const LogEntry& e) override {
      if (e.of(process_)) stream_->push_line(entry_line(e, app_));
    }
    void ended(int) override {}

   private:
    std::shared_ptr<Stream> stream_;
    std::string app_;
    std::string process_;
  };

  // POST /v1/apps/NAME/{start,stop,restart,kill,down}, optionally {"process": "web"}.
  asio::awaitable<std::string> control(const std::string& name, const std::string& action,
                                       const json::object& body) {
    App* app = apps.find(name);
    if (!app) {
      co_return error_response(404, fmt::format("no app named {} (`rp ls` lists them)", name));
    }
    auto process = string_field(body, "process");
    if (action == "down") {
      co_await wait_for<bool>([&](auto done) { apps.down(name, [done] { done(true); }); });
      co_return response(200, json::object{{"app", name}, {"state", "stopped"}});
    }
    if (action == "kill") {
      app->kill();
      co_return response(200, json::object{{"app", name}});
    }
    if (process) {
      bool ok = action == "start"     ? app->start_process(*process)
                : action == "stop"    ? app->stop_process(*process)
                : action == "restart" ? app->restart_process(*process)
                                      : false;
      if (action != "start" && action != "stop" && action != "restart") {
        co_return error_response(404, "unknown action " + action);
      }
      if (!ok) {
        co_return error_response(404, fmt::format("{} has no process named {}", name, *process));
      }
      co_return response(200, json::object{{"app", name}, {"process", *process}});
    }
    if (action == "start") {
      auto result = co_await wait_for<BootResult>([&](auto done) { app->wake(std::move(done)); });
      if (!result.ok()) co_return boot_failure(name, result);
    } else if (action == "stop") {
      co_await wait_for<bool>([&](auto done) { app->stop([done] { done(true); }); });
    } else if (action == "restart") {
      co_await wait_for<bool>([&](auto done) { app->stop([done] { done(true); }); });
      if (App* again = apps.find(name)) {
        auto result =
            co_await wait_for<BootResult>([&](auto done) { again->wake(std::move(done)); });
        if (!result.ok()) co_return boot_failure(name, result);
      }
    } else {
      co_return error_response(404, "unknown action " + action);
    }
    co_return response(200, json::object{{"app", name}});
  }

  std::string link(const json::object& body) {
    std::string error;
    auto reg = registration_from(body, error);
    if (!reg) return error_response(400, error);
    auto outcome = apps.link(*reg);
    if (!outcome.ok()) {
      return outcome_error(outcome);
    }
    auto name = apps.name_of(reg->dir).value_or("");
    return response(200, json::object{{"app", name},
                                      {"url", apps.url_of(name)},
                                      {"diagnostics", diagnostics_json(outcome.diagnostics)}});
  }

  std::string route(const std::string& method, const std::string& name, const json::object& body) {
    std::string error;
    if (!valid_dns_label(name)) {
      return error_response(
          400, fmt::format("{} is not a valid name: use lower-case letters, digits and "
                           "'-' (like a DNS label)",
                           name));
    }
    if (method == "DELETE") {
      if (!apps.remove_route(name, error)) return error_response(404, error);
      return response(200, json::object{{"removed", name}});
    }
    auto it = body.find("port");
    if (it == body.end() || !it->value().is_int64() || it->value().as_int64() < 1 ||
        it->value().as_int64() > 65535) {
      return error_response(400, "\"port\" must be a number from 1 to 65535");
    }
    const int port = static_cast<int>(it->value().as_int64());
    if (!apps.add_route(name, port, error)) return error_response(409, error);
    return response(200, json::object{{"name", name}, {"port", port}, {"url", apps.url_of(name)}});
  }
};

ControlApi::ControlApi(asio::io_context& io, Apps& apps, DaemonInfo info,
                       std::function<void()> stop_daemon)
    : impl_(std::make_shared<Impl>(io, apps, std::move(info), std::move(stop_daemon))) {}

ControlApi::~ControlApi() {
  close();
}

std::string reachable_socket_path(const std::filesystem::path& socket, int& holder) {
  holder = -1;
  const std::string full = socket.string();
  if (full.size() < sizeof(sockaddr_un{}.sun_path)) return full;
  holder = ::open(socket.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (holder < 0) return full;
  return fmt::format("/proc/self/fd/{}/{}", holder, socket.filename().string());
}

bool ControlApi::listen(const std::filesystem::path& socket_path, std::string& error) {
  boost::system::error_code ec;
  std::filesystem::remove(socket_path, ec);
  int holder = -1;
  const std::string reachable = reachable_socket_path(socket_path, holder);
  // Created 0600 from the start: no moment where another user could connect.
  const mode_t old = ::umask(0177);
  impl_->acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) impl_->acceptor.bind(asio::local::stream_protocol::endpoint(reachable), ec);
  ::umask(old);
  if (holder >= 0) ::close(holder);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = fmt::format("cannot listen on {}: {}", socket_path.string(), ec.message());
    return false;
  }
  ::chmod(socket_path.c_str(), 0600);
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  return true;
}

void ControlApi::close() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace rp::cmd
