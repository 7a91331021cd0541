#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/parser.hpp"

using rp::http::Head;
using rp::http::Header;
using rp::http::Parser;
using Status = Parser::Status;

namespace {

std::string join(std::span<const std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

std::vector<std::string> header_names(const Head& h) {
  std::vector<std::string> out;
  for (const auto& x : h.headers) out.push_back(x.name);
  return out;
}

// Feeds `head` whole and requires the request head to end exactly at its last byte.
void parse_request_head(Parser& p, std::string_view head) {
  auto step = p.feed(head);
  INFO(p.error());
  REQUIRE(step.status == Status::head_done);
  REQUIRE(step.consumed == head.size());
}

// Feeds everything, resuming after each pause, until an error or the data runs out. Returns
// the last status; the parser's error() says why when it is an error.
Status run_through(Parser& p, std::string_view data) {
  for (int guard = 0; guard < 100; ++guard) {
    auto step = p.feed(data);
    if (step.status == Status::error) return Status::error;
    data.remove_prefix(step.consumed);
    if (step.status == Status::need_more && data.empty()) return Status::need_more;
  }
  FAIL("the parser made no progress");
  return Status::error;
}

}  // namespace

// --- Head helpers -------------------------------------------------------------------------

TEST_CASE("http head: find is case-insensitive and returns the first", "[http_parser]") {
  Head h;
  h.headers = {{"Host", "a.test"}, {"X-Dup", "one"}, {"x-dup", "two"}, {"Accept", "*/*"}};
  REQUIRE(h.find("host") != nullptr);
  CHECK(*h.find("host") == "a.test");
  CHECK(*h.find("HOST") == "a.test");
  REQUIRE(h.find("X-DUP") != nullptr);
  CHECK(*h.find("X-DUP") == "one");
  CHECK(h.find("missing") == nullptr);
  CHECK(h.find("Hos") == nullptr);
  CHECK(h.count("x-dup") == 2);
  CHECK(h.count("ACCEPT") == 1);
  CHECK(h.count("nope") == 0);
}

TEST_CASE("http head: has_token splits comma lists", "[http_parser]") {
  Head h;
  h.headers = {{"Connection", "keep-alive,  Upgrade ,X-Foo"},
               {"connection", "\tTE\t"},
               {"Expect", "100-continue"}};
  CHECK(h.has_token("connection", "keep-alive"));
  CHECK(h.has_token("connection", "upgrade"));
  CHECK(h.has_token("Connection", "x-foo"));
  CHECK(h.has_token("CONNECTION", "te"));  // from the second Connection header
  CHECK(h.has_token("expect", "100-Continue"));
  CHECK_FALSE(h.has_token("connection", "close"));
  CHECK_FALSE(h.has_token("connection", "keep"));  // not a prefix match
  CHECK_FALSE(h.has_token("connection", "alive, Upgrade"));
  CHECK_FALSE(h.has_token("connection", ""));
  CHECK_FALSE(h.has_token("upgrade", "upgrade"));  // another header's value
}

// --- Requests: the head ---------------------------------------------------------------------

TEST_CASE("http parser: request head", "[http_parser]") {
  Parser p(Parser::Kind::request);
  const std::string head =
      "GET /path/x?q=1&r=%20 HTTP/1.1\r\n"
      "Host: App.Test:8080\r\n"
      "X-Mixed-Case: Some Value\r\n"
      "accept: */*\r\n"
      "X-Empty:\r\n"
      "X-Trailing-Space: v  \r\n"
      "\r\n";
  CHECK_FALSE(p.message_started());
  parse_request_head(p, head);
  CHECK(p.message_started());
  CHECK_FALSE(p.in_head());
  const Head& h = p.head();
  CHECK(h.method == "GET");
  CHECK(h.target == "/path/x?q=1&r=%20");
  CHECK(h.version_major == 1);
  CHECK(h.version_minor == 1);
  CHECK(header_names(h) ==
        std::vector<std::string>{"Host", "X-Mixed-Case", "accept", "X-Empty", "X-Trailing-Space"});
  CHECK(h.headers[0].value == "App.Test:8080");
  CHECK(h.headers[1].value == "Some Value");
  CHECK(h.headers[2].value == "*/*");
  CHECK(h.headers[3].value == "");
  CHECK(h.headers[4].value == "v");
  CHECK(h.keep_alive);
  CHECK_FALSE(h.upgrade);
  CHECK_FALSE(h.chunked);
  CHECK_FALSE(h.content_length.has_value());
}

TEST_CASE("http parser: request methods", "[http_parser]") {
  for (std::string method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}) {
    Parser p(Parser::Kind::request);
    parse_request_head(p, method + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(p.head().method == method);
  }
}

TEST_CASE("http parser: keep_alive from version and Connection", "[http_parser]") {
  struct Case {
    const char* head;
    bool keep_alive;
    int minor;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, 1},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false, 1},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", false, 1},
      {"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false, 0},
      {"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true, 0},
      {"GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n", true, 0},
  };
  for (const auto& c : cases) {
    INFO(c.head);
    Parser p(Parser::Kind::request);
    parse_request_head(p, c.head);
    CHECK(p.head().keep_alive == c.keep_alive);
    CHECK(p.head().version_major == 1);
    CHECK(p.head().version_minor == c.minor);
  }
}

TEST_CASE("http parser: upgrade request", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p,
                     "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n");
  CHECK(p.head().upgrade);
  CHECK(p.head().has_token("connection", "upgrade"));
  REQUIRE(p.head().find("upgrade") != nullptr);
  CHECK(*p.head().find("upgrade") == "websocket");

