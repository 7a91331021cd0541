// libFuzzer target over the dashboard's rules (cmd/daemon/dashboard_gate.hpp): what a browser's
// request may do, decided from its method, path, Host, Origin, X-Rp-Token and Content-Type, and
// the headers every answer to a browser carries. Bit 0 of the first byte chooses how the rest
// becomes a request: clear, it is split at NULs into those six fields as they are, then an
// answer for for_browsers (the rest, NULs and all); set, it is a connection's bytes, read as the
// daemon's dashboard listener reads them (RequestReader), and the answer is the gate's own.
// The daemon's TLDs and token are fixed, a token made as the daemon makes one (64 hex digits);
// the seeds carry it, since the gate compares it in constant time, with no comparison of bytes
// that libFuzzer could learn it from.
// For any request, the verdict is the one the header's rules give, checked against a reading of
// them written apart from the gate's: no name but rp.<tld> is answered, no GET reaches anything
// but the page and the three read-only paths, and no change is admitted without rp's own
// Origin, the exact token and JSON; an admitted change stops being admitted when its token, its
// Origin or its Host is changed in any of a few near ways. Every answer to a browser carries
// the strict headers and keeps its status line and body. Nothing may crash, leak or read out of
// bounds (ASan, UBSan), and no exception may escape.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/control_request.hpp"
#include "cmd/daemon/dashboard_files.hpp"
#include "cmd/daemon/dashboard_gate.hpp"
#include "fuzz/checks.hpp"

namespace {

using rp::fuzz::require;
using namespace std::string_literals;

const std::vector<std::string> kTlds{"test", "localhost"};
const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether `host` is rp.<tld>, as a Host header may write it: in any case, with trailing dots,
// and a port of digits or none.
bool names_rp(std::string_view host) {
  const std::string h = lower(host);
  for (const auto& tld : kTlds) {
    const std::string name = "rp." + tld;
    if (!h.starts_with(name)) continue;
    std::string_view rest = std::string_view(h).substr(name.size());
    while (rest.starts_with('.')) rest.remove_prefix(1);
    if (rest.empty()) return true;
    // A port is digits, at most five of them (http::valid_host).
    const std::string_view port = rest.substr(1);
    if (rest.front() == ':' && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return true;
    }
  }
  return false;
}

bool is_page(std::string_view path) {
  const auto files = rp::cmd::dashboard_files();
  return path == "/" || std::any_of(files.begin(), files.end(),
                                    [&](const rp::cmd::PageFile& f) { return f.path == path; });
}

bool readable_path(std::string_view path) {
  return is_page(path) || path == "/v1/status" || path == "/v1/events" || path == "/v1/logs";
}

// /v1/apps/NAME/ACTION, empty segments aside, with one of the actions a page may take.
bool control_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (slash != 0) parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts.size() == 4 && parts[0] == "v1" && parts[1] == "apps" &&
         (parts[3] == "start" || parts[3] == "stop" || parts[3] == "restart");
}

bool own_origin(const rp::cmd::Request& r) {
  const std::string origin = lower(r.origin);
  return origin == "http://" + lower(r.host) || origin == "https://" + lower(r.host);
}

int status_of(const rp::cmd::Request& r) {
  return rp::cmd::check_browser_request(r, kTlds, kToken).status;
}

// The headers every answer to a browser gets, and what it already had kept: the status line,
// every header and the body, in order.
void check_for_browsers(const std::string& answer) {
  const std::string out = rp::cmd::for_browsers(answer);
  const auto end = answer.find("\r\n\r\n");
  if (end == std::string::npos) {
    require(out == answer);
    return;
  }
  const std::string_view kept_head = std::string_view(answer).substr(0, end + 2);
  const std::string_view kept_rest = std::string_view(answer).substr(end + 2);
  require(out.size() > answer.size());
  require(out.starts_with(kept_head) && out.ends_with(kept_rest));
  const std::string_view added =
      std::string_view(out).substr(kept_head.size(), out.size() - answer.size());
  for (std::string_view header :
       {"Content-Security-Policy: default-src 'none';", "frame-ancestors 'none'\r\n",
        "X-Content-Type-Options: nosniff\r\n", "X-Frame-Options: DENY\r\n",
        "Referrer-Policy: no-referrer\r\n"}) {
    require(added.find(header) != std::string_view::npos);
  }
  require(added.ends_with("\r\n") && added.find("Access-Control") == std::string_view::npos);
  // One Cache-Control: the answer's own, else no-store.
  const bool had_cache_control = kept_head.find("Cache-Control:") != std::string_view::npos;
  require((added.find("Cache-Control: no-store\r\n") != std::string_view::npos) !=
          had_cache_control);
}

