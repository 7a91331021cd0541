// The HTTP/1.1 messages rp writes and reads itself, beside the proxy's forwarding: its own small
// answers (error pages, the control API), the request heads of its clients (`rp` commands to the
// daemon, `rp doctor`'s probe), and a reader that takes a response apart with the same llhttp
// Parser the proxy uses. One codec for every HTTP rp speaks: no second status table, no status
// line read with sscanf.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "proxy/http/parser.hpp"

namespace rp::http {

// The standard reason phrase (RFC 9110), "Status" for a code rp has no name for.
std::string_view reason_phrase(int status);

// Whether a Host header (or :authority) is a host as RFC 3986 writes one: a name, an IPv4
// address or a bracketed IPv6 address, then at most a port of digits. Nothing else: no user
// info, no path, no white space, and no second colon (`rp.test:80.evil.example`).
bool valid_host(std::string_view host);

// Whether `name` is a header of this hop only (RFC 9110 7.6.1: Connection, Keep-Alive, TE,
// Transfer-Encoding, Upgrade, … and what Connection names), or one whose framing rp sets itself
// (Content-Length): not passed on as it came.
bool is_hop_by_hop(const Head& head, std::string_view name);

// The same for every header of one head, its Connection header looked for once rather than once
// per header.
class HopByHop {
 public:
  explicit HopByHop(const Head& head);
  bool operator()(std::string_view name) const;

 private:
  const Head& head_;
  bool has_connection_;
};

// A header rp writes. The value is a string so that numbers can be formatted in place.
struct Field {
  std::string_view name;
  std::string value;
};

// A request head: "METHOD TARGET HTTP/1.1", the fields in order, the blank line.
std::string request_head(std::string_view method, std::string_view target,
                         std::initializer_list<Field> fields);

// A response head: "HTTP/1.1 STATUS REASON", the fields in order, the blank line.
std::string response_head(int status, std::initializer_list<Field> fields);

// A complete small response rp makes itself (errors, 404 lists), marked `Server: rp` so that
// `rp doctor` can tell rp from another server on the port.
// `extra_headers`: whole header lines, each ending in CRLF ("Location: /x\r\n").
std::string simple_response(int status, std::string_view reason, std::string_view content_type,
                            std::string_view body, bool keep_alive, bool head_request = false,
                            std::string_view extra_headers = {});

// One response, read from bytes as they arrive: the head, then the body decoded whatever its
// framing (a length, chunked, or until the connection closes). Pure: the caller owns the
// socket and hands over what it received.
class ResponseReader {
 public:
  ResponseReader() : parser_(Parser::Kind::response) {}

  // Takes bytes received. What follows the end of the response is ignored: rp's clients send
  // one request per connection.
  void feed(std::string_view data);
  // The connection closed: ends a body that runs until close, or marks the response cut short.
  void finish();

  // The head is complete (status, headers).
  bool has_head() const { return has_head_; }
  const Head& head() const { return parser_.head(); }
  // The response ended, whole.
  bool done() const { return done_; }
  // It cannot be read: not HTTP, or it ended before it was whole. error() says how.
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // The decoded body bytes received and not yet taken; the caller takes them by consuming
  // this string (NDJSON streams take it line by line).
  std::string& body() { return body_; }

 private:
  void take(const Parser::Step& step);

  Parser parser_;
  std::string body_;
  std::string error_;
  bool has_head_ = false;
  bool done_ = false;
};

}  // namespace rp::http
