// The control API's bodies as values: what a client's JSON means (a project to register, a
// route's port, a log query) and the JSON the daemon answers with (status, diagnostics, one
// stream line). Pure functions, tested without a socket; the handlers in control_api.cpp only
// decide what to ask the apps and which of these to answer with. docs/control-api.md is the
// contract they keep.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/daemon/daemon_info.hpp"
#include "supervisor/apps.hpp"

namespace rp::cmd {

// --- Requests ---------------------------------------------------------------------------------

// "a=b&c=d", as written: rp's own clients send nothing that needs decoding. A repeated key keeps
// its last value; a key without '=' has an empty one.
std::map<std::string, std::string> parse_query(std::string_view query);

// "/v1/apps/shop/stop" -> v1, apps, shop, stop (empty segments dropped).
std::vector<std::string> split_path(std::string_view path);

// The string at `key`; nullopt when it is missing or not a string.
std::optional<std::string> string_field(const boost::json::object& o, std::string_view key);
// The bool at `key`; false when it is missing or not a bool.
bool bool_field(const boost::json::object& o, std::string_view key);

// What a client sends about a project (`rp up`, `rp link`); nullopt and `error` when it is
// malformed. Only "dir", absolute, is required.
std::optional<Registration> registration_from(const boost::json::object& o, std::string& error);

// `PUT /v1/routes/NAME`'s {"port": N}; nullopt unless N is a port number.
std::optional<int> route_port(const boost::json::object& body);

// `GET /v1/logs?app=NAME&process=PROC&n=N&follow=1`.
struct LogQuery {
  std::string app;      // empty: every app
  std::string process;  // empty: every process
  std::size_t n = 100;
  bool follow = false;
};
// nullopt and `error` when n is not a number.
std::optional<LogQuery> log_query(const std::map<std::string, std::string>& query,
                                  std::string& error);

// --- Answers ----------------------------------------------------------------------------------

// A whole answer: the head, then `body` as one line of JSON.
std::string json_answer(int status, const boost::json::value& body);
// {"error": message}.
std::string error_answer(int status, std::string_view message);

// The status that says why a registration did not take.
int refusal_status(Apps::Refusal refusal);
// {"error", "diagnostics"} for a registration that did not take.
std::string refusal_answer(const Apps::Outcome& outcome);

boost::json::array diagnostics_json(const Diagnostics& errors);

// An app's state as `rp status` shows it: one that cannot start because of its files (or its
// directory) is "error" while it does not run; a running one keeps its state, and its errors
// are listed beside it.
std::string state_of(const AppView& app);

// The body of `GET /v1/status`. `url_of` names a static route's URL; `now` is the clock the
// ages are measured against.
// `status` (status_json's) without what changes by itself (the ages): equal for two statuses
// that differ only in time.
std::string status_fingerprint(boost::json::object status);

boost::json::object status_json(const DaemonInfo& info, int pid, const std::vector<AppView>& apps,
                                const std::vector<StaticRoute>& routes,
                                const std::function<std::string(const std::string&)>& url_of,
                                std::chrono::steady_clock::time_point now);

// One line of output as the streams carry it, newline included; `app` is named when the
// stream mixes apps (empty: not named). append_entry_line writes it at the end of `out`.
std::string entry_line(const LogEntry& entry, const std::string& app);
void append_entry_line(std::string& out, const LogEntry& entry, const std::string& app);

}  // namespace rp::cmd
