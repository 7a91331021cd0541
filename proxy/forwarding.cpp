#include "proxy/forwarding.hpp"

#include <fmt/format.h>

#include <iterator>

#include "proxy/http/message.hpp"

namespace rp::http {
namespace {

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

bool is_loop(const Head& request, const Pseudonym& self) {
  for (const auto& h : request.headers) {
    if (iequals(h.name, "via") && h.value.find(self.token) != std::string::npos) return true;
  }
  return false;
}

std::string upstream_request(const Head& request, const ClientInfo& client, const Pseudonym& self) {
  std::string out;
  append_upstream_request(out, request, client, self);
  return out;
}

void append_upstream_request(std::string& out, const Head& request, const ClientInfo& client,
                             const Pseudonym& self) {
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  std::string forwarded_for, via;
  const HopByHop hop_by_hop(request);
  for (const auto& h : request.headers) {
    // Several of these are one comma-separated list (RFC 9110 5.3): every hop is kept.
    if (iequals(h.name, "x-forwarded-for")) {
      forwarded_for += (forwarded_for.empty() ? "" : ", ") + h.value;
    } else if (iequals(h.name, "via")) {
      via += (via.empty() ? "" : ", ") + h.value;
    } else if (iequals(h.name, "x-forwarded-proto") || iequals(h.name, "x-forwarded-host") ||
               iequals(h.name, "x-forwarded-port")) {
      // rp is the first proxy that knows these for certain; a client's own are not trusted.
    } else if (!hop_by_hop(h.name)) {
      append_header(out, h.name, h.value);
    }
  }
  out.append("X-Forwarded-For: ");
  if (!forwarded_for.empty()) out.append(forwarded_for).append(", ");
  out.append(client.address).append("\r\n");
  append_header(out, "X-Forwarded-Proto", client.proto);
  if (const std::string* host = request.find("host")) append_header(out, "X-Forwarded-Host", *host);
  fmt::format_to(std::back_inserter(out), "X-Forwarded-Port: {}\r\n", client.local_port);
  out.append("Via: ");
  if (!via.empty()) out.append(via).append(", ");
  fmt::format_to(std::back_inserter(out), "{}.{} {}\r\n", request.version_major,
                 request.version_minor, self.token);
  if (request.upgrade) {
    if (const std::string* up = request.find("upgrade")) append_header(out, "Upgrade", *up);
    append_header(out, "Connection", "Upgrade");
  }
  if (request.chunked) {
    append_header(out, "Transfer-Encoding", "chunked");
  } else if (request.content_length) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", *request.content_length);
  }
  out.append("\r\n");
}

Framing response_framing(const Head& response, bool head_request, bool client_http11) {
  const int s = response.status;
  if (head_request || (s >= 100 && s < 200) || s == 204 || s == 304) return Framing::none;
  if (response.content_length) return Framing::length;
  return client_http11 ? Framing::chunked : Framing::until_close;
}

std::string client_response(const Head& response, Framing framing, bool keep_alive,
                            bool announce_keep_alive) {
  std::string out;
  append_client_response(out, response, framing, keep_alive, announce_keep_alive);
  return out;
}

void append_client_response(std::string& out, const Head& response, Framing framing,
                            bool keep_alive, bool announce_keep_alive) {
  std::string_view reason =
      response.reason.empty() ? reason_phrase(response.status) : std::string_view(response.reason);
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", response.status, reason);
  const HopByHop hop_by_hop(response);
  for (const auto& h : response.headers) {
    if (!hop_by_hop(h.name)) append_header(out, h.name, h.value);
  }
  if (response.status == 101) {
    if (const std::string* up = response.find("upgrade")) append_header(out, "Upgrade", *up);
    append_header(out, "Connection", "Upgrade");
  } else if (response.status >= 200) {
    // HEAD, 204 and 304 keep the length the app gave: it describes the representation.
    if (response.content_length && (framing == Framing::length || framing == Framing::none) &&
        response.status != 204) {
      fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", *response.content_length);
    }
    if (framing == Framing::chunked) append_header(out, "Transfer-Encoding", "chunked");
    if (!keep_alive || framing == Framing::until_close) {
      append_header(out, "Connection", "close");
    } else if (announce_keep_alive) {
      append_header(out, "Connection", "keep-alive");
    }
  }
  out.append("\r\n");
}

}  // namespace rp::http
