#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "cmd/daemon/control_request.hpp"

using namespace rp::cmd;

namespace {

using Read = std::optional<std::variant<Request, RequestRefusal>>;

// Feeds `bytes` in pieces of `step`, as reads deliver them; what the reader made of them.
Read read(std::string_view bytes, std::size_t step = 4096, bool browser = false,
          std::size_t max_body = RequestReader::kMaxBody) {
  RequestReader reader(browser, max_body);
  while (!bytes.empty()) {
    const auto piece = bytes.substr(0, step);
    bytes.remove_prefix(piece.size());
    if (auto r = reader.feed(piece)) return r;
  }
  return std::nullopt;
}

const Request& request_in(const Read& r) {
  REQUIRE(r.has_value());
  REQUIRE(std::holds_alternative<Request>(*r));
  return std::get<Request>(*r);
}

const RequestRefusal& refusal_in(const Read& r) {
  REQUIRE(r.has_value());
  REQUIRE(std::holds_alternative<RequestRefusal>(*r));
  return std::get<RequestRefusal>(*r);
}

}  // namespace

TEST_CASE("control_request: a GET with a query", "[control_request]") {
  const auto r = read("GET /v1/logs?app=shop&n=5 HTTP/1.1\r\nHost: rp\r\n\r\n");
  const auto& request = request_in(r);
  CHECK(request.method == "GET");
  CHECK(request.path == "/v1/logs");
  CHECK(request.query == std::map<std::string, std::string>{{"app", "shop"}, {"n", "5"}});
  CHECK(request.body.empty());
  CHECK(request.host == "rp");
  CHECK_FALSE(request.browser);
}

TEST_CASE("control_request: a JSON body, in pieces of any size", "[control_request]") {
  const std::string bytes =
      "POST /v1/up HTTP/1.1\r\nHost: rp\r\nContent-Type: application/json\r\n"
      "Content-Length: 17\r\n\r\n{\"dir\": \"/shop\"}\n";
  for (std::size_t step : {1, 7, 64, 4096}) {
    INFO(step);
    const auto r = read(bytes, step);
    const auto& request = request_in(r);
    CHECK(request.path == "/v1/up");
    CHECK(request.body.at("dir").as_string() == "/shop");
    CHECK(request.content_type == "application/json");
  }
  // Not whole yet: the reader waits for more.
  CHECK_FALSE(read(bytes.substr(0, bytes.size() - 1)).has_value());
}

TEST_CASE("control_request: a browser's headers", "[control_request]") {
  const auto r = read(
      "POST /v1/apps/shop/stop HTTP/1.1\r\nHost: rp.test\r\nOrigin: http://rp.test\r\n"
      "X-Rp-Token: abc\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      4096, true);
  const auto& request = request_in(r);
  CHECK(request.browser);
  CHECK(request.host == "rp.test");
  CHECK(request.origin == "http://rp.test");
  CHECK(request.token == "abc");
}

TEST_CASE("control_request: refusals", "[control_request]") {
  SECTION("not HTTP") {
    const auto r = read("hello\r\n\r\n");
    const auto& refusal = refusal_in(r);
    CHECK(refusal.status == 400);
    CHECK(refusal.message.starts_with("malformed request: "));
  }
  SECTION("a body that is not a JSON object") {
    for (std::string_view body : {"[1,2]", "{\"a\":", "\"text\""}) {
      const std::string bytes =
          "POST /v1/links HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
          std::string(body);
      const auto r = read(bytes);
      const auto& refusal = refusal_in(r);
      CHECK(refusal.status == 400);
      CHECK(refusal.message == "the body must be a JSON object");
    }
  }
  SECTION("a body over the limit, before all of it has come") {
    const std::string head = "POST /v1/up HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
    const auto r = read(head + std::string(65, ' '), 4096, false, 64);
    const auto& refusal = refusal_in(r);
    CHECK(refusal.status == 413);
    CHECK(refusal.message == "the request body is too large");
  }
}
