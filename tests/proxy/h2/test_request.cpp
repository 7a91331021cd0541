// The HTTP/2 request as rp forwards it over HTTP/1.1, and the app's response head on its way back
// (proxy/h2/request): what becomes Host, how cookie crumbs and content-length are read, which
// requests are refused with which status, and what never reaches the other side (line breaks,
// connection-specific fields).
#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/h2/request.hpp"

using rp::h2::add_field;
using rp::h2::is_websocket;
using rp::h2::Refusal;
using rp::h2::Request;
using rp::h2::response_fields;
using rp::h2::response_status;
using rp::h2::to_http1;
using rp::http::Head;
using rp::http::Header;

namespace {

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

constexpr std::size_t kLimit = 64 * 1024;

Request request_of(Fields fields) {
  Request request;
  for (const auto& [name, value] : fields) add_field(request, name, value, kLimit);
  return request;
}

// A GET for https://shop.test/cart with `more` fields after the pseudo-headers.
Request get(Fields more = {}) {
  Request request = request_of(
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "shop.test"}, {":path", "/cart"}});
  for (const auto& [name, value] : more) add_field(request, name, value, kLimit);
  return request;
}

// The status to_http1 refuses `request` with (0: forwarded).
int refusal_of(const Request& request, bool end_stream = true) {
  Head head;
  return to_http1(request, end_stream, "", head).status;
}

std::vector<std::string> names_of(const std::vector<Header>& headers) {
  std::vector<std::string> names;
  for (const auto& h : headers) names.push_back(h.name);
  return names;
}

Head response(int status, std::vector<Header> headers) {
  Head head;
  head.status = status;
  head.headers = std::move(headers);
  return head;
}

}  // namespace

TEST_CASE("h2 request: pseudo-headers are members, other fields kept in order", "[h2]") {
  Request r = request_of({{":method", "POST"},
                          {":scheme", "https"},
                          {":authority", "shop.test:8443"},
                          {":path", "/orders?x=1"},
                          {"accept", "*/*"},
                          {"x-b", "2"},
                          {"x-a", "1"}});
  CHECK(r.method == "POST");
  CHECK(r.scheme == "https");
  CHECK(r.authority == "shop.test:8443");
  CHECK(r.path == "/orders?x=1");
  CHECK(r.protocol.empty());
  CHECK(names_of(r.fields) == std::vector<std::string>{"accept", "x-b", "x-a"});
  CHECK(r.fields[1].value == "2");
  // RFC 9113 6.5.2: each field counts its name, its value and 32.
  CHECK(r.size == (7 + 4 + 32) + (7 + 5 + 32) + (10 + 14 + 32) + (5 + 11 + 32) + (6 + 3 + 32) +
                      (3 + 1 + 32) + (3 + 1 + 32));
  CHECK_FALSE(r.too_large);
}

TEST_CASE("h2 request: past the limit the list is marked too large and keeps nothing more",
          "[h2]") {
  Request r;
  add_field(r, ":method", "GET", 100);  // 7 + 3 + 32 = 42
  add_field(r, "x-a", "1", 100);        // 36: 78
  CHECK_FALSE(r.too_large);
  add_field(r, "x-b", std::string(30, 'b'), 100);  // 65: 143, past 100
  CHECK(r.too_large);
  add_field(r, "x-c", "3", 100);
  add_field(r, ":path", "/", 100);
  CHECK(r.too_large);
  CHECK(r.method == "GET");
  CHECK(r.path.empty());
  CHECK(names_of(r.fields) == std::vector<std::string>{"x-a"});
  CHECK(r.size == 42 + 36 + 65 + 36 + 38);  // still counted
}

TEST_CASE("h2 request: a GET becomes an HTTP/1.1 head with Host first", "[h2]") {
  Head head;
  const Refusal refusal =
      to_http1(get({{"accept", "text/html"}, {"user-agent", "curl"}}), true, "", head);
  CHECK(refusal.status == 0);
  CHECK(head.method == "GET");
  CHECK(head.target == "/cart");
  CHECK(head.version_major == 2);  // Via says the client spoke HTTP/2
  CHECK(head.version_minor == 0);
  CHECK(names_of(head.headers) == std::vector<std::string>{"host", "accept", "user-agent"});
  CHECK(head.headers[0].value == "shop.test");
  CHECK_FALSE(head.chunked);
  CHECK_FALSE(head.content_length);
  CHECK_FALSE(head.upgrade);
  CHECK(head.keep_alive);
}