  Parser plain(Parser::Kind::request);
  // Upgrade without Connection: Upgrade is no upgrade.
  parse_request_head(plain, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  CHECK_FALSE(plain.head().upgrade);
}

TEST_CASE("http parser: content_length and chunked in the head", "[http_parser]") {
  {
    Parser p(Parser::Kind::request);
    parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12345\r\n\r\n");
    REQUIRE(p.head().content_length.has_value());
    CHECK(*p.head().content_length == 12345);
    CHECK_FALSE(p.head().chunked);
  }
  {
    Parser p(Parser::Kind::request);
    parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(p.head().content_length.has_value());
    CHECK(*p.head().content_length == 0);
  }
  {
    Parser p(Parser::Kind::request);
    parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(p.head().chunked);
    CHECK_FALSE(p.head().content_length.has_value());
  }
}

TEST_CASE("http parser: feed stops at the end of the head", "[http_parser]") {
  Parser p(Parser::Kind::request);
  const std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string data = head + "hello";
  auto step = p.feed(data);
  REQUIRE(step.status == Status::head_done);
  CHECK(step.consumed == head.size());
  CHECK(step.body.empty());
  CHECK(p.head().target == "/up");
}

TEST_CASE("http parser: a head in pieces", "[http_parser]") {
  const std::string head =
      "PUT /a/b HTTP/1.1\r\nHost: shop.test\r\nX-Long-Header-Name: a fairly long value here\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n";

  auto check_head = [](const Head& h) {
    CHECK(h.method == "PUT");
    CHECK(h.target == "/a/b");
    CHECK(header_names(h) ==
          std::vector<std::string>{"Host", "X-Long-Header-Name", "Content-Length", "Connection"});
    CHECK(h.headers[0].value == "shop.test");
    CHECK(h.headers[1].value == "a fairly long value here");
    CHECK_FALSE(h.keep_alive);
    REQUIRE(h.content_length.has_value());
    CHECK(*h.content_length == 0);
  };

  SECTION("byte by byte, views into one buffer") {
    Parser p(Parser::Kind::request);
    std::string_view all = head;
    for (std::size_t i = 0; i + 1 < all.size(); ++i) {
      auto step = p.feed(all.substr(i, 1));
      INFO("byte " << i << ": " << p.error());
      REQUIRE(step.status == Status::need_more);
      REQUIRE(step.consumed == 1);
    }
    auto last = p.feed(all.substr(all.size() - 1));
    INFO(p.error());
    REQUIRE(last.status == Status::head_done);
    CHECK(last.consumed == 1);
    check_head(p.head());
  }

  SECTION("byte by byte, each byte in a buffer of its own") {
    std::vector<std::string> bytes;
    for (char c : head) bytes.emplace_back(1, c);
    Parser p(Parser::Kind::request);
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
      auto step = p.feed(bytes[i]);
      INFO("byte " << i << ": " << p.error());
      REQUIRE(step.status == Status::need_more);
    }
    auto last = p.feed(bytes.back());
    INFO(p.error());
    REQUIRE(last.status == Status::head_done);
    check_head(p.head());
  }

