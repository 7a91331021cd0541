#include "proxy/http/message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace rp::http {
namespace {

// RFC 9110 7.6.1, plus the old Proxy-Connection and the framing headers rp sets itself.
constexpr std::string_view kHopByHop[] = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "content-length",
};

void append_fields(std::string& out, std::initializer_list<Field> fields) {
  for (const auto& f : fields) {
    out.append(f.name);
    out.append(": ");
    out.append(f.value);
    out.append("\r\n");
  }
  out.append("\r\n");
}

// ASCII only, whatever the locale.
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_letter_or_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

bool valid_host(std::string_view host) {
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!is_hex_digit(c) && c != ':' && c != '.') return false;
    }
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    port = after.empty() ? after : after.substr(1);
  } else {
    const auto colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    // A reg-name: unreserved characters, sub-delims and percent-escapes (RFC 3986 section 3.2.2).
    constexpr std::string_view kOther = "-._~%!$&'()*+,;=";
    if (name.empty()) return false;
    for (char c : name) {
      if (!is_letter_or_digit(c) && kOther.find(c) == std::string_view::npos) {
        return false;
      }
    }
    if (colon != std::string_view::npos) port = host.substr(colon + 1);
  }
  if (port.size() > 5) return false;
  return std::all_of(port.begin(), port.end(), is_digit);
}

HopByHop::HopByHop(const Head& head)
    : head_(head), has_connection_(head.find("connection") != nullptr) {}

bool HopByHop::operator()(std::string_view name) const {
  for (auto h : kHopByHop) {
    if (iequals(name, h)) return true;
  }
  return has_connection_ && head_.has_token("connection", name);
}

bool is_hop_by_hop(const Head& head, std::string_view name) {
  return HopByHop(head)(name);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 508:
      return "Loop Detected";
    default:
      return "Status";
  }
}

std::string request_head(std::string_view method, std::string_view target,
                         std::initializer_list<Field> fields) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  append_fields(out, fields);
  return out;
}

std::string response_head(int status, std::initializer_list<Field> fields) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
  append_fields(out, fields);
  return out;
}

std::string simple_response(int status, std::string_view reason, std::string_view content_type,
                            std::string_view body, bool keep_alive, bool head_request,
                            std::string_view extra_headers) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nServer: rp\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
      "Cache-Control: no-store\r\n{}{}\r\n",
      status, reason, content_type, body.size(), extra_headers,
      keep_alive ? "" : "Connection: close\r\n");
  if (!head_request) out.append(body);
  return out;
}

void ResponseReader::take(const Parser::Step& step) {
  for (auto part : step.body) body_.append(part);
  if (!parser_.in_head() && (parser_.message_started() || step.status != Parser::Status::need_more))
    has_head_ = true;
  switch (step.status) {
    case Parser::Status::need_more:
    case Parser::Status::head_done:
      break;
    case Parser::Status::message_done:
    case Parser::Status::upgrade:
      done_ = true;
      break;
    case Parser::Status::error:
      error_ = parser_.error().empty() ? "malformed response" : parser_.error();
      break;
  }
}

void ResponseReader::feed(std::string_view data) {
  if (done_ || failed() || data.empty()) return;
  take(parser_.feed(data));
}

void ResponseReader::finish() {
  if (done_ || failed()) return;
  if (!parser_.message_started()) {
    error_ = "the connection closed without an answer";
    return;
  }
  take(parser_.finish());
  if (!done_ && !failed()) error_ = "the connection closed in the middle of the answer";
}

}  // namespace rp::http