TEST_CASE("h2 request: a request and a head written over earlier ones keep nothing of them",
          "[h2]") {
  // The engine clears a stream's Request for the next one, and the session writes each HTTP/1.1
  // head over the last: both keep their memory, and none of their content.
  Request request = get({{"accept", "text/html"},
                         {"user-agent", "a rather long user agent"},
                         {"content-length", "5"},
                         {"x-old", "1"}});
  request.too_large = true;
  request.clear();
  CHECK(request.method.empty());
  CHECK(request.path.empty());
  CHECK(request.fields.empty());
  CHECK(request.size == 0);
  CHECK_FALSE(request.too_large);
  CHECK(request.spare_fields.size() == 4);
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{":method", "GET"},
                                                        {":scheme", "https"},
                                                        {":authority", "b.test"},
                                                        {":path", "/b"},
                                                        {"user-agent", "curl"},
                                                        {"cookie", "a=1"},
                                                        {"cookie", "b=2"}}) {
    add_field(request, name, value, kLimit);
  }
  CHECK(request.spare_fields.size() == 1);
  CHECK(names_of(request.fields) == std::vector<std::string>{"user-agent", "cookie", "cookie"});
  CHECK(request.fields[0].value == "curl");

  Head head;
  REQUIRE(
      to_http1(get({{"content-length", "5"}, {"x-old", "1"}, {"x-older", "2"}}), false, "", head)
          .status == 0);
  CHECK(head.content_length == 5u);
  head.upgrade = true;  // as if it had been a WebSocket's
  head.status = 101;
  REQUIRE(to_http1(request, true, "", head).status == 0);
  CHECK(names_of(head.headers) == std::vector<std::string>{"host", "user-agent", "cookie"});
  CHECK(head.headers[0].value == "b.test");
  CHECK(head.headers[2].value == "a=1; b=2");
  CHECK(head.target == "/b");
  CHECK_FALSE(head.content_length);
  CHECK_FALSE(head.chunked);
  CHECK_FALSE(head.upgrade);
  CHECK(head.status == 0);

  // A large header list leaves nothing behind.
  Request large = get({{"cookie", std::string(9000, 'c')}, {"accept", "*/*"}});
  large.clear();
  CHECK(large.fields.empty());
  CHECK(large.spare_fields.empty());
  CHECK(large.size == 0);
}

TEST_CASE("h2 request: Host and :authority", "[h2]") {
  SECTION("a host field equal to :authority is kept once") {
    Head head;
    REQUIRE(to_http1(get({{"host", "shop.test"}}), true, "", head).status == 0);
    CHECK(head.count("host") == 1);
    CHECK(head.headers[0].value == "shop.test");
  }
  SECTION("a host field that differs from :authority is refused") {
    CHECK(refusal_of(get({{"host", "admin.test"}})) == 400);
  }
  SECTION("without :authority, the host field is the Host") {
    Head head;
    Request r = request_of({{":method", "GET"}, {":path", "/"}, {"host", "shop.test"}});
    REQUIRE(to_http1(r, true, "", head).status == 0);
    CHECK(head.headers[0].name == "host");
    CHECK(head.headers[0].value == "shop.test");
  }
  SECTION("two host fields are refused, even alike") {
    Request r = request_of({{":method", "GET"}, {":path", "/"}});
    add_field(r, "host", "shop.test", kLimit);
    add_field(r, "host", "shop.test", kLimit);
    CHECK(refusal_of(r) == 400);
  }
  SECTION("neither is refused") {
    CHECK(refusal_of(request_of({{":method", "GET"}, {":path", "/"}})) == 400);
  }
  SECTION("an authority that is not a host name is refused") {
    for (const char* authority : {"user@shop.test", "shop.test/x", "shop test", "shop\\test",
                                  "shop.test:80.evil.example"}) {
      Request r = request_of({{":method", "GET"}, {":path", "/"}, {":authority", authority}});
      CHECK(refusal_of(r) == 400);
    }
  }
}

