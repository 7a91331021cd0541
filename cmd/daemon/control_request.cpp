#include "cmd/daemon/control_request.hpp"

#include <boost/json/parse.hpp>

#include "cmd/daemon/api_json.hpp"

namespace json = boost::json;

namespace rp::cmd {
namespace {

// The request a parsed message makes; nullopt and `error` when its body is not a JSON object.
std::optional<Request> request_of(const http::Head& head, const std::string& body, bool browser,
                                  std::string& error) {
  Request request;
  request.method = head.method;
  request.browser = browser;
  auto header = [&head](std::string_view name) {
    const std::string* value = head.find(name);
    return value ? *value : std::string();
  };
  request.host = header("Host");
  request.origin = header("Origin");
  request.token = header("X-Rp-Token");
  request.content_type = header("Content-Type");
  auto q = head.target.find('?');
  request.path = head.target.substr(0, q);
  if (q != std::string::npos) {
    request.query = parse_query(std::string_view(head.target).substr(q + 1));
  }
  if (!body.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      error = "the body must be a JSON object";
      return std::nullopt;
    }
    request.body = std::move(parsed.as_object());
  }
  return request;
}

}  // namespace

RequestReader::RequestReader(bool browser, std::size_t max_body)
    : parser_(http::Parser::Kind::request), browser_(browser), max_body_(max_body) {}

std::optional<std::variant<Request, RequestRefusal>> RequestReader::feed(std::string_view data) {
  for (;;) {
    auto step = parser_.feed(data);
    data.remove_prefix(step.consumed);
    for (auto part : step.body) body_ += part;
    if (body_.size() > max_body_) return RequestRefusal{413, "the request body is too large"};
    if (step.status == http::Parser::Status::error) {
      std::string message = "malformed request: ";
      message += parser_.error();
      return RequestRefusal{400, std::move(message)};
    }
    if (step.status == http::Parser::Status::message_done ||
        step.status == http::Parser::Status::upgrade) {
      break;
    }
    // After the head the parser goes on with the body, or ends a message that has none.
    if (step.status != http::Parser::Status::head_done) return std::nullopt;
  }
  std::string error;
  if (auto request = request_of(parser_.head(), body_, browser_, error)) return std::move(*request);
  return RequestRefusal{400, std::move(error)};
}

}  // namespace rp::cmd
