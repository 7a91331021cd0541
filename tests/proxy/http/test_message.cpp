#include <catch2/catch.hpp>
#include <string>

#include "proxy/http/message.hpp"

using rp::http::Parser;
using rp::http::reason_phrase;
using rp::http::request_head;
using rp::http::response_head;
using rp::http::ResponseReader;
using rp::http::valid_host;

TEST_CASE("message: reason phrases of the control API's statuses", "[message]") {
  CHECK(reason_phrase(405) == "Method Not Allowed");
  CHECK(reason_phrase(409) == "Conflict");
  CHECK(reason_phrase(410) == "Gone");
  CHECK(reason_phrase(413) == "Content Too Large");
  CHECK(reason_phrase(422) == "Unprocessable Content");
  CHECK(reason_phrase(299) == "Status");
}

TEST_CASE("message: request_head writes the fields in order and parses back", "[message]") {
  const std::string head =
      request_head("POST", "/v1/up?x=1", {{"Host", "rp"}, {"Content-Length", std::to_string(2)}});
  CHECK(head == "POST /v1/up?x=1 HTTP/1.1\r\nHost: rp\r\nContent-Length: 2\r\n\r\n");
  Parser p(Parser::Kind::request);
  auto step = p.feed(head + "{}");
  REQUIRE(step.status == Parser::Status::head_done);
  CHECK(p.head().method == "POST");
  CHECK(p.head().target == "/v1/up?x=1");
  CHECK(p.head().content_length == 2u);
}

TEST_CASE("message: response_head names the status", "[message]") {
  CHECK(response_head(404, {{"Connection", "close"}}) ==
        "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  CHECK(response_head(200, {}) == "HTTP/1.1 200 OK\r\n\r\n");
}

TEST_CASE("message: ResponseReader reads a response with a length", "[message]") {
  ResponseReader r;
  r.feed("HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\nServer: x\r\n\r\nab");
  REQUIRE(r.has_head());
  CHECK_FALSE(r.done());
  CHECK(r.head().status == 409);
  CHECK(*r.head().find("server") == "x");
  CHECK(r.body() == "ab");
  r.feed("cdeTRAILING");
  CHECK(r.done());
  CHECK_FALSE(r.failed());
  CHECK(r.body() == "abcde");
}

TEST_CASE("message: ResponseReader reads a head split across reads", "[message]") {
  ResponseReader r;
  r.feed("HTTP/1.1 200 O");
  CHECK_FALSE(r.has_head());
  r.feed("K\r\nContent-Type: application/x-ndjson\r\n");
  CHECK_FALSE(r.has_head());
  r.feed("\r\n");
  CHECK(r.has_head());
  CHECK(r.head().status == 200);
}

TEST_CASE("message: ResponseReader decodes a chunked body", "[message]") {
  ResponseReader r;
  r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
  CHECK(r.body() == "{}\n");
  r.body().clear();
  r.feed("2\r\n[]\r\n0\r\n\r\n");
  CHECK(r.body() == "[]");
  CHECK(r.done());
}

TEST_CASE("message: ResponseReader reads a body until the connection closes", "[message]") {
  ResponseReader r;
  r.feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}\n{\"b\"");
  CHECK(r.has_head());
  CHECK_FALSE(r.done());
  r.feed(":2}\n");
  r.finish();
  CHECK(r.done());
  CHECK_FALSE(r.failed());
  CHECK(r.body() == "{\"a\":1}\n{\"b\":2}\n");
}

TEST_CASE("message: ResponseReader refuses what is not a whole response", "[message]") {
  ResponseReader nothing;
  nothing.finish();
  CHECK(nothing.failed());
  CHECK_FALSE(nothing.has_head());

  ResponseReader garbage;
  garbage.feed("SSH-2.0-OpenSSH_9.2\r\n");
  CHECK(garbage.failed());
  CHECK_FALSE(garbage.has_head());

  ResponseReader cut;
  cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  cut.finish();
  CHECK(cut.has_head());
  CHECK(cut.failed());
  CHECK_FALSE(cut.done());

  ResponseReader half_head;
  half_head.feed("HTTP/1.1 200 OK\r\nContent-");
  half_head.finish();
  CHECK(half_head.failed());
  CHECK_FALSE(half_head.has_head());
}

TEST_CASE("message: valid_host takes a name, an address and a port of digits, nothing more",
          "[message]") {
  for (const char* host : {"shop.test", "shop.test:8080", "Api.SHOP.TEST.", "shop.test.:80",
                           "127.0.0.1", "127.0.0.1:7780", "[::1]", "[::1]:443", "[fe80::1]:8080",
                           "my_app.test", "xn--bcher-kva.test", "shop.test:"}) {
    CAPTURE(host);
    CHECK(valid_host(host));
  }
  for (const char* host :
       {"", ":80", "rp.test:7780.evil.example", "rp.test:80:80", "shop.test:http",
        "shop.test:123456", "user@shop.test", "shop.test/x", "shop test", "shop\\test",
        "shop.test\r\nX: y", "[::1", "[]", "[::1]x", "[::1]:8o", "[::g]", "sh\xc3\xb6p.test"}) {
    CAPTURE(host);
    CHECK_FALSE(valid_host(host));
  }
}