TEST_CASE("h2 request: cookie crumbs are joined into one Cookie", "[h2]") {
  Head head;
  REQUIRE(
      to_http1(get({{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}, {"cookie", "c=3"}}),
               true, "", head)
          .status == 0);
  CHECK(head.count("cookie") == 1);
  REQUIRE(head.find("cookie"));
  CHECK(*head.find("cookie") == "a=1; b=2; c=3");
}

TEST_CASE("h2 request: the body's framing", "[h2]") {
  auto post = [](Fields more) {
    Request r = request_of(
        {{":method", "POST"}, {":scheme", "https"}, {":authority", "shop.test"}, {":path", "/"}});
    for (const auto& [name, value] : more) add_field(r, name, value, kLimit);
    return r;
  };
  SECTION("content-length is parsed, and framing is the head's, not a field") {
    Head head;
    REQUIRE(to_http1(post({{"content-length", "42"}}), false, "", head).status == 0);
    CHECK(head.content_length == 42u);
    CHECK_FALSE(head.chunked);
    CHECK(head.count("content-length") == 0);
  }
  SECTION("the same length twice is one length") {
    Head head;
    REQUIRE(to_http1(post({{"content-length", "7"}, {"content-length", "7"}}), false, "", head)
                .status == 0);
    CHECK(head.content_length == 7u);
  }
  SECTION("two different lengths are refused") {
    CHECK(refusal_of(post({{"content-length", "7"}, {"content-length", "8"}}), false) == 400);
  }
  SECTION("a length that is not a number is refused") {
    for (const char* length : {"", "4x", "-1", "+1", " 1", "0x10", "18446744073709551616"}) {
      CAPTURE(length);
      CHECK(refusal_of(post({{"content-length", length}}), false) == 400);
    }
  }
  SECTION("no length and a body to come: chunked") {
    Head head;
    REQUIRE(to_http1(post({}), false, "", head).status == 0);
    CHECK(head.chunked);
    CHECK_FALSE(head.content_length);
  }
  SECTION("the HEADERS ended the stream: no body, no framing") {
    Head head;
    REQUIRE(to_http1(post({}), true, "", head).status == 0);
    CHECK_FALSE(head.chunked);
    CHECK_FALSE(head.content_length);
  }
}

