// A request to the control API as a value, and the reader that makes one from the bytes of a
// connection: head and body with the proxy's llhttp Parser, the body within a size limit and a
// JSON object when there is one. No sockets: control_socket reads and writes, this decides what
// the bytes mean (and is fuzzed, fuzz/control_fuzz.cpp).
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "proxy/http/parser.hpp"

namespace rp::cmd {

// A request, as the handlers see it: made fresh for each connection.
struct Request {
  std::string method;
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // ?a=b&c=d, undecoded
  boost::json::object body;                  // empty when none was sent
  // The dashboard's listener: a browser's request by way of the proxy, with the headers its
  // rules look at (empty when not sent).
  bool browser = false;
  std::string host;
  std::string origin;
  std::string token;  // X-Rp-Token
  std::string content_type;
};

// Why a request is answered before any handler sees it: 400 (not HTTP, or a body that is not a
// JSON object) or 413 (a body over the limit).
struct RequestRefusal {
  int status = 0;
  std::string message;
};

class RequestReader {
 public:
  // A request body is a few hundred bytes of JSON (an environment, at most): more is a mistake.
  static constexpr std::size_t kMaxBody = 1 << 20;

  explicit RequestReader(bool browser, std::size_t max_body = kMaxBody);

  // Takes the next bytes read: nullopt while the request is not whole, then the request or why
  // it is refused. Bytes after the end of the request are ignored (one request per connection).
  std::optional<std::variant<Request, RequestRefusal>> feed(std::string_view data);

 private:
  http::Parser parser_;
  std::string body_;
  bool browser_;
  std::size_t max_body_;
};

}  // namespace rp::cmd