// An admitted change, changed in a near way, is refused.
void check_near_misses(const rp::cmd::Request& admitted) {
  std::string flipped = kToken;
  flipped.back() ^= 1;
  std::string upper = kToken;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& token :
       {std::string(), kToken + "0", kToken.substr(1), kToken.substr(0, 63), flipped, upper}) {
    auto r = admitted;
    r.token = token;
    require(status_of(r) == 403);
  }
  for (const auto& origin :
       {""s, "null"s, "http://evil.example"s, admitted.origin + ".evil.example",
        admitted.origin + ":1", "ftp://" + admitted.host, "http://" + admitted.host + "/"}) {
    auto r = admitted;
    r.origin = origin;
    require(status_of(r) == 403);
  }
  for (const auto& host : {""s, "evil.example"s, "x" + admitted.host, "rp.example"s,
                           "rp.test.evil.example"s, "127.0.0.1:7780"s, "[::1]"s}) {
    // The page's Origin follows its Host: a rebinding page has its own name in both.
    auto r = admitted;
    r.host = host;
    r.origin = "http://" + host;
    require(status_of(r) == 403);
  }
  auto get = admitted;
  get.method = "GET";
  require(status_of(get) == 404);  // no GET changes anything
  auto form = admitted;
  form.content_type = "application/x-www-form-urlencoded";
  require(status_of(form) == 403);
}

void check_request(const rp::cmd::Request& r) {
  const auto verdict = rp::cmd::check_browser_request(r, kTlds, kToken);
  require(verdict.status == 0 || verdict.status == 403 || verdict.status == 404 ||
          verdict.status == 405);
  require(verdict.ok() == (verdict.status == 0));
  require(verdict.ok() == verdict.message.empty());
  require(rp::cmd::is_page_path(r.path) == is_page(r.path));

  // rp's own name and no other, with a port or none: the page itself is there exactly then.
  auto page = r;
  page.method = "GET";
  page.path = "/";
  require(status_of(page) == (names_rp(r.host) ? 0 : 403));

  if (!names_rp(r.host)) {
    require(verdict.status == 403);
  } else if (r.method == "GET" || r.method == "HEAD") {
    require(verdict.status == (readable_path(r.path) ? 0 : 404));
  } else if (r.method == "OPTIONS") {
    require(verdict.status == 405);
  } else if (verdict.ok()) {
    require(r.method == "POST" && control_path(r.path) && own_origin(r) && r.token == kToken);
    require(lower(r.content_type).starts_with("application/json"));
    check_near_misses(r);
  } else {
    require(verdict.status == 403);
  }

  if (!verdict.ok()) {
    check_for_browsers(rp::cmd::error_answer(verdict.status, verdict.message));
  }
}

// The bytes as the dashboard's listener reads them.
void read_connection(std::string_view bytes) {
  rp::cmd::RequestReader reader(true);
  const auto read = reader.feed(bytes);
  if (!read) return;
  if (const auto* request = std::get_if<rp::cmd::Request>(&*read)) {
    require(request->browser);
    check_request(*request);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    read_connection(rest);
    return 0;
  }
  // method, path, Host, Origin, X-Rp-Token, Content-Type; then the answer.
  std::string fields[6];
  for (auto& field : fields) {
    const auto nul = rest.find('\0');
    field = rest.substr(0, nul);
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  }
  rp::cmd::Request r;
  r.browser = true;
  r.method = fields[0];
  r.path = fields[1];
  r.host = fields[2];
  r.origin = fields[3];
  r.token = fields[4];
  r.content_type = fields[5];
  check_request(r);
  check_for_browsers(std::string(rest));
  return 0;
}
