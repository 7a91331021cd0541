#include "cmd/daemon/dashboard_gate.hpp"

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/dashboard_files.hpp"
#include "proxy/http/message.hpp"
#include "proxy/router.hpp"

namespace rp::cmd {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// In time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_rp_host(const std::string& host, const std::vector<std::string>& tlds) {
  if (!http::valid_host(host)) return false;
  const std::string name = proxy::normalise_host(host);
  constexpr std::string_view kPrefix = "rp.";
  if (!name.starts_with(kPrefix)) return false;
  const std::string_view tld = std::string_view(name).substr(kPrefix.size());
  for (const auto& t : tlds) {
    if (tld == t) return true;
  }
  return false;
}

// POST /v1/apps/NAME/ACTION with one of the actions a page may take.
bool is_control_path(std::string_view path) {
  const auto parts = split_path(path);
  return parts.size() == 4 && parts[0] == "v1" && parts[1] == "apps" &&
         (parts[3] == "start" || parts[3] == "stop" || parts[3] == "restart");
}

GateVerdict refuse(std::string message) {
  return {403, std::move(message)};
}

}  // namespace

bool is_page_path(std::string_view path) {
  return dashboard_file(path) != nullptr;
}

GateVerdict check_browser_request(const Request& r, const std::vector<std::string>& tlds,
                                  std::string_view token) {
  if (!is_rp_host(r.host, tlds)) {
    return refuse("this is rp's dashboard: it answers only at rp.<tld>");
  }
  if (r.method == "GET" || r.method == "HEAD") {
    if (is_page_path(r.path) || r.path == "/v1/status" || r.path == "/v1/events" ||
        r.path == "/v1/logs") {
      return {};
    }
    return {404, "no such page"};
  }
  if (r.method == "OPTIONS") return {405, "the dashboard's API answers no other origin"};
  if (r.method != "POST" || !is_control_path(r.path)) {
    return refuse("not something the dashboard does: use the rp command");
  }
  const bool own_origin = equal_ignoring_case(r.origin, "http://" + r.host) ||
                          equal_ignoring_case(r.origin, "https://" + r.host);
  if (!own_origin) return refuse("a change must come from the dashboard's own page (Origin)");
  if (!same_secret(r.token, token)) {
    return refuse("a change needs the dashboard's token (reload the page)");
  }
  if (!r.content_type.starts_with("application/json")) {
    return refuse("a change is sent as application/json");
  }
  return {};
}

std::string for_browsers(std::string answer) {
  static constexpr std::string_view kHeaders =
      "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
      "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'\r\n"
      "X-Content-Type-Options: nosniff\r\n"
      "X-Frame-Options: DENY\r\n"
      "Referrer-Policy: no-referrer\r\n"
      "Cross-Origin-Resource-Policy: same-origin\r\n";
  const auto end = answer.find("\r\n\r\n");
  if (end == std::string::npos) return answer;
  std::string headers(kHeaders);
  if (std::string_view(answer).substr(0, end).find("Cache-Control:") == std::string_view::npos) {
    headers += "Cache-Control: no-store\r\n";
  }
  answer.insert(end + 2, headers);
  return answer;
}

}  // namespace rp::cmd
