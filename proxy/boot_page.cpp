#include "proxy/boot_page.hpp"

#include <fmt/format.h>

#include "proxy/json_escape.hpp"
#include "proxy/random_hex.hpp"

namespace rp::proxy {
namespace {

// The output so far: the web process's instances first, then the others', 40 lines each.
std::vector<std::string> output_of(const AppStatus& app) {
  std::vector<std::string> lines;
  auto add = [&lines](const InstanceStatus& inst) {
    for (auto& line : inst.log.tail(40)) lines.push_back(inst.label + " | " + line);
  };
  for (const auto& inst : app.instances) {
    if (inst->process == app.web) add(*inst);
  }
  for (const auto& inst : app.instances) {
    if (inst->process != app.web) add(*inst);
  }
  return lines;
}

std::string_view state_of(const AppStatus& app) {
  if (!app.activity) return "starting";
  switch (app.activity->phase.load(std::memory_order_acquire)) {
    case AppPhase::failed:
      return "failed";
    case AppPhase::stopped:
      return "stopped";
    case AppPhase::stopping:
      return "stopping";
    default:
      return "starting";
  }
}

// The page's script: asks again every 250 ms; an answer without X-Rp-Boot-State is the app's.
constexpr std::string_view kScript = R"(
const log = document.getElementById('log'), said = document.getElementById('said');
const strip = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '');
async function ask() {
  try {
    const r = await fetch(location.href, {headers: {'X-Rp-Boot': '1'}, cache: 'no-store'});
    const state = r.headers.get('X-Rp-Boot-State');
    if (!state) { location.reload(); return; }
    const b = await r.json();
    const end = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = strip(b.log.join('\n')) || '(no output yet)';
    if (end) log.scrollTop = log.scrollHeight;
    if (state === 'failed' || state === 'stopped') {
      said.textContent = state === 'failed'
        ? 'It failed to start: its last output is below. Fix it, then reload.'
        : 'It was stopped. Reload to start it again.';
      document.body.classList.add('failed');
      return;
    }
  } catch (e) {}
  setTimeout(ask, 250);
}
ask();
)";

}  // namespace

bool is_navigation(const http::Head& request, bool html) {
  if (request.method != "GET") return false;
  if (const std::string* mode = request.find("Sec-Fetch-Mode")) return *mode == "navigate";
  return html;
}

bool is_boot_poll(const http::Head& request) {
  return request.find("X-Rp-Boot") != nullptr;
}

Page boot_page(const AppStatus& app) {
  std::string log;
  for (const auto& line : output_of(app)) log += escape_html(line) + "\n";
  // A fresh nonce for the page's script and style: the page allows only its own.
  const std::string n = random_hex(16);
  Page page;
  page.content_type = "text/html; charset=utf-8";
  page.body = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Starting {0}…</title>\n<style nonce=\"{1}\">"
      "body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:3rem auto;padding:0 1rem}}"
      "h1{{font-size:1.4rem}}pre{{background:#111;color:#eee;padding:1rem;height:24rem;"
      "overflow:auto;font-size:13px;white-space:pre-wrap}}.failed #said{{color:#b91c1c}}"
      "</style></head>\n<body><h1>Starting {0}…</h1>\n"
      "<p id=\"said\">rp is starting {0}; this page becomes the app as soon as it is ready.</p>\n"
      "<pre id=\"log\">{2}</pre>\n<script nonce=\"{1}\">{3}</script>\n</body></html>\n",
      escape_html(app.name), n, log.empty() ? "(no output yet)\n" : log, kScript);
  page.headers = {{"Content-Security-Policy",
                   fmt::format("default-src 'none'; script-src 'nonce-{0}'; style-src 'nonce-{0}'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
                               n)},
                  {"Retry-After", "1"}};
  return page;
}

Page boot_progress(const AppStatus& app) {
  const std::string_view state = state_of(app);
  std::string body = R"({"state":")";
  body += state;
  body += R"(","log":[)";
  bool first = true;
  for (const auto& line : output_of(app)) {
    body += first ? "\"" : ",\"";
    append_json_string(body, line);
    body += '"';
    first = false;
  }
  body += "]}\n";
  Page page;
  page.content_type = "application/json";
  page.body = std::move(body);
  page.headers = {{"X-Rp-Boot-State", std::string(state)}};
  return page;
}

}  // namespace rp::proxy