  SECTION("in two halves at every position") {
    for (std::size_t cut = 1; cut < head.size(); ++cut) {
      INFO("cut at " << cut);
      std::string first = head.substr(0, cut), second = head.substr(cut);
      Parser p(Parser::Kind::request);
      auto a = p.feed(first);
      INFO(p.error());
      REQUIRE(a.status == Status::need_more);
      auto b = p.feed(second);
      REQUIRE(b.status == Status::head_done);
      CHECK(b.consumed == second.size());
      check_head(p.head());
    }
  }
}

TEST_CASE("http parser: a chunked head with list headers in two halves", "[http_parser]") {
  const std::string head =
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
      "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
  for (std::size_t cut = 1; cut < head.size(); ++cut) {
    INFO("cut at " << cut);
    std::string first = head.substr(0, cut), second = head.substr(cut);
    Parser p(Parser::Kind::request);
    REQUIRE(p.feed(first).status == Status::need_more);
    auto b = p.feed(second);
    INFO(p.error());
    REQUIRE(b.status == Status::head_done);
    CHECK(p.head().chunked);
    CHECK(p.head().upgrade);
    CHECK(*p.head().find("transfer-encoding") == "gzip, chunked");
    CHECK(*p.head().find("connection") == "keep-alive, Upgrade");
  }
}

TEST_CASE("http parser: a header value split across feeds is not folding", "[http_parser]") {
  Parser p(Parser::Kind::request);
  std::string first = "GET / HTTP/1.1\r\nHost: a\r\nX-A: hel";
  std::string second = "lo\r\n\r\n";
  auto a = p.feed(first);
  REQUIRE(a.status == Status::need_more);
  CHECK(a.consumed == first.size());
  auto b = p.feed(second);
  INFO(p.error());
  REQUIRE(b.status == Status::head_done);
  CHECK(b.consumed == second.size());
  REQUIRE(p.head().find("x-a") != nullptr);
  CHECK(*p.head().find("x-a") == "hello");

  // Three pieces, and pieces that are views into one buffer (as the proxy feeds them).
  Parser q(Parser::Kind::request);
  std::string_view all = "GET / HTTP/1.1\r\nX-B: one two three\r\nHost: a\r\n\r\n";
  const auto v = all.find("one");
  REQUIRE(q.feed(all.substr(0, v + 2)).status == Status::need_more);
  REQUIRE(q.feed(all.substr(v + 2, 5)).status == Status::need_more);
  auto last = q.feed(all.substr(v + 7));
  INFO(q.error());
  REQUIRE(last.status == Status::head_done);
  REQUIRE(q.head().find("x-b") != nullptr);
  CHECK(*q.head().find("x-b") == "one two three");
  CHECK(*q.head().find("host") == "a");
}

// --- Requests: bodies and pipelining --------------------------------------------------------

TEST_CASE("http parser: Content-Length body in several feeds", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
  std::string received;
  auto s1 = p.feed("hel");
  CHECK(s1.status == Status::need_more);
  CHECK(s1.consumed == 3);
  received += join(s1.body);
  auto s2 = p.feed("lo wo");
  CHECK(s2.status == Status::need_more);
  CHECK(s2.consumed == 5);
  received += join(s2.body);
  CHECK(received == "hello wo");
  auto s3 = p.feed("rldEXTRA");
  REQUIRE(s3.status == Status::message_done);
  CHECK(s3.consumed == 3);
  received += join(s3.body);
  CHECK(received == "hello world");
  CHECK_FALSE(p.message_started());
}

TEST_CASE("http parser: body views point into the bytes fed", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n");
  std::string data = "abcd";
  auto step = p.feed(data);
  REQUIRE(step.status == Status::message_done);
  REQUIRE(step.body.size() == 1);
  CHECK(step.body[0].data() == data.data());
  CHECK(step.body[0].size() == 4);
}

TEST_CASE("http parser: a request without a body ends right after its head", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto step = p.feed("");
  CHECK(step.status == Status::message_done);
  CHECK(step.consumed == 0);
  CHECK(step.body.empty());
}

