#include "proxy/error_pages.hpp"

#include <fmt/format.h>

#include "proxy/forwarding.hpp"
#include "proxy/http/message.hpp"
#include "proxy/http/parser.hpp"
#include "supervisor/project/text.hpp"

namespace rp::proxy {
namespace {

std::string html_page(std::string_view title, std::string_view body_html) {
  return fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n"
      "<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:3rem auto;"
      "padding:0 1rem;color:#222}}h1{{font-size:1.4rem}}pre{{background:#111;color:#eee;"
      "padding:1rem;overflow:auto;font-size:13px}}code{{background:#eee;padding:0 .2rem}}"
      "</style></head>\n<body><h1>{0}</h1>\n{1}</body></html>\n",
      escape_html(title), body_html);
}

std::string url_of(std::string_view name, std::string_view tld, int port, std::string_view scheme) {
  const bool usual = port == (scheme == "https" ? 443 : 80);
  return usual ? fmt::format("{}://{}.{}/", scheme, name, tld)
               : fmt::format("{}://{}.{}:{}/", scheme, name, tld, port);
}

// The TLD of the name the client reached rp by, which resolves for it (a browser on a machine
// without `rp setup` comes by `.localhost`); the first TLD when it came by an address.
std::string tld_reached(const RouteTable& routes, std::string_view host) {
  for (const auto& tld : routes.tlds()) {
    if (host == tld || (host.size() > tld.size() && host.ends_with(tld) &&
                        host[host.size() - tld.size() - 1] == '.')) {
      return tld;
    }
  }
  return routes.tlds().empty() ? "test" : routes.tlds().front();
}

}  // namespace

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int status_of(BootOutcome outcome) {
  return outcome == BootOutcome::timed_out ? 504 : 502;
}

namespace {

// The q of one element's parameters ("q=0.5;level=1"), in thousandths; 1000 without one.
int quality(std::string_view parameters) {
  while (!parameters.empty()) {
    const auto semicolon = parameters.find(';');
    const auto p = trim(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? "" : parameters.substr(semicolon + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    // "1", "1.000", "0", "0.5", "0.25": at most three decimals (RFC 9110, 12.4.2).
    const auto v = p.substr(2);
    if (v.empty() || (v[0] != '0' && v[0] != '1') || (v.size() > 1 && v[1] != '.')) return 0;
    int q = (v[0] - '0') * 1000;
    for (std::size_t i = 2, scale = 100; i < v.size() && i < 5; ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') return 0;
      q += static_cast<int>(scale) * (v[i] - '0');
    }
    return std::min(q, 1000);
  }
  return 1000;
}

}  // namespace

bool wants_html(std::string_view accept) {
  int html = 0, best_other = 0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? "" : accept.substr(comma + 1);
    const auto semicolon = element.find(';');
    const auto type = trim(element.substr(0, semicolon));
    if (type.empty()) continue;  // an empty element of the list (RFC 9110, 5.6.1)
    const int q = quality(semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1));
    if (http::iequals(type, "text/html")) {
      html = std::max(html, q);
    } else if (type.find('*') == std::string_view::npos) {
      best_other = std::max(best_other, q);  // wildcards say nothing of a preference
    }
  }
  return html > 0 && html >= best_other;
}

Page not_found_page(const RouteTable& routes, std::string_view host, int port, bool html,
                    std::string_view scheme) {
  const std::string tld = tld_reached(routes, host);
  if (!html) {
    std::string text = fmt::format("rp: no app is named '{}'.\n", host);
    if (routes.apps().empty()) {
      text += "No apps are running. Start one with `rp up` in its directory.\n";
    } else {
      text += "Known apps:\n";
      for (const auto& app : routes.apps()) {
        text += fmt::format("  {}  {}\n", app->name, url_of(app->name, tld, port, scheme));
      }
    }
    return {"text/plain; charset=utf-8", text, {}};
  }
  std::string list;
  for (const auto& app : routes.apps()) {
    auto url = url_of(app->name, tld, port, scheme);
    list += fmt::format("<li><a href=\"{0}\">{1}</a> <code>{0}</code></li>\n", escape_html(url),
                        escape_html(app->name));
  }
  std::string body = fmt::format("<p>No app is named <code>{}</code>.</p>\n", escape_html(host));
  body += list.empty() ? "<p>No apps are running. Start one with <code>rp up</code> in its "
                         "directory.</p>\n"
                       : "<p>Known apps:</p><ul>\n" + list + "</ul>\n";
  body += fmt::format("<p>Their state and logs: <a href=\"{0}\">{0}</a></p>\n",
                      escape_html(url_of("rp", tld, port, scheme)));
  return {"text/html; charset=utf-8", html_page("No such app", body), {}};
}

Page upstream_error_page(int status, const AppStatus& app, std::string_view process,
                         std::string_view what, bool html,
                         const std::vector<std::string>& boot_log) {
  std::string states, log;
  for (const auto& line : boot_log) log += line + "\n";
  for (const auto& inst : app.of(process)) {
    states += fmt::format("{}{} {} (port {})", states.empty() ? "" : ", ", inst->label,
                          to_string(inst->state.load()), inst->port);
    for (auto& line : inst->log.tail(20)) log += fmt::format("{} | {}\n", inst->label, line);
  }
  if (log.empty()) log = "(no output yet)\n";
  std::string title =
      fmt::format("{} {}: {} / {}", status, http::reason_phrase(status), app.name, process);
  if (!html) {
    return {"text/plain; charset=utf-8",
            fmt::format("rp: {}\n{}\nState: {}\n\nLast output:\n{}", title, what, states, log),
            {}};
  }
  std::string body = fmt::format(
      "<p>{}</p>\n<p>State: {}</p>\n<p>Last output:</p>\n<pre>{}</pre>\n"
      "<p>Reload when it is fixed; <code>rp logs {}</code> shows more{}.</p>\n",
      escape_html(what), escape_html(states), escape_html(log), escape_html(app.name),
      app.logs_url.empty() ? std::string()
                           : fmt::format(", and so does <a href=\"{}\">the dashboard</a>",
                                         escape_html(app.logs_url)));
  return {"text/html; charset=utf-8", html_page(title, body), {}};
}

Page plain_error_page(int status, std::string_view what, bool html) {
  std::string title = fmt::format("{} {}", status, http::reason_phrase(status));
  if (!html) return {"text/plain; charset=utf-8", fmt::format("rp: {}: {}\n", title, what), {}};
  return {"text/html; charset=utf-8",
          html_page(title, fmt::format("<p>{}</p>\n", escape_html(what))),
          {}};
}

}  // namespace rp::proxy
