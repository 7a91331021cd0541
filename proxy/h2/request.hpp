// An HTTP/2 request as its HEADERS bring it, and the HTTP/1.1 request rp forwards for it (the apps
// keep speaking HTTP/1.1): `:authority` becomes Host, cookie crumbs are joined into one Cookie, a
// WebSocket's extended CONNECT (RFC 8441) becomes a GET with Upgrade. And the way back: an app's
// response head as HTTP/2 fields. Pure functions, tested and fuzzed; nghttp2 has checked the
// frames and the pseudo-headers before anything reaches them, and what they let through still
// cannot smuggle a second request into the HTTP/1.1 side (no CR, LF or NUL anywhere).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/parser.hpp"

namespace rp::h2 {

struct Request {
  std::string method, scheme, authority, path, protocol;  // the pseudo-headers
  std::vector<http::Header> fields;                       // the others, names in lower case
  std::size_t size = 0;    // the header list's size as RFC 9113 counts it (name + value + 32)
  bool too_large = false;  // it grew past the limit: the rest was dropped, the answer is 431

  // Empties it for the next request on the connection, keeping its memory (unless the header
  // list was over 8 KiB): the fields wait in `spare_fields` (in reverse) for add_field to write
  // over, as a connection's requests tend to carry the same fields, about as long as the last.
  void clear();
  std::vector<http::Header> spare_fields;
};

// Adds a field as it arrives. Past `limit` bytes in all, the request is marked too large and keeps
// no more (a flood of headers costs rp nothing more than counting them).
void add_field(Request& request, std::string_view name, std::string_view value, std::size_t limit);

// Why a request cannot be forwarded: the status to answer with and a sentence for the page.
struct Refusal {
  int status = 0;  // 0: none
  std::string what;
};

// The HTTP/1.1 head to forward for `request` into `out`, over what it held (its Host first, the
// fields as they came, the body framed by Content-Length or else chunked). `end_stream`: the
// HEADERS ended the stream, there is no body. `websocket_key`: the Sec-WebSocket-Key to send for an
// extended CONNECT (HTTP/2 has none; the app's 101 is checked against it by nobody, as the client
// never sees it). Returns the refusal when there is one; `out` is then unspecified.
Refusal to_http1(const Request& request, bool end_stream, std::string_view websocket_key,
                 http::Head& out);

// Whether `request` opens a WebSocket (an extended CONNECT with :protocol websocket).
bool is_websocket(const Request& request);

// The app's response head as HTTP/2 fields (without :status): names in lower case, the
// connection-specific ones dropped (Connection, Keep-Alive, Transfer-Encoding, Upgrade and what
// Connection names); for an accepted WebSocket (101, which HTTP/2 answers with 200) also the
// handshake's own (Sec-WebSocket-Accept). They replace what `out` held.
void response_fields(const http::Head& response, std::vector<http::Header>& out);

// A header name as HTTP/2 writes it (ASCII lower case).
std::string lower_case(std::string_view name);

// The status HTTP/2 answers with for the app's `status`: a WebSocket's 101 is a 200.
int response_status(int status, bool websocket);

}  // namespace rp::h2