TEST_CASE("http parser: chunked body decoded", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string body = "5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\n\r\n";
  const std::string next = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";

  SECTION("in one feed") {
    const std::string data = body + next;
    auto step = p.feed(data);
    INFO(p.error());
    REQUIRE(step.status == Status::message_done);
    CHECK(step.consumed == body.size());
    CHECK(join(step.body) == "hello world0123456789");
  }
  SECTION("in small pieces") {
    std::string received;
    std::string_view rest = body;
    Status last = Status::need_more;
    std::size_t consumed = 0;
    while (!rest.empty()) {
      auto step = p.feed(rest.substr(0, 4));
      INFO(p.error());
      REQUIRE(step.status != Status::error);
      received += join(step.body);
      rest.remove_prefix(step.consumed);
      consumed += step.consumed;
      last = step.status;
      if (last == Status::message_done) break;
    }
    CHECK(last == Status::message_done);
    CHECK(consumed == body.size());
    CHECK(received == "hello world0123456789");
  }
}

TEST_CASE("http parser: chunked body with trailers", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string body = "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n";
  const std::string data = body + "GET";
  auto step = p.feed(data);
  INFO(p.error());
  REQUIRE(step.status == Status::message_done);
  CHECK(step.consumed == body.size());
  CHECK(join(step.body) == "abc");
}

TEST_CASE("http parser: pipelined requests", "[http_parser]") {
  Parser p(Parser::Kind::request);
  const std::string first_head = "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  const std::string second_head = "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string third_head = "DELETE /3 HTTP/1.1\r\nHost: c\r\n\r\n";
  const std::string all = first_head + "abc" + second_head + third_head;
  std::string_view rest = all;

  auto s1 = p.feed(rest);
  REQUIRE(s1.status == Status::head_done);
  CHECK(s1.consumed == first_head.size());
  CHECK(p.head().method == "POST");
  CHECK(p.head().target == "/1");
  rest.remove_prefix(s1.consumed);

  auto s2 = p.feed(rest);
  REQUIRE(s2.status == Status::message_done);
  CHECK(s2.consumed == 3);
  CHECK(join(s2.body) == "abc");
  rest.remove_prefix(s2.consumed);
  CHECK(rest.substr(0, 6) == "GET /2");

  auto s3 = p.feed(rest);
  REQUIRE(s3.status == Status::head_done);
  CHECK(s3.consumed == second_head.size());
  CHECK(p.head().method == "GET");
  CHECK(p.head().target == "/2");
  CHECK(p.head().headers.size() == 1);
  CHECK(*p.head().find("host") == "b");
  CHECK_FALSE(p.head().content_length.has_value());
  rest.remove_prefix(s3.consumed);

  auto s4 = p.feed(rest);
  REQUIRE(s4.status == Status::message_done);
  CHECK(s4.consumed == 0);
  CHECK(s4.body.empty());

  auto s5 = p.feed(rest);
  REQUIRE(s5.status == Status::head_done);
  CHECK(s5.consumed == third_head.size());
  CHECK(p.head().method == "DELETE");
  CHECK(p.head().target == "/3");
  CHECK(*p.head().find("host") == "c");
}

// --- Requests: what is refused --------------------------------------------------------------

