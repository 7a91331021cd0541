#include "cmd/daemon/api_json.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <charconv>
#include <iterator>

#include "proxy/http/message.hpp"
#include "proxy/json_escape.hpp"
#include "supervisor/project/text.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace rp::cmd {
using proxy::append_json_string;
namespace {

std::int64_t seconds_between(Clock::time_point then, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  for (auto part : split_list(query, '&')) {
    auto eq = part.find('=');
    out[std::string(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
  }
  return out;
}

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

bool bool_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_bool() && it->value().as_bool();
}

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
  r.exit_on_error = bool_field(o, "exit_on_error");
  return r;
}

std::optional<int> route_port(const json::object& body) {
  auto it = body.find("port");
  if (it == body.end() || !it->value().is_int64()) return std::nullopt;
  const auto port = it->value().as_int64();
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<int>(port);
}

std::optional<LogQuery> log_query(const std::map<std::string, std::string>& query,
                                  std::string& error) {
  LogQuery q;
  auto get = [&](const char* key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  q.app = get("app");
  q.process = get("process");
  q.follow = get("follow") == "1";
  if (auto it = query.find("n"); it != query.end()) {
    // Digits only: stoul took "-1" for the largest number, and "5x" for 5.
    const std::string& n = it->second;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), q.n);
    if (ec != std::errc{} || end != n.data() + n.size()) {
      error = "n must be a number";
      return std::nullopt;
    }
  }
  return q;
}

std::string json_answer(int status, const json::value& body) {
  std::string text = json::serialize(body) + "\n";
  std::string out = http::response_head(status, {{"Content-Type", "application/json"},
                                                 {"Content-Length", std::to_string(text.size())},
                                                 {"Connection", "close"}});
  out += text;
  return out;
}

std::string error_answer(int status, std::string_view message) {
  return json_answer(status, json::object{{"error", message}});
}

int refusal_status(Apps::Refusal refusal) {
  using Refusal = Apps::Refusal;
  switch (refusal) {
    case Refusal::needs_name:
      return 400;
    case Refusal::name_taken:
      return 409;
    case Refusal::gone:
      return 410;
    case Refusal::invalid_files:
      return 422;
    case Refusal::none:
    case Refusal::cannot_save:
      return 500;
  }
  return 500;
}

std::string refusal_answer(const Apps::Outcome& outcome) {
  return json_answer(refusal_status(outcome.refusal),
                     json::object{{"error", outcome.error},
                                  {"diagnostics", diagnostics_json(outcome.diagnostics)}});
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

std::string state_of(const AppView& app) {
  const bool down = app.phase == AppPhase::stopped || app.phase == AppPhase::failed;
  if (!app.errors.empty() && down) return "error";
  return std::string(to_string(app.phase));
}

std::string status_fingerprint(json::object status) {
  auto zero = [](json::value* v) {
    if (v && v->is_int64()) *v = 0;
  };
  if (auto* daemon = status.if_contains("daemon"); daemon && daemon->is_object()) {
    zero(daemon->as_object().if_contains("uptime_s"));
  }
  if (auto* apps = status.if_contains("apps"); apps && apps->is_array()) {
    for (auto& app : apps->as_array()) {
      if (!app.is_object()) continue;
      zero(app.as_object().if_contains("since_s"));
      auto* processes = app.as_object().if_contains("processes");
      if (!processes || !processes->is_array()) continue;
      for (auto& p : processes->as_array()) {
        if (p.is_object()) zero(p.as_object().if_contains("uptime_s"));
      }
    }
  }
  return json::serialize(status);
}

json::object status_json(const DaemonInfo& info, int pid, const std::vector<AppView>& apps,
                         const std::vector<StaticRoute>& routes,
                         const std::function<std::string(const std::string&)>& url_of,
                         Clock::time_point now) {
  json::array apps_json;
  for (const auto& a : apps) {
    json::array processes;
    for (const auto& i : a.instances) {
      const bool runs = i.pid > 0;
      processes.push_back(
          json::object{{"label", i.label},
                       {"process", i.process},
                       {"state", std::string(to_string(i.state))},
                       {"port", i.port},
                       {"pid", runs ? json::value(i.pid) : json::value(nullptr)},
                       {"restarts", i.restarts},
                       {"uptime_s", runs ? json::value(seconds_between(i.started, now))
                                         : json::value(nullptr)}});
    }
    json::array errors;
    for (const auto& e : a.errors) errors.emplace_back(e);
    apps_json.push_back(json::object{{"name", a.name},
                                     {"dir", a.dir.string()},
                                     {"url", a.url},
                                     {"linked", a.linked},
                                     {"attached", a.attached},
                                     {"state", state_of(a)},
                                     {"since_s", seconds_between(a.since, now)},
                                     {"errors", std::move(errors)},
                                     {"processes", std::move(processes)}});
  }
  json::array routes_json;
  for (const auto& r : routes) {
    routes_json.push_back(
        json::object{{"name", r.name}, {"port", r.port}, {"url", url_of(r.name)}});
  }
  return json::object{{"daemon", json::object{{"pid", pid},
                                              {"version", info.version},
                                              {"home", info.home.string()},
                                              {"http_port", info.http_port},
                                              {"https_port", info.https_port},
                                              {"dns_port", info.dns_port},
                                              {"url_hint", info.url_hint},
                                              {"uptime_s", seconds_between(info.started, now)}}},
                      {"apps", std::move(apps_json)},
                      {"routes", std::move(routes_json)}};
}

// Written by hand: a busy app's access lines pass here by the thousand, and a JSON object per
// line would cost more than the line itself.
std::string entry_line(const LogEntry& e, const std::string& app) {
  std::string out;
  out.reserve(e.text.size() + e.source.size() + app.size() + 64);
  append_entry_line(out, e, app);
  return out;
}

void append_entry_line(std::string& out, const LogEntry& e, const std::string& app) {
  out += R"({"type":"line","source":")";
  append_json_string(out, e.source);
  out += R"(","text":")";
  append_json_string(out, e.text);
  out += '"';
  if (e.color >= 0) fmt::format_to(std::back_inserter(out), R"(,"color":{})", e.color);
  if (!app.empty()) {
    out += R"(,"app":")";
    append_json_string(out, app);
    out += '"';
  }
  fmt::format_to(
      std::back_inserter(out), R"(,"time":{}}})",
      std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count());
  out += '\n';
}

}  // namespace rp::cmd