TEST_CASE("h2 request: CONNECT", "[h2]") {
  auto connect = [](std::string_view protocol) {
    Request r = request_of({{":method", "CONNECT"}, {":authority", "shop.test:443"}});
    if (!protocol.empty()) {
      add_field(r, ":scheme", "https", kLimit);
      add_field(r, ":path", "/chat", kLimit);
      add_field(r, ":protocol", protocol, kLimit);
    }
    return r;
  };
  SECTION("without :protocol it is a forward proxy's: 405") {
    CHECK_FALSE(is_websocket(connect("")));
    CHECK(refusal_of(connect(""), false) == 405);
  }
  SECTION("another protocol than websocket: 501") {
    CHECK_FALSE(is_websocket(connect("connect-udp")));
    Head head;
    const Refusal refusal = to_http1(connect("connect-udp"), false, "", head);
    CHECK(refusal.status == 501);
    CHECK(refusal.what.find("connect-udp") != std::string::npos);
  }
  SECTION("a WebSocket becomes a GET with Upgrade and the key") {
    Request r = connect("websocket");
    add_field(r, "sec-websocket-version", "13", kLimit);
    add_field(r, "content-length", "0", kLimit);
    CHECK(is_websocket(r));
    Head head;
    REQUIRE(to_http1(r, false, "dGhlIHNhbXBsZSBub25jZQ==", head).status == 0);
    CHECK(head.method == "GET");
    CHECK(head.target == "/chat");
    CHECK(head.upgrade);
    CHECK_FALSE(head.chunked);
    CHECK_FALSE(head.content_length);
    CHECK(names_of(head.headers) == std::vector<std::string>{"host", "sec-websocket-version",
                                                             "upgrade", "sec-websocket-key"});
    CHECK(head.headers[0].value == "shop.test:443");
    CHECK(*head.find("upgrade") == "websocket");
    CHECK(*head.find("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==");
  }
  SECTION(":protocol is matched without regard to case") {
    CHECK(is_websocket(connect("WebSocket")));
  }
  SECTION("a GET with :protocol websocket is no WebSocket") {
    CHECK_FALSE(is_websocket(get({{":protocol", "websocket"}})));
  }
}

TEST_CASE("h2 request: nothing that ends an HTTP/1.1 line gets through", "[h2]") {
  using namespace std::string_literals;
  for (const std::string& bad : {"a\rb"s, "a\nb"s, "a\0b"s}) {
    CAPTURE(bad);
    CHECK(refusal_of(get({{"x-value", bad}})) == 400);
    CHECK(refusal_of(get({{"x-" + bad, "1"}})) == 400);
    CHECK(refusal_of(get({{"cookie", bad}})) == 400);
    CHECK(refusal_of(request_of(
              {{":method", "GET"}, {":authority", "shop.test"}, {":path", bad}})) == 400);
    CHECK(refusal_of(request_of({{":method", bad}, {":authority", "shop.test"}, {":path", "/"}})) ==
          400);
  }
  CHECK(refusal_of(request_of(
            {{":method", "GET"}, {":authority", "shop.test"}, {":path", "/ x"}})) == 400);
  CHECK(refusal_of(request_of({{":method", "G T"}, {":authority", "shop.test"}, {":path", "/"}})) ==
        400);
}

TEST_CASE("h2 request: a request without :method or :path is refused", "[h2]") {
  CHECK(refusal_of(request_of({{":method", "GET"}, {":authority", "shop.test"}})) == 400);
  CHECK(refusal_of(request_of({{":path", "/"}, {":authority", "shop.test"}})) == 400);
}

TEST_CASE("h2 response: fields in lower case, connection-specific ones dropped", "[h2]") {
  // What `out` held (the last response's fields) is replaced.
  std::vector<Header> out{{"earlier", "response"}, {"x", "1"}};
  response_fields(response(200, {{"Content-Type", "text/html"},
                                 {"Connection", "keep-alive, X-Secret"},
                                 {"X-Secret", "1"},
                                 {"Keep-Alive", "timeout=5"},
                                 {"Transfer-Encoding", "chunked"},
                                 {"Upgrade", "h2c"},
                                 {"Proxy-Connection", "keep-alive"},
                                 {"Trailer", "x-checksum"},
                                 {"Content-Length", "12"},
                                 {"Set-Cookie", "a=1"},
                                 {"SET-COOKIE", "b=2"},
                                 {"Sec-WebSocket-Accept", "kept: no WebSocket here"}}),
                  out);
  CHECK(names_of(out) == std::vector<std::string>{"content-type", "content-length", "set-cookie",
                                                  "set-cookie", "sec-websocket-accept"});
  CHECK(out[0].value == "text/html");
  CHECK(out[1].value == "12");
  CHECK(out[2].value == "a=1");
  CHECK(out[3].value == "b=2");
  // A shorter response after a longer one leaves nothing of the longer behind.
  response_fields(response(200, {{"ETag", "\"abc\""}}), out);
  CHECK(names_of(out) == std::vector<std::string>{"etag"});
  CHECK(out[0].value == "\"abc\"");
}

TEST_CASE("h2 response: content-length is kept, except where no body can follow", "[h2]") {
  for (int status : {200, 304, 404}) {
    CAPTURE(status);
    std::vector<Header> out;
    response_fields(response(status, {{"Content-Length", "5"}}), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].name == "content-length");
  }
  for (int status : {204, 103}) {
    CAPTURE(status);
    std::vector<Header> out;
    response_fields(response(status, {{"Content-Length", "5"}}), out);
    CHECK(out.empty());
  }
}

TEST_CASE("h2 response: an accepted WebSocket is a 200 without its handshake's fields", "[h2]") {
  std::vector<Header> out;
  response_fields(response(101, {{"Upgrade", "websocket"},
                                 {"Connection", "Upgrade"},
                                 {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
                                 {"Sec-WebSocket-Protocol", "chat"}}),
                  out);
  CHECK(names_of(out) == std::vector<std::string>{"sec-websocket-protocol"});
  CHECK(response_status(101, true) == 200);
  CHECK(response_status(101, false) == 101);
  CHECK(response_status(404, true) == 404);
  CHECK(response_status(200, false) == 200);
}