TEST_CASE("http parser: request smuggling and malformed requests are errors", "[http_parser]") {
  struct Case {
    const char* what;
    const char* data;
  };
  const Case cases[] = {
      {"Content-Length with Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n"},
      {"Transfer-Encoding then Content-Length",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
       "0\r\n\r\n"},
      {"two Content-Lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
      {"two equal Content-Lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
      {"obsolete line folding", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"},
      {"obsolete line folding with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"},
      {"space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"},
      {"space inside a header name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"},
      {"invalid method", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"garbage", "\x01\x02\x03 nonsense\r\n\r\n"},
      {"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Parser p(Parser::Kind::request);
    CHECK(run_through(p, c.data) == Status::error);
    CHECK_FALSE(p.error().empty());
  }
}

TEST_CASE("http parser: a folded line is refused before the head is done", "[http_parser]") {
  Parser p(Parser::Kind::request);
  auto step = p.feed("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n");
  CHECK(step.status == Status::error);
  CHECK(p.error().find("folding") != std::string::npos);
}

TEST_CASE("http parser: folding split across feeds is still refused", "[http_parser]") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n";
  const auto fold = head.find("a\r\n b");
  // Cut at every position around the fold, each piece in a buffer of its own.
  for (std::size_t cut = fold; cut <= fold + 5; ++cut) {
    INFO("cut at " << cut);
    std::string first = head.substr(0, cut), second = head.substr(cut);
    Parser p(Parser::Kind::request);
    auto a = p.feed(first);
    if (a.status == Status::error) continue;
    REQUIRE(a.status == Status::need_more);
    CHECK(p.feed(second).status == Status::error);
  }
}

TEST_CASE("http parser: the errors happen before any of the body is passed on", "[http_parser]") {
  // A body that contradicts its framing must be refused no later than the first body feed,
  // so that nothing of it reaches the app.
  Parser p(Parser::Kind::request);
  auto step = p.feed(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  if (step.status == Status::head_done) step = p.feed("3\r\nabc\r\n0\r\n\r\n");
  CHECK(step.status == Status::error);
  CHECK(step.body.empty());
}

TEST_CASE("http parser: finish in the middle of a body is an error", "[http_parser]") {
  Parser p(Parser::Kind::request);
  parse_request_head(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
  CHECK(p.feed("abc").status == Status::need_more);
  CHECK(p.finish().status == Status::error);
}

TEST_CASE("http parser: finish between requests is a clean end", "[http_parser]") {
  Parser p(Parser::Kind::request);
  auto step = p.finish();
  CHECK(step.status == Status::message_done);
  CHECK(step.consumed == 0);
}

// --- Responses ------------------------------------------------------------------------------

TEST_CASE("http parser: response status and reason", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string head =
      "HTTP/1.1 404 Not Found Here\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n";
  const std::string data = head + "abc";
  auto step = p.feed(data);
  INFO(p.error());
  REQUIRE(step.status == Status::message_done);
  CHECK(step.consumed == head.size() + 3);
  CHECK(join(step.body) == "abc");
  const Head& h = p.head();
  CHECK(h.status == 404);
  CHECK(h.reason == "Not Found Here");
  CHECK(h.version_major == 1);
  CHECK(h.version_minor == 1);
  CHECK(header_names(h) == std::vector<std::string>{"Content-Type", "Content-Length"});
  REQUIRE(h.content_length.has_value());
  CHECK(*h.content_length == 3);
  CHECK(h.keep_alive);
  CHECK_FALSE(h.upgrade);
  CHECK(h.method.empty());
}

TEST_CASE("http parser: a response does not stop at the end of its head", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  const std::string data = head + "12345";
  auto step = p.feed(data);
  REQUIRE(step.status == Status::need_more);
  CHECK(step.consumed == head.size() + 5);
  CHECK_FALSE(p.in_head());
  CHECK(p.message_started());
  CHECK(p.head().status == 200);
  CHECK(join(step.body) == "12345");
  CHECK_FALSE(p.body_until_close());
  auto rest = p.feed("67890");
  CHECK(rest.status == Status::message_done);
  CHECK(join(rest.body) == "67890");
}

TEST_CASE("http parser: a response head in pieces", "[http_parser]") {
  Parser p(Parser::Kind::response);
  auto a = p.feed("HTTP/1.1 2");
  CHECK(a.status == Status::need_more);
  CHECK(p.in_head());
  CHECK(p.message_started());
  auto b = p.feed("01 Created\r\nLocation: /x\r\nContent-");
  CHECK(b.status == Status::need_more);
  CHECK(p.in_head());
  auto c = p.feed("Length: 0\r\n\r\n");
  REQUIRE(c.status == Status::message_done);
  CHECK(p.head().status == 201);
  CHECK(p.head().reason == "Created");
  CHECK(*p.head().find("location") == "/x");
}

TEST_CASE("http parser: 1xx then the final response", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string hints = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
  const std::string final_head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  const std::string all = interim + hints + final_head + "ok";
  std::string_view rest = all;

  auto s1 = p.feed(rest);
  REQUIRE(s1.status == Status::message_done);
  CHECK(s1.consumed == interim.size());
  CHECK(p.head().status == 100);
  CHECK(p.head().reason == "Continue");
  CHECK(s1.body.empty());
  rest.remove_prefix(s1.consumed);

  auto s2 = p.feed(rest);
  REQUIRE(s2.status == Status::message_done);
  CHECK(s2.consumed == hints.size());
  CHECK(p.head().status == 103);
  CHECK(p.head().headers.size() == 1);
  rest.remove_prefix(s2.consumed);

  auto s3 = p.feed(rest);
  REQUIRE(s3.status == Status::message_done);
  CHECK(s3.consumed == final_head.size() + 2);
  CHECK(p.head().status == 200);
  CHECK(p.head().headers.size() == 1);
  CHECK(join(s3.body) == "ok");
}

TEST_CASE("http parser: 204 and 304 have no body", "[http_parser]") {
  // RFC 9112 6.3: they end at the empty line whatever their headers say. A 304 commonly
  // carries the representation's Content-Length.
  const char* heads[] = {
      "HTTP/1.1 204 No Content\r\nETag: \"x\"\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 100\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
  };
  for (std::string head : heads) {
    INFO(head);
    Parser p(Parser::Kind::response);
    const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const std::string data = head + next;
    auto step = p.feed(data);
    INFO(p.error());
    REQUIRE(step.status == Status::message_done);
    CHECK(step.consumed == head.size());
    CHECK(step.body.empty());
    CHECK_FALSE(p.body_until_close());
    // The next response on the connection is a message of its own.
    auto second = p.feed(std::string_view(data).substr(step.consumed));
    REQUIRE(second.status == Status::message_done);
    CHECK(p.head().status == 200);
    CHECK(join(second.body) == "ok");
  }
}

TEST_CASE("http parser: a response to HEAD has no body", "[http_parser]") {
  Parser p(Parser::Kind::response);
  p.expect_no_body(true);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  const std::string data = head + "HTTP/1.1 200 OK\r\n";
  auto step = p.feed(data);
  INFO(p.error());
  REQUIRE(step.status == Status::message_done);
  CHECK(step.consumed == head.size());
  CHECK(step.body.empty());
  REQUIRE(p.head().content_length.has_value());
  CHECK(*p.head().content_length == 1234);

  // Chunked and length-less answers to HEAD have no body either.
  Parser q(Parser::Kind::response);
  q.expect_no_body(true);
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto s = q.feed(chunked);
  CHECK(s.status == Status::message_done);
  CHECK(s.consumed == chunked.size());
  CHECK_FALSE(q.body_until_close());

  // Without expect_no_body the same head waits for its 1234 bytes.
  Parser r(Parser::Kind::response);
  auto t = r.feed(head);
  CHECK(t.status == Status::need_more);
}

TEST_CASE("http parser: a body until close is completed by finish", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  const std::string data = head + "first ";
  auto s1 = p.feed(data);
  INFO(p.error());
  REQUIRE(s1.status == Status::need_more);
  CHECK(s1.consumed == head.size() + 6);
  CHECK(join(s1.body) == "first ");
  CHECK(p.body_until_close());
  CHECK_FALSE(p.head().content_length.has_value());
  CHECK_FALSE(p.head().chunked);

  auto s2 = p.feed("second");
  CHECK(s2.status == Status::need_more);
  CHECK(join(s2.body) == "second");
  CHECK(p.body_until_close());

  auto end = p.finish();
  CHECK(end.status == Status::message_done);
  CHECK(end.consumed == 0);
  CHECK(end.body.empty());
  CHECK_FALSE(p.body_until_close());
  CHECK_FALSE(p.message_started());
}

TEST_CASE("http parser: finish after an interim response", "[http_parser]") {
  // The parser paused at the end of the 100 Continue; finish() must not report a stale count.
  Parser p(Parser::Kind::response);
  const std::string data = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nbody";
  auto s1 = p.feed(data);
  REQUIRE(s1.status == Status::message_done);
  auto s2 = p.feed(std::string_view(data).substr(s1.consumed));
  REQUIRE(s2.status == Status::need_more);
  CHECK(join(s2.body) == "body");
  CHECK(p.body_until_close());
  auto end = p.finish();
  CHECK(end.status == Status::message_done);
  CHECK(end.consumed == 0);
  CHECK(end.body.empty());
}

TEST_CASE("http parser: HTTP/1.0 response without length runs until close", "[http_parser]") {
  Parser p(Parser::Kind::response);
  auto step = p.feed("HTTP/1.0 200 OK\r\n\r\nbody");
  REQUIRE(step.status == Status::need_more);
  CHECK(p.head().version_minor == 0);
  CHECK_FALSE(p.head().keep_alive);
  CHECK(p.body_until_close());
  CHECK(p.finish().status == Status::message_done);
}

TEST_CASE("http parser: body_until_close is false for framed responses", "[http_parser]") {
  Parser p(Parser::Kind::response);
  CHECK_FALSE(p.body_until_close());
  p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  CHECK_FALSE(p.body_until_close());
  CHECK(p.head().chunked);

  Parser req(Parser::Kind::request);
  req.feed("POST / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK_FALSE(req.body_until_close());
}

TEST_CASE("http parser: chunked response body decoded", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
  const std::string data = msg + "HTTP/1.1";
  auto step = p.feed(data);
  INFO(p.error());
  REQUIRE(step.status == Status::message_done);
  CHECK(step.consumed == msg.size());
  CHECK(join(step.body) == "Wikipedia");
}

TEST_CASE("http parser: 101 switches protocols", "[http_parser]") {
  Parser p(Parser::Kind::response);
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  const std::string frames = "\x81\x05hello";
  const std::string data = head + frames;
  auto step = p.feed(data);
  INFO(p.error());
  // The message ends with its head; the frames after it are not HTTP and not consumed.
  REQUIRE((step.status == Status::upgrade || step.status == Status::message_done));
  CHECK(step.consumed == head.size());
  CHECK(step.body.empty());
  CHECK(p.head().status == 101);
  CHECK(p.head().upgrade);
  if (step.status == Status::message_done) {
    // Then the parser says the protocol changed, still consuming nothing.
    auto next = p.feed(std::string_view(data).substr(step.consumed));
    CHECK(next.status == Status::upgrade);
    CHECK(next.consumed == 0);
    CHECK(next.body.empty());
  }
}

TEST_CASE("http parser: an upgrade request consumes nothing after its head", "[http_parser]") {
  Parser p(Parser::Kind::request);
  const std::string head =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  const std::string data = head + "\x81\x05hello";
  auto step = p.feed(data);
  REQUIRE(step.status == Status::head_done);
  CHECK(step.consumed == head.size());
  CHECK(p.head().upgrade);
  std::string_view rest = std::string_view(data).substr(step.consumed);
  for (int i = 0; i < 2; ++i) {
    auto next = p.feed(rest);
    CHECK((next.status == Status::message_done || next.status == Status::upgrade));
    CHECK(next.consumed == 0);
    CHECK(next.body.empty());
  }
}

TEST_CASE("http parser: a response's errors", "[http_parser]") {
  const char* cases[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: v\r\nContent-Length: 0\r\n\r\n",
      "NOT HTTP AT ALL\r\n\r\n",
      "HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 600 High\r\nContent-Length: 0\r\n\r\n",
  };
  for (const char* c : cases) {
    INFO(c);
    Parser p(Parser::Kind::response);
    CHECK(p.feed(c).status == Status::error);
  }
}

TEST_CASE("http parser: each message on a connection has its own headers, whatever came before",
          "[http_parser]") {
  Parser p(Parser::Kind::request);
  const std::string first =
      "GET /a HTTP/1.1\r\nHost: a.test\r\nUser-Agent: a rather long agent string, v1.2.3\r\n"
      "X-One: 1\r\nX-Two: a value longer than any small string\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: b.test\r\nAccept: */*\r\n\r\n";
  const std::string third =
      "GET /c HTTP/1.1\r\nHost: c.test\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
      "E: the fifth header's value, longer than the ones it takes the place of\r\n\r\n";
  // One buffer, as a pipelining client sends them: each head stops the parser when it ends.
  const std::string all = first + second + third;
  std::string_view rest = all;
  std::vector<std::vector<Header>> seen;
  while (!rest.empty()) {
    auto step = p.feed(rest);
    REQUIRE(step.status == Status::head_done);
    rest.remove_prefix(step.consumed);
    seen.push_back(p.head().headers);
    step = p.feed(rest);  // the end of a message without a body
    REQUIRE(step.status == Status::message_done);
    rest.remove_prefix(step.consumed);
  }
  REQUIRE(seen.size() == 3);
  auto pairs = [](const std::vector<Header>& headers) {
    std::vector<std::string> out;
    for (const auto& h : headers) out.push_back(h.name + "=" + h.value);
    return out;
  };
  CHECK(pairs(seen[0]) ==
        std::vector<std::string>{"Host=a.test", "User-Agent=a rather long agent string, v1.2.3",
                                 "X-One=1", "X-Two=a value longer than any small string"});
  CHECK(pairs(seen[1]) == std::vector<std::string>{"Host=b.test", "Accept=*/*"});
  CHECK(pairs(seen[2]) ==
        std::vector<std::string>{
            "Host=c.test", "A=1", "B=2", "C=3", "D=4",
            "E=the fifth header's value, longer than the ones it takes the place of"});
}
