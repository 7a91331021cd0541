#include "proxy/h2/request.hpp"

#include <charconv>

#include "proxy/http/message.hpp"

namespace rp::h2 {
namespace {

// What HTTP/1.1 would read as the end of a field or a message.
bool has_line_breaking(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// ASCII only, as header names are (std::tolower consults the locale for every byte).
void lower_in_place(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
}

// Headers written over those a list held, whose strings keep their memory: a connection's
// messages tend to carry the same ones, so that most need no allocation. finish() drops what is
// left of the old list.
class Overwriter {
 public:
  explicit Overwriter(std::vector<http::Header>& out) : out_(out) {}
  http::Header& put(std::string_view name, std::string_view value) {
    if (used_ == out_.size()) out_.emplace_back();
    http::Header& field = out_[used_++];
    field.name.assign(name);
    field.value.assign(value);
    return field;
  }
  void finish() { out_.resize(used_); }

 private:
  std::vector<http::Header>& out_;
  std::size_t used_ = 0;
};

}  // namespace

std::string lower_case(std::string_view s) {
  std::string out(s);
  lower_in_place(out);
  return out;
}

void add_field(Request& request, std::string_view name, std::string_view value, std::size_t limit) {
  request.size += name.size() + value.size() + 32;
  if (request.size > limit) request.too_large = true;
  if (request.too_large) return;
  if (name == ":method") {
    request.method = value;
  } else if (name == ":scheme") {
    request.scheme = value;
  } else if (name == ":authority") {
    request.authority = value;
  } else if (name == ":path") {
    request.path = value;
  } else if (name == ":protocol") {
    request.protocol = value;
  } else {
    http::add_reusing(request.fields, request.spare_fields, name, value);
  }
}

void Request::clear() {
  // A large header list leaves no lasting memory behind: a connection keeps a Request for each of
  // its streams.
  constexpr std::size_t kMostKept = 8 * 1024;
  if (size > kMostKept) {
    *this = Request{};
    return;
  }
  method.clear();
  scheme.clear();
  authority.clear();
  path.clear();
  protocol.clear();
  http::keep_for_reuse(fields, spare_fields);
  size = 0;
  too_large = false;
}

bool is_websocket(const Request& request) {
  return request.method == "CONNECT" && http::iequals(request.protocol, "websocket");
}

Refusal to_http1(const Request& request, bool end_stream, std::string_view websocket_key,
                 http::Head& out) {
  Overwriter headers(out.headers);
  out.status = 0;
  out.reason.clear();
  out.chunked = false;
  out.content_length.reset();
  out.upgrade = false;
  const bool websocket = is_websocket(request);
  if (request.method == "CONNECT" && !websocket) {
    if (!request.protocol.empty()) {
      return {501, "rp tunnels only WebSocket over HTTP/2, not " + request.protocol + "."};
    }
    return {405, "rp is not a forward proxy: CONNECT is not served here."};
  }
  if (request.method.empty() || request.path.empty()) {
    return {400, "the request has no :method or :path."};
  }
  std::string_view host = request.authority;
  std::size_t hosts = 0;
  for (const auto& f : request.fields) {
    if (has_line_breaking(f.name) || has_line_breaking(f.value)) {
      return {400, "a header holds a line break or a NUL."};
    }
    if (f.name == "host") {
      ++hosts;
      if (host.empty()) host = f.value;
      if (f.value != host) return {400, "the request's Host and :authority differ."};
    }
  }
  if (hosts > 1) return {400, "the request has more than one Host header."};
  if (host.empty()) return {400, "the request has no :authority."};
  if (!http::valid_host(host)) return {400, "the request's :authority is not a host name."};
  if (has_line_breaking(request.method) || has_line_breaking(request.path) ||
      request.method.find(' ') != std::string::npos ||
      request.path.find(' ') != std::string::npos) {
    return {400, "the request's :method or :path is not valid."};
  }

  out.method.assign(websocket ? std::string_view("GET") : std::string_view(request.method));
  out.target.assign(request.path);
  // Via names the protocol the client spoke: "2.0 rp-…".
  out.version_major = 2;
  out.version_minor = 0;
  headers.put("host", host);
  std::string cookie;
  for (const auto& f : request.fields) {
    if (f.name == "host") continue;
    if (f.name == "cookie") {
      // HTTP/2 may split Cookie into crumbs (RFC 9113 8.2.3); HTTP/1.1 wants one field.
      if (!cookie.empty()) cookie += "; ";
      cookie += f.value;
      continue;
    }
    if (f.name == "content-length") {
      std::uint64_t length = 0;
      const auto* end = f.value.data() + f.value.size();
      auto [ptr, ec] = std::from_chars(f.value.data(), end, length);
      if (ec != std::errc() || ptr != end || f.value.empty() ||
          (out.content_length && *out.content_length != length)) {
        return {400, "the request's content-length is not valid."};
      }
      out.content_length = length;
      continue;
    }
    headers.put(f.name, f.value);
  }
  if (!cookie.empty()) headers.put("cookie", cookie);
  if (websocket) {
    out.upgrade = true;
    headers.put("upgrade", "websocket");
    headers.put("sec-websocket-key", websocket_key);
    out.content_length.reset();
  } else if (end_stream) {
    // No body. A length the client gave anyway (0) is kept; nghttp2 has checked it against DATA.
  } else if (!out.content_length) {
    out.chunked = true;
  }
  out.keep_alive = true;
  headers.finish();
  return {};
}

void response_fields(const http::Head& response, std::vector<http::Header>& out) {
  Overwriter fields(out);
  const bool websocket = response.status == 101;
  const http::HopByHop hop_by_hop(response);
  for (const auto& h : response.headers) {
    if (http::iequals(h.name, "content-length")) {
      // The app's length describes the body that follows (or, for HEAD, the one it would send).
      if (response.status >= 200 && response.status != 204) fields.put("content-length", h.value);
      continue;
    }
    if (hop_by_hop(h.name)) continue;
    if (websocket && http::iequals(h.name, "sec-websocket-accept")) continue;
    lower_in_place(fields.put(h.name, h.value).name);
  }
  fields.finish();
}

int response_status(int status, bool websocket) {
  return websocket && status == 101 ? 200 : status;
}

}  // namespace rp::h2
